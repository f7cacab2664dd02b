// Upstream targets on the HTTP/2 data path.
#include "actors/call/target.hpp"

#include <chrono>
#include <map>
#include <mutex>

#include <caf/send.hpp>

#include "actors/call/halves.hpp"
#include "log/log.hpp"
#include "net/event_loop.hpp"
#include "rpc/keepalive.hpp"
#include "rpc/limits.hpp"
#include "rpc/stream_channels.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"

namespace s2s::actors {
namespace {

// What the proxy's client connections advertise: large windows, so a large message moves at a
// round trip's cost, not one per 64 KiB.
http2::settings client_settings() {
  http2::settings settings;
  settings.stream_window = 4 * 1024 * 1024;
  settings.connection_window = 32 * 1024 * 1024;
  return settings;
}

// A port for a call that cannot start: it reports its status at once.
class refused_port final : public upstream_port {
 public:
  refused_port(call_actor owner, grpc::Status status) : owner_(std::move(owner)), status_(std::move(status)) {
    caf::anon_send(owner_, upstream_read_end{});
    caf::anon_send(owner_, upstream_done{status_, {}});
  }
  void grant_reads(std::size_t) override {}
  void return_grants_to(std::weak_ptr<read_gate>) override {}
  void write(grpc::ByteBuffer) override {}
  void writes_done() override {}
  void cancel() override {}
  void release() override {}

 private:
  call_actor owner_;
  grpc::Status status_;
};

std::shared_ptr<upstream_port> start_half(const std::shared_ptr<h2_connection>& connection, std::string authority,
                                          const call_info& info, call_actor owner) {
  auto half = std::make_shared<h2_client_half>(connection, std::move(authority), info, std::move(owner),
                                               rpc::max_message_bytes);
  connection->loop().post([half] { half->start(); });
  return half;
}

class dialing_target final : public upstream_target, public std::enable_shared_from_this<dialing_target> {
 public:
  dialing_target(h2_target_spec spec, tls::context_ptr context)
      : spec_(std::move(spec)),
        context_(std::move(context)),
        authority_(spec_.endpoint.addr.to_string()),
        streams_([this] { return dial_for_streams(); },
                 [](const h2_connection& connection) { return connection.accepting_streams(); }) {}

  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override {
    auto& loop = net::event_loops::instance().pick();
    bool own = spec_.long_lived && spec_.long_lived(info.method);
    std::string problem;
    auto connection = own ? for_stream(loop, problem) : shared(loop, problem);
    if (!connection && own) {
      std::lock_guard guard(mutex_);
      problem = stream_dial_problem_;
    }
    if (!connection)
      return std::make_shared<refused_port>(std::move(owner),
                                            grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy: " + problem));
    return start_half(connection, authority_, info, std::move(owner));
  }

 private:
  std::shared_ptr<h2_connection> shared(net::event_loop& loop, std::string& problem) {
    std::lock_guard guard(mutex_);
    auto& slot = shared_[&loop];
    if (slot && slot->accepting_streams())
      return slot;
    slot = dial(loop, problem);
    return slot;
  }

  std::shared_ptr<h2_connection> for_stream(net::event_loop& loop, std::string& problem) {
    return streams_.for_stream();
  }

  // A connection of its own for the long-lived streams starting now; it closes with the last.
  std::shared_ptr<h2_connection> dial_for_streams() {
    log::info(spec_.name,
              "opening a connection of its own to " + authority_ + " for the long-lived streams starting now");
    auto& loop = net::event_loops::instance().pick();
    std::string problem;
    auto connection = dial(loop, problem);
    if (!connection) {
      std::lock_guard guard(mutex_);
      stream_dial_problem_ = problem;
      return nullptr;
    }
    loop.post([connection] { connection->close_after_last_stream(); });
    return connection;
  }

  std::shared_ptr<h2_connection> dial(net::event_loop& loop, std::string& problem) {
    auto& address = spec_.endpoint.addr;
    auto started = net::start_dial(address.host, address.port);
    if (auto* error = std::get_if<std::string>(&started)) {
      problem = "cannot connect to " + authority_ + ": " + *error;
      return nullptr;
    }
    auto fd = std::get<net::unique_fd>(std::move(started));
    std::unique_ptr<byte_transport> transport;
    if (context_) {
      auto session =
          tls::session::create(context_, tls::session::role::client, spec_.endpoint.tls, address.host, {"h2"});
      if (auto* error = std::get_if<std::string>(&session)) {
        problem = "cannot start TLS to " + authority_ + ": " + *error;
        return nullptr;
      }
      transport = tls_transport(std::move(fd), std::get<0>(std::move(session)));
    } else {
      transport = plain_transport(std::move(fd));
    }
    auto connection = h2_connection::client(loop, std::move(transport), true, authority_, client_settings());
    loop.post([connection] { connection->keep_alive(rpc::keepalive_time, rpc::keepalive_timeout); });
    return connection;
  }

  h2_target_spec spec_;
  tls::context_ptr context_;
  std::string authority_;
  std::mutex mutex_;
  std::map<net::event_loop*, std::shared_ptr<h2_connection>> shared_;
  std::string stream_dial_problem_;  // why the last dial for long-lived streams failed
  rpc::stream_connections<h2_connection> streams_;
};

class stream_target final : public upstream_target {
 public:
  stream_target(transport_handover stream, std::string name, std::function<void()> going_away) : authority_(name) {
    connection_ =
        h2_connection::client(*stream.loop, std::move(stream.transport), false, std::move(name), client_settings());
    if (going_away)
      connection_->loop().post(
          [connection = connection_, going_away = std::move(going_away)] { connection->on_go_away(going_away); });
  }
  ~stream_target() override {
    connection_->loop().post([connection = connection_] { connection->close_when_idle(); });
  }
  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override {
    if (!connection_->accepting_streams())
      return std::make_shared<refused_port>(
          std::move(owner),
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy: the mux stream to " + authority_ + " has closed"));
    return start_half(connection_, authority_, info, std::move(owner));
  }

 private:
  std::string authority_;
  std::shared_ptr<h2_connection> connection_;
};

}  // namespace

std::variant<std::shared_ptr<upstream_target>, std::string> make_dialing_target(h2_target_spec spec) {
  tls::context_ptr context;
  if (spec.endpoint.tls.enabled()) {
    auto made = tls::client_context(spec.endpoint.tls);
    if (auto* error = std::get_if<std::string>(&made))
      return *error;
    context = std::get<tls::context_ptr>(made);
  }
  return std::make_shared<dialing_target>(std::move(spec), std::move(context));
}

std::shared_ptr<upstream_target> make_stream_target(transport_handover stream, std::string name,
                                                    std::function<void()> going_away) {
  return std::make_shared<stream_target>(std::move(stream), std::move(name), std::move(going_away));
}

namespace {

class forwarding_target final : public upstream_target {
 public:
  forwarding_target(std::shared_ptr<upstream_target> peer, std::string this_instance, std::string peer_instance)
      : peer_(std::move(peer)), this_instance_(std::move(this_instance)), peer_instance_(std::move(peer_instance)) {}

  std::shared_ptr<upstream_port> open(const call_info& info, call_actor owner) override {
    if (auto sender = forwarded_by(info))
      return std::make_shared<refused_port>(
          std::move(owner),
          grpc::Status(grpc::StatusCode::UNAVAILABLE,
                       "s2s-proxy: instance '" + *sender + "' forwarded this call to instance '" + this_instance_ +
                           "' for want of a mux session, and '" + this_instance_ +
                           "' has none either (a call is forwarded once, not on to '" + peer_instance_ + "')"));
    auto forwarded = info;
    forwarded.metadata.emplace_back(forwarded_by_header, this_instance_);
    return peer_->open(forwarded, std::move(owner));
  }

 private:
  std::shared_ptr<upstream_target> peer_;
  std::string this_instance_;
  std::string peer_instance_;
};

}  // namespace

std::optional<std::string> forwarded_by(const call_info& info) {
  for (const auto& [key, value] : info.metadata)
    if (key == forwarded_by_header)
      return value;
  return std::nullopt;
}

std::shared_ptr<upstream_target> make_forwarding_target(std::shared_ptr<upstream_target> peer,
                                                        std::string this_instance, std::string peer_instance) {
  return std::make_shared<forwarding_target>(std::move(peer), std::move(this_instance), std::move(peer_instance));
}

}  // namespace s2s::actors
