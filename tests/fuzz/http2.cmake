# The HTTP/2 connection fuzz target; the core (not libnghttp2 itself) is compiled in with the
# fuzzer's coverage and sanitizers.
find_package(PkgConfig REQUIRED)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
add_executable(http2_connection_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/http2_connection_fuzz.cpp ${S2S_HTTP2_SOURCES})
target_include_directories(http2_connection_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(http2_connection_fuzz PRIVATE PkgConfig::NGHTTP2)
target_compile_options(http2_connection_fuzz PRIVATE ${S2S_FUZZ_FLAGS})
target_link_options(http2_connection_fuzz PRIVATE ${S2S_FUZZ_FLAGS})

# Regenerates corpus/http2_connection/: cmake --build DIR --target http2_seed_corpus
add_executable(http2_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/http2_seed_corpus.cpp)
target_link_libraries(http2_seed_corpus_writer PRIVATE s2s_http2)
target_include_directories(http2_seed_corpus_writer PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_custom_target(http2_seed_corpus
  COMMAND http2_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/corpus/http2_connection
  COMMENT "Writing the http2_connection seed corpus")
