// The schema actor: loads Temporal's descriptors, from a descriptor-set file or by gRPC server
// reflection on the local frontend, retrying with backoff, and hands them to the translators.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "config/config.hpp"
#include "translation/schema.hpp"

namespace s2s::actors {

// Where one schema comes from: a file when a path is set, else reflection on the frontend.
struct schema_source {
  std::string descriptor_set_path;
  std::optional<config::endpoint> frontend;

  // "descriptor set file 'x'" / "reflection on 127.0.0.1:7233", for logs and statuses.
  std::string describe() const;
};

// Told once, when the schema is loaded; called from the schema actor, so it must be thread-safe.
class schema_subscriber {
 public:
  virtual ~schema_subscriber() = default;
  virtual void schema_loaded(std::shared_ptr<const translation::schema> types) = 0;
};

struct schema_spec {
  schema_source source;
  std::vector<std::shared_ptr<schema_subscriber>> subscribers;
  std::chrono::milliseconds first_retry{500};
  std::chrono::milliseconds max_retry{30000};  // backoff doubles up to this
  std::chrono::milliseconds attempt_timeout{10000};
};

struct schema_report {
  bool loaded = false;
  std::string source;
  std::size_t message_types = 0;  // in the loaded schema
  std::uint64_t attempts = 0;
  std::string last_problem;  // why the last attempt failed; empty once loaded
};

using watch_atom = caf::atom_constant<caf::atom("watch")>;
using schema_atom = caf::atom_constant<caf::atom("schema")>;

// watch: end when the given actor ends (the supervisor that owns this schema's users).
// schema: what has been loaded so far.
using schema_actor =
    caf::typed_actor<caf::reacts_to<watch_atom, caf::actor_addr>, caf::replies_to<schema_atom>::with<schema_report>>;

// Starts loading at once; the actor keeps what it loaded and ends when a watched actor ends.
schema_actor spawn_schema(caf::actor_system& system, schema_spec spec);

// One blocking attempt, as the actor's worker makes it: the serialized FileDescriptorSet, or why not.
// Reflection tries grpc.reflection.v1, then v1alpha when the server does not implement v1.
translation::result<std::string> fetch_descriptor_set(const schema_source& source, std::chrono::milliseconds timeout);

}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::schema_report)
