# proxy_bench: the proxy binary against a direct connection.
add_executable(proxy_bench ${CMAKE_CURRENT_LIST_DIR}/proxy_bench.cpp)
target_link_libraries(proxy_bench PRIVATE s2s_test_support)
target_compile_definitions(proxy_bench PRIVATE S2S_PROXY_BINARY="$<TARGET_FILE:s2s-proxy>")
add_dependencies(proxy_bench s2s-proxy)
