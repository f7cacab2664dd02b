# The TLS session fuzz target; the TLS core (not OpenSSL itself) is compiled in with the fuzzer's
# coverage and sanitizers, and the test certificate maker gives the server its identity.
set(S2S_TLS_FUZZ_SUPPORT
  ${PROJECT_SOURCE_DIR}/tests/support/certs.cpp
  ${PROJECT_SOURCE_DIR}/tests/support/files.cpp
  ${PROJECT_SOURCE_DIR}/tests/support/temp_dir.cpp)
add_executable(tls_session_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/tls_session_fuzz.cpp ${S2S_TLS_SOURCES}
                                ${S2S_TLS_FUZZ_SUPPORT})
target_include_directories(tls_session_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests
                                                    ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(tls_session_fuzz PRIVATE OpenSSL::SSL OpenSSL::Crypto)
target_compile_options(tls_session_fuzz PRIVATE ${S2S_FUZZ_FLAGS})
target_link_options(tls_session_fuzz PRIVATE ${S2S_FUZZ_FLAGS})

# Regenerates corpus/tls_session/: cmake --build DIR --target tls_seed_corpus
add_executable(tls_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/tls_seed_corpus.cpp ${S2S_TLS_FUZZ_SUPPORT})
target_link_libraries(tls_seed_corpus_writer PRIVATE s2s_tls)
target_include_directories(tls_seed_corpus_writer PRIVATE ${PROJECT_SOURCE_DIR}/tests ${CMAKE_CURRENT_SOURCE_DIR})
add_custom_target(tls_seed_corpus
  COMMAND tls_seed_corpus_writer ${CMAKE_CURRENT_SOURCE_DIR}/corpus/tls_session
  COMMENT "Writing the tls_session seed corpus")
