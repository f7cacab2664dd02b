// The loader's second stage: checks what the values mean together, so nothing at run time has to.
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <utility>

#include <civetweb.h>

#include "config/internal.hpp"
#include "tls/pem_files.hpp"

namespace s2s::config::detail {
namespace {

enum class tls_role { client, server };

// A socket this config asks the proxy to listen on, with the key that asks for it.
struct listener {
  std::string path;
  address where;
};

class checker {
 public:
  explicit checker(const source_positions& positions) : positions_(positions) {}

  void problem(const std::string& path, std::string message) {
    auto at = find_position(positions_, path);
    errors_.push_back({path, at.line, at.column, std::move(message)});
  }
  int line_of(const std::string& path) const { return find_position(positions_, path).line; }

  void check(const config& value);

  std::vector<config_error> take() { return std::move(errors_); }

 private:
  void check_connection(const std::string& path, const cluster_connection& connection);
  void check_local_side(const std::string& path, const side_config& side);
  void check_side(const std::string& path, const side_config& side);
  void check_endpoint(const std::string& path, const endpoint& target, tls_role role);
  void check_tls(const std::string& path, const tls_config& tls, tls_role role);
  void check_pem_files(const std::string& path, const tls::pem_paths& files);
  bool check_file(const std::string& path, const std::string& file, std::string_view what);
  void check_namespace_mappings(const std::string& path, const std::vector<namespace_mapping>& mappings);
  void check_search_attributes(const std::string& path, const std::vector<search_attribute_namespace>& namespaces);
  void check_shard_count(const std::string& path, const shard_count& shards);
  void check_memberlist(const std::string& path, const cluster_connection& connection);
  void check_group_tls(const std::string& path, const tls_config& tls);
  void check_metrics_address(const std::string& path, const address& where);
  void check_listeners();

  // Reports every value after the first that is already in seen; empty values are left to other checks.
  void report_repeats(std::map<std::string, std::string>& seen, const std::string& value, const std::string& path,
                      std::string_view what);

  const source_positions& positions_;
  std::vector<config_error> errors_;
  std::vector<listener> listeners_;
  // The first memberlist.tls of an enabled group, with its key path: every other must name the same files.
  std::optional<std::pair<std::string, tls_config>> group_tls_;
};

std::string working_directory() {
  std::error_code error;
  auto here = std::filesystem::current_path(error);
  return error ? std::string("the working directory") : here.string();
}

// Why file cannot be read by this process; empty when it can.
std::string file_problem(const std::string& file) {
  struct stat status {};
  if (::stat(file.c_str(), &status) != 0)
    return std::strerror(errno);
  if (S_ISDIR(status.st_mode))
    return "it is a directory";
  if (::access(file.c_str(), R_OK) != 0)
    return std::strerror(errno);
  return {};
}

// An IPv6 literal in its one canonical spelling ("0:0::1" and "::1" are one address); other hosts as written.
std::string canonical_host(const std::string& host) {
  in6_addr parsed{};
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET6, host.c_str(), &parsed) == 1 && inet_ntop(AF_INET6, &parsed, text, sizeof text))
    return text;
  return host;
}

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::"; }

void checker::check(const config& value) {
  if (value.cluster_connections.empty())
    problem("clusterConnections", "there are no cluster connections; add at least one under clusterConnections");
  std::map<std::string, std::string> names;
  for (std::size_t index = 0; index < value.cluster_connections.size(); ++index) {
    const auto& connection = value.cluster_connections[index];
    auto path = item_path("clusterConnections", index);
    report_repeats(names, connection.name, key_path(path, "name"), "cluster connection name");
    check_connection(path, connection);
  }
  check_file("translation.descriptorSetPath", value.translation.descriptor_set_path, "descriptor set");
  if (value.metrics_listen_address) {
    listeners_.push_back({"metrics.prometheus.listenAddress", *value.metrics_listen_address});
    check_metrics_address("metrics.prometheus.listenAddress", *value.metrics_listen_address);
  }
  if (value.pprof_address)
    listeners_.push_back({"profiling.pprofAddress", *value.pprof_address});
  check_listeners();
}

void checker::report_repeats(std::map<std::string, std::string>& seen, const std::string& value,
                             const std::string& path, std::string_view what) {
  if (value.empty())
    return;
  auto [first, inserted] = seen.emplace(value, path);
  if (!inserted)
    problem(path, std::string(what) + " '" + value + "' is already used at " + first->second + " (line " +
                      std::to_string(line_of(first->second)) + "); each must be unique");
}

void checker::check_connection(const std::string& path, const cluster_connection& connection) {
  if (connection.name.empty())
    problem(key_path(path, "name"), "the name is empty; name the connection (logs and metric labels carry it)");
  check_local_side(key_path(path, "local"), connection.local);
  check_side(key_path(path, "remote"), connection.remote);
  check_namespace_mappings(key_path(key_path(path, "namespaceTranslation"), "mappings"), connection.namespace_mappings);
  check_search_attributes(key_path(key_path(path, "searchAttributeTranslation"), "namespaceMappings"),
                          connection.search_attribute_mappings);
  check_shard_count(key_path(path, "shardCount"), connection.shards);
  check_memberlist(key_path(path, "memberlist"), connection);
  if (connection.local_health_check)
    listeners_.push_back({key_path(key_path(path, "localClusterHealthCheck"), "listenAddress"),
                          connection.local_health_check->listen_address});
  if (connection.remote_health_check)
    listeners_.push_back({key_path(key_path(path, "remoteClusterHealthCheck"), "listenAddress"),
                          connection.remote_health_check->listen_address});
}

// The local Temporal is served over gRPC (tcpServer) and called over gRPC (tcpClient); the proxy has no mux
// side towards it. The rest of a mux local side is not checked: it would have to be rewritten as tcp anyway.
void checker::check_local_side(const std::string& path, const side_config& side) {
  if (side.type == connection_type::tcp) {
    check_side(path, side);
    return;
  }
  problem(key_path(path, "connectionType"),
          "the local side is " + std::string(to_string(side.type)) +
              ", but the proxy reaches the local Temporal "
              "over tcp only (a mux local side is not served); set connectionType: tcp with tcpClient (the local "
              "frontend) and tcpServer (where the local Temporal calls the proxy), and put the mux side under remote");
}

void checker::check_side(const std::string& path, const side_config& side) {
  auto type = std::string(to_string(side.type));
  auto require = [&](const std::optional<endpoint>& block, std::string_view key, std::string_view purpose) {
    if (!block)
      problem(key_path(key_path(path, key), "address"),
              "a " + type + " side needs " + std::string(key) + ".address (" + std::string(purpose) + ")");
  };
  auto refuse = [&](const std::optional<endpoint>& block, std::string_view key, std::string_view users) {
    if (block)
      problem(key_path(key_path(path, key), "address"), std::string(key) + " is only used when connectionType is " +
                                                            std::string(users) + ", and this side is " + type +
                                                            "; remove it or change connectionType");
  };
  if (side.type == connection_type::tcp) {
    require(side.tcp_client, "tcpClient", "where calls into this side are sent");
    require(side.tcp_server, "tcpServer", "where this side's Temporal calls the proxy");
    refuse(side.mux_address, "muxAddressInfo", "mux-client or mux-server");
    if (side.tcp_client)
      check_endpoint(key_path(path, "tcpClient"), *side.tcp_client, tls_role::client);
    if (side.tcp_server)
      check_endpoint(key_path(path, "tcpServer"), *side.tcp_server, tls_role::server);
  } else {
    bool dials = side.type == connection_type::mux_client;
    require(side.mux_address, "muxAddressInfo", dials ? "the mux-server to dial" : "where to accept mux-clients");
    refuse(side.tcp_client, "tcpClient", "tcp");
    refuse(side.tcp_server, "tcpServer", "tcp");
    if (side.mux_address)
      check_endpoint(key_path(path, "muxAddressInfo"), *side.mux_address, dials ? tls_role::client : tls_role::server);
    // Only here: files the Go proxy writes carry muxCount: 0 on tcp sides too.
    if (side.mux_count < 1 || side.mux_count > max_mux_count)
      problem(key_path(path, "muxCount"), "muxCount is " + std::to_string(side.mux_count) + "; it must be from 1 to " +
                                              std::to_string(max_mux_count) +
                                              " (the number of yamux sessions to keep or accept; each "
                                              "carries any number of calls)");
  }
  if (side.admission && side.type != connection_type::mux_server)
    problem(key_path(path, "muxAdmission"),
            "muxAdmission is only used when connectionType is mux-server, and this "
            "side is " +
                type + "; remove it or change connectionType");
}

void checker::check_endpoint(const std::string& path, const endpoint& target, tls_role role) {
  auto address_path = key_path(path, "address");
  if (role == tls_role::server)
    listeners_.push_back({address_path, target.addr});
  else if (target.addr.port == 0)
    problem(address_path, "port 0 cannot be dialled; write the port the peer listens on");
  check_tls(key_path(path, "tls"), target.tls, role);
}

void checker::check_tls(const std::string& path, const tls_config& tls, tls_role role) {
  if (tls.certificate_path.empty() != tls.key_path.empty()) {
    bool has_certificate = !tls.certificate_path.empty();
    problem(key_path(path, has_certificate ? "keyPath" : "certificatePath"),
            std::string(has_certificate ? "certificatePath is set but keyPath is not"
                                        : "keyPath is set but certificatePath is not") +
                "; TLS uses them as a pair, and stays off with only one of them");
  }
  // The files start loads, as far as they can be read: those that cannot are reported here already.
  tls::pem_paths loaded;
  bool certificate_read = check_file(key_path(path, "certificatePath"), tls.certificate_path, "certificate");
  bool key_read = check_file(key_path(path, "keyPath"), tls.key_path, "private key");
  if (certificate_read && key_read) {
    loaded.certificate = tls.certificate_path;
    loaded.private_key = tls.key_path;
  }
  // A client that skips verification loads no CA bundle.
  if (check_file(key_path(path, "remoteCAPath"), tls.remote_ca_path, "CA bundle") &&
      (role == tls_role::server || !tls.skip_ca_verification))
    loaded.ca_bundle = tls.remote_ca_path;
  if (!tls.enabled())
    return;
  if (role == tls_role::client && !tls.skip_ca_verification && tls.ca_server_name.empty())
    problem(key_path(path, "caServerName"),
            "TLS is on and the peer's certificate is verified, so caServerName (the name that certificate must "
            "carry) is required; set it, or set skipCAVerification: true in test setups only");
  if (role == tls_role::server && tls.certificate_path.empty() && tls.key_path.empty())
    problem(key_path(path, "certificatePath"),
            "caServerName turns TLS on, but a TLS server needs certificatePath and keyPath; set both, or remove "
            "caServerName (only a dialling side uses it)");
  check_pem_files(path, loaded);
}

// Loads the files as the endpoint's TLS context loads them at start (tls/context.cpp), so that a certificate,
// key or CA bundle that start could not use is refused here, at its key.
void checker::check_pem_files(const std::string& path, const tls::pem_paths& files) {
  for (auto& wrong : tls::check_pem_files(files)) {
    const char* key = wrong.file == tls::pem_file::certificate   ? "certificatePath"
                      : wrong.file == tls::pem_file::private_key ? "keyPath"
                                                                 : "remoteCAPath";
    problem(key_path(path, key), std::move(wrong.message));
  }
}

// Whether the file is unnamed or can be read; reports why not.
bool checker::check_file(const std::string& path, const std::string& file, std::string_view what) {
  if (file.empty())
    return true;
  if (file.starts_with("https://") || file.starts_with("http://")) {
    problem(path, "'" + file + "' is a URL; this proxy reads the " + std::string(what) +
                      " from a file: download it and write its path here");
    return false;
  }
  auto why = file_problem(file);
  if (!why.empty())
    problem(path, "cannot read the " + std::string(what) + " file '" + file + "': " + why +
                      (file.starts_with('/') ? std::string()
                                             : " (a relative path is taken from " + working_directory() + ")"));
  return why.empty();
}

void checker::check_namespace_mappings(const std::string& path, const std::vector<namespace_mapping>& mappings) {
  // One-to-one both ways: a name repeated on either side would make translation ambiguous.
  std::map<std::string, std::string> locals, remotes;
  for (std::size_t index = 0; index < mappings.size(); ++index) {
    auto item = item_path(path, index);
    report_repeats(locals, mappings[index].local, key_path(item, "local"), "local namespace");
    report_repeats(remotes, mappings[index].remote, key_path(item, "remote"), "remote namespace");
    if (mappings[index].local.empty() || mappings[index].remote.empty())
      problem(item, "a namespace mapping needs a non-empty local and remote name");
  }
}

void checker::check_search_attributes(const std::string& path,
                                      const std::vector<search_attribute_namespace>& namespaces) {
  std::map<std::string, std::string> names, identifiers;
  for (std::size_t index = 0; index < namespaces.size(); ++index) {
    const auto& one = namespaces[index];
    auto item = item_path(path, index);
    report_repeats(names, one.name, key_path(item, "name"), "namespace");
    report_repeats(identifiers, one.namespace_id, key_path(item, "namespaceId"), "namespaceId");
    if (one.name.empty() && one.namespace_id.empty())
      problem(item,
              "a search attribute namespace entry needs a non-empty name or namespaceId (the namespace "
              "whose search attributes it renames)");
    std::map<std::string, std::string> locals, remotes;
    for (std::size_t field = 0; field < one.mappings.size(); ++field) {
      auto mapping = item_path(key_path(item, "mappings"), field);
      report_repeats(locals, one.mappings[field].local_field_name, key_path(mapping, "localFieldName"),
                     "local search attribute");
      report_repeats(remotes, one.mappings[field].remote_field_name, key_path(mapping, "remoteFieldName"),
                     "remote search attribute");
      if (one.mappings[field].local_field_name.empty() || one.mappings[field].remote_field_name.empty())
        problem(mapping, "a search attribute mapping needs a non-empty localFieldName and remoteFieldName");
    }
  }
}

void checker::check_shard_count(const std::string& path, const shard_count& shards) {
  if (shards.mode == shard_count_mode::none)
    return;
  bool counted = true;
  for (auto [key, count] : {std::pair{"localShardCount", shards.local_shard_count},
                            std::pair{"remoteShardCount", shards.remote_shard_count}})
    if (count < 1) {
      counted = false;
      problem(key_path(path, key), std::string("shardCount.mode ") +
                                       (shards.mode == shard_count_mode::lcm ? "lcm" : "routing") + " needs " + key +
                                       ", the history shard count of that cluster (at least 1)");
    }
  if (counted && shards.mode == shard_count_mode::lcm &&
      std::lcm<std::int64_t>(shards.local_shard_count, shards.remote_shard_count) > INT32_MAX)
    problem(key_path(path, "remoteShardCount"),
            "the least common multiple of shardCount.localShardCount and remoteShardCount exceeds 2147483647, "
            "the largest history shard count Temporal can be told");
}

// Only an enabled group is checked: a disabled block is read for compatibility with Go files and not used.
void checker::check_memberlist(const std::string& path, const cluster_connection& connection) {
  if (!connection.memberlist || !connection.memberlist->enabled)
    return;
  const auto& memberlist = *connection.memberlist;
  auto enabled = key_path(path, "enabled");
  bool refused = false;
  if (connection.remote.type == connection_type::tcp) {
    refused = true;
    problem(enabled,
            "memberlist.enabled is true, but the remote side is tcp: several instances in tcp mode need no group, "
            "as each dials the other side by itself; set enabled: false (or remove the memberlist block)");
  }
  if (connection.local.tcp_server && connection.local.tcp_server->tls.enabled()) {
    refused = true;
    problem(enabled,
            "memberlist.enabled is true, but local.tcpServer has TLS: the instances of a group forward calls to "
            "each other's outbound listener (local.tcpServer) in plain HTTP/2, which a TLS listener refuses; serve "
            "local.tcpServer without TLS on the side's own network, or run one instance per side");
  }
  if (refused)
    return;
  if (memberlist.node_name.empty())
    problem(
        key_path(path, "nodeName"),
        "memberlist.nodeName is empty: each instance of a side needs a name of its own, which its peers know it by");
  if (memberlist.disable_tcp_pings)
    problem(key_path(path, "disableTCPPings"),
            "memberlist.disableTCPPings is true, but the heartbeats over the group's TCP connections are the only "
            "probe: without them no failed peer would be detected; remove the key or set it to false");
  auto joins = key_path(path, "joinAddrs");
  for (std::size_t index = 0; index < memberlist.join_addresses.size(); ++index) {
    const auto& text = memberlist.join_addresses[index];
    auto joined = parse_address(text);
    if (!joined || joined->port == 0)
      problem(item_path(joins, index), "'" + text + "' is not the host:port of a peer's memberlist bindPort: " +
                                           (joined ? std::string("the port is 0") : address_problem(text)));
  }
  // Peers forward a call here when they have no mux session of their own: it is this instance's local.tcpServer.
  auto proxies = key_path(path, "proxyAddresses");
  if (!memberlist.node_name.empty() && !memberlist.proxy_addresses.contains(memberlist.node_name)) {
    auto own = key_path(proxies, memberlist.node_name);
    // Written but not read: an address that is not one is reported there already; "" is reported here.
    problem(positions_.contains(own) ? own : proxies,
            "memberlist.proxyAddresses has no address for this instance's nodeName '" + memberlist.node_name +
                "': its peers forward calls to that address, this instance's outbound listener (local.tcpServer), "
                "when they have no mux session of their own; add " +
                memberlist.node_name + ": <host:port of local.tcpServer>");
  }
  check_group_tls(key_path(path, "tls"), memberlist.tls);
  if (memberlist.bind_port > 0)
    listeners_.push_back({key_path(path, "bindPort"),
                          {memberlist.bind_address.empty() ? "0.0.0.0" : memberlist.bind_address,
                           static_cast<std::uint16_t>(memberlist.bind_port)}});
}

// The group runs over mutual TLS only: each member presents its certificate to every peer, accepting or dialling,
// and verifies theirs against remoteCAPath.
void checker::check_group_tls(const std::string& path, const tls_config& tls) {
  if (tls.certificate_path.empty() && tls.key_path.empty() && tls.remote_ca_path.empty()) {
    problem(path,
            "memberlist.tls is not set: the group runs only over mutual TLS, so certificatePath, keyPath and "
            "remoteCAPath are all required");
    return;
  }
  bool complete = true;
  for (auto [key, file] : {std::pair{"certificatePath", &tls.certificate_path}, std::pair{"keyPath", &tls.key_path},
                           std::pair{"remoteCAPath", &tls.remote_ca_path}})
    if (file->empty()) {
      complete = false;
      problem(key_path(path, key), std::string("memberlist.tls.") + key +
                                       " is not set: the group runs only over mutual TLS, so certificatePath, "
                                       "keyPath and remoteCAPath are all required");
    }
  if (!complete) {
    // Those that are set must still be readable.
    check_file(key_path(path, "certificatePath"), tls.certificate_path, "certificate");
    check_file(key_path(path, "keyPath"), tls.key_path, "private key");
    check_file(key_path(path, "remoteCAPath"), tls.remote_ca_path, "CA bundle");
    return;
  }
  // As a listener's: the identity and the CA bundle are both loaded.
  check_tls(path, tls, tls_role::server);
  if (!group_tls_) {
    group_tls_.emplace(path, tls);
    return;
  }
  const auto& [first_path, first] = *group_tls_;
  if (tls.certificate_path != first.certificate_path || tls.key_path != first.key_path ||
      tls.remote_ca_path != first.remote_ca_path)
    problem(path,
            "CAF's OpenSSL settings are per process: every memberlist block must name the same "
            "certificatePath, keyPath and remoteCAPath, and this one differs from " +
                first_path + " (line " + std::to_string(line_of(first_path)) + ")");
}

// /metrics is served by prometheus-cpp's exposer on civetweb, which cannot listen on IPv6 unless it was built to.
void checker::check_metrics_address(const std::string& path, const address& where) {
  bool ipv6 = where.host.find(':') != std::string::npos;
  if (ipv6 && mg_check_feature(MG_FEATURES_IPV6) == 0)
    problem(path, "the metrics endpoint cannot listen on " + where.to_string() +
                      ": its HTTP server (civetweb) is built without IPv6 here; use an IPv4 address, such as "
                      "0.0.0.0 or 127.0.0.1, or a host name with an IPv4 address");
}

void checker::check_listeners() {
  for (std::size_t later = 0; later < listeners_.size(); ++later) {
    const auto& second = listeners_[later];
    auto second_host = canonical_host(second.where.host);
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      const auto& first = listeners_[earlier];
      auto first_host = canonical_host(first.where.host);
      bool same_socket = first.where.port != 0 && first.where.port == second.where.port &&
                         (first_host == second_host || is_wildcard(first_host) || is_wildcard(second_host));
      if (same_socket) {
        problem(second.path, "listens on " + second.where.to_string() + ", which " + first.path + " (line " +
                                 std::to_string(line_of(first.path)) + ") already listens on; give each its own port");
        break;
      }
    }
  }
}

}  // namespace

std::vector<config_error> validate(const config& value, const source_positions& positions) {
  checker checks(positions);
  checks.check(value);
  return checks.take();
}

}  // namespace s2s::config::detail
