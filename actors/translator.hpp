// The translator: the call filter of one side of a cluster connection. It starts a translation
// (src/translation) for each call and runs it on every message the call actor hands it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/call.hpp"
#include "actors/schema.hpp"
#include "config/config.hpp"
#include "translation/pipeline.hpp"

namespace s2s::actors {

// Until its schema is loaded, a translator refuses methods by aclPolicy (that needs no schema),
// ends with UNAVAILABLE the Temporal calls this side would have to read (renaming, namespace
// ACL, overrides), and lets everything else pass: UTF-8 repair alone does not hold calls back.
// Once loaded, a message is flattened only when its type has something to change on this side;
// every other message is forwarded as the same bytes.
class translator final : public call_filter, public schema_subscriber {
 public:
  translator(const config::cluster_connection& connection, translation::side arrived_on, std::string source);

  decision start(const call_info& info) override;
  void schema_loaded(std::shared_ptr<const translation::schema> types) override;

  bool schema_ready() const;

 private:
  // The pipeline built on the loaded schema, or why it could not be built.
  struct loaded {
    std::shared_ptr<const translation::pipeline> pipeline;
    std::string problem;
  };

  config::cluster_connection connection_;
  translation::side arrived_on_;
  std::string source_;  // where the schema comes from, for the waiting message
  bool needs_schema_;   // whether Temporal calls on this side wait for the schema
  std::shared_ptr<const translation::pipeline> before_schema_;  // method ACL only
  std::atomic<std::shared_ptr<const loaded>> loaded_;
};

// The translators of every cluster connection, and the schema actors that feed them: one per
// source (a descriptor-set file, or one local frontend), shared by the connections using it.
class translation_setup {
 public:
  explicit translation_setup(const config::config& config);

  // `before`, then the translator of this connection's side.
  std::shared_ptr<call_filter> filter(const config::cluster_connection& connection, translation::side arrived_on,
                                      std::shared_ptr<call_filter> before);
  // Spawns the schema actors; each ends when `owner` ends.
  std::vector<schema_actor> start(caf::actor_system& system, const caf::actor_addr& owner);

 private:
  struct source_users {
    schema_source source;
    std::vector<std::shared_ptr<schema_subscriber>> translators;
  };
  source_users& users_of(const config::cluster_connection& connection);

  std::string descriptor_set_path_;
  std::vector<source_users> sources_;
};

}  // namespace s2s::actors
