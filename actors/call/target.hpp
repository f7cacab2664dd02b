// Upstream targets on the HTTP/2 data path: where a call actor's upstream half opens its stream.
#pragma once

#include <functional>
#include <memory>
#include <optional>
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

// Instances of one side forward to each other: a call that reaches an instance with no mux session goes
// to a peer instance's outbound listener, already translated, with this header naming the instance that
// sent it. The peer passes such a call on untranslated (the sender did it) and never forwards it again.
inline constexpr const char* forwarded_by_header = "s2s-proxy-forwarded-by";

// Whether `info` carries forwarded_by_header, and who set it.
std::optional<std::string> forwarded_by(const call_info& info);

// The way to a peer instance through `peer` (a dialing target to its proxy address): each call gets
// forwarded_by_header with `this_instance`; a call that carries the header already is refused with
// UNAVAILABLE instead, naming both instances, as it found no mux session on either.
std::shared_ptr<upstream_target> make_forwarding_target(std::shared_ptr<upstream_target> peer,
                                                        std::string this_instance, std::string peer_instance);

}  // namespace s2s::actors
