// What a SIGHUP can change in a running proxy: the config as it runs compared with the file as it is
// now, split into the settings applied at once and the ones that need a restart.
#include "app/reload.hpp"

#include <algorithm>

#include "app/operations.hpp"

namespace s2s::app {
namespace {

using config::cluster_connection;

// The settings of a connection that only its translators read, with their config keys.
template <typename Visit>
void for_each_translation_setting(Visit&& visit) {
  visit("namespaceTranslation", &cluster_connection::namespace_mappings);
  visit("searchAttributeTranslation", &cluster_connection::search_attribute_mappings);
  visit("aclPolicy", &cluster_connection::acl);
  visit("failoverVersionIncrementTranslation", &cluster_connection::failover_version_increment_translation);
  visit("replicationEndpoint", &cluster_connection::replication_endpoint);
  visit("repairUTF8", &cluster_connection::repair_utf8);
}

// The settings of a connection that servers, sessions and channels were built from.
template <typename Visit>
void for_each_structural_setting(Visit&& visit) {
  visit("local", &cluster_connection::local);
  visit("remote", &cluster_connection::remote);
  visit("localClusterHealthCheck", &cluster_connection::local_health_check);
  visit("remoteClusterHealthCheck", &cluster_connection::remote_health_check);
  visit("shardCount", &cluster_connection::shards);
  visit("memberlist", &cluster_connection::memberlist);
}

std::string connection_named(const std::string& name) { return "clusterConnections '" + name + "'"; }

const cluster_connection* named(const config::config& config, const std::string& name) {
  auto found = std::find_if(config.cluster_connections.begin(), config.cluster_connections.end(),
                            [&](const cluster_connection& c) { return c.name == name; });
  return found == config.cluster_connections.end() ? nullptr : &*found;
}

}  // namespace

reload_plan plan_reload(const config::config& running, const config::config& next) {
  reload_plan plan;
  for (std::size_t index = 0; index < running.cluster_connections.size(); ++index) {
    const auto& now = running.cluster_connections[index];
    const auto* then = named(next, now.name);
    if (!then) {
      plan.need_restart.push_back(connection_named(now.name) +
                                  " is no longer in the file; removing it needs a restart");
      continue;
    }
    for_each_structural_setting([&](const char* key, auto member) {
      if (!(now.*member == then->*member))
        plan.need_restart.push_back(connection_named(now.name) + ": " + key + " changed; that needs a restart");
    });
    retranslation change{index, now, {}};
    for_each_translation_setting([&](const char* key, auto member) {
      if (now.*member == then->*member)
        return;
      change.connection.*member = then->*member;
      change.changed.push_back(key);
    });
    if (!change.changed.empty())
      plan.retranslated.push_back(std::move(change));
  }
  for (const auto& added : next.cluster_connections)
    if (!named(running, added.name))
      plan.need_restart.push_back(connection_named(added.name) + " is new; adding it needs a restart");
  if (running.translation != next.translation)
    plan.need_restart.push_back("translation.descriptorSetPath changed; that needs a restart");
  if (running.metrics_listen_address != next.metrics_listen_address ||
      running.metrics_framework != next.metrics_framework)
    plan.need_restart.push_back("metrics changed; that needs a restart");
  if (running.pprof_address != next.pprof_address)
    plan.need_restart.push_back("profiling changed; that needs a restart");
  plan.logging_changed = running.logging != next.logging || running.log_configs != next.log_configs;
  return plan;
}

void apply_reload(config::config& running, const config::config& next, actors::translation_setup& translators,
                  std::optional<log::level> command_line, const std::string& file) {
  auto plan = plan_reload(running, next);
  log::info("proxy", "SIGHUP: applying the logging settings of " + file);
  auto logging = log_settings(next, command_line);
  log::configure(logging.defaults, std::move(logging.components));
  running.logging = next.logging;
  running.log_configs = next.log_configs;

  for (auto& change : plan.retranslated) {
    std::string keys;
    for (const auto& key : change.changed)
      keys += (keys.empty() ? "" : ", ") + key;
    auto problem = translators.reconfigure(change.connection);
    if (!problem.empty()) {
      log::error("proxy", "SIGHUP: " + connection_named(change.connection.name) + ": " + keys +
                              " not applied, the running " + "settings stay: " + problem);
      continue;
    }
    log::info("proxy", "SIGHUP: " + connection_named(change.connection.name) + ": " + keys +
                           " applied to calls that start from now on; calls and streams in flight keep theirs");
    running.cluster_connections[change.index] = std::move(change.connection);
  }
  for (const auto& left : plan.need_restart)
    log::warn("proxy", "SIGHUP: " + left + "; left as it runs");
  if (plan.retranslated.empty() && plan.need_restart.empty() && !plan.logging_changed)
    log::info("proxy", "SIGHUP: " + file + " has no changes");
}

}  // namespace s2s::app
