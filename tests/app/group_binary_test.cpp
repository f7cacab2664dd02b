// Several instances of one side in running binaries: a mux-client instance without a session forwards a
// call to the instance of its group that has one, and the call is translated once, by the instance the
// local cluster called.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "describe_calls.hpp"
#include "rpc/blocking_bidi.hpp"
#include "support/certs.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/temporal_server.hpp"
#include "temporal_messages.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using namespace s2s::translation::testing;

std::string address(int port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; }

std::string tls_block(const certificate_files& leaf, const test_certificates& certs, bool client) {
  return "{ certificatePath: \"" + leaf.certificate.string() + "\", keyPath: \"" + leaf.private_key.string() +
         "\", remoteCAPath: \"" + certs.trusted.ca_certificate.string() + "\"" +
         (client ? std::string(", caServerName: \"") + test_certificates::server_name + "\"" : "") + " }";
}

bool has_header(const recorded_metadata& metadata, const std::string& key, const std::string& value) {
  return std::find(metadata.begin(), metadata.end(), std::make_pair(key, value)) != metadata.end();
}

TEST(GroupBinary, AnInstanceWithoutASessionForwardsThroughItsPeerAndTheCallIsTranslatedOnce) {
  temp_dir scratch;
  auto certs = make_test_certificates(scratch.path());
  // Side A's frontend serves the schema by reflection to both A instances; B's frontend records what arrives.
  temporal_server frontend_a({read_file(S2S_TEMPORAL_DESCRIPTORS_FILE)});
  temporal_server frontend_b({});
  frontend_b.answer(describe_namespace, {""});
  int mux_port = free_loopback_port(), b_outbound = free_loopback_port();
  int a1_outbound = free_loopback_port(), a2_outbound = free_loopback_port(), a1_member = free_loopback_port();
  int nowhere = free_loopback_port();

  write_file(scratch / "b.yaml",
             "clusterConnections:\n  - name: b\n    local:\n      connectionType: tcp\n"
             "      tcpClient: { address: " +
                 address(frontend_b.port()) + " }\n      tcpServer: { address: " + address(b_outbound) +
                 " }\n    remote:\n      connectionType: mux-server\n      muxAddressInfo:\n"
                 "        address: " +
                 address(mux_port) + "\n        tls: " + tls_block(certs.trusted.server, certs, false) + "\n");
  // The second mapping would turn orders.b into orders.c: a call translated twice would say so.
  auto instance = [&](const std::string& node, int outbound, int dial, const std::string& member,
                      const certificate_files& group_leaf) {
    return "clusterConnections:\n  - name: a\n    local:\n      connectionType: tcp\n      tcpClient: { address: " +
           address(frontend_a.port()) + " }\n      tcpServer: { address: " + address(outbound) +
           " }\n    remote:\n      connectionType: mux-client\n      muxAddressInfo:\n        address: " +
           address(dial) + "\n        tls: " + tls_block(certs.trusted.client, certs, true) +
           "\n    namespaceTranslation:\n"
           "      mappings: [{ local: orders, remote: orders.b }, { local: orders.b, remote: orders.c }]\n"
           "    memberlist:\n      enabled: true\n      nodeName: " +
           node + "\n" + member + "      proxyAddresses: { a1: " + address(a1_outbound) +
           ", a2: " + address(a2_outbound) + " }\n      probeIntervalMs: 200\n      probeTimeoutMs: 200\n      tls: " +
           tls_block(group_leaf, certs, false) + "\n";
  };
  // The test leaves carry one extended key usage each: a1, which a2 joins, gets the server leaf.
  write_file(
      scratch / "a1.yaml",
      instance("a1", a1_outbound, mux_port,
               "      bindAddr: 127.0.0.1\n      bindPort: " + std::to_string(a1_member) + "\n", certs.trusted.server));
  write_file(scratch / "a2.yaml",
             instance("a2", a2_outbound, nowhere,
                      "      bindAddr: 127.0.0.1\n      bindPort: " + std::to_string(free_loopback_port()) +
                          "\n      joinAddrs: [" + address(a1_member) + "]\n",
                      certs.trusted.client));
  for (const char* name : {"b.yaml", "a1.yaml", "a2.yaml"}) {
    process validate({{S2S_PROXY_BINARY, "validate", "--config", (scratch / name).string()},
                      {},
                      scratch / (std::string(name) + ".validate.log"),
                      {}});
    EXPECT_EQ(validate.wait_exit(10s), std::optional<int>(0)) << name << ": " << validate.output();
  }
  auto start = [&](const std::string& name) {
    return std::make_unique<process>(
        process_options{{S2S_PROXY_BINARY, "start", "--config", (scratch / (name + ".yaml")).string()},
                        {},
                        scratch / (name + ".log"),
                        {}});
  };
  auto b = start("b");
  ASSERT_TRUE(b->wait_for_output("ready", 30s)) << b->output();
  auto a1 = start("a1");
  auto a2 = start("a2");
  ASSERT_TRUE(a1->wait_for_output("ready", 30s)) << a1->output();

  // Through a2, which never has a session: forwarded to a1, translated by a2 alone.
  auto status = describe_until_served(a2_outbound, "orders", 60s);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << a2->output() << a1->output();
  auto requests = frontend_b.requests(describe_namespace);
  auto metadata = frontend_b.metadata(describe_namespace);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], describe_request("orders.b"))
      << s2s::translation::testing::describe("temporal.api.workflowservice.v1.DescribeNamespaceRequest", requests[0]);
  EXPECT_TRUE(has_header(metadata[0], "s2s-proxy-forwarded-by", "a2"));

  // Through a1 itself: its own session, translated once as always, with no forwarding header.
  ASSERT_TRUE(describe(a1_outbound, "orders").ok());
  requests = frontend_b.requests(describe_namespace);
  metadata = frontend_b.metadata(describe_namespace);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1], describe_request("orders.b"));
  EXPECT_FALSE(has_header(metadata[1], "s2s-proxy-forwarded-by", "a1"));
  EXPECT_NE(a2->output().find("peer 'a1'"), std::string::npos) << a2->output();
}

}  // namespace
}  // namespace s2s::testing
