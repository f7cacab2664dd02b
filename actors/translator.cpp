// The translator: the call filter of one side of a cluster connection. It starts a translation
// (src/translation) for each call and runs it on every message the call actor hands it.
#include "actors/translator.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "log/log.hpp"
#include "rpc/byte_buffers.hpp"

namespace s2s::actors {
namespace {

using translation::side;

grpc::Status status_of(const translation::status& refusal) {
  return grpc::Status(static_cast<grpc::StatusCode>(refusal.code), refusal.message, refusal.details);
}

// Temporal's services all live in packages under "temporal."; other methods carry no namespace.
bool is_temporal_method(std::string_view method) { return method.starts_with("/temporal."); }

// One call's translation, run on its messages by the call actor.
class translating_messages final : public message_filter {
 public:
  // Without an observer the messages are not timed.
  translating_messages(translation::call_translation call, translation_observer* observer,
                       const std::string& connection, side arrived_on)
      : call_(std::move(call)), observer_(observer), connection_(connection), arrived_on_(arrived_on) {
    if (!observer || !call_.types())
      return;
    for (bool is_request : {true, false}) {
      const auto* type = is_request ? call_.types()->request : call_.types()->response;
      if (type)
        figures_[is_request ? 0 : 1] = &observer->figures_for(connection, arrived_on, type->full_name());
    }
  }

  grpc::Status on_request(grpc::ByteBuffer& message) override { return run(message, call_.wants_requests(), true); }
  grpc::Status on_response(grpc::ByteBuffer& message) override { return run(message, call_.wants_responses(), false); }

  grpc::Status on_request_metadata(const metadata_list& headers, std::optional<metadata_list>& changed) override {
    if (!call_.wants_headers(headers))
      return grpc::Status::OK;
    metadata_list translated = headers;
    auto result = call_.on_request_headers(translated);
    if (result.is_refused())
      return status_of(result.refusal);
    if (result.is_changed())
      changed = std::move(translated);
    if (auto real = call_.mapped_real_shards(); real && observer_)
      observer_->stream_mapped(connection_, arrived_on_, *real);
    return grpc::Status::OK;
  }

  // A status whose details cannot be read keeps its code and translated message; the details are dropped
  // rather than passed on untranslated, and the message says so.
  void on_status(grpc::Status& status) override {
    if (!call_.wants_status())
      return;
    std::string message = status.error_message();
    std::string details = status.error_details();
    auto result = call_.on_status(message, details);
    if (result.is_refused()) {
      status = grpc::Status(status.error_code(),
                            message + " (s2s-proxy: " + result.refusal.message + "; the error details were dropped)");
    } else if (result.is_changed()) {
      status = grpc::Status(status.error_code(), message, details);
    }
  }

 private:
  grpc::Status run(grpc::ByteBuffer& message, bool wanted, bool is_request) {
    if (!wanted)
      return grpc::Status::OK;
    if (!message.Valid())
      return grpc::Status(grpc::StatusCode::INTERNAL, "s2s-proxy: unreadable message");
    std::string bytes = rpc::flatten(message);
    auto* figures = figures_[is_request ? 0 : 1];
    auto began = figures ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    auto result = is_request ? call_.on_request(bytes) : call_.on_response(bytes);
    if (figures)
      figures->translated(result, std::chrono::steady_clock::now() - began);
    if (result.is_refused())
      return status_of(result.refusal);
    if (result.is_changed()) {
      message = rpc::owning_buffer(std::move(bytes));
    }
    return grpc::Status::OK;
  }

  translation::call_translation call_;
  translation_observer* observer_;  // may be null
  std::string connection_;
  side arrived_on_;
  translation_observer::figures* figures_[2] = {};  // requests, responses; null: not observed
};

}  // namespace

translator::translator(const config::cluster_connection& connection, side arrived_on, std::string source,
                       std::shared_ptr<translation_observer> observer)
    : name_(connection.name), arrived_on_(arrived_on), source_(std::move(source)), observer_(std::move(observer)) {
  auto first = build(connection, nullptr);
  if (!first->problem.empty())
    log::error("translation", first->problem);
  current_.store(std::move(first));
}

translator::settings_ptr translator::build(const config::cluster_connection& connection,
                                           std::shared_ptr<const translation::schema> types) const {
  auto made = std::make_shared<settings>();
  made->connection = connection;
  made->needs_schema = translation::pipeline::needs_schema(connection, arrived_on_);
  auto before = translation::pipeline::build_method_checks(connection, arrived_on_);
  if (before)
    made->before_schema = *before;
  else
    made->problem = before.error();
  made->types = std::move(types);
  if (made->types) {
    auto built = translation::pipeline::build(connection, arrived_on_, made->types);
    if (built)
      made->pipeline = *built;
    else
      made->problem = built.error();
  }
  return made;
}

bool translator::schema_ready() const { return current_.load()->types != nullptr; }

bool translator::needs_schema() const { return current_.load()->needs_schema; }

std::shared_ptr<const translation::replication_codec> translator::replication_codec() const {
  auto current = current_.load();
  return current->pipeline ? current->pipeline->stream_codec() : nullptr;
}

void translator::schema_loaded(std::shared_ptr<const translation::schema> types) {
  std::lock_guard guard(replacing_);
  auto next = build(current_.load()->connection, std::move(types));
  if (!next->pipeline)
    log::error("translation", "cannot translate with the loaded schema: " + next->problem);
  current_.store(std::move(next));
}

std::string translator::reconfigure(const std::vector<translator*>& sides,
                                    const config::cluster_connection& connection) {
  std::vector<std::unique_lock<std::mutex>> held;
  for (auto* side : sides)
    held.emplace_back(side->replacing_);  // always in the same order
  std::vector<settings_ptr> next;
  for (auto* side : sides) {
    auto built = side->build(connection, side->current_.load()->types);
    if (!built->problem.empty())
      return built->problem;
    next.push_back(std::move(built));
  }
  for (std::size_t i = 0; i < sides.size(); ++i)
    sides[i]->current_.store(std::move(next[i]));
  return {};
}

call_filter::decision translator::start(const call_info& info) {
  decision made;
  auto current = current_.load();  // this call's settings, whatever a reload does meanwhile
  if (current->pipeline) {
    auto call = current->pipeline->start_call(info.method);
    if (call.refusal()) {
      made.refusal = status_of(*call.refusal());
      if (observer_)
        observer_->method_refused(name_, arrived_on_);
    } else if (call.wants_requests() || call.wants_responses() || call.wants_headers() || call.wants_status()) {
      made.messages = std::make_unique<translating_messages>(std::move(call), observer_.get(), name_, arrived_on_);
    }
    return made;
  }
  if (current->before_schema) {
    auto call = current->before_schema->start_call(info.method);
    if (call.refusal()) {
      made.refusal = status_of(*call.refusal());
      if (observer_)
        observer_->method_refused(name_, arrived_on_);
      return made;
    }
  }
  if (!current->needs_schema || !is_temporal_method(info.method))
    return made;
  const auto& name = current->connection.name;
  if (current->types) {
    made.refusal = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "s2s-proxy: clusterConnections '" + name +
                                    "' cannot translate with the loaded Temporal schema: " + current->problem);
  } else {
    made.refusal = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "s2s-proxy: the Temporal schema is not loaded yet (from " + source_ + "); " +
                                    info.method + " needs it to be translated on clusterConnections '" + name + "'");
  }
  return made;
}

translation_setup::translation_setup(const config::config& config, std::shared_ptr<translation_observer> observer)
    : descriptor_set_path_(config.translation.descriptor_set_path), observer_(std::move(observer)) {}

translation_setup::source_users& translation_setup::users_of(const config::cluster_connection& connection) {
  schema_source source;
  source.descriptor_set_path = descriptor_set_path_;
  if (descriptor_set_path_.empty())
    source.frontend = connection.local.tcp_client;
  auto key = source.describe();
  for (auto& users : sources_)
    if (users.source.describe() == key)
      return users;
  sources_.push_back({std::move(source), {}});
  return sources_.back();
}

std::shared_ptr<call_filter> translation_setup::filter(const config::cluster_connection& connection, side arrived_on,
                                                       std::shared_ptr<call_filter> before) {
  auto& users = users_of(connection);
  auto made = std::make_shared<translator>(connection, arrived_on, users.source.describe(), observer_);
  users.translators.push_back(made);
  translators_.push_back(made);
  return chain_filters({std::move(before), std::move(made)});
}

std::shared_ptr<translator> translation_setup::translator_of(const std::string& connection, side arrived_on) const {
  for (const auto& made : translators_)
    if (made->name() == connection && made->arrived_on() == arrived_on)
      return made;
  return nullptr;
}

std::string translation_setup::reconfigure(const config::cluster_connection& connection) {
  std::vector<translator*> sides;
  for (const auto& made : translators_)
    if (made->name() == connection.name)
      sides.push_back(made.get());
  if (sides.empty())
    return "no translator serves clusterConnections '" + connection.name + "'";
  return translator::reconfigure(sides, connection);
}

schema_actor translation_setup::start_schema(caf::actor_system& system, std::size_t source) {
  const auto& users = sources_.at(source);
  schema_spec spec;
  spec.source = users.source;
  spec.subscribers.assign(users.translators.begin(), users.translators.end());
  auto actor = spawn_schema(system, std::move(spec));
  std::lock_guard guard(schema_actors_mutex_);
  schema_actors_.resize(sources_.size());
  schema_actors_[source] = actor.address();
  return actor;
}

std::vector<std::shared_ptr<translator>> translation_setup::translators_of_source(std::size_t source) const {
  return sources_.at(source).translators;
}

std::vector<schema_actor> translation_setup::schema_actors() const {
  std::lock_guard guard(schema_actors_mutex_);
  std::vector<schema_actor> alive;
  for (const auto& address : schema_actors_)
    if (auto actor = caf::actor_cast<schema_actor>(address))
      alive.push_back(std::move(actor));
  return alive;
}

}  // namespace s2s::actors
