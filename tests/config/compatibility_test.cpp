// Tests that files written for the Go s2s-proxy load unchanged, and that the shipped examples load.
#include <gtest/gtest.h>

#include "config_files.hpp"

namespace s2s::config::testing {
namespace {

// Every key of the Go proxy's clusterConnections format, written the way its files write them
// (quoted scalars, empty placeholders, blocks a side does not use).
constexpr std::string_view go_style_config = R"(clusterConnections:
  - name: "a-inbound-server/a-outbound-server"
    local:
      connectionType: "tcp"
      tcpClient:
        address: "localhost:7233"
        tls:
          certificatePath: "{dir}/proxy.pem"
          keyPath: "{dir}/proxy.key"
          remoteCAPath: "{dir}/ca.pem"
          caServerName: "frontend.example"
          skipCAVerification: false
      tcpServer:
        address: "0.0.0.0:6133"
        tls:
          certificatePath: ""
          keyPath: ""
          remoteCAPath: ""
          caServerName: ""
          skipCAVerification: true
      muxCount: 10
      muxAddressInfo:
        address: ""
    remote:
      connectionType: "mux-server"
      tcpClient:
        address: ""
      tcpServer:
        address: ""
      muxCount: 10
      muxAddressInfo:
        address: "0.0.0.0:6334"
        tls:
          certificatePath: "{dir}/proxy.pem"
          keyPath: "{dir}/proxy.key"
          remoteCAPath: "{dir}/ca.pem"
          caServerName: ""
          skipCAVerification: false
    replicationEndpoint: "proxy-a.internal:6133"
    failoverVersionIncrementTranslation:
      local: 100
      remote: 1000000
    aclPolicy:
      allowedMethods:
        adminService:
          - DescribeCluster
          - GetNamespace # eager namespace lookups
      allowedNamespaces:
        - namespace1
    namespaceTranslation:
      mappings:
        - local: "localName"
          remote: "remoteName"
    searchAttributeTranslation:
      namespaceMappings:
        - name: "namespace1"
          namespaceId: "namespace-id-1"
          mappings:
            - localFieldName: "localSearchAttribute"
              remoteFieldName: "remoteSearchAttribute"
    remoteClusterHealthCheck:
      protocol: "http"
      listenAddress: "127.0.0.1:911"
    localClusterHealthCheck:
      protocol: "http"
      listenAddress: "127.0.0.1:912"
    shardCount:
      mode: "lcm"
      localShardCount: 3
      remoteShardCount: 2
    memberlist:
      enabled: false
      nodeName: "proxy-node-b-1"
      bindAddr: "127.0.0.1"
      bindPort: 6335
      joinAddrs:
        - "127.0.0.1:6435"
      shardStrategy: "consistent"
      proxyAddresses:
        proxy-node-b-1: "localhost:6333"
        proxy-node-b-2: "localhost:6433"
      tcpOnly: true
      disableTCPPings: true
      probeTimeoutMs: 500
      probeIntervalMs: 1000
metrics:
  prometheus:
    listenAddress: "0.0.0.0:9090"
    framework: "prometheus"
profiling:
  pprofAddress: "localhost:6060"
logging:
  throttleMaxRPS: 2.5
  disabled: false
logConfigs:
  adminService:
    throttleMaxRPS: 3
  replicationStreams:
    disabled: true
)";

class GoCompatibility : public config_files {
 protected:
  void SetUp() override {
    config_files::SetUp();
    write_tls_files();
  }
};

TEST_F(GoCompatibility, ConfigUsingEveryKeyOfTheGoFormatLoads) {
  auto result = parse(in_directory(std::string(go_style_config)));
  ASSERT_TRUE(result.value) << listing(result);
  const auto& config = *result.value;
  ASSERT_EQ(config.cluster_connections.size(), 1u);
  const auto& connection = config.cluster_connections[0];
  EXPECT_EQ(connection.name, "a-inbound-server/a-outbound-server");

  EXPECT_EQ(connection.local.type, connection_type::tcp);
  ASSERT_TRUE(connection.local.tcp_client);
  EXPECT_EQ(connection.local.tcp_client->addr.to_string(), "localhost:7233");
  EXPECT_EQ(connection.local.tcp_client->tls.remote_ca_path, directory().string() + "/ca.pem");
  EXPECT_EQ(connection.local.tcp_client->tls.ca_server_name, "frontend.example");
  ASSERT_TRUE(connection.local.tcp_server);
  EXPECT_FALSE(connection.local.tcp_server->tls.enabled());
  EXPECT_TRUE(connection.local.tcp_server->tls.skip_ca_verification);
  EXPECT_FALSE(connection.local.mux_address) << "an empty placeholder address means the block is not there";

  EXPECT_EQ(connection.remote.type, connection_type::mux_server);
  EXPECT_EQ(connection.remote.mux_count, 10);
  ASSERT_TRUE(connection.remote.mux_address);
  EXPECT_EQ(connection.remote.mux_address->addr.to_string(), "0.0.0.0:6334");
  EXPECT_TRUE(connection.remote.mux_address->tls.enabled());
  EXPECT_FALSE(connection.remote.tcp_client);

  EXPECT_EQ(connection.replication_endpoint, "proxy-a.internal:6133");
  ASSERT_TRUE(connection.failover_version_increment_translation);
  EXPECT_EQ(connection.failover_version_increment_translation->local, 100);
  EXPECT_EQ(connection.failover_version_increment_translation->remote, 1000000);
  ASSERT_TRUE(connection.acl);
  EXPECT_EQ(connection.acl->allowed_admin_methods, (std::vector<std::string>{"DescribeCluster", "GetNamespace"}));
  EXPECT_EQ(connection.acl->allowed_namespaces, (std::vector<std::string>{"namespace1"}));
  ASSERT_EQ(connection.namespace_mappings.size(), 1u);
  EXPECT_EQ(connection.namespace_mappings[0].local, "localName");
  EXPECT_EQ(connection.namespace_mappings[0].remote, "remoteName");
  ASSERT_EQ(connection.search_attribute_mappings.size(), 1u);
  EXPECT_EQ(connection.search_attribute_mappings[0].namespace_id, "namespace-id-1");
  EXPECT_EQ(connection.search_attribute_mappings[0].mappings.at(0).remote_field_name, "remoteSearchAttribute");
  ASSERT_TRUE(connection.local_health_check);
  EXPECT_EQ(connection.local_health_check->listen_address.to_string(), "127.0.0.1:912");
  ASSERT_TRUE(connection.remote_health_check);
  EXPECT_EQ(connection.remote_health_check->protocol, "http");
  EXPECT_EQ(connection.shards.mode, shard_count_mode::lcm);
  EXPECT_EQ(connection.shards.local_shard_count, 3);
  EXPECT_EQ(connection.shards.remote_shard_count, 2);

  ASSERT_TRUE(connection.memberlist);
  const auto& memberlist = *connection.memberlist;
  EXPECT_FALSE(memberlist.enabled);
  EXPECT_EQ(memberlist.node_name, "proxy-node-b-1");
  EXPECT_EQ(memberlist.bind_address, "127.0.0.1");
  EXPECT_EQ(memberlist.bind_port, 6335);
  EXPECT_EQ(memberlist.join_addresses, (std::vector<std::string>{"127.0.0.1:6435"}));
  EXPECT_EQ(memberlist.shard_strategy, "consistent");
  EXPECT_EQ(memberlist.proxy_addresses.at("proxy-node-b-2"), "localhost:6433");
  EXPECT_TRUE(memberlist.tcp_only);
  EXPECT_TRUE(memberlist.disable_tcp_pings);
  EXPECT_EQ(memberlist.probe_timeout_ms, 500);
  EXPECT_EQ(memberlist.probe_interval_ms, 1000);
  EXPECT_TRUE(connection.repair_utf8);

  ASSERT_TRUE(config.metrics_listen_address);
  EXPECT_EQ(config.metrics_listen_address->to_string(), "0.0.0.0:9090");
  EXPECT_EQ(config.metrics_framework, "prometheus");
  ASSERT_TRUE(config.pprof_address);
  EXPECT_EQ(config.pprof_address->to_string(), "localhost:6060");
  EXPECT_DOUBLE_EQ(config.logging.throttle_max_rps, 2.5);
  EXPECT_FALSE(config.logging.disabled);
  EXPECT_DOUBLE_EQ(config.log_configs.at("adminService").throttle_max_rps, 3);
  EXPECT_TRUE(config.log_configs.at("replicationStreams").disabled);
}

// The shape the Go proxy's own writer gives a file: every key present, zero values included.
TEST(GoDefaults, FileWithEveryKeyAtItsZeroValueLoads) {
  auto empty_endpoint =
      R"({address: "", tls: {certificatePath: "", keyPath: "", remoteCAPath: "", caServerName: "", skipCAVerification: false}})";
  auto text = std::string(R"(metrics: null
profiling: null
logging: {throttleMaxRPS: 0, disabled: false}
logConfigs: {}
clusterConnections:
  - name: a-to-b
    local:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7233"}
      tcpServer: {address: "127.0.0.1:6233"}
      muxCount: 0
      muxAddressInfo: )") +
              empty_endpoint + R"(
    remote:
      connectionType: mux-client
      tcpClient: )" +
              empty_endpoint + R"(
      tcpServer: )" +
              empty_endpoint + R"(
      muxCount: 3
      muxAddressInfo: {address: "proxy-b.example:6334"}
    replicationEndpoint: ""
    failoverVersionIncrementTranslation: {local: 0, remote: 0}
    aclPolicy: null
    namespaceTranslation: {mappings: []}
    searchAttributeTranslation: {namespaceMappings: []}
    remoteClusterHealthCheck: {protocol: "", listenAddress: ""}
    localClusterHealthCheck: {protocol: "", listenAddress: ""}
    shardCount: {mode: "", localShardCount: 0, remoteShardCount: 0}
    memberlist: null
)";
  auto result = parse(text);
  ASSERT_TRUE(result.value) << listing(result);
  const auto& connection = result.value->cluster_connections.at(0);
  EXPECT_FALSE(connection.acl);
  EXPECT_FALSE(connection.memberlist);
  EXPECT_FALSE(connection.local_health_check);
  EXPECT_FALSE(connection.remote.tcp_client);
  EXPECT_EQ(connection.remote.mux_count, 3);
  EXPECT_EQ(connection.shards.mode, shard_count_mode::none);
  EXPECT_FALSE(result.value->metrics_listen_address);
  EXPECT_FALSE(result.value->pprof_address);
}

TEST(GoDefaults, ProfilingWithoutPprofAddressServesOnTheGoDefault) {
  auto result = parse(std::string(minimal_tcp_config) + "profiling: {}\n");
  ASSERT_TRUE(result.value) << listing(result);
  ASSERT_TRUE(result.value->pprof_address);
  EXPECT_EQ(result.value->pprof_address->to_string(), "localhost:6060");
}

TEST(GoDefaults, EmptyPprofAddressOrNoProfilingBlockTurnsProfilingOff) {
  auto empty = parse(std::string(minimal_tcp_config) + "profiling:\n  pprofAddress: \"\"\n");
  ASSERT_TRUE(empty.value) << listing(empty);
  EXPECT_FALSE(empty.value->pprof_address);
  EXPECT_FALSE(parse(minimal_tcp_config).value->pprof_address);
}

TEST(GoDefaults, EmptyAllowlistsRestrictNothing) {
  auto result = parse(std::string(minimal_tcp_config) +
                      "    aclPolicy:\n      allowedMethods: {adminService: []}\n      allowedNamespaces: []\n");
  ASSERT_TRUE(result.value) << listing(result);
  ASSERT_TRUE(result.value->cluster_connections[0].acl);
  EXPECT_FALSE(result.value->cluster_connections[0].acl->allowed_admin_methods);
  EXPECT_FALSE(result.value->cluster_connections[0].acl->allowed_namespaces);
}

TEST(GoDefaults, HealthCheckWithoutListenAddressIsOff) {
  auto result =
      parse(std::string(minimal_tcp_config) + "    localClusterHealthCheck: {protocol: http, listenAddress: \"\"}\n");
  ASSERT_TRUE(result.value) << listing(result);
  EXPECT_FALSE(result.value->cluster_connections[0].local_health_check);
}

TEST(GoDefaults, ZeroFailoverVersionIncrementsOverrideNothing) {
  auto result =
      parse(std::string(minimal_tcp_config) + "    failoverVersionIncrementTranslation: {local: 0, remote: 0}\n");
  ASSERT_TRUE(result.value) << listing(result);
  EXPECT_FALSE(result.value->cluster_connections[0].failover_version_increment_translation);
}

TEST(GoDefaults, Yaml11BooleanWordsAreAcceptedForBooleanKeys) {
  auto result = parse(std::string(minimal_tcp_config) + "logging: {disabled: yes}\n");
  ASSERT_TRUE(result.value) << listing(result);
  EXPECT_TRUE(result.value->logging.disabled);
}

TEST(Utf8Repair, IsOnUnlessTurnedOff) {
  auto on = parse(minimal_tcp_config);
  ASSERT_TRUE(on.value);
  EXPECT_TRUE(on.value->cluster_connections[0].repair_utf8);
  auto off = parse(std::string(minimal_tcp_config) + "    repairUTF8: false\n");
  ASSERT_TRUE(off.value) << listing(off);
  EXPECT_FALSE(off.value->cluster_connections[0].repair_utf8);
}

TEST(TranslationSchema, ReflectionUnlessADescriptorSetFileIsNamed) {
  auto reflection = parse(minimal_tcp_config);
  ASSERT_TRUE(reflection.value) << listing(reflection);
  EXPECT_EQ(reflection.value->translation.descriptor_set_path, "");
  // Any readable file passes the loader; whether it holds descriptors is found when the proxy loads it.
  auto file = parse(std::string(minimal_tcp_config) + "translation:\n  descriptorSetPath: \"" +
                    std::string(S2S_SOURCE_DIR) + "/README.md\"\n");
  ASSERT_TRUE(file.value) << listing(file);
  EXPECT_EQ(file.value->translation.descriptor_set_path, std::string(S2S_SOURCE_DIR) + "/README.md");
}

TEST(Summary, NamesEachConnectionWithItsSideTypesAndTheMetricsAddress) {
  auto two = parse(R"(clusterConnections:
  - name: a-to-b
    local: {connectionType: tcp, tcpClient: {address: "127.0.0.1:7233"}, tcpServer: {address: "0.0.0.0:6233"}}
    remote: {connectionType: mux-client, muxAddressInfo: {address: "proxy-b:6334"}}
  - name: a-to-c
    local: {connectionType: tcp, tcpClient: {address: "127.0.0.1:7233"}, tcpServer: {address: "0.0.0.0:6235"}}
    remote: {connectionType: tcp, tcpClient: {address: "c:7233"}, tcpServer: {address: "0.0.0.0:6236"}}
metrics: {prometheus: {listenAddress: "0.0.0.0:9090"}}
)");
  ASSERT_TRUE(two.value) << listing(two);
  EXPECT_EQ(summarize(*two.value),
            "config OK: 2 cluster connections (a-to-b: tcp/mux-client, a-to-c: tcp/tcp), metrics on 0.0.0.0:9090");
  auto one = parse(minimal_tcp_config);
  ASSERT_TRUE(one.value);
  EXPECT_EQ(summarize(*one.value), "config OK: 1 cluster connection (a-to-b: tcp/tcp), metrics off");
}

std::string example(const std::string& name) { return std::string(S2S_SOURCE_DIR) + "/config/" + name; }

TEST(Examples, TcpExampleLoads) {
  auto result = load_file(example("example-tcp.yaml"));
  ASSERT_TRUE(result.value) << listing(result);
  const auto& connection = result.value->cluster_connections.at(0);
  EXPECT_EQ(connection.local.tcp_server->addr.to_string(), "127.0.0.1:6233");
  EXPECT_EQ(connection.remote.tcp_client->addr.to_string(), "127.0.0.1:7234");
  EXPECT_EQ(connection.remote.tcp_server->addr.to_string(), "127.0.0.1:6234");
  EXPECT_EQ(connection.local.tcp_client->addr.to_string(), "127.0.0.1:7233");
  EXPECT_EQ(connection.namespace_mappings.size(), 1u);
  EXPECT_EQ(result.value->metrics_listen_address->to_string(), "127.0.0.1:9090");
}

// They name certificate files that a real deployment provides; nothing else may be wrong with them.
TEST(Examples, MuxExamplesLackOnlyTheirCertificateFiles) {
  for (auto name : {"example-mux-client.yaml", "example-mux-server.yaml"}) {
    auto result = load_file(example(name));
    EXPECT_EQ(result.errors.size(), 3u) << name << "\n" << listing(result);
    for (const auto& problem : result.errors)
      EXPECT_EQ(problem.message.rfind("cannot read the ", 0), 0u) << name << ": " << problem.to_string();
  }
}

}  // namespace
}  // namespace s2s::config::testing
