// The atoms more than one actor's interface uses, or that one actor sends to another's: one
// meaning each, wherever it appears. An atom only one actor's interface names stays in that
// actor's header; one an actor only sends itself stays in its source.
#pragma once

#include <caf/atom.hpp>

namespace s2s::actors {

// Stop, with how long the work in flight may take to finish (listener, mux connection,
// supervisor); the reply says the actor has stopped.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

// A report of what the actor holds and has done, for operators, metrics and tests (listener,
// mux connection, mux session, mux upstream, supervisor).
using stats_atom = caf::atom_constant<caf::atom("stats")>;

// The proxy is stopping: a listener tells each of its calls (see call_actor).
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;

// A call asks its upstream where to send itself (see upstream_actor).
using lease_atom = caf::atom_constant<caf::atom("lease")>;

// The upstream actor that an actor sends its calls or channels to was restarted: this one
// replaces it (listener, mux connection, mux session).
using upstream_atom = caf::atom_constant<caf::atom("upstream")>;

}  // namespace s2s::actors
