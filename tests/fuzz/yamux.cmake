# The yamux session fuzz target; its core is compiled in with the fuzzer's coverage and sanitizers.
add_executable(yamux_session_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/yamux_session_fuzz.cpp ${S2S_YAMUX_SOURCES})
target_include_directories(yamux_session_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(yamux_session_fuzz PRIVATE ${S2S_FUZZ_FLAGS})
target_link_options(yamux_session_fuzz PRIVATE ${S2S_FUZZ_FLAGS})

# Regenerates corpus/yamux_session/: cmake --build DIR --target yamux_seed_corpus
add_executable(yamux_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/yamux_seed_corpus.cpp)
target_link_libraries(yamux_seed_corpus_writer PRIVATE s2s_yamux)
target_include_directories(yamux_seed_corpus_writer PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_custom_target(yamux_seed_corpus
  COMMAND yamux_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/corpus/yamux_session
  COMMENT "Writing the yamux_session seed corpus")
