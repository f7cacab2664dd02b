// Upstream targets on the HTTP/2 data path: where a call actor's upstream half opens its stream.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "actors/h2/connection.hpp"
#include "actors/upstream_interface.hpp"
#include "config/config.hpp"

namespace s2s::actors {

struct h2_target_spec {
  std::string name;  // the upstream's name, for the log
  config::endpoint endpoint;
  // Methods whose streams get connections of their own (see rpc/stream_channels.hpp); null: none.
  std::function<bool(std::string_view method)> long_lived;
};

// Dials `endpoint` (with TLS when its block asks) as calls need: one shared connection per
// event loop, another when it fills up or is told to go away, and connections of their own for
// long-lived streams (shared by those starting within 10 s of each other, closed with their last
// stream). A refused or failed dial ends the calls waiting on it with UNAVAILABLE and the reason.
std::variant<std::shared_ptr<upstream_target>, std::string> make_dialing_target(h2_target_spec spec);

// Every call on one HTTP/2 client connection over `stream` (a mux stream's transport), on the
// loop it names: when that connection ends, calls are refused. `going_away` runs (on that loop)
// when the peer sends GOAWAY on it: its owner should offer calls another connection.
std::shared_ptr<upstream_target> make_stream_target(transport_handover stream, std::string name,
                                                    std::function<void()> going_away = nullptr);

}  // namespace s2s::actors
