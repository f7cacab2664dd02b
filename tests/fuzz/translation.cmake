# The translation fuzz target: the core is compiled in with the fuzzer's coverage and sanitizers and reads
# the Temporal descriptors generated from the pinned Go modules.
if(NOT TARGET temporal_descriptors)
  message(STATUS "translation_fuzz skipped: it needs go to generate the Temporal descriptors")
  return()
endif()
add_executable(translation_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/translation_fuzz.cpp ${S2S_TRANSLATION_SOURCES}
  ${S2S_SHARDS_SOURCES})
target_include_directories(translation_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(translation_fuzz PRIVATE ${S2S_FUZZ_FLAGS})
target_link_options(translation_fuzz PRIVATE ${S2S_FUZZ_FLAGS})
target_link_libraries(translation_fuzz PRIVATE protobuf::libprotobuf)
target_compile_definitions(translation_fuzz PRIVATE S2S_TEMPORAL_DESCRIPTORS_PATH="${S2S_TEMPORAL_DESCRIPTORS}")
add_dependencies(translation_fuzz temporal_descriptors)

# Regenerates corpus/translation/: cmake --build DIR --target translation_seed_corpus
if(TARGET s2s_translation_test_support)
  add_executable(translation_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/translation_seed_corpus.cpp)
  target_link_libraries(translation_seed_corpus_writer PRIVATE s2s_translation_test_support)
  target_include_directories(translation_seed_corpus_writer PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  add_custom_target(translation_seed_corpus
    COMMAND translation_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/corpus/translation
    COMMENT "Writing the translation seed corpus")
endif()
