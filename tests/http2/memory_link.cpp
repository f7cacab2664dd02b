// The in-memory link's pump.
#include "memory_link.hpp"

namespace s2s::http2::testing {
namespace {

// Delivers what `from` has to send to `to`, kept in `inputs`; true when anything moved.
bool transfer(connection& from, connection& to, std::vector<std::vector<std::uint8_t>>& inputs, bool keep) {
  const auto out = from.pending_output();
  if (out.empty())
    return false;
  if (!keep)
    inputs.clear();  // both sides have handled their events since
  inputs.emplace_back(out.begin(), out.end());
  from.consume_output(inputs.back().size());
  to.receive(inputs.back());
  return true;
}

bool drain(connection& c, std::vector<event>& log, const std::function<void(const event&)>& handler, bool keep) {
  bool any = false;
  while (auto e = c.poll_event()) {
    any = true;
    if (handler)
      handler(*e);
    if (keep)
      log.push_back(std::move(*e));
  }
  return any;
}

}  // namespace

bool memory_link::pump(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    bool moved = transfer(client, server, inputs, log_events);
    moved |= drain(server, server_events, on_server, log_events);
    moved |= drain(client, client_events, on_client, log_events);
    moved |= transfer(server, client, inputs, log_events);
    moved |= drain(client, client_events, on_client, log_events);
    moved |= drain(server, server_events, on_server, log_events);
    if (!moved)
      return true;
  }
  return false;
}

}  // namespace s2s::http2::testing
