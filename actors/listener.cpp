// The listener actor: one gRPC server endpoint; a call actor per accepted call.
#include "actors/listener.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
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

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>

#include "actors/grpc_halves.hpp"
#include "actors/mailbox.hpp"
#include "rpc/credentials.hpp"
#include "rpc/keepalive.hpp"
#include "rpc/limits.hpp"

namespace s2s::actors {
namespace {

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

// How many calls each completion queue waits for at once: a burst of new calls does not wait
// for the one before it to be set up.
constexpr int calls_awaited_per_queue = 8;

// Starts a call actor for every call, whatever its method, on the completion thread that
// accepted it, under the listener's watch: a call actor that ends abnormally has its call ended
// with INTERNAL and is counted as failed.
class forwarding_service final : public call_acceptor,
                                  public std::enable_shared_from_this<forwarding_service> {
 public:
  forwarding_service(caf::actor_system& system, const listener_spec& spec)
      : system_(system), upstream_(spec.upstream), filter_(spec.filter), observer_(spec.observer),
        watch_(std::make_shared<call_watch>()) {}

  grpc::AsyncGenericService& service() { return service_; }
  // New calls are refused from now on; the calls in flight are told the proxy is stopping
  // (streams end, unary calls finish).
  void stop_accepting() {
    stopping_ = true;
    for (auto& address : watch_->live_calls())
      caf::anon_send(caf::actor_cast<call_actor>(address), shutdown_atom::value);
  }
  const call_watch& watch() const { return *watch_; }

  // Starts waiting for calls on every queue of a started server.
  void serve(const std::shared_ptr<rpc::completion_queues>& queues) {
    for (std::size_t i = 0; i < queues->size(); ++i)
      for (int k = 0; k < calls_awaited_per_queue; ++k)
        server_half::await_call(service_, server_queue(queues->queue(i)), queues, shared_from_this());
  }

  void accepted(std::shared_ptr<server_half> half, grpc::ServerCompletionQueue* queue) override {
    if (!half)
      return;  // the server is shutting down
    if (stopping_) {
      half->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy: shutting down"), {});
      return;
    }
    server_half::await_call(service_, queue, half->info().queues, shared_from_this());
    ++watch_->started;
    auto actor = spawn_call_here(system_, {half, upstream_, filter_, observer_});
    watch_->add(actor);
    if (stopping_)  // a stop that began meanwhile may not have seen this call
      caf::anon_send(actor, shutdown_atom::value);
    // Runs at once if the actor has already ended.
    actor->attach_functor([watch = watch_, half, id = actor.id(),
                           &system = system_](const caf::error& reason) {
      watch->remove(id);
      if (reason) {
        ++watch->failed;
        // The call actor normally ends its call itself when it fails; this covers the rest.
        half->finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                  "s2s-proxy: the call failed: " + system.render(reason)),
                     {});
      }
    });
  }

 private:
  // The queues of a server were made by its builder, as server queues.
  static grpc::ServerCompletionQueue* server_queue(grpc::CompletionQueue* queue) {
    return static_cast<grpc::ServerCompletionQueue*>(queue);
  }

  grpc::AsyncGenericService service_;
  caf::actor_system& system_;
  upstream_actor upstream_;
  std::shared_ptr<call_filter> filter_;
  std::shared_ptr<call_observer> observer_;
  std::shared_ptr<call_watch> watch_;
  std::atomic<bool> stopping_ = false;
};

// What the listener owns besides its actor state; shared so it can outlive a blocking
// shutdown that runs off the actor's thread. The server goes first, then its queues.
struct serving {
  std::shared_ptr<forwarding_service> service;  // shared with the calls it waits for
  std::shared_ptr<rpc::completion_queues> queues;
  std::unique_ptr<grpc::Server> server;
};

// How long connections get to close by themselves once no call is left: grpc's Shutdown waits for
// every connection until its deadline, and those of a port-less listener (yamux streams the peer
// opened) close only with their session. A status sent just before has long been written by then.
constexpr auto connection_close_grace = std::chrono::milliseconds(300);

// Waits (off the actor threads) until the listener's calls have ended or `drain` passed, and
// returns the deadline for Shutdown: the drain bound's end while calls are still in flight, or a
// short grace for the connections once none is. An idle listener so stops at once.
std::chrono::system_clock::time_point drain_deadline(const forwarding_service* service,
                                                     std::chrono::milliseconds drain) {
  auto end = std::chrono::system_clock::now() + drain;
  if (!service)
    return end;
  while (service->watch().live() > 0 && std::chrono::system_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return std::min(end, std::chrono::system_clock::now() + connection_close_grace);
}

// Completion threads per listener: a quarter of the cores, at least one. A proxy has two
// listeners per cluster connection, and a call's both halves run on the thread that accepted it.
unsigned queues_per_listener() { return std::max(1u, std::thread::hardware_concurrency() / 4); }

// How long a stopped listener waits for its calls' halves to let go of its completion queues.
constexpr auto queue_release_bound = std::chrono::seconds(10);

struct listener_state {
  static inline const char* name = "listener";
  listener_spec spec;
  std::shared_ptr<serving> resources;
  bool stopping = false;
  std::vector<caf::typed_response_promise<bool>> stop_promises;
};

listener_actor::behavior_type listener_behavior(
    listener_actor::stateful_pointer<listener_state> self, listener_spec spec,
    std::shared_ptr<serving> resources) {
  self->state.spec = std::move(spec);
  self->state.resources = std::move(resources);
  return {
      [self](adopt_connection& connection) {
        auto& st = self->state;
        if (st.stopping || !st.resources->server) {
          ::close(connection.fd);
          return;
        }
        grpc::AddInsecureChannelFromFd(st.resources->server.get(), connection.fd);
      },
      [self](stop_atom, std::chrono::milliseconds drain) -> caf::result<bool> {
        auto& st = self->state;
        auto promise = self->make_response_promise<bool>();
        st.stop_promises.push_back(promise);
        if (st.stopping)
          return promise;
        st.stopping = true;
        if (st.resources->service)
          st.resources->service->stop_accepting();
        // Server::Shutdown blocks until calls end; keep it off the actor threads, which the
        // draining calls still need.
        std::thread([resources = st.resources, drain, listener = listener_actor(self)]() mutable {
          if (resources->server) {
            resources->server->Shutdown(drain_deadline(resources->service.get(), drain));
            resources->server->Wait();
            // Calls' halves still complete on the queues; they stop once no half is left.
            if (resources->queues && !resources->queues->shut_down_when_unused(queue_release_bound))
              resources->queues.reset();  // the last half to go takes them down
          }
          // The server is destroyed with the actor's state, on an actor thread, not here.
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
      [self](stats_atom) {
        listener_stats stats;
        if (auto& service = self->state.resources->service) {
          stats.calls_started = service->watch().started;
          stats.calls_failed = service->watch().failed;
          stats.calls_live = service->watch().live();
        }
        stats.mailbox_depth = messages_waiting(self);
        return stats;
      },
  };
}

// Why no address of `address` can be bound (grpc++ serves when at least one can), or nothing
// when one can. grpc++ says only that it could not, in a log line of its own.
std::optional<std::string> bind_problem(const config::address& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  auto port = std::to_string(address.port);
  if (int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve host: ") + gai_strerror(rc);
  std::string problem = "the address is not available";
  bool bound = false;
  for (auto* entry = found; entry; entry = entry->ai_next) {
    int fd = ::socket(entry->ai_family, entry->ai_socktype, entry->ai_protocol);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, entry->ai_addr, entry->ai_addrlen) == 0)
      bound = true;
    else
      problem = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(found);
  if (bound)
    return std::nullopt;
  return problem;
}

}  // namespace

namespace {

// Builds and starts the server; without `listen` it has no listening port.
std::variant<started_listener, std::string> start_serving(caf::actor_system& system,
                                                          listener_spec spec, bool listen) {
  auto address = spec.endpoint.addr.to_string();
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (listen) {
    auto made = rpc::server_credentials(spec.endpoint.tls);
    if (auto* error = std::get_if<std::string>(&made))
      return spec.name + ": cannot serve " + address + ": " + *error;
    credentials = std::get<0>(made);
    // Checked first, so a taken port is one clear error, without a grpc++ server that fails.
    if (auto problem = bind_problem(spec.endpoint.addr))
      return spec.name + ": cannot listen on " + address + ": " + *problem;
  }

  auto resources = std::make_shared<serving>();
  resources->service = std::make_shared<forwarding_service>(system, spec);
  auto name = spec.name;
  auto bind_address = spec.endpoint.addr;
  auto actor = system.spawn(listener_behavior, std::move(spec), resources);

  grpc::ServerBuilder builder;
  int port = 0;
  if (listen)
    builder.AddListeningPort(address, credentials, &port);
  builder.RegisterAsyncGenericService(&resources->service->service());
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (unsigned i = 0; i < queues_per_listener(); ++i)
    queues.push_back(builder.AddCompletionQueue());
  builder.SetMaxReceiveMessageSize(rpc::max_message_bytes);
  builder.SetMaxSendMessageSize(rpc::max_message_bytes);
  // Without this a second process could bind the same port and silently share its traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  rpc::accept_peer_keepalives(builder);
  resources->server = builder.BuildAndStart();
  resources->queues = std::make_shared<rpc::completion_queues>(std::move(queues));
  if (resources->server)
    resources->service->serve(resources->queues);
  if (!resources->server || (listen && port == 0)) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    if (!listen)
      return name + ": cannot start a gRPC server";
    // Taken since the check above, or refused for a reason a plain bind does not meet.
    return name + ": cannot listen on " + address + ": " +
           bind_problem(bind_address).value_or("grpc++ could not bind it");
  }
  return started_listener{actor, port};
}

}  // namespace

std::variant<started_listener, std::string> start_listener(caf::actor_system& system,
                                                           listener_spec spec) {
  return start_serving(system, std::move(spec), true);
}

std::variant<started_listener, std::string> start_portless_listener(caf::actor_system& system,
                                                                    listener_spec spec) {
  return start_serving(system, std::move(spec), false);
}

}  // namespace s2s::actors
