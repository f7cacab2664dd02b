// The mux-session actor: one yamux session; its outbound channel and its inbound streams.
#include "actors/mux/session.hpp"
#include "actors/runtime/census.hpp"
#include "actors/runtime/mailbox.hpp"

#include <unistd.h>

#include <system_error>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/call/target.hpp"
#include "actors/mux/io.hpp"
#include "log/log.hpp"
#include "rpc/limits.hpp"

namespace s2s::actors {
namespace {

// What the session's I/O reports (see mux_io_events), as messages to the session.
struct mux_io_up {
  std::string peer;
};
struct mux_io_accepted {
  std::uint32_t stream = 0;
  std::shared_ptr<transport_handover> transport;
};
struct mux_io_opened {
  std::uint32_t stream = 0;
  std::shared_ptr<transport_handover> transport;
};
struct mux_io_open_failed {
  std::string reason;
};
struct mux_io_stream_ended {
  std::uint32_t stream = 0;
  bool reset = false;
};
struct mux_io_down {
  std::string reason;
  bool was_up = false;
};
// The peer sent GOAWAY on the HTTP/2 connection of our outbound stream: new calls need another.
struct mux_channel_going_away {
  std::uint32_t stream = 0;
};

}  // namespace
}  // namespace s2s::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_io_up)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_io_accepted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_io_opened)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_io_open_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_io_stream_ended)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_io_down)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(s2s::actors::mux_channel_going_away)

namespace s2s::actors {
namespace {

using namespace std::chrono_literals;

// Ask for a stream for calls again: the session sends it to itself after reopen_delay.
using reopen_atom = caf::atom_constant<caf::atom("reopen")>;

// mux_session_actor with the messages only the session's own code sends it (its I/O, its
// outbound channel, its retries): what it is spawned as.
using private_actor = mux_session_actor::extend<caf::reacts_to<mux_io_up>, caf::reacts_to<mux_io_accepted>,
                                                caf::reacts_to<mux_io_opened>, caf::reacts_to<mux_io_open_failed>,
                                                caf::reacts_to<mux_io_stream_ended>, caf::reacts_to<mux_io_down>,
                                                caf::reacts_to<mux_channel_going_away>, caf::reacts_to<reopen_atom>>;

// A peer that keeps refusing our stream must not make us spin: wait before asking again.
constexpr auto reopen_delay = 200ms;

struct mux_session_state {
  static inline const char* name = "mux-session";
  census::mark counted{census::kind::mux_session};
  mux_session_spec spec;
  std::unique_ptr<mux_io> io;  // destroyed with the state: stops and joins the I/O thread
  mux_session_stats stats;
  std::uint32_t channel_stream = 0;          // the stream under our outbound channel; 0: none
  std::shared_ptr<upstream_target> channel;  // the channel on it, while the mux upstream may lease it
  // The mux upstream of the moment, shared with what tells it the channel is gone as the actor ends.
  std::shared_ptr<mux_upstream_actor> outbound;
  bool reopen_scheduled = false;
  bool ended = false;
};

using session_pointer = private_actor::stateful_pointer<mux_session_state>;

// Opens an HTTP/2 connection on a stream we opened, on the session's loop.
// No HTTP/2 keepalive: the session's yamux pings already find a dead connection.
std::shared_ptr<upstream_target> channel_on(transport_handover& stream, const std::string& name,
                                            std::function<void()> going_away) {
  return make_stream_target(std::move(stream), name, std::move(going_away));
}

mux_io_events events_for(private_actor self) {
  mux_io_events events;
  events.up = [self](std::string peer) { caf::anon_send(self, mux_io_up{std::move(peer)}); };
  events.accepted = [self](std::uint32_t stream, std::shared_ptr<transport_handover> transport) {
    caf::anon_send(self, mux_io_accepted{stream, std::move(transport)});
  };
  events.opened = [self](std::uint32_t stream, std::shared_ptr<transport_handover> transport) {
    caf::anon_send(self, mux_io_opened{stream, std::move(transport)});
  };
  events.open_failed = [self](std::string reason) { caf::anon_send(self, mux_io_open_failed{std::move(reason)}); };
  events.stream_ended = [self](std::uint32_t stream, bool reset) {
    caf::anon_send(self, mux_io_stream_ended{stream, reset});
  };
  events.down = [self](std::string reason, bool was_up) {
    caf::anon_send(self, mux_io_down{std::move(reason), was_up});
  };
  return events;
}

void schedule_reopen(session_pointer self) {
  auto& st = self->state;
  if (st.reopen_scheduled || st.ended)
    return;
  st.reopen_scheduled = true;
  self->delayed_send(self, reopen_delay, reopen_atom::value);
}

private_actor::behavior_type mux_session_behavior(session_pointer self, mux_session_spec spec) {
  auto& st = self->state;
  st.spec = std::move(spec);
  mux_io_setup setup;
  setup.name = st.spec.name;
  setup.dial = st.spec.dial;
  setup.accepted_fd = st.spec.accepted_fd;
  setup.tls = st.spec.tls;
  setup.tls_context = st.spec.tls_context;
  setup.yamux = st.spec.yamux;
  setup.handshake_timeout = st.spec.handshake_timeout;
  setup.traffic = st.spec.traffic;
  try {
    st.io = std::make_unique<mux_io>(std::move(setup), events_for(self));
  } catch (const std::system_error& failure) {
    // Out of threads or fds: this session fails like one whose dial failed, and its keeper
    // counts it and dials again on its backoff.
    if (st.spec.accepted_fd >= 0)
      ::close(st.spec.accepted_fd);
    self->send(self, mux_io_down{std::string("cannot start the session's I/O: ") + failure.what(), false});
  }
  // However the actor ends, its channel must not be leased again.
  st.outbound = std::make_shared<mux_upstream_actor>(st.spec.outbound);
  self->attach_functor(
      [outbound = st.outbound, session = self->address()] { caf::anon_send(*outbound, mux_channel_down{session}); });
  return {
      [self](mux_io_up& up) {
        auto& st = self->state;
        st.stats.up = true;
        st.stats.peer = up.peer;
        log::info(st.spec.name, "session with " + up.peer + " is up");
        self->send(st.spec.observer, mux_session_up{self, up.peer});
        st.io->open_stream();
      },
      [self](mux_io_opened& opened) {
        auto& st = self->state;
        if (st.ended || st.channel_stream != 0)
          return;  // the transport, dropped, closes the stream
        st.channel_stream = opened.stream;
        ++st.stats.channels_opened;
        st.channel =
            channel_on(*opened.transport, "s2s-proxy-mux", [session = private_actor(self), stream = opened.stream] {
              caf::anon_send(session, mux_channel_going_away{stream});
            });
        self->send(*st.outbound, mux_channel_up{self->address(), st.channel});
      },
      [self](mux_io_open_failed& failed) {
        log::warn(self->state.spec.name, "cannot open a stream for calls: " + failed.reason);
        schedule_reopen(self);
      },
      [self](mux_io_accepted& accepted) {
        auto& st = self->state;
        ++st.stats.streams_accepted;
        self->send(st.spec.observer, adopt_connection{std::move(accepted.transport)});
      },
      [self](mux_io_stream_ended& ended) {
        auto& st = self->state;
        if (ended.stream != st.channel_stream)
          return;
        // The HTTP/2 connection under our channel is gone: calls on it end with UNAVAILABLE;
        // new calls get a fresh stream.
        st.channel_stream = 0;
        st.channel = nullptr;
        self->send(*st.outbound, mux_channel_down{self->address()});
        if (ended.reset)
          log::warn(st.spec.name, "the stream carrying outbound calls was reset; opening another");
        schedule_reopen(self);
      },
      [self](mux_channel_going_away& away) {
        auto& st = self->state;
        if (away.stream != st.channel_stream)
          return;
        // The peer is draining that HTTP/2 connection (its calls go on there); new calls get a
        // new stream now, not once the old one has ended.
        st.channel_stream = 0;
        st.channel = nullptr;
        self->send(*st.outbound, mux_channel_down{self->address()});
        if (!st.ended)
          st.io->open_stream();
      },
      [self](reopen_atom) {
        auto& st = self->state;
        st.reopen_scheduled = false;
        if (!st.ended && st.channel_stream == 0)
          st.io->open_stream();
      },
      [self](mux_io_down& down) {
        auto& st = self->state;
        st.ended = true;
        if (down.was_up)
          log::warn(st.spec.name, "session with " + st.stats.peer + " ended: " + down.reason);
        else
          log::error(st.spec.name, "no session: " + down.reason);
        if (st.channel_stream != 0)
          self->send(*st.outbound, mux_channel_down{self->address()});
        st.channel = nullptr;
        self->send(st.spec.observer, mux_session_down{self, down.reason, down.was_up});
        self->quit();
      },
      [self](upstream_atom, mux_upstream_actor& outbound) {
        auto& st = self->state;
        *st.outbound = std::move(outbound);
        if (st.channel)
          self->send(*st.outbound, mux_channel_up{self->address(), st.channel});
      },
      [self](stats_atom) {
        auto stats = self->state.stats;
        stats.live_streams = self->state.io ? self->state.io->streams() : 0;
        stats.channel_stream = self->state.channel_stream;
        stats.mailbox_depth = messages_waiting(self);
        return stats;
      },
  };
}

}  // namespace

mux_session_actor spawn_mux_session(caf::actor_system& system, mux_session_spec spec) {
  return system.spawn(mux_session_behavior, std::move(spec));
}

}  // namespace s2s::actors
