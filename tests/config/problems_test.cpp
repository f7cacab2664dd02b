// Tests that each kind of mistake in a config file is reported with its key path, line, column and a remedy.
#include <civetweb.h>
#include <gtest/gtest.h>

#include "config_files.hpp"

namespace s2s::config::testing {
namespace {

// minimal_tcp_config with its first occurrence of from replaced by to (line numbers stay put when to is one line).
std::string edited(std::string_view from, std::string_view to) {
  std::string text(minimal_tcp_config);
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

// minimal_tcp_config with lines added after its last line (line 10).
std::string appended(std::string_view lines) { return std::string(minimal_tcp_config) + std::string(lines); }

TEST(ConfigProblems, MinimalTcpConfigLoads) {
  auto result = parse(minimal_tcp_config);
  ASSERT_TRUE(result.value) << listing(result);
  EXPECT_TRUE(result.errors.empty());
}

TEST(ConfigProblems, UnknownKeyIsNamedWithTheClosestKnownKey) {
  auto result = parse(edited("tcpClient: {address: \"127.0.0.1:7233\"}", "tcpClinet: {address: \"127.0.0.1:7233\"}"));
  EXPECT_FALSE(result.value);
  EXPECT_TRUE(reports(result, "clusterConnections[0].local.tcpClinet", 5, 7,
                      "unknown key 'tcpClinet' (did you mean 'tcpClient'?); allowed here: connectionType, tcpClient"));
  // The real tcpClient is then missing, and that is said too.
  EXPECT_TRUE(
      reports(result, "clusterConnections[0].local.tcpClient.address", 3, 5, "a tcp side needs tcpClient.address"));
}

TEST(ConfigProblems, UnknownTopLevelKeyIsReported) {
  auto result = parse(appended("inbound:\n  name: old-format\n"));
  EXPECT_TRUE(reports(result, "inbound", 11, 1, "unknown key 'inbound'"));
}

TEST(ConfigProblems, UnreadableDescriptorSetFileIsReported) {
  auto result = parse(appended("translation:\n  descriptorSetPath: /nonexistent/temporal.binpb\n  reflection: on\n"));
  EXPECT_TRUE(reports(result, "translation.descriptorSetPath", 12, 3,
                      "cannot read the descriptor set file '/nonexistent/temporal.binpb'"));
  EXPECT_TRUE(reports(result, "translation.reflection", 13, 3, "unknown key 'reflection'"));
}

TEST(ConfigProblems, WrongTypeSaysWhatWasFoundAndWhatIsExpected) {
  auto result = parse(appended("    repairUTF8: maybe\n"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].repairUTF8", 11, 17, "expected true or false, found 'maybe'"));
}

TEST(ConfigProblems, QuotedNumberIsTextNotANumber) {
  auto result = parse(edited("      connectionType: tcp\n      tcpClient: {address: \"127.0.0.1:7234\"}",
                             "      connectionType: tcp\n      muxCount: \"4\""));
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxCount", 9, 17,
                      "expected a whole number, found the quoted text \"4\" (remove the quotes)"));
}

TEST(ConfigProblems, MappingWhereTextIsExpectedIsReported) {
  auto result = parse(edited("name: a-to-b", "name: {first: a}"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].name", 2, 5, "expected text, found a mapping"));
}

TEST(ConfigProblems, NumberOutOfRangeIsReported) {
  auto result = parse(appended("    shardCount: {mode: lcm, localShardCount: 3000000000, remoteShardCount: 8}\n"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].shardCount.localShardCount", 11, 46,
                      "found 3000000000, which is out of range; allowed 0 to 2147483647"));
}

TEST(ConfigProblems, MissingRequiredKeyIsReportedWhereItsMappingStarts) {
  auto result = parse(edited("  - name: a-to-b\n    local:", "  - local:"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].name", 2, 5, "required key 'name' is missing"));
}

TEST(ConfigProblems, MissingConnectionTypeIsReportedOnceForItsSide) {
  auto result = parse(edited("connectionType: tcp", "muxCount: 1"));
  EXPECT_TRUE(
      reports(result, "clusterConnections[0].local.connectionType", 3, 5, "required key 'connectionType' is missing"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, MissingClusterConnectionsIsReported) {
  auto result = parse("metrics: {prometheus: {listenAddress: \"127.0.0.1:9090\"}}\n");
  EXPECT_TRUE(reports(result, "clusterConnections", 1, 1, "required key 'clusterConnections' is missing"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, EmptyClusterConnectionsIsReported) {
  auto result = parse("clusterConnections: []\n");
  EXPECT_TRUE(reports(result, "clusterConnections", 1, 1, "there are no cluster connections"));
}

TEST(ConfigProblems, DuplicateLocalNamespaceIsReportedWithTheFirstOne) {
  auto result = parse(appended(R"(    namespaceTranslation:
      mappings:
        - {local: orders, remote: orders-east}
        - {local: orders, remote: orders-west}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].namespaceTranslation.mappings[1].local", 14, 12,
                      "local namespace 'orders' is already used at "
                      "clusterConnections[0].namespaceTranslation.mappings[0].local (line 13)"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, DuplicateRemoteNamespaceIsReportedWithTheFirstOne) {
  auto result = parse(appended(R"(    namespaceTranslation:
      mappings:
        - {local: a, remote: shared}
        - {local: b, remote: shared}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].namespaceTranslation.mappings[1].remote", 14, 22,
                      "remote namespace 'shared' is already used at "
                      "clusterConnections[0].namespaceTranslation.mappings[0].remote (line 13)"));
}

TEST(ConfigProblems, DuplicateSearchAttributeNameIsReported) {
  auto result = parse(appended(R"(    searchAttributeTranslation:
      namespaceMappings:
        - name: orders
          namespaceId: 3f1c
          mappings:
            - {localFieldName: CustomerId, remoteFieldName: CustomerIdA}
            - {localFieldName: CustomerId, remoteFieldName: CustomerIdB}
)"));
  EXPECT_TRUE(reports(
      result, "clusterConnections[0].searchAttributeTranslation.namespaceMappings[0].mappings[1].localFieldName", 17,
      16, "local search attribute 'CustomerId' is already used"));
}

TEST(ConfigProblems, NamespaceMappingWithAnEmptyNameIsReported) {
  auto result = parse(appended(R"(    namespaceTranslation:
      mappings:
        - {local: orders, remote: ""}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].namespaceTranslation.mappings[0]", 13, 11,
                      "a namespace mapping needs a non-empty local and remote name"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, SearchAttributeNamespaceListedTwiceIsReportedByNameAndById) {
  auto result = parse(appended(R"(    searchAttributeTranslation:
      namespaceMappings:
        - {name: orders, namespaceId: 3f1c}
        - {name: orders, namespaceId: 3f1c}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].searchAttributeTranslation.namespaceMappings[1].name", 14, 12,
                      "namespace 'orders' is already used at "
                      "clusterConnections[0].searchAttributeTranslation.namespaceMappings[0].name (line 13)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].searchAttributeTranslation.namespaceMappings[1].namespaceId", 14,
                      26, "namespaceId '3f1c' is already used"));
  EXPECT_EQ(result.errors.size(), 2u) << listing(result);
}

TEST(ConfigProblems, RemoteSearchAttributeMappedTwiceIsReported) {
  auto result = parse(appended(R"(    searchAttributeTranslation:
      namespaceMappings:
        - name: orders
          namespaceId: 3f1c
          mappings:
            - {localFieldName: CustomerIdA, remoteFieldName: CustomerId}
            - {localFieldName: CustomerIdB, remoteFieldName: CustomerId}
)"));
  EXPECT_TRUE(reports(
      result, "clusterConnections[0].searchAttributeTranslation.namespaceMappings[0].mappings[1].remoteFieldName", 17,
      45, "remote search attribute 'CustomerId' is already used"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, UnparsableAddressIsReportedOnceWithTheReason) {
  auto result = parse(edited("\"127.0.0.1:7233\"", "\"127.0.0.1\""));
  EXPECT_TRUE(reports(result, "clusterConnections[0].local.tcpClient.address", 5, 28,
                      "'127.0.0.1' is not an address: the port is missing. Write host:port"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, UnknownConnectionTypeListsTheKnownOnes) {
  auto result = parse(edited("connectionType: tcp", "connectionType: udp"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].local.connectionType", 4, 23,
                      "unknown connectionType 'udp'; use tcp, mux-client or mux-server"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, MuxCountBelowOneIsReported) {
  auto result = parse(edited(R"(      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7234"}
      tcpServer: {address: "127.0.0.1:6234"})",
                             R"(      connectionType: mux-client
      muxCount: 0
      muxAddressInfo: {address: "proxy-b.example:6334"})"));
  EXPECT_TRUE(
      reports(result, "clusterConnections[0].remote.muxCount", 9, 7, "muxCount is 0; it must be from 1 to 1024"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// The remote side of minimal_tcp_config turned into a mux side with these lines.
std::string mux_remote(std::string_view lines) {
  return edited(R"(      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7234"}
      tcpServer: {address: "127.0.0.1:6234"})",
                lines);
}

TEST(ConfigProblems, MuxCountAboveTheBoundIsReported) {
  auto loaded = parse(mux_remote(R"(      connectionType: mux-client
      muxCount: 65536
      muxAddressInfo: {address: "proxy-b.example:6334"})"));
  EXPECT_TRUE(
      reports(loaded, "clusterConnections[0].remote.muxCount", 9, 7, "muxCount is 65536; it must be from 1 to 1024"));
  EXPECT_EQ(loaded.errors.size(), 1u) << listing(loaded);
  // Past the range of the key's type, the reader says so itself; it loads no more than that.
  auto huge = parse(mux_remote(R"(      connectionType: mux-client
      muxCount: 20000000000
      muxAddressInfo: {address: "proxy-b.example:6334"})"));
  EXPECT_FALSE(huge.value);
  ASSERT_EQ(huge.errors.size(), 1u) << listing(huge);
  EXPECT_EQ(huge.errors[0].path, "clusterConnections[0].remote.muxCount");
  EXPECT_EQ(huge.errors[0].line, 9);
}

TEST(ConfigProblems, MuxCountDefaultsToTheGoProxysTen) {
  auto result = parse(mux_remote(R"(      connectionType: mux-client
      muxAddressInfo: {address: "proxy-b.example:6334"})"));
  ASSERT_TRUE(result.value) << listing(result);
  EXPECT_EQ(result.value->cluster_connections[0].remote.mux_count, 10);
}

TEST(ConfigProblems, MuxAdmissionIsReadOnAMuxServerAndRefusedElsewhere) {
  auto server = parse(mux_remote(R"(      connectionType: mux-server
      muxAddressInfo: {address: "127.0.0.1:6334"}
      muxAdmission: {clientHelloTimeoutMs: 1500, maxWaitingPerSource: 8})"));
  ASSERT_TRUE(server.value) << listing(server);
  const auto& admission = server.value->cluster_connections[0].remote.admission;
  ASSERT_TRUE(admission);
  EXPECT_EQ(admission->client_hello_timeout_ms, 1500);
  EXPECT_EQ(admission->max_waiting_per_source, 8);
  EXPECT_EQ(admission->max_waiting, 1024) << "keys left out keep their defaults";

  auto client = parse(mux_remote(R"(      connectionType: mux-client
      muxAddressInfo: {address: "proxy-b.example:6334"}
      muxAdmission: {clientHelloTimeoutMs: 1500})"));
  EXPECT_TRUE(reports(client, "clusterConnections[0].remote.muxAdmission", 10, 7,
                      "muxAdmission is only used when connectionType is mux-server, and this side is mux-client"));
  auto zero = parse(mux_remote(R"(      connectionType: mux-server
      muxAddressInfo: {address: "127.0.0.1:6334"}
      muxAdmission: {maxHandshakes: 0})"));
  EXPECT_FALSE(zero.value);
  ASSERT_EQ(zero.errors.size(), 1u) << listing(zero);
  EXPECT_EQ(zero.errors[0].path, "clusterConnections[0].remote.muxAdmission.maxHandshakes");
}

TEST(ConfigProblems, TcpSideWithoutTcpServerIsReported) {
  auto result = parse(edited("tcpServer: {address: \"127.0.0.1:6233\"}", "muxCount: 1"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].local.tcpServer.address", 3, 5,
                      "a tcp side needs tcpServer.address (where this side's Temporal calls the proxy)"));
}

TEST(ConfigProblems, MuxSideWithoutMuxAddressInfoIsReported) {
  auto result = parse(edited(R"(      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7234"}
      tcpServer: {address: "127.0.0.1:6234"})",
                             "      connectionType: mux-server\n      muxCount: 2\n"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.address", 7, 5,
                      "a mux-server side needs muxAddressInfo.address"));
}

TEST(ConfigProblems, MuxSideWithATcpClientAddressIsReportedAsUnused) {
  auto result =
      parse(edited("      connectionType: tcp\n      tcpClient: {address: \"127.0.0.1:7234\"}\n      tcpServer",
                   "      connectionType: mux-client\n      tcpClient: {address: \"127.0.0.1:7234\"}\n"
                   "      muxAddressInfo"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.tcpClient.address", 9, 19,
                      "tcpClient is only used when connectionType is tcp, and this side is mux-client"));
}

// start serves the local Temporal over gRPC only; validate says so instead of start.
TEST(ConfigProblems, MuxLocalSideIsRefusedOnceAtItsConnectionType) {
  for (auto type : {"mux-client", "mux-server"}) {
    auto result =
        parse(edited("tcp\n      tcpClient: {address: \"127.0.0.1:7233\"}\n"
                     "      tcpServer: {address: \"127.0.0.1:6233\"}",
                     std::string(type) + "\n      muxAddressInfo: {address: \"127.0.0.1:6333\"}"));
    EXPECT_FALSE(result.value) << type;
    EXPECT_TRUE(
        reports(result, "clusterConnections[0].local.connectionType", 4, 7,
                std::string("the local side is ") + type + ", but the proxy reaches the local Temporal over tcp only"));
    EXPECT_EQ(result.errors.size(), 1u) << listing(result);
  }
}

TEST(ConfigProblems, MuxLocalSideIsRefusedWhenTheRemoteSideIsMuxToo) {
  auto result = parse(R"(clusterConnections:
  - name: a-to-b
    local:
      connectionType: mux-server
      muxAddressInfo: {address: "127.0.0.1:6333"}
    remote:
      connectionType: mux-client
      muxAddressInfo: {address: "proxy-b.example:6334"}
)");
  EXPECT_TRUE(reports(result, "clusterConnections[0].local.connectionType", 4, 7,
                      "the local side is mux-server, but the proxy reaches the local Temporal over tcp only"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, SearchAttributeNamespaceWithoutNameOrIdIsReported) {
  auto result = parse(appended(R"(    searchAttributeTranslation:
      namespaceMappings:
        - name: ""
          namespaceId: ""
          mappings:
            - {localFieldName: CustomerId, remoteFieldName: CustomerIdA}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].searchAttributeTranslation.namespaceMappings[0]", 13, 11,
                      "a search attribute namespace entry needs a non-empty name or namespaceId"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
  // Either one says which namespace is meant.
  auto by_id = parse(appended(R"(    searchAttributeTranslation:
      namespaceMappings:
        - {name: "", namespaceId: 3f1c}
)"));
  EXPECT_TRUE(by_id.value) << listing(by_id);
}

TEST(ConfigProblems, SearchAttributeMappingWithAnEmptyFieldNameIsReported) {
  auto result = parse(appended(R"(    searchAttributeTranslation:
      namespaceMappings:
        - name: orders
          namespaceId: 3f1c
          mappings:
            - {localFieldName: CustomerId, remoteFieldName: ""}
            - {localFieldName: "", remoteFieldName: Region}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].searchAttributeTranslation.namespaceMappings[0].mappings[0]", 16,
                      15, "a search attribute mapping needs a non-empty localFieldName and remoteFieldName"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].searchAttributeTranslation.namespaceMappings[0].mappings[1]", 17,
                      15, "a search attribute mapping needs a non-empty localFieldName and remoteFieldName"));
  EXPECT_EQ(result.errors.size(), 2u) << listing(result);
}

TEST(ConfigProblems, UnknownShardCountModeIsReported) {
  auto result = parse(appended("    shardCount:\n      mode: modulo\n"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].shardCount.mode", 12, 13,
                      "unknown shardCount.mode 'modulo'; use lcm, routing, or \"\""));
}

TEST(ConfigProblems, ShardCountModeWithoutCountsIsReported) {
  auto result = parse(appended("    shardCount:\n      mode: lcm\n      localShardCount: 4\n"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].shardCount.remoteShardCount", 11, 5,
                      "shardCount.mode lcm needs remoteShardCount"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, RoutingShardCountModeNeedsBothCounts) {
  auto result = parse(appended("    shardCount:\n      mode: routing\n      remoteShardCount: 3\n"));
  EXPECT_FALSE(result.value);
  EXPECT_TRUE(reports(result, "clusterConnections[0].shardCount.localShardCount", 11, 5,
                      "shardCount.mode routing needs localShardCount"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// Routing routes each task by itself, so any two counts work, however large their least common multiple.
TEST(ConfigProblems, RoutingShardCountModeTakesCountsWithoutACommonMultipleBound) {
  auto result = parse(appended("    shardCount: {mode: routing, localShardCount: 2147483647, remoteShardCount: 2}\n"));
  EXPECT_TRUE(result.value) << listing(result);
  EXPECT_TRUE(result.errors.empty()) << listing(result);
}

TEST(ConfigProblems, LcmShardCountBeyondInt32IsReported) {
  auto result = parse(appended("    shardCount: {mode: lcm, localShardCount: 2147483647, remoteShardCount: 2}\n"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].shardCount.remoteShardCount", 11, 58,
                      "the least common multiple of shardCount.localShardCount and remoteShardCount exceeds"));
}

TEST(ConfigProblems, LcmShardCountModeWithCountsLoads) {
  auto result = parse(appended("    shardCount: {mode: lcm, localShardCount: 2, remoteShardCount: 3}\n"));
  ASSERT_TRUE(result.value) << listing(result);
  EXPECT_EQ(result.value->cluster_connections[0].shards.mode, s2s::config::shard_count_mode::lcm);
}

TEST(ConfigProblems, YamlSyntaxErrorIsReportedWithItsLineAndColumn) {
  auto result = parse(edited("connectionType: tcp", "connectionType: tcp: udp"), "proxy.yaml");
  ASSERT_EQ(result.errors.size(), 1u) << listing(result);
  const auto& problem = result.errors[0];
  EXPECT_EQ(problem.line, 4);
  EXPECT_EQ(problem.column, 26);
  EXPECT_NE(problem.message.find("proxy.yaml is not valid YAML: illegal map value"), std::string::npos)
      << problem.message;
  EXPECT_EQ(problem.to_string().rfind("line 4, column 26: ", 0), 0u) << problem.to_string();
}

TEST(ConfigProblems, DocumentThatIsNotAMappingIsReported) {
  auto result = parse("just some words\n");
  ASSERT_EQ(result.errors.size(), 1u) << listing(result);
  EXPECT_EQ(result.errors[0].line, 1);
  EXPECT_NE(result.errors[0].message.find("expected a mapping"), std::string::npos);
}

TEST(ConfigProblems, KeyWrittenTwiceIsReported) {
  auto result = parse(appended("    name: another\n"));
  EXPECT_TRUE(
      reports(result, "clusterConnections[0].name", 11, 5, "key 'name' is written twice; the first is on line 2"));
}

TEST(ConfigProblems, DuplicateClusterConnectionNameIsReported) {
  std::string second(minimal_tcp_config.substr(minimal_tcp_config.find("  - name")));
  for (auto port : {"7233", "6233", "7234", "6234"})
    second.replace(second.find(port), 4, std::string("1") + port);
  auto result = parse(std::string(minimal_tcp_config) + second);
  EXPECT_TRUE(reports(result, "clusterConnections[1].name", 11, 5,
                      "cluster connection name 'a-to-b' is already used at clusterConnections[0].name (line 2)"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, ListenAddressUsedTwiceIsReported) {
  auto result = parse(appended("metrics:\n  prometheus:\n    listenAddress: \"0.0.0.0:6234\"\n"));
  EXPECT_TRUE(reports(result, "metrics.prometheus.listenAddress", 13, 5,
                      "listens on 0.0.0.0:6234, which clusterConnections[0].remote.tcpServer.address (line 10) "
                      "already listens on"));
}

// Two spellings of one IPv6 address are one socket: the second listener could not bind.
TEST(ConfigProblems, ListenAddressUsedTwiceInAnotherIpv6SpellingIsReported) {
  auto result = parse(edited("tcpServer: {address: \"127.0.0.1:6234\"}", "tcpServer: {address: \"[::1]:6234\"}") +
                      "    localClusterHealthCheck: {protocol: http, listenAddress: \"[0:0::0:1]:6234\"}\n");
  EXPECT_TRUE(reports(result, "clusterConnections[0].localClusterHealthCheck.listenAddress", 11, 47,
                      "listens on [0:0::0:1]:6234, which clusterConnections[0].remote.tcpServer.address (line 10) "
                      "already listens on"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// start serves /metrics on civetweb: an IPv6 address is refused exactly when that civetweb cannot listen on one.
TEST(ConfigProblems, MetricsOnAnIpv6AddressIsRefusedUnlessItsServerListensOnIpv6) {
  auto result = parse(appended("metrics:\n  prometheus:\n    listenAddress: \"[::1]:9090\"\n"));
  if (mg_check_feature(MG_FEATURES_IPV6) != 0) {
    EXPECT_TRUE(result.value) << listing(result);
    return;
  }
  EXPECT_TRUE(reports(result, "metrics.prometheus.listenAddress", 13, 5,
                      "the metrics endpoint cannot listen on [::1]:9090: its HTTP server (civetweb) is built without "
                      "IPv6 here; use an IPv4 address"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST(ConfigProblems, UnknownLogLevelIsReported) {
  auto result = parse(appended("logConfigs:\n  adminService: {level: loud}\n"));
  EXPECT_TRUE(
      reports(result, "logConfigs.adminService.level", 12, 25, "unknown level 'loud'; use debug, info, warn or error"));
}

TEST(ConfigProblems, UnsupportedHealthCheckProtocolIsReported) {
  auto result = parse(appended("    localClusterHealthCheck: {protocol: grpc, listenAddress: \"0.0.0.0:8081\"}\n"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].localClusterHealthCheck.protocol", 11, 41,
                      "unknown health check protocol 'grpc'; only http is served"));
}

TEST(ConfigProblems, AllProblemsAreReportedAtOnceInFileOrder) {
  auto result = parse(R"(clusterConnections:
  - name: a-to-b
    local:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1"}
      tcpServer: {address: "127.0.0.1:6233"}
    remote:
      connectionType: mux-client
      muxCount: 0
      muxAddressInfo: {address: "proxy-b.example:6334"}
    namespaceTranslation:
      mappings:
        - {local: orders, remote: east}
        - {local: orders, remote: west}
    shardCount: {mode: modulo}
    replicationEndpont: "proxy-a:6233"
logging:
  throttleMaxRPS: lots
)");
  EXPECT_FALSE(result.value);
  ASSERT_EQ(result.errors.size(), 6u) << listing(result);
  std::vector<std::string> paths;
  for (const auto& problem : result.errors)
    paths.push_back(problem.path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "clusterConnections[0].local.tcpClient.address",
                       "clusterConnections[0].remote.muxCount",
                       "clusterConnections[0].namespaceTranslation.mappings[1].local",
                       "clusterConnections[0].shardCount.mode",
                       "clusterConnections[0].replicationEndpont",
                       "logging.throttleMaxRPS",
                   }));
  std::vector<int> lines;
  for (const auto& problem : result.errors)
    lines.push_back(problem.line);
  EXPECT_EQ(lines, (std::vector<int>{5, 9, 14, 15, 16, 18}));
}

class ConfigFileProblems : public config_files {};

TEST_F(ConfigFileProblems, MissingConfigFileIsReportedWithTheReason) {
  auto path = (directory() / "absent.yaml").string();
  auto result = load_file(path);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 0);
  EXPECT_EQ(result.errors[0].to_string(), "cannot read config file '" + path + "': No such file or directory");
}

TEST_F(ConfigFileProblems, ConfigFileIsLoadedFromDisk) {
  auto result = load_file(write("proxy.yaml", minimal_tcp_config));
  ASSERT_TRUE(result.value) << listing(result);
  EXPECT_EQ(result.value->cluster_connections.at(0).name, "a-to-b");
}

}  // namespace
}  // namespace s2s::config::testing
