// The listener actor: one gRPC server endpoint; a call actor per accepted call.
#include "actors/listener.hpp"
#include "actors/runtime/census.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/epoll.h>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/call/halves.hpp"
#include "actors/h2/connection.hpp"
#include "actors/runtime/mailbox.hpp"
#include "http2/grpc_headers.hpp"
#include "log/log.hpp"
#include "net/event_loop.hpp"
#include "net/socket.hpp"
#include "rpc/limits.hpp"
#include "sys/thread_name.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"

namespace s2s::actors {
namespace {

// The server has stopped: sent to the listener by the thread that drained it.
using drained_atom = caf::atom_constant<caf::atom("drained")>;

// listener_actor with the messages only the listener's own code sends it: what it is spawned as.
using private_actor = listener_actor::extend<caf::reacts_to<drained_atom>>;

// The listener's watch over its calls, kept where the call actors can reach it without a
// message: each call actor carries a functor that runs as it ends.
struct call_watch {
  std::atomic<std::uint64_t> started = 0;
  std::atomic<std::uint64_t> failed = 0;

  // The live call actors, so a stop can reach them; their number is the live-call gauge.
  void add(const call_actor& call) {
    std::lock_guard guard(mutex);
    calls.emplace(call.id(), call.address());
  }
  void remove(caf::actor_id id) {
    std::lock_guard guard(mutex);
    calls.erase(id);
  }
  std::uint64_t live() const {
    std::lock_guard guard(mutex);
    return calls.size();
  }
  std::vector<caf::actor_addr> live_calls() const {
    std::lock_guard guard(mutex);
    std::vector<caf::actor_addr> out;
    out.reserve(calls.size());
    for (auto& [id, address] : calls)
      out.push_back(address);
    return out;
  }

 private:
  mutable std::mutex mutex;
  std::unordered_map<caf::actor_id, caf::actor_addr> calls;
};

// What the proxy's server connections advertise to their callers.
http2::settings server_settings() {
  http2::settings settings;
  settings.stream_window = 4 * 1024 * 1024;
  settings.connection_window = 32 * 1024 * 1024;
  return settings;
}

// Gives every request a call actor, under the listener's watch: a call actor that ends
// abnormally has its call ended with INTERNAL and is counted as failed. Runs on the loop thread
// of the connection the request came on; the call actor's start runs there too.
class call_service final : public h2_request_sink, public std::enable_shared_from_this<call_service> {
 public:
  call_service(caf::actor_system& system, const listener_spec& spec)
      : system_(system),
        upstream_(std::make_shared<const upstream_actor>(spec.upstream)),
        filter_(spec.filter),
        observer_(spec.observer),
        routing_(spec.routing),
        watch_(std::make_shared<call_watch>()) {}

  const call_watch& watch() const { return *watch_; }

  // Calls accepted from now on go to `upstream`; on_request may be reading the old one on a loop thread.
  void replace_upstream(upstream_actor upstream) {
    upstream_.store(std::make_shared<const upstream_actor>(std::move(upstream)));
  }

  // New calls are refused from now on; the calls in flight are told the proxy is stopping
  // (streams end, unary calls finish).
  void stop_accepting() {
    stopping_ = true;
    for (auto& address : watch_->live_calls())
      caf::anon_send(caf::actor_cast<call_actor>(address), shutdown_atom::value);
  }

  // Serves HTTP/2 on a connected transport, on `loop`.
  void adopt(net::event_loop& loop, std::unique_ptr<byte_transport> transport, std::string peer) {
    auto connection =
        h2_connection::serve(loop, std::move(transport), shared_from_this(), std::move(peer), server_settings());
    std::lock_guard guard(mutex_);
    connections_.emplace(connection.get(), connection);
  }

  // Every connection is sent GOAWAY: the calls on it finish, new ones go to a new connection.
  // Returns the connections that were open.
  std::vector<std::shared_ptr<h2_connection>> go_away() {
    std::vector<std::shared_ptr<h2_connection>> open;
    {
      std::lock_guard guard(mutex_);
      for (auto& [key, weak] : connections_)
        if (auto connection = weak.lock())
          open.push_back(std::move(connection));
    }
    for (auto& connection : open)
      connection->loop().post([connection] { connection->shut_down(); });
    return open;
  }

  // Every connection: GOAWAY, then, once `grace` has passed, closed. Blocks (off the actor threads)
  // until the loops have closed them, within a bound.
  void close_connections(std::chrono::milliseconds grace) {
    auto open = go_away();
    if (open.empty())
      return;
    std::this_thread::sleep_for(grace);
    auto left = std::make_shared<std::atomic<std::size_t>>(open.size());
    for (auto& connection : open)
      connection->loop().post([connection, left] {
        connection->close("the listener stopped");
        --*left;
      });
    for (int i = 0; i < 100 && *left > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  void on_request(const std::shared_ptr<h2_connection>& connection, http2::headers_received& request) override {
    auto parsed = http2::parse_request(std::move(request.headers));
    if (auto* refusal = std::get_if<http2::status>(&parsed)) {
      connection->core().respond(request.id, http2::trailers_only(*refusal), true);
      connection->kick();
      return;
    }
    auto& head = std::get<http2::request_head>(parsed);
    call_info info;
    info.method = std::move(head.path);
    info.metadata = metadata_of(std::move(head.metadata));
    if (head.timeout)
      info.deadline = std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(*head.timeout);
    info.peer = connection->peer();
    auto half = std::make_shared<h2_server_half>(connection, request.id, std::move(info), rpc::max_message_bytes);
    connection->attach(request.id, half);
    half->start(request.end_stream);
    if (stopping_) {
      half->answer(grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy: shutting down"));
      return;
    }
    ++watch_->started;
    auto upstream = routing_ && routing_->takes(half->info()) ? routing_->upstream() : *upstream_.load();
    auto actor = spawn_call_here(system_, {half, std::move(upstream), filter_, observer_});
    watch_->add(actor);
    if (stopping_)  // a stop that began meanwhile may not have seen this call
      caf::anon_send(actor, shutdown_atom::value);
    // Runs at once if the actor has already ended.
    actor->attach_functor([watch = watch_, half, id = actor.id(), &system = system_](const caf::error& reason) {
      watch->remove(id);
      if (reason) {
        ++watch->failed;
        // The call actor normally ends its call itself when it fails; this covers the rest.
        half->finish(grpc::Status(grpc::StatusCode::INTERNAL, "s2s-proxy: the call failed: " + system.render(reason)),
                     {});
      }
    });
  }

  void on_connection_closed(h2_connection& connection) override {
    std::lock_guard guard(mutex_);
    connections_.erase(&connection);
  }

 private:
  caf::actor_system& system_;
  std::atomic<std::shared_ptr<const upstream_actor>> upstream_;
  std::shared_ptr<call_filter> filter_;
  std::shared_ptr<call_observer> observer_;
  std::shared_ptr<routing_entrance> routing_;  // may be null
  std::shared_ptr<call_watch> watch_;
  std::atomic<bool> stopping_ = false;
  std::mutex mutex_;
  std::unordered_map<h2_connection*, std::weak_ptr<h2_connection>> connections_;
};

// Accepts connections on a listening socket, on one event loop, and hands each to the service
// (through a TLS session when the endpoint has a TLS block).
class acceptor final : public net::io_handler, public std::enable_shared_from_this<acceptor> {
 public:
  acceptor(net::listening_socket socket, std::shared_ptr<call_service> service, tls::context_ptr context,
           config::tls_config tls, std::string name)
      : socket_(std::move(socket)),
        service_(std::move(service)),
        context_(std::move(context)),
        tls_(std::move(tls)),
        name_(std::move(name)),
        loop_(net::event_loops::instance().pick()) {}

  void start() {
    loop_.post([self = shared_from_this()] {
      self->self_ = self;
      self->loop_.watch(self->socket_.fd.get(), EPOLLIN, self.get());
    });
  }
  // Stops accepting and closes the listening socket.
  void stop() {
    loop_.post([self = shared_from_this()] {
      if (!self->self_)
        return;
      self->loop_.unwatch(self->socket_.fd.get());
      self->socket_.fd = net::unique_fd();
      self->loop_.retire(std::move(self->self_));
    });
  }

  void on_io(std::uint32_t) override {
    if (!self_)
      return;  // stopped after this event was read
    for (int i = 0; i < 64; ++i) {
      int error = 0;
      auto fd = net::accept_connection(socket_.fd.get(), &error);
      if (!fd) {
        if (error != EAGAIN && error != EWOULDBLOCK && error != EINTR && error != ECONNABORTED)
          log::warn(name_, std::string("cannot accept a connection: ") + std::strerror(error));
        return;
      }
      auto peer = net::peer_name(fd.get());
      if (!context_) {
        service_->adopt(net::event_loops::instance().pick(), plain_transport(std::move(fd)), std::move(peer));
        continue;
      }
      auto session = tls::session::create(context_, tls::session::role::server, tls_, "", {"h2"});
      if (auto* problem = std::get_if<std::string>(&session)) {
        log::warn(name_, "cannot start TLS for a connection from " + peer + ": " + *problem);
        continue;
      }
      service_->adopt(net::event_loops::instance().pick(),
                      tls_transport(std::move(fd), std::get<0>(std::move(session))), std::move(peer));
    }
  }

 private:
  net::listening_socket socket_;
  std::shared_ptr<call_service> service_;
  tls::context_ptr context_;
  config::tls_config tls_;
  std::string name_;
  net::event_loop& loop_;
  std::shared_ptr<acceptor> self_;  // while the socket is watched
};

// What the listener owns besides its actor state; shared so it can outlive a drain that waits
// off the actor's thread.
struct serving {
  std::shared_ptr<call_service> service;
  std::shared_ptr<acceptor> accepting;  // null for a port-less listener
};

// How long connections get to close by themselves once no call is left: a status sent just
// before has long been written by then.
constexpr auto connection_close_grace = std::chrono::milliseconds(300);
// How long a drained listener waits for its routing hub's source streams to end.
constexpr auto routing_stop_bound = std::chrono::seconds(3);

// Waits (off the actor threads) until the listener's calls have ended or `drain` passed.
void wait_for_calls(const call_service& service, std::chrono::milliseconds drain) {
  auto end = std::chrono::steady_clock::now() + drain;
  while (service.watch().live() > 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

struct listener_state {
  static inline const char* name = "listener";
  census::mark counted{census::kind::listener};
  listener_spec spec;
  std::shared_ptr<serving> resources;
  bool stopping = false;
  std::vector<caf::typed_response_promise<bool>> stop_promises;

  // A listener that ends without a stop (killed, or failed) leaves no socket bound for the one that
  // replaces it, and moves its callers to the replacement: their calls in flight finish.
  ~listener_state() {
    if (stopping || !resources)
      return;
    if (resources->accepting)
      resources->accepting->stop();
    resources->service->go_away();
  }
};

private_actor::behavior_type listener_behavior(private_actor::stateful_pointer<listener_state> self, listener_spec spec,
                                               std::shared_ptr<serving> resources) {
  self->state.spec = std::move(spec);
  self->state.resources = std::move(resources);
  return {
      [self](adopt_connection& connection) {
        auto& st = self->state;
        if (st.stopping || !connection.transport)
          return;  // dropped, the transport closes its stream
        auto& handover = *connection.transport;
        st.resources->service->adopt(*handover.loop, std::move(handover.transport), st.spec.name + " mux stream");
      },
      [self](stop_atom, std::chrono::milliseconds drain) -> caf::result<bool> {
        auto& st = self->state;
        auto promise = self->make_response_promise<bool>();
        st.stop_promises.push_back(promise);
        if (st.stopping)
          return promise;
        st.stopping = true;
        if (st.resources->accepting)
          st.resources->accepting->stop();
        st.resources->service->stop_accepting();
        // The wait for the calls stays off the actor threads, which the draining calls still need.
        std::thread([resources = st.resources, drain, routing = st.spec.routing,
                     listener = private_actor(self)]() mutable {
          sys::name_this_thread("s2s-drain");
          wait_for_calls(*resources->service, drain);
          // The routing hub's own streams end while the connections they run on still run.
          if (routing)
            routing->stop(routing_stop_bound);
          resources->service->close_connections(connection_close_grace);
          resources.reset();
          caf::anon_send(listener, drained_atom::value);
        }).detach();
        return promise;
      },
      [self](drained_atom) {
        for (auto& promise : self->state.stop_promises)
          promise.deliver(true);
        self->quit();
      },
      [self](upstream_atom, upstream_actor& upstream) {
        self->state.spec.upstream = upstream;
        self->state.resources->service->replace_upstream(std::move(upstream));
      },
      [self](stats_atom) {
        listener_stats stats;
        auto& service = self->state.resources->service;
        stats.calls_started = service->watch().started;
        stats.calls_failed = service->watch().failed;
        stats.calls_live = service->watch().live();
        stats.mailbox_depth = messages_waiting(self);
        if (self->state.spec.routing)
          stats.routing = self->state.spec.routing->view();
        return stats;
      },
  };
}

// Binds (with `listen`) and starts serving; without `listen` calls come only on adopted connections.
std::variant<started_listener, std::string> start_serving(caf::actor_system& system, listener_spec spec, bool listen) {
  auto address = spec.endpoint.addr.to_string();
  auto resources = std::make_shared<serving>();
  resources->service = std::make_shared<call_service>(system, spec);
  int port = 0;
  if (listen) {
    tls::context_ptr context;
    if (spec.endpoint.tls.enabled()) {
      auto made = tls::server_context(spec.endpoint.tls);
      if (auto* error = std::get_if<std::string>(&made))
        return spec.name + ": cannot serve " + address + ": " + *error;
      context = std::get<tls::context_ptr>(made);
    }
    auto bound = net::listen_tcp(spec.endpoint.addr);
    if (auto* problem = std::get_if<std::string>(&bound))
      return spec.name + ": cannot listen on " + address + ": " + *problem;
    auto& socket = std::get<net::listening_socket>(bound);
    port = socket.port;
    resources->accepting = std::make_shared<acceptor>(std::move(socket), resources->service, std::move(context),
                                                      spec.endpoint.tls, spec.name);
  }
  auto actor = system.spawn(listener_behavior, std::move(spec), resources);
  if (resources->accepting)
    resources->accepting->start();
  return started_listener{actor, port};
}

}  // namespace

std::variant<started_listener, std::string> start_listener(caf::actor_system& system, listener_spec spec) {
  return start_serving(system, std::move(spec), true);
}

std::variant<started_listener, std::string> start_portless_listener(caf::actor_system& system, listener_spec spec) {
  return start_serving(system, std::move(spec), false);
}

}  // namespace s2s::actors
