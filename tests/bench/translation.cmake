# translation_bench: the translation core on replication traffic, against protobuf dynamic messages.
find_package(benchmark QUIET)
if(NOT benchmark_FOUND OR NOT TARGET s2s_translation_test_support)
  message(STATUS "translation_bench skipped: it needs Google Benchmark and the Temporal descriptors (go)")
  return()
endif()
add_executable(translation_bench ${CMAKE_CURRENT_SOURCE_DIR}/translation_bench.cpp)
target_link_libraries(translation_bench PRIVATE s2s_translation_test_support benchmark::benchmark)
target_compile_options(translation_bench PRIVATE ${S2S_WARNINGS})
