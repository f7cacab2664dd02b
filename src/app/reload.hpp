// What a SIGHUP can change in a running proxy: the config as it runs compared with the file as it is
// now, split into the settings applied at once and the ones that need a restart.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "actors/translator.hpp"
#include "config/config.hpp"
#include "log/log.hpp"

namespace s2s::app {

// A cluster connection whose translation or access policy changed: the settings a translator reads
// (namespaceTranslation, searchAttributeTranslation, aclPolicy, failoverVersionIncrementTranslation,
// replicationEndpoint, repairUTF8). They apply to calls that start after the reload.
struct retranslation {
  std::size_t index = 0;                  // in clusterConnections
  config::cluster_connection connection;  // the running connection with the new settings
  std::vector<std::string> changed;       // the config keys that changed, e.g. "aclPolicy"
};

struct reload_plan {
  std::vector<retranslation> retranslated;
  // One line per change left alone, naming its key: "clusterConnections 'a-to-b': remote needs a restart".
  std::vector<std::string> need_restart;
  bool logging_changed = false;  // logging or logConfigs
};

// Compares the running config with the one just read. Connections are matched by name; one added,
// removed or renamed needs a restart, as does every change of connection type, address, muxCount,
// TLS block, health check, shardCount, memberlist, metrics, profiling and translation.descriptorSetPath.
reload_plan plan_reload(const config::config& running, const config::config& next);

// Applies what `next` changes without a restart: the logging settings (`command_line` --level
// still wins) and each connection's translation settings, then logs every change made and every
// change left alone. `running` becomes the config that now runs. `file` names the config in logs.
void apply_reload(config::config& running, const config::config& next, actors::translation_setup& translators,
                  std::optional<log::level> command_line, const std::string& file);

}  // namespace s2s::app
