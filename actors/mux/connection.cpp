// The mux-connection actor: dials (mux-client) or accepts (mux-server) the yamux sessions of
// one cluster connection and keeps their number at muxCount.
#include "actors/mux/connection.hpp"
#include "actors/runtime/census.hpp"
#include "actors/runtime/mailbox.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "log/log.hpp"
#include "net/socket.hpp"
#include "sys/thread_name.hpp"

namespace s2s::actors {
namespace {

// A connection the accepting thread took and that has spoken: for a session.
struct mux_accepted_socket {
  int fd = -1;
  std::string peer;
};

}  // namespace
}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_accepted_socket)

namespace s2s::actors {

std::chrono::milliseconds redial_backoff::next(double unit) {
  auto base = base_;
  auto grown = std::chrono::milliseconds(static_cast<long long>(static_cast<double>(base_.count()) * settings_.factor));
  base_ = std::min(grown, settings_.cap);
  double spread = 1.0 + settings_.jitter * (2.0 * unit - 1.0);
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(base.count()) * spread));
}

std::uint64_t mux_refusal_counts::total() const {
  std::uint64_t sum = 0;
  for (auto count : by_cause)
    sum += count;
  return sum;
}

mux_refusal_counts mux_admission_counters::snapshot() const {
  mux_refusal_counts counts;
  for (std::size_t i = 0; i < refused.size(); ++i)
    counts.by_cause[i] = refused[i].load();
  return counts;
}

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Dial the session slot at this index again: the actor sends it to itself after the backoff.
using redial_atom = caf::atom_constant<caf::atom("redial")>;

// mux_connection_actor with the messages only the actor's own code sends it (its accepting
// thread, its re-dials): what it is spawned as.
using private_actor =
    mux_connection_actor::extend<caf::reacts_to<mux_accepted_socket>, caf::reacts_to<redial_atom, std::size_t>>;

// A flood is told in one line per this interval, its connections one by one only at debug.
constexpr auto refusal_summary_interval = 10s;
// Accepting stops this long when the process is out of fds, rather than spinning on accept.
constexpr auto out_of_fds_pause = 100ms;
// Accepts per round, so the pool's connections are watched between bursts.
constexpr int accepts_per_round = 64;

std::string describe(const mux_refusal_counts& counts, const mux_refusal_counts& before) {
  std::string text;
  for (std::size_t i = 0; i < counts.by_cause.size(); ++i)
    if (auto more = counts.by_cause[i] - before.by_cause[i])
      text += (text.empty() ? "" : ", ") + std::to_string(more) + " " + std::string(mux_refusal_names[i]);
  return text;
}

// The mux-server's listening socket and the thread that accepts on it. The thread also keeps
// the connections that have not sent a byte yet (mux_waiting_pool), so a silent connection
// costs an fd and no thread; one that speaks goes to the actor, which gives it a session.
class acceptor {
 public:
  acceptor(int listen_fd, std::string label, const mux_admission& admission,
           std::shared_ptr<mux_admission_counters> counters, private_actor owner)
      : listen_fd_(listen_fd),
        label_(std::move(label)),
        counters_(std::move(counters)),
        pool_({admission.max_waiting, admission.max_waiting_per_source, admission.hello_timeout}) {
    ::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0)
      throw std::system_error(errno, std::system_category(), "eventfd");
    try {
      thread_ = std::thread([this, owner] {
        sys::name_this_thread("s2s-mux-accept");
        run(owner);
      });
    } catch (...) {
      ::close(wake_fd_);
      throw;
    }
  }
  ~acceptor() {
    stopping_ = true;
    wake();
    thread_.join();
    for (int fd : pool_.take_all())
      ::close(fd);
    ::close(wake_fd_);
    ::close(listen_fd_);
  }

  // Paused, the thread takes no new connection: dials wait in the listen backlog, as with a
  // server that has no session to give them.
  void pause(bool paused) {
    if (paused_.exchange(paused) != paused)
      wake();
  }

 private:
  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
  }

  void run(private_actor owner) {
    std::vector<pollfd> fds;
    auto accept_again = clock::time_point{};
    auto next_summary = clock::now() + refusal_summary_interval;
    mux_refusal_counts summarised;
    while (!stopping_) {
      auto now = clock::now();
      bool listening = !paused_ && now >= accept_again;
      fds.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      fds.push_back({listening ? listen_fd_ : -1, POLLIN, 0});
      for (int fd : pool_.handles())
        fds.push_back({fd, POLLIN, 0});
      auto until = next_summary;
      if (auto expiry = pool_.next_expiry())
        until = std::min(until, *expiry);
      if (!paused_ && accept_again > now)
        until = std::min(until, accept_again);
      auto timeout = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
      if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(0, timeout))) < 0 && errno != EINTR)
        return;
      if (fds[0].revents) {
        std::uint64_t value;
        while (::read(wake_fd_, &value, sizeof value) > 0) {
        }
      }
      // Readable ones leave first, so no eviction below can hit a connection that spoke.
      for (std::size_t i = 2; i < fds.size(); ++i)
        if (fds[i].revents)
          pool_.mark_readable(fds[i].fd);
      for (int fd : pool_.take_readable())
        hand_over(fd, owner);
      now = clock::now();
      auto expired = pool_.expire(now);
      counters_->waiting = pool_.size();
      for (auto& late : expired)
        drop(late);
      if (listening && (fds[1].revents & POLLIN))
        accept_some(now, accept_again);
      counters_->waiting = pool_.size();
      if (now >= next_summary) {
        auto counts = counters_->snapshot();
        if (counts != summarised)
          log::warn(label_, "refused connections in the last " + std::to_string(refusal_summary_interval.count()) +
                                " s: " + describe(counts, summarised));
        summarised = counts;
        next_summary = now + refusal_summary_interval;
      }
    }
  }

  void accept_some(clock::time_point now, clock::time_point& accept_again) {
    for (int round = 0; round < accepts_per_round; ++round) {
      sockaddr_storage address{};
      socklen_t length = sizeof address;
      int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          if (!out_of_fds_)
            log::warn(label_,
                      std::string("cannot accept a connection: ") + std::strerror(errno) + "; pausing accepts briefly");
          out_of_fds_ = true;
          accept_again = now + out_of_fds_pause;
        }
        return;
      }
      out_of_fds_ = false;
      auto peer = net::address_text(address);
      auto source = peer.substr(0, peer.rfind(':'));
      peers_[fd] = std::move(peer);
      auto evicted = pool_.admit(fd, std::move(source), now);
      // The gauge first: whoever sees a refusal counted sees the pool without its victim.
      counters_->waiting = pool_.size();
      for (auto& victim : evicted)
        drop(victim);
      // A peer usually sends its ClientHello with the connect: then a flood admitted in the same
      // round cannot displace it before the next poll sees it.
      char byte;
      if (::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
        pool_.mark_readable(fd);
    }
  }

  void hand_over(int fd, const private_actor& owner) {
    auto peer = std::move(peers_[fd]);
    peers_.erase(fd);
    char byte;
    if (::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
      ::close(fd);  // the peer gave up before saying anything: nothing to refuse
      return;
    }
    caf::anon_send(owner, mux_accepted_socket{fd, std::move(peer)});
  }

  void drop(const mux_waiting_pool::eviction& evicted) {
    counters_->count(evicted.cause);
    log::debug(label_, "closed a silent connection from " + peers_[evicted.handle] + ": " +
                           std::string(mux_refusal_names[static_cast<std::size_t>(evicted.cause)]));
    peers_.erase(evicted.handle);
    ::close(evicted.handle);
  }

  int listen_fd_;
  int wake_fd_ = -1;
  std::string label_;
  std::shared_ptr<mux_admission_counters> counters_;
  mux_waiting_pool pool_;                       // the thread's alone while it runs
  std::unordered_map<int, std::string> peers_;  // of the pool's connections, for logs
  std::atomic<bool> paused_{false};
  std::atomic<bool> stopping_{false};
  bool out_of_fds_ = false;
  std::thread thread_;
};

struct session_slot {
  mux_session_actor session;  // null while waiting to re-dial
  bool up = false;
  bool queued = false;  // mux-client: waiting for a dial in progress to finish
  redial_backoff backoff;
};

struct mux_connection_state {
  static inline const char* name = "mux-connection";
  census::mark counted{census::kind::mux_connection};
  mux_connection_spec spec;
  std::string label;  // "<connection> mux"
  // mux-client: muxCount; mux-server: one per session in its handshake or up, oldest first
  std::vector<session_slot> slots;
  std::deque<std::size_t> dial_queue;  // mux-client: slots in the order they asked to dial
  std::unique_ptr<acceptor> accepting;
  std::shared_ptr<mux_admission_counters> admission = std::make_shared<mux_admission_counters>();
  mux_connection_stats stats;
  std::shared_ptr<mux_traffic> traffic = std::make_shared<mux_traffic>();
  std::minstd_rand random{std::random_device{}()};
  std::uint64_t sessions_started = 0;
  bool stopping = false;

  // The sessions end with the actor however it ends: one that replaces it starts its own.
  ~mux_connection_state() {
    for (auto& slot : slots)
      if (slot.session)
        caf::anon_send_exit(slot.session, caf::exit_reason::user_shutdown);
  }
};

using connection_pointer = private_actor::stateful_pointer<mux_connection_state>;

std::size_t mux_limit(const mux_connection_state& st) {
  return static_cast<std::size_t>(std::max(1, st.spec.mux_count));
}

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
  spec.handshake_timeout = st.spec.admission.handshake_timeout;
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
  st.stats.dials_queued = st.dial_queue.size();
  // With muxCount sessions up, a mux-server takes no more connections until one ends.
  if (st.accepting)
    st.accepting->pause(st.stats.sessions_live >= mux_limit(st));
}

// mux-client: dials the slots that asked, oldest first, while fewer than max_dialing sessions
// are dialing or in their handshake; the others wait their turn, so a large muxCount against a
// server that serves few costs a few sockets and threads, not muxCount of them.
void dial_waiting_slots(connection_pointer self) {
  auto& st = self->state;
  count_live(st);
  while (!st.stopping && !st.dial_queue.empty() && st.stats.sessions_pending < st.spec.admission.max_dialing) {
    auto& slot = st.slots[st.dial_queue.front()];
    st.dial_queue.pop_front();
    slot.queued = false;
    if (!slot.session) {
      slot.session = start_session(self, -1);
      ++st.stats.sessions_pending;
    }
  }
  count_live(st);
}

void ask_to_dial(connection_pointer self, std::size_t index) {
  auto& slot = self->state.slots[index];
  if (slot.session || slot.queued)
    return;
  slot.queued = true;
  self->state.dial_queue.push_back(index);
  dial_waiting_slots(self);
}

void erase_slot(mux_connection_state& st, session_slot* slot) {
  st.slots.erase(st.slots.begin() + (slot - st.slots.data()));
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
    ++st.stats.redials;
    if (st.stats.redial_delays.size() < mux_connection_stats::max_kept_redial_delays)
      st.stats.redial_delays.push_back(delay);
    auto index = static_cast<std::size_t>(slot - st.slots.data());
    log::info(st.label,
              "dialing " + st.spec.mux_address.addr.to_string() + " again in " + std::to_string(delay.count()) + " ms");
    self->delayed_send(self, delay, redial_atom::value, index);
    dial_waiting_slots(self);
  } else if (!st.spec.client) {
    if (!was_up)
      st.admission->count(mux_refusal::handshake_failed);
    erase_slot(st, slot);
  }
  count_live(st);
}

// mux-server: a connection that spoke gets a session for its handshake; with max_handshakes in
// progress, the oldest of them makes room, so handshakes that stall cannot lock anyone out.
void admit_accepted(connection_pointer self, mux_accepted_socket& accepted) {
  auto& st = self->state;
  if (st.stopping) {
    ::close(accepted.fd);
    st.admission->count(mux_refusal::shutting_down);
    log::debug(st.label, "closed a connection from " + accepted.peer + ": shutting down");
    return;
  }
  count_live(st);
  if (st.stats.sessions_pending >= st.spec.admission.max_handshakes) {
    auto oldest = std::find_if(st.slots.begin(), st.slots.end(),
                               [](const session_slot& slot) { return slot.session && !slot.up; });
    if (oldest != st.slots.end()) {
      self->send_exit(oldest->session, caf::exit_reason::user_shutdown);
      st.slots.erase(oldest);
      st.admission->count(mux_refusal::handshake_pool_full);
      log::debug(st.label, "dropped the oldest of " + std::to_string(st.spec.admission.max_handshakes) +
                               " handshakes in progress for one from " + accepted.peer);
    }
  }
  session_slot slot;
  slot.session = start_session(self, accepted.fd);
  st.slots.push_back(std::move(slot));
  count_live(st);
}

private_actor::behavior_type mux_connection_behavior(connection_pointer self, mux_connection_spec spec, int listen_fd) {
  auto& st = self->state;
  st.spec = std::move(spec);
  st.label = st.spec.name + " mux";
  if (st.spec.client) {
    st.slots.resize(static_cast<std::size_t>(std::max(1, st.spec.mux_count)));
    for (std::size_t index = 0; index < st.slots.size(); ++index) {
      st.slots[index].backoff = redial_backoff(st.spec.backoff);
      st.slots[index].queued = true;
      st.dial_queue.push_back(index);
    }
    dial_waiting_slots(self);
  } else {
    try {
      st.accepting = std::make_unique<acceptor>(listen_fd, st.label, st.spec.admission, st.admission, self);
    } catch (const std::system_error& failure) {
      ::close(listen_fd);
      log::error(st.label, std::string("cannot start accepting sessions: ") + failure.what());
    }
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
          // slots of clients that do. It stops taking connections at muxCount, so this is a
          // race: sessions whose handshakes were under way together.
          if (!st.spec.client && st.stats.sessions_live >= mux_limit(st)) {
            st.admission->count(mux_refusal::over_mux_count);
            log::warn(st.label, "refused a session from " + up.peer + ": already serving " +
                                    std::to_string(mux_limit(st)) + " (muxCount)");
            self->send_exit(up.session, caf::exit_reason::user_shutdown);
            erase_slot(st, slot);
            count_live(st);
            return;
          }
          slot->up = true;
          slot->backoff.reset();
          ++st.stats.sessions_established;
        }
        if (st.spec.client)
          dial_waiting_slots(self);
        count_live(st);
      },
      [self](mux_session_down& down) { on_session_gone(self, down.session.address(), down.was_up); },
      [self](redial_atom, std::size_t index) {
        auto& st = self->state;
        if (st.stopping || index >= st.slots.size())
          return;
        ask_to_dial(self, index);
      },
      [self](mux_accepted_socket& accepted) { admit_accepted(self, accepted); },
      [self](adopt_connection& connection) {
        auto& st = self->state;
        if (st.stopping)
          return;  // dropped, the transport closes its stream
        self->send(st.spec.inbound, connection);
      },
      [self](inbound_atom, listener_actor& listener) { self->state.spec.inbound = listener; },
      [self](upstream_atom, mux_upstream_actor& outbound) {
        auto& st = self->state;
        st.spec.outbound = outbound;
        for (auto& slot : st.slots)
          if (slot.session)
            self->send(slot.session, upstream_atom::value, outbound);
      },
      [self](stats_atom) {
        auto stats = self->state.stats;
        for (const auto& slot : self->state.slots)
          if (slot.session)
            stats.sessions.push_back(slot.session);
        stats.refusals = self->state.admission->snapshot();
        stats.connections_waiting = self->state.admission->waiting.load();
        stats.traffic = self->state.traffic;
        stats.mailbox_depth = messages_waiting(self);
        return stats;
      },
      [self](stop_atom, std::chrono::milliseconds) {
        auto& st = self->state;
        st.stopping = true;
        st.dial_queue.clear();
        st.accepting.reset();
        for (auto& slot : st.slots)
          if (slot.session)
            self->send_exit(slot.session, caf::exit_reason::user_shutdown);
        self->quit();
        return true;
      },
  };
}

}  // namespace

std::variant<started_mux_connection, std::string> start_mux_connection(caf::actor_system& system,
                                                                       mux_connection_spec spec) {
  if (spec.client) {
    int port = spec.mux_address.addr.port;
    return started_mux_connection{system.spawn(mux_connection_behavior, std::move(spec), -1), port};
  }
  auto address = spec.mux_address.addr.to_string();
  auto listening = net::listen_tcp(spec.mux_address.addr, spec.admission.listen_backlog);
  if (auto* problem = std::get_if<std::string>(&listening))
    return spec.name + " mux: cannot listen on " + address + ": " + *problem;
  auto& bound = std::get<net::listening_socket>(listening);
  int port = bound.port;
  int fd = bound.fd.release();
  log::info(spec.name + " mux", "listening for sessions on " + address);
  return started_mux_connection{system.spawn(mux_connection_behavior, std::move(spec), fd), port};
}

}  // namespace s2s::actors
