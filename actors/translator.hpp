// The translator: the call filter of one side of a cluster connection. It starts a translation
// (src/translation) for each call and runs it on every message the call actor hands it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>

#include "actors/call/call.hpp"
#include "actors/schema.hpp"
#include "config/config.hpp"
#include "translation/pipeline.hpp"

namespace s2s::actors {

// Told what translation does (metrics). Shared by every translator, so safe from any thread.
class translation_observer {
 public:
  // The figures of one message type on one side of a connection, resolved once per call.
  class figures {
   public:
    virtual ~figures() = default;
    // One message run through translation: what it changed per kind, or why it was refused.
    virtual void translated(const translation::filter_result& result, std::chrono::nanoseconds took) = 0;
  };
  virtual ~translation_observer() = default;
  // Stable for the observer's life. `message_type` is a full protobuf name.
  virtual figures& figures_for(const std::string& connection, translation::side arrived_on,
                               std::string_view message_type) = 0;
  // A call refused by aclPolicy for its method, before any message.
  virtual void method_refused(const std::string& connection, translation::side arrived_on) = 0;
  // A replication stream whose shard ids shardCount lcm mapped: the real shards of its client and server.
  virtual void stream_mapped(const std::string& connection, translation::side arrived_on,
                             shards::stream_shard_ids real_shards) {}
};

// Until its schema is loaded, a translator refuses methods by aclPolicy (that needs no schema),
// ends with UNAVAILABLE the Temporal calls this side would have to read (renaming, namespace
// ACL, overrides), and lets everything else pass: UTF-8 repair alone does not hold calls back.
// Once loaded, a message is flattened only when its type has something to change on this side;
// every other message is forwarded as the same bytes.
//
// Its settings can be replaced while calls run (SIGHUP): a call keeps the translation it started
// with until it ends, replication streams included, so the messages of one stream are all renamed
// alike; calls that start afterwards use the new settings.
class translator final : public call_filter, public schema_subscriber {
 public:
  translator(const config::cluster_connection& connection, translation::side arrived_on, std::string source,
             std::shared_ptr<translation_observer> observer = nullptr);

  decision start(const call_info& info) override;
  void schema_loaded(std::shared_ptr<const translation::schema> types) override;

  bool schema_ready() const;
  // Whether Temporal calls on this side wait for the schema (renaming, namespace ACL, overrides).
  bool needs_schema() const;
  // shardCount.mode routing: how this side reads and writes replication streams; null until the schema is loaded.
  std::shared_ptr<const translation::replication_codec> replication_codec() const;
  translation::side arrived_on() const { return arrived_on_; }
  const std::string& name() const { return name_; }  // the cluster connection's

  // Replaces the settings of each translator (the sides of one connection) with `connection`'s,
  // all or none: the first that cannot be built is the error and nothing changes.
  static std::string reconfigure(const std::vector<translator*>& sides, const config::cluster_connection& connection);

 private:
  // Everything built from one version of the connection's settings; replaced whole.
  struct settings {
    config::cluster_connection connection;
    bool needs_schema = false;  // whether Temporal calls on this side wait for the schema
    std::shared_ptr<const translation::pipeline> before_schema;  // method ACL only
    std::shared_ptr<const translation::schema> types;            // null until loaded
    std::shared_ptr<const translation::pipeline> pipeline;       // built on `types`
    std::string problem;                                         // why `pipeline` could not be built on `types`
  };
  using settings_ptr = std::shared_ptr<const settings>;

  // Builds settings on `types` (null: not loaded yet); what could not be built is in `problem`.
  settings_ptr build(const config::cluster_connection& connection,
                     std::shared_ptr<const translation::schema> types) const;

  std::string name_;
  translation::side arrived_on_;
  std::string source_;                              // where the schema comes from, for the waiting message
  std::shared_ptr<translation_observer> observer_;  // may be null
  std::mutex replacing_;  // one writer at a time (schema load, reconfigure); readers take current_
  std::atomic<settings_ptr> current_;
};

// The translators of every cluster connection, and the schema actors that feed them: one per
// source (a descriptor-set file, or one local frontend), shared by the connections using it.
class translation_setup {
 public:
  explicit translation_setup(const config::config& config, std::shared_ptr<translation_observer> observer = nullptr);

  // `before`, then the translator of this connection's side.
  std::shared_ptr<call_filter> filter(const config::cluster_connection& connection, translation::side arrived_on,
                                      std::shared_ptr<call_filter> before);
  // The translator filter() made for this connection's side; null when there is none.
  std::shared_ptr<translator> translator_of(const std::string& connection, translation::side arrived_on) const;
  // The sources of Temporal descriptors the translators read, each fed by a schema actor of its own.
  std::size_t schema_sources() const { return sources_.size(); }
  // "descriptor set file 'x'" / "reflection on 127.0.0.1:7233".
  std::string describe_source(std::size_t source) const { return sources_.at(source).source.describe(); }
  // The translators that source feeds.
  std::vector<std::shared_ptr<translator>> translators_of_source(std::size_t source) const;
  // Spawns the schema actor of that source, which feeds its translators; it takes the place of the
  // one spawned for the source before (a restart). Safe from any thread.
  schema_actor start_schema(caf::actor_system& system, std::size_t source);

  // For operators: the translators (two per cluster connection), and the latest schema actor of
  // each source (weakly held: an actor that ended is left out). Safe from any thread.
  std::size_t translators() const { return translators_.size(); }
  std::vector<schema_actor> schema_actors() const;

  // Gives the translators of the connection of this name its new settings; empty, or why not
  // (then nothing changed). Safe from any thread.
  std::string reconfigure(const config::cluster_connection& connection);

 private:
  struct source_users {
    schema_source source;
    std::vector<std::shared_ptr<translator>> translators;
  };
  source_users& users_of(const config::cluster_connection& connection);

  std::string descriptor_set_path_;
  std::shared_ptr<translation_observer> observer_;
  std::vector<source_users> sources_;
  std::vector<std::shared_ptr<translator>> translators_;
  mutable std::mutex schema_actors_mutex_;
  std::vector<caf::actor_addr> schema_actors_;  // by source; guarded by schema_actors_mutex_
};

}  // namespace s2s::actors
