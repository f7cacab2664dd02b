// The loader's first stage: reads the YAML tree into config values, checking every key's name and type.
#include <concepts>
#include <limits>

#include "config/yaml_reader.hpp"
#include "log/log.hpp"

namespace s2s::config::detail {
namespace {

// The Go proxy serves its debug endpoints here when a profiling block leaves pprofAddress out.
constexpr std::string_view default_pprof_address = "localhost:6060";

void read_into(yaml_reader& reader, const located& value, std::string& into) {
  if (auto read = reader.text(value))
    into = std::move(*read);
}

void read_into(yaml_reader& reader, const located& value, bool& into) {
  if (auto read = reader.flag(value))
    into = *read;
}

void read_into(yaml_reader& reader, const located& value, double& into) {
  if (auto read = reader.number(value))
    into = *read;
}

template <std::integral T>
void read_into(yaml_reader& reader, const located& value, T& into,
               std::int64_t minimum = std::numeric_limits<T>::min()) {
  if (auto read = reader.integer(value, minimum, std::numeric_limits<T>::max()))
    into = static_cast<T>(*read);
}

// A key the file must have, holding text.
void read_required(yaml_reader& reader, const mapping& map, std::string_view key, std::string& into) {
  if (reader.require(map, key))
    read_into(reader, map[key], into);
}

// The keys of a TLS block that name its files.
void read_tls_files(yaml_reader& reader, const mapping& map, tls_config& into) {
  read_into(reader, map["certificatePath"], into.certificate_path);
  read_into(reader, map["keyPath"], into.key_path);
  read_into(reader, map["remoteCAPath"], into.remote_ca_path);
}

tls_config read_tls(yaml_reader& reader, const located& value) {
  auto map =
      reader.open_map(value, {"certificatePath", "keyPath", "remoteCAPath", "caServerName", "skipCAVerification"});
  tls_config tls;
  read_tls_files(reader, map, tls);
  read_into(reader, map["caServerName"], tls.ca_server_name);
  read_into(reader, map["skipCAVerification"], tls.skip_ca_verification);
  return tls;
}

// memberlist.tls: the files only. Every member both accepts and dials its peers, so the keys of a dialling side
// have no meaning there; they are refused by name rather than as unknown keys.
tls_config read_group_tls(yaml_reader& reader, const located& value) {
  auto map =
      reader.open_map(value, {"certificatePath", "keyPath", "remoteCAPath", "caServerName", "skipCAVerification"});
  tls_config tls;
  read_tls_files(reader, map, tls);
  for (std::string_view key : {"caServerName", "skipCAVerification"})
    if (map.written(key))
      reader.problem(map[key], std::string(key) +
                                   " is not used in memberlist.tls: every member both accepts and dials its peers, "
                                   "and each peer's certificate is verified against remoteCAPath (mutual TLS); "
                                   "remove it");
  return tls;
}

// A block without an address is treated as absent: Go files often carry empty placeholders.
std::optional<endpoint> read_endpoint(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(value, {"address", "tls"});
  auto tls = read_tls(reader, map["tls"]);
  auto written = reader.address_value(map["address"]);
  if (!written)
    return std::nullopt;
  return endpoint{*written, std::move(tls)};
}

std::optional<connection_type> connection_type_named(std::string_view name) {
  for (auto type : {connection_type::tcp, connection_type::mux_client, connection_type::mux_server})
    if (to_string(type) == name)
      return type;
  return std::nullopt;
}

std::optional<mux_admission> read_mux_admission(yaml_reader& reader, const located& value) {
  if (value.absent())
    return std::nullopt;
  auto map = reader.open_map(
      value, {"clientHelloTimeoutMs", "handshakeTimeoutMs", "maxWaiting", "maxWaitingPerSource", "maxHandshakes"});
  mux_admission admission;
  read_into(reader, map["clientHelloTimeoutMs"], admission.client_hello_timeout_ms, 1);
  read_into(reader, map["handshakeTimeoutMs"], admission.handshake_timeout_ms, 1);
  read_into(reader, map["maxWaiting"], admission.max_waiting, 1);
  read_into(reader, map["maxWaitingPerSource"], admission.max_waiting_per_source, 1);
  read_into(reader, map["maxHandshakes"], admission.max_handshakes, 1);
  return admission;
}

// typed: whether the side has a known connectionType.
side_config read_side(yaml_reader& reader, const located& value, bool& typed) {
  auto map = reader.open_map(
      value, {"connectionType", "tcpClient", "tcpServer", "muxCount", "muxAddressInfo", "muxAdmission"});
  side_config side;
  std::optional<connection_type> type;
  if (reader.require(map, "connectionType")) {
    if (auto name = reader.text(map["connectionType"])) {
      type = connection_type_named(*name);
      if (!type)
        reader.problem(map["connectionType"],
                       "unknown connectionType '" + *name + "'; use tcp, mux-client or mux-server");
    }
  }
  // Which keys a side needs depends on its type, so without one nothing more can be said about it.
  typed = type.has_value();
  if (type)
    side.type = *type;
  else
    reader.leave_unchecked(value.path);
  side.tcp_client = read_endpoint(reader, map["tcpClient"]);
  side.tcp_server = read_endpoint(reader, map["tcpServer"]);
  read_into(reader, map["muxCount"], side.mux_count);
  side.mux_address = read_endpoint(reader, map["muxAddressInfo"]);
  side.admission = read_mux_admission(reader, map["muxAdmission"]);
  return side;
}

// The Go proxy treats an empty list as "no restriction"; so does this one, to load its files unchanged.
std::optional<std::vector<std::string>> read_allowlist(yaml_reader& reader, const located& value) {
  auto list = reader.texts(value);
  if (list && list->empty())
    return std::nullopt;
  return list;
}

std::optional<acl_policy> read_acl_policy(yaml_reader& reader, const located& value) {
  if (value.absent())
    return std::nullopt;
  auto map = reader.open_map(value, {"allowedMethods", "allowedNamespaces"});
  auto methods = reader.open_map(map["allowedMethods"], {"adminService"});
  acl_policy policy;
  policy.allowed_admin_methods = read_allowlist(reader, methods["adminService"]);
  policy.allowed_namespaces = read_allowlist(reader, map["allowedNamespaces"]);
  return policy;
}

std::vector<namespace_mapping> read_namespace_translation(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(value, {"mappings"});
  std::vector<namespace_mapping> mappings;
  for (const auto& item : reader.open_sequence(map["mappings"])) {
    auto pair = reader.open_map(item, {"local", "remote"});
    namespace_mapping mapping;
    read_required(reader, pair, "local", mapping.local);
    read_required(reader, pair, "remote", mapping.remote);
    mappings.push_back(std::move(mapping));
  }
  return mappings;
}

std::vector<search_attribute_namespace> read_search_attribute_translation(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(value, {"namespaceMappings"});
  std::vector<search_attribute_namespace> namespaces;
  for (const auto& item : reader.open_sequence(map["namespaceMappings"])) {
    auto fields = reader.open_map(item, {"name", "namespaceId", "mappings"});
    search_attribute_namespace one;
    read_required(reader, fields, "name", one.name);
    read_required(reader, fields, "namespaceId", one.namespace_id);
    for (const auto& entry : reader.open_sequence(fields["mappings"])) {
      auto pair = reader.open_map(entry, {"localFieldName", "remoteFieldName"});
      search_attribute_mapping mapping;
      read_required(reader, pair, "localFieldName", mapping.local_field_name);
      read_required(reader, pair, "remoteFieldName", mapping.remote_field_name);
      one.mappings.push_back(std::move(mapping));
    }
    namespaces.push_back(std::move(one));
  }
  return namespaces;
}

std::optional<failover_version_increment> read_failover_version_increment(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(value, {"local", "remote"});
  failover_version_increment increment;
  read_into(reader, map["local"], increment.local, 0);
  read_into(reader, map["remote"], increment.remote, 0);
  if (increment.local == 0 && increment.remote == 0)
    return std::nullopt;
  return increment;
}

// Without a listenAddress the check is off, whatever the protocol says, as in the Go proxy.
std::optional<health_check> read_health_check(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(value, {"protocol", "listenAddress"});
  health_check check;
  read_into(reader, map["protocol"], check.protocol);
  auto listen = reader.address_value(map["listenAddress"]);
  if (!listen)
    return std::nullopt;
  if (check.protocol != "http")
    reader.problem(map["protocol"], "unknown health check protocol '" + check.protocol + "'; only http is served");
  check.listen_address = *listen;
  return check;
}

shard_count read_shard_count(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(value, {"mode", "localShardCount", "remoteShardCount"});
  shard_count shards;
  std::string mode;
  read_into(reader, map["mode"], mode);
  if (mode == "lcm")
    shards.mode = shard_count_mode::lcm;
  else if (mode == "routing")
    shards.mode = shard_count_mode::routing;
  else if (!mode.empty())
    reader.problem(map["mode"], "unknown shardCount.mode '" + mode +
                                    "'; use lcm, routing, or \"\" (shard counts are the same on both sides)");
  read_into(reader, map["localShardCount"], shards.local_shard_count, 0);
  read_into(reader, map["remoteShardCount"], shards.remote_shard_count, 0);
  return shards;
}

std::optional<memberlist_config> read_memberlist(yaml_reader& reader, const located& value) {
  if (value.absent())
    return std::nullopt;
  auto map = reader.open_map(
      value, {"enabled", "nodeName", "bindAddr", "bindPort", "joinAddrs", "shardStrategy", "proxyAddresses", "tcpOnly",
              "disableTCPPings", "probeTimeoutMs", "probeIntervalMs", "tls"});
  memberlist_config memberlist;
  read_into(reader, map["enabled"], memberlist.enabled);
  read_into(reader, map["nodeName"], memberlist.node_name);
  read_into(reader, map["bindAddr"], memberlist.bind_address);
  if (auto port = reader.integer(map["bindPort"], 0, 65535))
    memberlist.bind_port = static_cast<int>(*port);
  if (auto joins = reader.texts(map["joinAddrs"]))
    memberlist.join_addresses = std::move(*joins);
  read_into(reader, map["shardStrategy"], memberlist.shard_strategy);
  auto proxy_addresses = reader.open_any_map(map["proxyAddresses"]);
  for (const auto& node : proxy_addresses.fields()) {
    // A proxy address is dialled by the other instances, so it must be one.
    if (auto proxy = reader.address_value(node.value))
      memberlist.proxy_addresses[node.key] = proxy->to_string();
  }
  read_into(reader, map["tcpOnly"], memberlist.tcp_only);
  read_into(reader, map["disableTCPPings"], memberlist.disable_tcp_pings);
  read_into(reader, map["probeTimeoutMs"], memberlist.probe_timeout_ms, 0);
  read_into(reader, map["probeIntervalMs"], memberlist.probe_interval_ms, 0);
  memberlist.tls = read_group_tls(reader, map["tls"]);
  return memberlist;
}

cluster_connection read_cluster_connection(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(
      value, {"name", "local", "remote", "replicationEndpoint", "failoverVersionIncrementTranslation", "aclPolicy",
              "namespaceTranslation", "searchAttributeTranslation", "remoteClusterHealthCheck",
              "localClusterHealthCheck", "shardCount", "memberlist", "repairUTF8"});
  cluster_connection connection;
  read_required(reader, map, "name", connection.name);
  bool local_typed = false, remote_typed = false;
  if (reader.require(map, "local"))
    connection.local = read_side(reader, map["local"], local_typed);
  if (reader.require(map, "remote"))
    connection.remote = read_side(reader, map["remote"], remote_typed);
  read_into(reader, map["replicationEndpoint"], connection.replication_endpoint);
  connection.failover_version_increment_translation =
      read_failover_version_increment(reader, map["failoverVersionIncrementTranslation"]);
  connection.acl = read_acl_policy(reader, map["aclPolicy"]);
  connection.namespace_mappings = read_namespace_translation(reader, map["namespaceTranslation"]);
  connection.search_attribute_mappings = read_search_attribute_translation(reader, map["searchAttributeTranslation"]);
  connection.local_health_check = read_health_check(reader, map["localClusterHealthCheck"]);
  connection.remote_health_check = read_health_check(reader, map["remoteClusterHealthCheck"]);
  connection.shards = read_shard_count(reader, map["shardCount"]);
  connection.memberlist = read_memberlist(reader, map["memberlist"]);
  // Whether memberlist may be enabled depends on the remote side's type: without one, nothing is said about it.
  if (!remote_typed)
    reader.leave_unchecked(map["memberlist"].path);
  read_into(reader, map["repairUTF8"], connection.repair_utf8);
  return connection;
}

logging_config read_logging(yaml_reader& reader, const located& value) {
  auto map = reader.open_map(value, {"throttleMaxRPS", "disabled", "level"});
  logging_config logging;
  read_into(reader, map["throttleMaxRPS"], logging.throttle_max_rps);
  if (logging.throttle_max_rps < 0)
    reader.problem(map["throttleMaxRPS"],
                   "throttleMaxRPS is negative; write 0 for the default (10 per second) "
                   "or a positive number of log lines per second");
  read_into(reader, map["disabled"], logging.disabled);
  read_into(reader, map["level"], logging.level);
  if (!logging.level.empty() && !log::parse_level(logging.level))
    reader.problem(map["level"], "unknown level '" + logging.level + "'; use debug, info, warn or error");
  return logging;
}

void read_metrics(yaml_reader& reader, const located& value, config& into) {
  auto map = reader.open_map(value, {"prometheus"});
  auto prometheus = reader.open_map(map["prometheus"], {"listenAddress", "framework"});
  into.metrics_listen_address = reader.address_value(prometheus["listenAddress"]);
  read_into(reader, prometheus["framework"], into.metrics_framework);
}

void read_profiling(yaml_reader& reader, const located& value, config& into) {
  if (value.absent())
    return;
  auto map = reader.open_map(value, {"pprofAddress"});
  if (!map.written("pprofAddress"))
    into.pprof_address = parse_address(default_pprof_address);
  else
    into.pprof_address = reader.address_value(map["pprofAddress"]);
}

}  // namespace

read_result read_document(std::string_view yaml_text, const std::string& file_name) {
  read_result result;
  YAML::Node document;
  try {
    document = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& error) {
    result.errors.push_back(
        {"", error.mark.line + 1, error.mark.column + 1,
         file_name + " is not valid YAML: " + error.msg + "; fix this first, nothing else was checked"});
    result.unchecked.insert("");
    return result;
  }
  yaml_reader reader(result);
  auto root = reader.root(document);
  result.positions[root.path] = root.at;
  auto map =
      reader.open_map(root, {"clusterConnections", "metrics", "profiling", "logging", "logConfigs", "translation"});
  if (reader.require(map, "clusterConnections"))
    for (const auto& item : reader.open_sequence(map["clusterConnections"]))
      result.value.cluster_connections.push_back(read_cluster_connection(reader, item));
  read_metrics(reader, map["metrics"], result.value);
  read_profiling(reader, map["profiling"], result.value);
  auto translation = reader.open_map(map["translation"], {"descriptorSetPath"});
  read_into(reader, translation["descriptorSetPath"], result.value.translation.descriptor_set_path);
  result.value.logging = read_logging(reader, map["logging"]);
  auto log_configs = reader.open_any_map(map["logConfigs"]);
  for (const auto& component : log_configs.fields())
    result.value.log_configs[component.key] = read_logging(reader, component.value);
  return result;
}

}  // namespace s2s::config::detail
