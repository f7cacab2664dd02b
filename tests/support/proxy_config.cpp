// YAML for a proxy in TCP mode on loopback, for tests and benchmarks that run the binary.
#include "support/proxy_config.hpp"

#include "support/ports.hpp"

namespace s2s::testing {

std::string tcp_proxy_yaml(const std::string& name, int outbound_port, const std::string& remote_address) {
  auto loopback = [](int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; };
  return "clusterConnections:\n"
         "  - name: " +
         name +
         "\n"
         "    local:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: " +
         loopback(free_loopback_port()) +
         " }\n"
         "      tcpServer: { address: " +
         loopback(outbound_port) +
         " }\n"
         "    remote:\n"
         "      connectionType: tcp\n"
         "      tcpClient: { address: \"" +
         remote_address +
         "\" }\n"
         "      tcpServer: { address: " +
         loopback(free_loopback_port()) + " }\n";
}

}  // namespace s2s::testing
