// libFuzzer target: arbitrary peer bytes and command sequences against the yamux session core.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

#include "yamux/session.hpp"
#include "yamux_fuzz_input.hpp"

namespace s2s::yamux::fuzz {
namespace {

void require(bool condition, const char* what) {
  if (condition)
    return;
  std::fprintf(stderr, "yamux fuzz invariant broken: %s\n", what);
  std::abort();
}

config config_from(std::uint8_t bits) {
  config cfg;
  cfg.enable_keepalive = (bits & 1) != 0;
  cfg.accept_backlog = 1u + ((bits >> 1) & 7u);
  cfg.max_stream_window = initial_stream_window << ((bits >> 4) & 3u);
  return cfg;
}

std::uint8_t pattern_byte(stream_id id, std::uint64_t offset) {
  return static_cast<std::uint8_t>(id * 31u + offset * 7u + (offset >> 8));
}

// One session plus what the harness knows about its streams.
struct side {
  side(role r, const config& cfg, clock::time_point now) : core(r, cfg, now) {}

  session core;
  std::vector<stream_id> known;                 // streams it opened or was told about
  std::map<stream_id, std::uint64_t> sent;      // pattern bytes written per stream
  std::map<stream_id, std::uint64_t> received;  // pattern bytes read per stream
  bool saw_protocol_error_go_away = false;
  bool peer_writes_pattern = false;  // true when the other side is an honest session of this harness

  stream_id pick(std::uint8_t index) const { return known.empty() ? 1 : known[index % known.size()]; }

  void drain_events() {
    while (auto e = core.poll_event()) {
      if (const auto* in = std::get_if<stream_incoming>(&*e))
        known.push_back(in->id);
      if (const auto* g = std::get_if<go_away_received>(&*e)) {
        saw_protocol_error_go_away |= g->code == go_away_code::protocol_error;
      }
    }
  }

  // Our own output must always be well-formed frames.
  void check_output_frames(std::size_t from) const {
    frame_decoder decoder;
    auto out = core.pending_output().subspan(from);
    while (!out.empty()) {
      const auto item = decoder.next(out);
      if (item.what == frame_decoder::item::kind::header)
        require(!check_header(item.header), "we emitted a bad header");
    }
  }
};

void write_pattern(side& s, stream_id id, std::size_t length) {
  std::vector<std::uint8_t> chunk(length);
  auto& offset = s.sent[id];
  for (std::size_t i = 0; i < length; ++i)
    chunk[i] = pattern_byte(id, offset + i);
  offset += s.core.write(id, chunk);
}

void read_pattern(side& s, stream_id id, std::size_t length) {
  std::vector<std::uint8_t> out(length);
  const auto n = s.core.read(id, out);
  auto& offset = s.received[id];
  for (std::size_t i = 0; s.peer_writes_pattern && i < n; ++i) {
    require(out[i] == pattern_byte(id, offset + i), "stream data corrupted");
  }
  offset += n;
}

// Runs the commands shared by both modes; returns false for an op it does not handle.
bool run_command(op code, input_reader& in, side& s, clock::time_point now) {
  switch (code) {
    case open_stream:
      if (const auto opened = s.core.open_stream(now))
        s.known.push_back(opened.id);
      return true;
    case accept_stream:
      s.core.accept_stream();
      return true;
    case write_stream: {
      const auto id = s.pick(in.u8());
      write_pattern(s, id, in.u16());
      return true;
    }
    case read_stream: {
      const auto id = s.pick(in.u8());
      read_pattern(s, id, in.u16());
      return true;
    }
    case close_stream:
      s.core.close(s.pick(in.u8()), now);
      return true;
    case reset_stream:
      s.core.reset(s.pick(in.u8()));
      return true;
    case send_ping:
      s.core.ping(now);
      return true;
    case send_go_away:
      s.core.go_away(go_away_code::normal);
      return true;
    default:
      return false;
  }
}

void fuzz_one_session(input_reader& in, std::uint8_t mode, const config& cfg) {
  clock::time_point now{};
  side s((mode & 2) ? role::server : role::client, cfg, now);
  while (!in.done()) {
    const auto code = static_cast<op>(in.u8() % op_count);
    const auto output_before = s.core.pending_output().size();
    if (code == receive_raw) {
      s.core.receive(in.take(in.u16()), now);
    } else if (code == deliver_output) {
      in.u8();
      s.core.consume_output(in.u16());
    } else if (code == advance_time) {
      now += std::chrono::milliseconds(10) * in.u16();
      s.core.tick(now);
    } else {
      in.u8();  // the side byte: there is only one side here
      run_command(code, in, s, now);
    }
    const auto pending = s.core.pending_output().size();
    if (pending > output_before)
      s.check_output_frames(output_before);
    s.drain_events();
    require(!(s.core.ended() && s.core.next_deadline()), "an ended session still has a deadline");
  }
}

void deliver(side& from, side& to, std::size_t length, clock::time_point now) {
  const auto out = from.core.pending_output();
  const auto n = std::min(length, out.size());
  to.core.receive(out.first(n), now);
  from.core.consume_output(n);
}

void fuzz_honest_pair(input_reader& in, const config& client_cfg, const config& server_cfg) {
  clock::time_point now{};
  side client(role::client, client_cfg, now);
  side server(role::server, server_cfg, now);
  client.peer_writes_pattern = server.peer_writes_pattern = true;
  while (!in.done()) {
    const auto code = static_cast<op>(in.u8() % op_count);
    if (code == receive_raw)
      continue;
    if (code == advance_time) {
      now += std::chrono::milliseconds(10) * in.u16();
      client.core.tick(now);
      server.core.tick(now);
    } else {
      const bool at_client = (in.u8() & 1) == 0;
      side& s = at_client ? client : server;
      side& other = at_client ? server : client;
      if (code == deliver_output) {
        deliver(s, other, in.u16(), now);
      } else {
        run_command(code, in, s, now);
      }
    }
    client.drain_events();
    server.drain_events();
    for (const side* s : {&client, &server}) {
      require(!s->saw_protocol_error_go_away, "an honest peer was sent a protocol-error go-away");
      require(s->core.end_reason().rfind("protocol error", 0) != 0, "an honest peer was judged a protocol violator");
    }
  }
}

}  // namespace
}  // namespace s2s::yamux::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace s2s::yamux::fuzz;
  input_reader in(std::span<const std::uint8_t>(data, size));
  const auto mode = in.u8();
  const auto config_bits = in.u8();
  const auto cfg = config_from(config_bits);
  if (mode & 1) {
    fuzz_honest_pair(in, cfg, config_from(static_cast<std::uint8_t>(config_bits * 37)));
  } else {
    fuzz_one_session(in, mode, cfg);
  }
  return 0;
}
