// How the proxy's actors are run: the threading model, and the pieces in this folder that carry
// it out. docs/threads.md names every thread of the process and what each mutex guards.
//
// - Actors own no threads. Each scheduled actor (supervisor, listeners, calls, upstreams, mux
//   connections and sessions, the schema actor) runs on whichever of CAF's work-sharing workers,
//   `s2s-actor-N`, picks it up; one message at a time, never on two threads at once. The workers
//   sleep until work arrives instead of polling (scheduling.hpp).
// - The data path (sockets, TLS, HTTP/2, yamux) runs on the event loops, `s2s-io-N`
//   (src/net/event_loop.hpp); each connection stays on one loop.
// - An idle actor whose state has the runs_inline trait (the call and upstream actors) runs
//   right on the loop thread that has news for it, or that spawned it, before that thread goes
//   on; it is still an actor, with the same one-message-at-a-time rule (inline_run.hpp).
// - Timeouts and delayed messages run on one clock thread, `s2s-clock`, which an ending actor
//   wakes only if it had set a timeout (quiet_clock.hpp).
// - Nothing blocks on a worker or a loop: what must block (reading a schema, draining a
//   listener, setting up a mux session's TLS) has a thread of its own.
// - Only an actor looks at its own mailbox, from inside one of its handlers (mailbox.hpp).
// - Every actor counts itself, by kind, while it lives (census.hpp): the stop waits for the count
//   to reach zero before the event loops end, and names what is left when it does not.
//
// main calls tune_allocator first and tune_scheduler on the actor system's config before the
// system starts; everything else here is used by the actors themselves.
#pragma once

#include "actors/runtime/census.hpp"
#include "actors/runtime/inline_run.hpp"
#include "actors/runtime/mailbox.hpp"
#include "actors/runtime/quiet_clock.hpp"
#include "actors/runtime/scheduling.hpp"
