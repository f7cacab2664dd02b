// The schema actor: loads Temporal's descriptors, from a descriptor-set file or by gRPC server
// reflection on the local frontend, retrying with backoff, and hands them to the translators.
#include "actors/schema.hpp"
#include "actors/runtime/census.hpp"

#include <fstream>
#include <sstream>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "log/log.hpp"
#include "rpc/blocking_bidi.hpp"
#include "rpc/credentials.hpp"
#include "rpc/status_names.hpp"
#include "sys/thread_name.hpp"
#include "translation/reflection.hpp"

namespace s2s::actors {
namespace {

// One attempt's outcome, from the worker that made it to the schema actor.
struct schema_attempt {
  std::shared_ptr<const translation::schema> types;  // null on failure
  std::string problem;
};

}  // namespace
}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::schema_attempt)

namespace s2s::actors {
namespace {

constexpr std::string_view component = "schema";

// Start an attempt: the actor sends it to itself as it starts, and again after each backoff.
using load_atom = caf::atom_constant<caf::atom("load")>;

// schema_actor with the messages only the schema actor's own code sends it: what it is spawned as.
using private_actor = schema_actor::extend<caf::reacts_to<load_atom>, caf::reacts_to<schema_attempt>>;

using fetched = translation::result<std::string>;

fetched read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fetched::failure("cannot read the descriptor set file '" + path + "'");
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// Walks one reflection protocol version; `unimplemented` tells the caller to try the other.
fetched reflect(const std::shared_ptr<grpc::Channel>& channel, std::string_view method,
                std::chrono::milliseconds timeout, bool& unimplemented) {
  unimplemented = false;
  namespace reflection = translation::reflection;
  reflection::schema_walk walk(
      std::vector<std::string>(reflection::error_detail_symbols.begin(), reflection::error_detail_symbols.end()));
  rpc::blocking_bidi call(channel, method, timeout);
  std::string answer;
  while (auto request = walk.next_request()) {
    if (!call.write(*request) || !call.read(answer)) {
      grpc::Status status = call.finish();
      unimplemented = status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
      if (status.ok())
        return fetched::failure(std::string(method) + " ended before the schema was complete");
      auto reason =
          std::string(method) + " failed: " + std::string(rpc::status_code_name(static_cast<int>(status.error_code())));
      if (!status.error_message().empty())
        reason += ": " + status.error_message();
      return fetched::failure(reason);
    }
    auto step = walk.on_response(answer);
    if (!step.ok())
      return fetched::failure(std::string(method) + ": " + step.message);
  }
  call.finish();
  return walk.descriptor_set();
}

struct schema_state {
  static inline const char* name = "schema";
  census::mark counted{census::kind::schema};
  schema_spec spec;
  schema_report report;
  std::chrono::milliseconds next_delay{0};
  bool attempting = false;
};

void start_attempt(private_actor::stateful_pointer<schema_state> self) {
  auto& st = self->state;
  if (st.attempting || st.report.loaded)
    return;
  st.attempting = true;
  ++st.report.attempts;
  private_actor parent = self;
  // Reading a file or a frontend blocks, so it runs on a thread of its own, bounded by the timeout.
  self->system().spawn([parent, source = st.spec.source, timeout = st.spec.attempt_timeout](caf::blocking_actor*) {
    sys::name_this_thread("s2s-schema-get");
    census::mark counted{census::kind::schema_fetch};
    schema_attempt outcome;
    auto bytes = fetch_descriptor_set(source, timeout);
    if (!bytes) {
      outcome.problem = bytes.error();
    } else {
      auto types = translation::schema::from_descriptor_set(*bytes);
      if (!types)
        outcome.problem = "the descriptors do not load: " + types.error();
      else
        outcome.types = *types;
    }
    caf::anon_send(parent, std::move(outcome));
  });
}

private_actor::behavior_type schema_behavior(private_actor::stateful_pointer<schema_state> self, schema_spec spec) {
  auto& st = self->state;
  st.spec = std::move(spec);
  st.report.source = st.spec.source.describe();
  st.next_delay = st.spec.first_retry;
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  self->send(self, load_atom::value);
  return {
      [self](load_atom) { start_attempt(self); },
      [self](schema_attempt& outcome) {
        auto& st = self->state;
        st.attempting = false;
        if (!outcome.types) {
          st.report.last_problem = outcome.problem;
          log::warn(component, "cannot load the Temporal schema by " + st.report.source + ": " + outcome.problem +
                                   "; retrying in " + std::to_string(st.next_delay.count()) + " ms");
          self->delayed_send(self, st.next_delay, load_atom::value);
          st.next_delay = std::min(st.next_delay * 2, st.spec.max_retry);
          return;
        }
        st.report.loaded = true;
        st.report.last_problem.clear();
        st.report.message_types = outcome.types->message_types().size();
        log::info(component, "loaded the Temporal schema by " + st.report.source + ": " +
                                 std::to_string(outcome.types->message_types().size()) + " message types");
        for (auto& subscriber : st.spec.subscribers)
          subscriber->schema_loaded(outcome.types);
      },
      [self](watch_atom, const caf::actor_addr& owner) { self->monitor(owner); },
      [self](schema_atom) { return self->state.report; },
  };
}

}  // namespace

std::string schema_source::describe() const {
  if (!descriptor_set_path.empty())
    return "descriptor set file '" + descriptor_set_path + "'";
  if (frontend)
    return "reflection on " + frontend->addr.to_string();
  return "no source";
}

translation::result<std::string> fetch_descriptor_set(const schema_source& source, std::chrono::milliseconds timeout) {
  if (!source.descriptor_set_path.empty())
    return read_file(source.descriptor_set_path);
  if (!source.frontend)
    return fetched::failure("neither a descriptor set file nor a frontend to ask is configured");
  auto channel = rpc::open_channel(*source.frontend);
  if (auto* error = std::get_if<std::string>(&channel))
    return fetched::failure(*error);
  auto& open = std::get<std::shared_ptr<grpc::Channel>>(channel);
  bool unimplemented = false;
  auto v1 = reflect(open, translation::reflection::v1_method, timeout, unimplemented);
  if (v1 || !unimplemented)
    return v1;
  auto v1alpha = reflect(open, translation::reflection::v1alpha_method, timeout, unimplemented);
  if (v1alpha)
    return v1alpha;
  return fetched::failure(v1.error() + "; " + v1alpha.error());
}

schema_actor spawn_schema(caf::actor_system& system, schema_spec spec) {
  return system.spawn(schema_behavior, std::move(spec));
}

}  // namespace s2s::actors
