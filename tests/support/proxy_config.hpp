// YAML for a proxy in TCP mode on loopback, for tests and benchmarks that run the binary.
#pragma once

#include <string>

namespace s2s::testing {

// One TCP-mode cluster connection named `name`: the local Temporal calls 127.0.0.1:<outbound_port>
// and reaches `remote_address`; the other endpoints get free loopback ports.
std::string tcp_proxy_yaml(const std::string& name, int outbound_port, const std::string& remote_address);

}  // namespace s2s::testing
