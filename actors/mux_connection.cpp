// The mux-connection actor: dials (mux-client) or accepts (mux-server) the yamux sessions of
// one cluster connection and keeps their number at muxCount.
#include "actors/mux_connection.hpp"
#include "actors/mailbox.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "log/log.hpp"

namespace s2s::actors {

std::chrono::milliseconds redial_backoff::next(double unit) {
  auto base = base_;
  auto grown = std::chrono::milliseconds(
      static_cast<long long>(static_cast<double>(base_.count()) * settings_.factor));
  base_ = std::min(grown, settings_.cap);
  double spread = 1.0 + settings_.jitter * (2.0 * unit - 1.0);
  return std::chrono::milliseconds(
      static_cast<long long>(static_cast<double>(base.count()) * spread));
}

namespace {

// The mux-server's listening socket and the thread that accepts on it. Accepting is the only
// blocking it does, and it happens here, off the actor threads.
class acceptor {
 public:
  acceptor(int listen_fd, mux_connection_actor owner) : listen_fd_(listen_fd) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    thread_ = std::thread([this, owner] { run(owner); });
  }
  ~acceptor() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
    ::close(wake_fd_);
    ::close(listen_fd_);
  }

 private:
  void run(mux_connection_actor owner) {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR)
        return;
      if (fds[1].revents)
        return;
      if (!(fds[0].revents & POLLIN))
        continue;
      sockaddr_storage address{};
      socklen_t length = sizeof address;
      int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      caf::anon_send(owner, mux_accepted_socket{fd, address_text(address)});
    }
  }

  int listen_fd_;
  int wake_fd_ = -1;
  std::thread thread_;
};

// A mux-server accepts this many connections still in their TLS handshake (or not yet spoken
// yamux) at once, whatever muxCount is; each has an I/O thread until it is up or refused.
constexpr std::size_t max_handshakes = 16;

struct session_slot {
  mux_session_actor session;  // null while waiting to re-dial
  bool up = false;
  redial_backoff backoff;
};

struct mux_connection_state {
  static inline const char* name = "mux-connection";
  mux_connection_spec spec;
  std::string label;  // "<connection> mux"
  std::vector<session_slot> slots;  // mux-client: muxCount; mux-server: one per accepted session
  std::unique_ptr<acceptor> accepting;
  mux_connection_stats stats;
  std::shared_ptr<mux_traffic> traffic = std::make_shared<mux_traffic>();
  std::minstd_rand random{std::random_device{}()};
  std::uint64_t sessions_started = 0;
  bool stopping = false;
};

using connection_pointer = mux_connection_actor::stateful_pointer<mux_connection_state>;

mux_session_actor start_session(connection_pointer self, int accepted_fd) {
  auto& st = self->state;
  mux_session_spec spec;
  spec.name = st.label + " session " + std::to_string(++st.sessions_started);
  if (st.spec.client)
    spec.dial = st.spec.mux_address.addr;
  spec.accepted_fd = accepted_fd;
  spec.tls = st.spec.mux_address.tls;
  spec.tls_context = st.spec.tls_context;
  spec.yamux = st.spec.yamux;
  spec.observer = caf::actor_cast<mux_session_observer>(self);
  spec.outbound = st.spec.outbound;
  spec.traffic = st.traffic;
  auto session = spawn_mux_session(self->system(), std::move(spec));
  self->monitor(session);
  return session;
}

session_slot* find_slot(connection_pointer self, const caf::actor_addr& session) {
  for (auto& slot : self->state.slots)
    if (slot.session && slot.session.address() == session)
      return &slot;
  return nullptr;
}

void count_live(mux_connection_state& st) {
  st.stats.sessions_live = 0;
  st.stats.sessions_pending = 0;
  for (const auto& slot : st.slots) {
    if (slot.session && slot.up)
      ++st.stats.sessions_live;
    else if (slot.session)
      ++st.stats.sessions_pending;
  }
}

// A session ended (or never came up): a client slot re-dials after its backoff, a server
// slot is freed for the next connection.
void on_session_gone(connection_pointer self, const caf::actor_addr& session, bool was_up) {
  auto& st = self->state;
  auto* slot = find_slot(self, session);
  if (!slot)
    return;
  ++(was_up ? st.stats.sessions_ended : st.stats.sessions_failed);
  slot->session = nullptr;
  slot->up = false;
  if (st.spec.client && !st.stopping) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    auto delay = slot->backoff.next(unit(st.random));
    st.stats.redial_delays.push_back(delay);
    auto index = static_cast<std::size_t>(slot - st.slots.data());
    log::info(st.label, "dialing " + st.spec.mux_address.addr.to_string() + " again in " +
                            std::to_string(delay.count()) + " ms");
    self->delayed_send(self, delay, redial_atom::value, index);
  } else if (!st.spec.client) {
    st.slots.erase(st.slots.begin() + (slot - st.slots.data()));
  }
  count_live(st);
}

mux_connection_actor::behavior_type mux_connection_behavior(connection_pointer self,
                                                            mux_connection_spec spec,
                                                            int listen_fd) {
  auto& st = self->state;
  st.spec = std::move(spec);
  st.label = st.spec.name + " mux";
  if (st.spec.client) {
    st.slots.resize(static_cast<std::size_t>(std::max(1, st.spec.mux_count)));
    for (auto& slot : st.slots) {
      slot.backoff = redial_backoff(st.spec.backoff);
      slot.session = start_session(self, -1);
    }
  } else {
    st.accepting = std::make_unique<acceptor>(listen_fd, self);
  }
  count_live(st);
  self->set_down_handler([self](caf::down_msg& down) {
    // A session that quits normally has already said so; this covers one that failed.
    on_session_gone(self, down.source, false);
  });
  return {
      [self](mux_session_up& up) {
        auto& st = self->state;
        if (auto* slot = find_slot(self, up.session.address())) {
          // A mux-server counts a session against muxCount only once its peer is through TLS
          // and spoke yamux, so connections that never finish a handshake cannot take the
          // slots of clients that do.
          auto limit = static_cast<std::size_t>(std::max(1, st.spec.mux_count));
          if (!st.spec.client && st.stats.sessions_live >= limit) {
            ++st.stats.sessions_refused;
            log::warn(st.label, "refused a session from " + up.peer + ": already serving " +
                                    std::to_string(limit) + " (muxCount)");
            self->send_exit(up.session, caf::exit_reason::user_shutdown);
            st.slots.erase(st.slots.begin() + (slot - st.slots.data()));
            count_live(st);
            return;
          }
          slot->up = true;
          slot->backoff.reset();
          ++st.stats.sessions_established;
        }
        count_live(st);
      },
      [self](mux_session_down& down) {
        on_session_gone(self, down.session.address(), down.was_up);
      },
      [self](redial_atom, std::size_t index) {
        auto& st = self->state;
        if (st.stopping || index >= st.slots.size() || st.slots[index].session)
          return;
        st.slots[index].session = start_session(self, -1);
        count_live(st);
      },
      [self](mux_accepted_socket& accepted) {
        auto& st = self->state;
        auto limit = static_cast<std::size_t>(std::max(1, st.spec.mux_count));
        std::string refusal;
        if (st.stopping)
          refusal = "shutting down";
        else if (st.stats.sessions_live >= limit)
          refusal = "already serving " + std::to_string(limit) + " (muxCount)";
        else if (st.stats.sessions_pending >= max_handshakes)
          refusal = std::to_string(max_handshakes) + " handshakes already in progress";
        if (!refusal.empty()) {
          ::close(accepted.fd);
          ++st.stats.sessions_refused;
          log::warn(st.label, "refused a session from " + accepted.peer + ": " + refusal);
          return;
        }
        session_slot slot;
        slot.session = start_session(self, accepted.fd);
        st.slots.push_back(std::move(slot));
        count_live(st);
      },
      [self](adopt_connection& connection) {
        auto& st = self->state;
        if (st.stopping) {
          ::close(connection.fd);
          return;
        }
        self->send(st.spec.inbound, connection);
      },
      [self](inbound_atom, listener_actor& listener) { self->state.spec.inbound = listener; },
      [self](stats_atom) {
        auto stats = self->state.stats;
        for (const auto& slot : self->state.slots)
          if (slot.session)
            stats.sessions.push_back(slot.session);
        stats.traffic = self->state.traffic;
        stats.mailbox_depth = messages_waiting(self);
        return stats;
      },
      [self](stop_atom, std::chrono::milliseconds) {
        auto& st = self->state;
        st.stopping = true;
        st.accepting.reset();
        for (auto& slot : st.slots)
          if (slot.session)
            self->send_exit(slot.session, caf::exit_reason::user_shutdown);
        self->quit();
        return true;
      },
  };
}

// Binds and listens; the string says why not.
std::variant<int, std::string> listen_on(const config::address& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  auto port = std::to_string(address.port);
  if (int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve host: ") + ::gai_strerror(rc);
  std::string problem = "the address is not available";
  int listening = -1;
  for (auto* entry = found; entry && listening < 0; entry = entry->ai_next) {
    int fd = ::socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC, entry->ai_protocol);
    if (fd < 0)
      continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, entry->ai_addr, entry->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      listening = fd;
    } else {
      problem = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listening < 0)
    return problem;
  return listening;
}

int bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (address.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
}

}  // namespace

std::variant<started_mux_connection, std::string> start_mux_connection(caf::actor_system& system,
                                                                       mux_connection_spec spec) {
  if (spec.client) {
    int port = spec.mux_address.addr.port;
    return started_mux_connection{system.spawn(mux_connection_behavior, std::move(spec), -1), port};
  }
  auto address = spec.mux_address.addr.to_string();
  auto listening = listen_on(spec.mux_address.addr);
  if (auto* problem = std::get_if<std::string>(&listening))
    return spec.name + " mux: cannot listen on " + address + ": " + *problem;
  int fd = std::get<int>(listening);
  int port = bound_port(fd);
  log::info(spec.name + " mux", "listening for sessions on " + address);
  return started_mux_connection{system.spawn(mux_connection_behavior, std::move(spec), fd), port};
}

}  // namespace s2s::actors
