// The proxy's configuration as plain values, and the strict loader that builds it from YAML.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace s2s::config {

// A host and port parsed from "host:port" or "[v6]:port"; host may be a name, "0.0.0.0" or "::".
struct address {
  std::string host;
  std::uint16_t port = 0;

  // "host:port", with brackets around IPv6 literals: what gRPC and sockets take.
  std::string to_string() const;

  bool operator==(const address&) const = default;
};

// The TLS block of CONFIG.md.
struct tls_config {
  std::string certificate_path;
  std::string key_path;
  std::string remote_ca_path;
  std::string ca_server_name;
  bool skip_ca_verification = false;

  // TLS is on when a certificate and key are both set, or a server name to verify is set.
  bool enabled() const { return (!certificate_path.empty() && !key_path.empty()) || !ca_server_name.empty(); }

  bool operator==(const tls_config&) const = default;
};

struct endpoint {
  address addr;
  tls_config tls;

  bool operator==(const endpoint&) const = default;
};

enum class connection_type { tcp, mux_client, mux_server };

// The most yamux sessions one side keeps or accepts (muxCount). Each session holds a socket and an
// I/O thread; past a few dozen more sessions only cost, since every session carries any number of
// calls.
constexpr int max_mux_count = 1024;
// muxCount when the key is absent: the Go s2s-proxy's default, so that a Go peer and this proxy
// agree on the number of sessions when neither file says.
constexpr int default_mux_count = 10;

// How a mux-server admits connections before they are sessions (key muxAdmission, an s2s-proxy
// extension): a connection must send its first TLS bytes within client_hello_timeout_ms; those that
// have not yet wait in a pool of max_waiting, at most max_waiting_per_source from one address (the
// oldest idle one gives way to a newcomer); at most max_handshakes are in the TLS handshake at once.
struct mux_admission {
  int client_hello_timeout_ms = 3000;
  int handshake_timeout_ms = 10000;
  int max_waiting = 1024;
  int max_waiting_per_source = 64;
  int max_handshakes = 128;

  bool operator==(const mux_admission&) const = default;
};

std::string_view to_string(connection_type type);

// One side (local or remote) of a cluster connection.
struct side_config {
  connection_type type = connection_type::tcp;
  std::optional<endpoint> tcp_client;  // where calls into this side are sent
  std::optional<endpoint> tcp_server;  // where this side's Temporal calls us
  int mux_count = default_mux_count;
  std::optional<endpoint> mux_address;     // dial target (mux-client) or listen address (mux-server)
  std::optional<mux_admission> admission;  // mux-server only; absent = the defaults

  bool operator==(const side_config&) const = default;
};

struct acl_policy {
  // Absent list = that dimension is not restricted.
  std::optional<std::vector<std::string>> allowed_admin_methods;
  std::optional<std::vector<std::string>> allowed_namespaces;

  bool operator==(const acl_policy&) const = default;
};

struct namespace_mapping {
  std::string local;
  std::string remote;

  bool operator==(const namespace_mapping&) const = default;
};

struct search_attribute_mapping {
  std::string local_field_name;
  std::string remote_field_name;

  bool operator==(const search_attribute_mapping&) const = default;
};

struct search_attribute_namespace {
  std::string name;          // local namespace name
  std::string namespace_id;  // the namespace's id (same on both clusters)
  std::vector<search_attribute_mapping> mappings;

  bool operator==(const search_attribute_namespace&) const = default;
};

// 0 on a side = that side's DescribeCluster answer passes through unchanged, as in the Go proxy.
struct failover_version_increment {
  std::int64_t local = 0;
  std::int64_t remote = 0;

  bool operator==(const failover_version_increment&) const = default;
};

struct health_check {
  std::string protocol = "http";
  address listen_address;

  bool operator==(const health_check&) const = default;
};

enum class shard_count_mode { none, lcm, routing };

struct shard_count {
  shard_count_mode mode = shard_count_mode::none;
  std::int32_t local_shard_count = 0;
  std::int32_t remote_shard_count = 0;

  bool operator==(const shard_count&) const = default;
};

// Several proxy instances per side forming a group. Enabled only on a connection whose remote side is mux
// and whose shardCount.mode is not routing; then the group runs over mutual TLS (tls).
struct memberlist_config {
  bool enabled = false;
  std::string node_name;
  std::string bind_address;
  int bind_port = 0;
  std::vector<std::string> join_addresses;
  std::string shard_strategy;                          // deprecated in the Go proxy, still accepted
  std::map<std::string, std::string> proxy_addresses;  // node name -> that node's proxy address
  bool tcp_only = false;
  bool disable_tcp_pings = false;
  int probe_timeout_ms = 0;
  int probe_interval_ms = 0;
  tls_config tls;  // certificatePath, keyPath and remoteCAPath only

  bool operator==(const memberlist_config&) const = default;
};

// One entry of clusterConnections.
struct cluster_connection {
  std::string name;
  side_config local;
  side_config remote;
  std::optional<acl_policy> acl;
  std::vector<namespace_mapping> namespace_mappings;
  std::vector<search_attribute_namespace> search_attribute_mappings;
  std::optional<failover_version_increment> failover_version_increment_translation;
  std::string replication_endpoint;  // empty = no override
  std::optional<health_check> local_health_check;
  std::optional<health_check> remote_health_check;
  shard_count shards;
  std::optional<memberlist_config> memberlist;
  bool repair_utf8 = true;  // key repairUTF8, an s2s-proxy extension

  bool operator==(const cluster_connection&) const = default;
};

struct logging_config {
  double throttle_max_rps = 0;  // 0 = the default, 10 lines per second (as the Go proxy)
  bool disabled = false;
  std::string level;  // "" = inherit; else debug|info|warn|error

  bool operator==(const logging_config&) const = default;
};

// Where the Temporal descriptors come from (key translation, an s2s-proxy extension).
struct translation_config {
  // A serialized google.protobuf.FileDescriptorSet; empty = gRPC server reflection on each local frontend.
  std::string descriptor_set_path;

  bool operator==(const translation_config&) const = default;
};

struct config {
  std::vector<cluster_connection> cluster_connections;
  translation_config translation;
  std::optional<address> metrics_listen_address;
  std::string metrics_framework;  // metrics.prometheus.framework; accepted for compatibility
  std::optional<address> pprof_address;
  logging_config logging;
  std::map<std::string, logging_config> log_configs;  // per component

  bool operator==(const config&) const = default;
};

// One problem found in a config file: where it is and what to do about it.
struct config_error {
  std::string path;  // key path, e.g. "clusterConnections[0].remote.muxCount"
  int line = 0;      // 1-based; 0 when the file could not be read at all
  int column = 0;    // 1-based
  std::string message;

  // "<path> (line L, column C): <message>"
  std::string to_string() const;
};

struct load_result {
  std::optional<config> value;  // set only when errors is empty
  std::vector<config_error> errors;
};

// Parses and validates completely; every problem is reported, not just the first.
// file_name is used in messages; relative TLS paths are taken from the working directory,
// as the Go s2s-proxy does.
load_result parse(std::string_view yaml_text, const std::string& file_name = "<config>");
load_result load_file(const std::string& path);

// Parses "host:port" / "[v6]:port"; nullopt when it is not a valid address.
// An empty host (":6060", as Go allows) means all interfaces and becomes "0.0.0.0".
std::optional<address> parse_address(std::string_view text);

// Why text is not an address, e.g. "the port is missing"; empty when it is one.
std::string address_problem(std::string_view text);

// The one line `s2s-proxy validate` prints for a config that loaded, e.g.
// "config OK: 2 cluster connections (a-to-b: tcp/mux-client, c: tcp/tcp), metrics on 0.0.0.0:9090".
std::string summarize(const config& config);

}  // namespace s2s::config
