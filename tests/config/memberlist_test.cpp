// Tests of the memberlist block: when a group may be enabled, what an enabled block must hold, and its mutual TLS.
#include <gtest/gtest.h>

#include "config_files.hpp"

namespace s2s::config::testing {
namespace {

// Two instances of side a, each its own group member; its line numbers are referred to by the tests.
constexpr std::string_view group_config = R"(clusterConnections:
  - name: a-to-b
    local:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7233"}
      tcpServer: {address: "0.0.0.0:6233"}
    remote:
      connectionType: mux-client
      muxAddressInfo: {address: "proxy-b.example:6334"}
    memberlist:
      enabled: true
      nodeName: a1
      bindAddr: 10.0.0.1
      bindPort: 7946
      joinAddrs: ["10.0.0.2:7946"]
      proxyAddresses: {a1: "10.0.0.1:6233", a2: "10.0.0.2:6233"}
      tls:
        certificatePath: "{dir}/proxy.pem"
        keyPath: "{dir}/proxy.key"
        remoteCAPath: "{dir}/ca.pem"
)";

const std::string memberlist = "clusterConnections[0].memberlist";

class Memberlist : public config_files {
 protected:
  void SetUp() override {
    config_files::SetUp();
    made_ = write_tls_files();
  }

  const s2s::testing::test_certificates& made() const { return made_; }

  // group_config with its first occurrence of from replaced by to, then lines appended, loaded.
  load_result group(std::string_view from = {}, std::string_view to = {}, std::string_view lines = {}) const {
    std::string text(group_config);
    if (!from.empty()) {
      auto at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos)
        text.replace(at, from.size(), to);
    }
    return parse(in_directory(text + std::string(lines)));
  }

 private:
  s2s::testing::test_certificates made_;
};

TEST_F(Memberlist, CompleteBlockOnAMuxConnectionIsAccepted) {
  auto client = group();
  ASSERT_TRUE(client.value) << listing(client);
  EXPECT_TRUE(client.errors.empty());
  const auto& read = *client.value->cluster_connections[0].memberlist;
  EXPECT_TRUE(read.enabled);
  EXPECT_EQ(read.tls.certificate_path, directory().string() + "/proxy.pem");
  EXPECT_EQ(read.tls.key_path, directory().string() + "/proxy.key");
  EXPECT_EQ(read.tls.remote_ca_path, directory().string() + "/ca.pem");
  auto server = group("connectionType: mux-client\n      muxAddressInfo: {address: \"proxy-b.example:6334\"}",
                      "connectionType: mux-server\n      muxAddressInfo: {address: \"0.0.0.0:6334\"}");
  EXPECT_TRUE(server.value) << listing(server);
  // lcm mode is served by every instance alike; in routing mode the instances share the shards.
  auto lcm = group({}, {}, "    shardCount: {mode: lcm, localShardCount: 4, remoteShardCount: 8}\n");
  EXPECT_TRUE(lcm.value) << listing(lcm);
  auto routing = group({}, {}, "    shardCount: {mode: routing, localShardCount: 4, remoteShardCount: 8}\n");
  EXPECT_TRUE(routing.value) << listing(routing);
}

// Disabled, the block is read for compatibility with Go files and nothing in it is required.
TEST_F(Memberlist, DisabledBlockIsNotChecked) {
  auto result =
      parse(std::string(minimal_tcp_config) + "    memberlist:\n      enabled: false\n      bindPort: 6233\n");
  EXPECT_TRUE(result.value) << listing(result);
}

TEST_F(Memberlist, TcpRemoteSideIsRefused) {
  auto result = group("connectionType: mux-client\n      muxAddressInfo: {address: \"proxy-b.example:6334\"}",
                      "connectionType: tcp\n      tcpClient: {address: \"127.0.0.1:7234\"}\n"
                      "      tcpServer: {address: \"127.0.0.1:6234\"}");
  EXPECT_TRUE(reports(result, memberlist + ".enabled", 12, 7,
                      "memberlist.enabled is true, but the remote side is tcp: several instances in tcp mode need no "
                      "group, as each dials the other side by itself; set enabled: false"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(Memberlist, AnOutboundListenerWithTlsIsRefused) {
  auto result = group("tcpServer: {address: \"0.0.0.0:6233\"}",
                      "tcpServer: {address: \"0.0.0.0:6233\", tls: {certificatePath: \"{dir}/proxy.pem\", "
                      "keyPath: \"{dir}/proxy.key\"}}");
  EXPECT_TRUE(reports(result, memberlist + ".enabled", 11, 7,
                      "memberlist.enabled is true, but local.tcpServer has TLS: the instances of a group forward calls "
                      "to each other's outbound listener (local.tcpServer) in plain HTTP/2"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// Without a known remote connectionType nothing can be said about the group: that mistake is reported once.
TEST_F(Memberlist, UnknownRemoteConnectionTypeIsTheOnlyProblem) {
  auto result = group("connectionType: mux-client", "connectionType: mux");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.connectionType", 8, 23, "unknown connectionType 'mux'"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(Memberlist, EmptyNodeNameIsRefused) {
  auto result = group("nodeName: a1", "nodeName: \"\"");
  EXPECT_TRUE(reports(result, memberlist + ".nodeName", 12, 7,
                      "memberlist.nodeName is empty: each instance of a side needs a name of its own"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(Memberlist, DisabledTcpPingsAreRefused) {
  auto result = group({}, {}, "      disableTCPPings: true\n");
  EXPECT_TRUE(reports(result, memberlist + ".disableTCPPings", 21, 7,
                      "memberlist.disableTCPPings is true, but the heartbeats over the group's TCP connections are "
                      "the only probe"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(Memberlist, JoinAddressThatIsNotHostAndPortIsRefusedAtItsIndex) {
  auto result = group("joinAddrs: [\"10.0.0.2:7946\"]", "joinAddrs: [\"10.0.0.2:7946\", \"10.0.0.3\", \"10.0.0.4:0\"]");
  EXPECT_TRUE(reports(result, memberlist + ".joinAddrs[1]", 15, 36,
                      "'10.0.0.3' is not the host:port of a peer's memberlist bindPort: the port is missing"));
  EXPECT_TRUE(reports(result, memberlist + ".joinAddrs[2]", 15, 48,
                      "'10.0.0.4:0' is not the host:port of a peer's memberlist bindPort: the port is 0"));
  EXPECT_EQ(result.errors.size(), 2u) << listing(result);
}

TEST_F(Memberlist, ProxyAddressesWithoutThisInstanceAreRefused) {
  auto missing = group("a1: \"10.0.0.1:6233\", ", "");
  EXPECT_TRUE(reports(missing, memberlist + ".proxyAddresses", 16, 7,
                      "memberlist.proxyAddresses has no address for this instance's nodeName 'a1': its peers forward "
                      "calls to that address, this instance's outbound listener (local.tcpServer)"));
  EXPECT_EQ(missing.errors.size(), 1u) << listing(missing);
  // Written empty, it is reported at its entry.
  auto empty = group("a1: \"10.0.0.1:6233\"", "a1: \"\"");
  EXPECT_TRUE(reports(empty, memberlist + ".proxyAddresses.a1", 16, 24,
                      "memberlist.proxyAddresses has no address for this instance's nodeName 'a1'"));
  EXPECT_EQ(empty.errors.size(), 1u) << listing(empty);
  // Written as something that is not an address, it is reported once, as that.
  auto wrong = group("a1: \"10.0.0.1:6233\"", "a1: \"10.0.0.1\"");
  EXPECT_TRUE(reports(wrong, memberlist + ".proxyAddresses.a1", 16, 28, "'10.0.0.1' is not an address"));
  EXPECT_EQ(wrong.errors.size(), 1u) << listing(wrong);
}

TEST_F(Memberlist, TlsFileMissingIsRefused) {
  auto result = group("        remoteCAPath: \"{dir}/ca.pem\"\n", "");
  EXPECT_TRUE(reports(result, memberlist + ".tls.remoteCAPath", 17, 7,
                      "memberlist.tls.remoteCAPath is not set: the group runs only over mutual TLS, so "
                      "certificatePath, keyPath and remoteCAPath are all required"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
  // The files that are named must still be readable.
  auto both = parse(in_directory(std::string(group_config.substr(0, group_config.find("        keyPath"))) +
                                 "        keyPath: \"{dir}/absent.key\"\n"));
  EXPECT_TRUE(reports(both, memberlist + ".tls.remoteCAPath", 17, 7, "memberlist.tls.remoteCAPath is not set"));
  EXPECT_TRUE(reports(both, memberlist + ".tls.keyPath", 19, 9, "cannot read the private key file"));
  EXPECT_EQ(both.errors.size(), 2u) << listing(both);
}

TEST_F(Memberlist, AbsentTlsBlockIsRefusedOnce) {
  auto result = parse(in_directory(std::string(group_config.substr(0, group_config.find("      tls:")))));
  EXPECT_TRUE(reports(result, memberlist + ".tls", 10, 5,
                      "memberlist.tls is not set: the group runs only over mutual TLS, so certificatePath, keyPath "
                      "and remoteCAPath are all required"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// The files are loaded as a listener's are: the identity and the CA bundle both.
TEST_F(Memberlist, TlsFilesThatDoNotLoadAreRefused) {
  write("not-a-bundle.pem", "authority");
  auto result = group("keyPath: \"{dir}/proxy.key\"\n        remoteCAPath: \"{dir}/ca.pem\"",
                      "keyPath: \"{dir}/ca.pem\"\n        remoteCAPath: \"{dir}/not-a-bundle.pem\"");
  EXPECT_TRUE(reports(
      result, memberlist + ".tls.keyPath", 19, 9,
      "cannot load the private key '" + directory().string() + "/ca.pem', which must be PEM and not encrypted"));
  EXPECT_TRUE(reports(result, memberlist + ".tls.remoteCAPath", 20, 9,
                      "cannot load the CA bundle '" + directory().string() +
                          "/not-a-bundle.pem', which must hold one or more PEM certificates"));
  EXPECT_EQ(result.errors.size(), 2u) << listing(result);
}

TEST_F(Memberlist, KeysOfADiallingSideAreRefusedInItsTls) {
  auto result = group({}, {}, "        caServerName: proxy-a.example\n        skipCAVerification: true\n");
  EXPECT_TRUE(reports(result, memberlist + ".tls.caServerName", 21, 23,
                      "caServerName is not used in memberlist.tls: every member both accepts and dials its peers, "
                      "and each peer's certificate is verified against remoteCAPath (mutual TLS); remove it"));
  EXPECT_TRUE(reports(result, memberlist + ".tls.skipCAVerification", 22, 29,
                      "skipCAVerification is not used in memberlist.tls"));
  EXPECT_EQ(result.errors.size(), 2u) << listing(result);
}

// A second connection's group: its own name, ports and instance addresses, and the given TLS files.
std::string second_connection(const std::string& certificate, const std::string& key, int bind_port) {
  std::string text = R"(  - name: c-to-d
    local:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7243"}
      tcpServer: {address: "0.0.0.0:6243"}
    remote:
      connectionType: mux-server
      muxAddressInfo: {address: "0.0.0.0:6344"}
    memberlist:
      enabled: true
      nodeName: c1
      bindPort: {port}
      proxyAddresses: {c1: "10.0.0.1:6243"}
      tls:
        certificatePath: "{certificate}"
        keyPath: "{key}"
        remoteCAPath: "{dir}/ca.pem"
)";
  for (auto [from, to] : {std::pair<std::string, std::string>{"{port}", std::to_string(bind_port)},
                          {"{certificate}", certificate},
                          {"{key}", key}})
    text.replace(text.find(from), from.size(), to);
  return text;
}

TEST_F(Memberlist, GroupsOfOneProcessShareTheirTlsFiles) {
  auto same = group({}, {}, second_connection("{dir}/proxy.pem", "{dir}/proxy.key", 7947));
  EXPECT_TRUE(same.value) << listing(same);
  auto other = group(
      {}, {},
      second_connection(made().trusted.client.certificate.string(), made().trusted.client.private_key.string(), 7947));
  EXPECT_TRUE(reports(other, "clusterConnections[1].memberlist.tls", 34, 7,
                      "CAF's OpenSSL settings are per process: every memberlist block must name the same "
                      "certificatePath, keyPath and remoteCAPath, and this one differs from "
                      "clusterConnections[0].memberlist.tls (line 17)"));
  EXPECT_EQ(other.errors.size(), 1u) << listing(other);
}

TEST_F(Memberlist, BindAddressIsAListenerLikeTheOthers) {
  auto clash = group("bindAddr: 10.0.0.1\n      bindPort: 7946", "bindAddr: 10.0.0.1\n      bindPort: 6233");
  EXPECT_TRUE(reports(clash, memberlist + ".bindPort", 14, 7,
                      "listens on 10.0.0.1:6233, which clusterConnections[0].local.tcpServer.address (line 6) "
                      "already listens on"));
  EXPECT_EQ(clash.errors.size(), 1u) << listing(clash);
  // An empty bindAddr is every interface.
  auto metrics = group("bindAddr: 10.0.0.1\n", "bindAddr: \"\"\n",
                       "metrics:\n  prometheus:\n    listenAddress: \"127.0.0.1:7946\"\n");
  EXPECT_TRUE(reports(metrics, "metrics.prometheus.listenAddress", 23, 5,
                      "listens on 127.0.0.1:7946, which clusterConnections[0].memberlist.bindPort (line 14) already "
                      "listens on"));
  EXPECT_EQ(metrics.errors.size(), 1u) << listing(metrics);
  auto groups = group({}, {}, second_connection("{dir}/proxy.pem", "{dir}/proxy.key", 7946));
  EXPECT_TRUE(reports(groups, "clusterConnections[1].memberlist.bindPort", 32, 7,
                      "listens on 0.0.0.0:7946, which clusterConnections[0].memberlist.bindPort (line 14)"));
  // Port 0 is a free port, chosen at start: it clashes with nothing.
  auto free = group("bindPort: 7946", "bindPort: 0", second_connection("{dir}/proxy.pem", "{dir}/proxy.key", 0));
  EXPECT_TRUE(free.value) << listing(free);
}

}  // namespace
}  // namespace s2s::config::testing
