// libFuzzer target: arbitrary peer bytes and owner commands against the HTTP/2 connection core and
// the gRPC layer over what it delivers.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "http2/connection.hpp"
#include "http2/grpc_headers.hpp"
#include "http2/grpc_message.hpp"
#include "http2_fuzz_input.hpp"

namespace s2s::http2::fuzz {
namespace {

void require(bool condition, const char* what) {
  if (condition)
    return;
  std::fprintf(stderr, "http2 fuzz invariant broken: %s\n", what);
  std::abort();
}

// Follows our output as a peer would and checks it is whole frames of known types.
struct output_checker {
  bool client_preface_pending;
  std::vector<std::uint8_t> pending;

  void take(std::span<const std::uint8_t> bytes) {
    pending.insert(pending.end(), bytes.begin(), bytes.end());
    if (client_preface_pending) {
      if (pending.size() < 24)
        return;
      require(std::string_view(reinterpret_cast<const char*>(pending.data()), 24) == "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
              "client output does not start with the preface");
      pending.erase(pending.begin(), pending.begin() + 24);
      client_preface_pending = false;
    }
    std::size_t at = 0;
    while (pending.size() - at >= 9) {
      const std::size_t length =
          (std::size_t{pending[at]} << 16) | (std::size_t{pending[at + 1]} << 8) | pending[at + 2];
      require(pending[at + 3] <= 0x9, "we emitted a frame of unknown type");
      if (pending.size() - at - 9 < length)
        break;
      at += 9 + length;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(at));
  }
};

std::uint8_t pattern_byte(stream_id id, std::uint64_t offset) {
  return static_cast<std::uint8_t>(id * 31u + offset * 7u + (offset >> 8));
}

// PINGs an honest side sends before it waits to hear from its peer.
constexpr int honest_ping_bound = 64;

struct owner {
  owner(role r, const settings& cfg, bool eager) : core(r, cfg), eager_consume(eager), out{r == role::client, {}} {}

  connection core;
  bool eager_consume;
  output_checker out;
  std::vector<stream_id> known;
  std::map<stream_id, message_reader> readers;
  bool peer_is_honest = false;                  // pair mode: the peer sends pattern bytes
  std::map<stream_id, std::uint64_t> sent;      // pattern bytes accepted by send_data, per stream
  std::map<stream_id, std::uint64_t> received;  // pattern bytes seen, per stream
  std::string connection_error_reason;          // empty while none happened
  // Pair mode: PINGs sent since this side last received anything. An honest peer waits for
  // answers: a thousand PINGs the other side has no turn to answer are a flood by nghttp2's
  // rule (its outbound ACK bound), and end the connection as they should.
  int pings_unheard = 0;

  stream_id pick(std::uint8_t index) const { return known.empty() ? 1 : known[index % known.size()]; }

  void drain() {
    while (auto e = core.poll_event()) {
      if (const auto* h = std::get_if<headers_received>(&*e)) {
        known.push_back(h->id);
        // The gRPC layer reads whatever headers arrive.
        if (h->kind == header_kind::request)
          (void)parse_request(h->headers);
        if (h->kind == header_kind::response)
          (void)check_response(h->headers);
        if (h->end_stream)
          (void)status_of(h->headers);
      } else if (const auto* d = std::get_if<data_received>(&*e)) {
        auto& offset = received[d->id];
        for (std::size_t i = 0; peer_is_honest && i < d->bytes.size(); ++i) {
          require(d->bytes[i] == pattern_byte(d->id, offset + i), "stream data corrupted");
        }
        offset += d->bytes.size();
        auto& reader = readers[d->id];
        (void)reader.feed(d->bytes);
        while (reader.next()) {
        }
        if (eager_consume)
          core.consume(d->id, d->bytes.size());
      } else if (const auto* r = std::get_if<stream_reset>(&*e)) {
        readers.erase(r->id);
      } else if (const auto* c = std::get_if<stream_closed>(&*e)) {
        readers.erase(c->id);
      } else if (const auto* error = std::get_if<connection_error>(&*e)) {
        connection_error_reason = error->reason.empty() ? "(no reason)" : error->reason;
      }
    }
  }

  // Returns the bytes that left, for pair mode to hand to the other core.
  std::vector<std::uint8_t> take_output(std::size_t count) {
    const auto pending = core.pending_output();
    const auto n = std::min(count, pending.size());
    std::vector<std::uint8_t> left(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    out.take(left);
    core.consume_output(n);
    return left;
  }

  void send_pattern(stream_id id, std::size_t length, bool end) {
    std::vector<std::uint8_t> chunk(length);
    auto& offset = sent[id];
    for (std::size_t i = 0; i < length; ++i)
      chunk[i] = pattern_byte(id, offset + i);
    if (core.send_data(id, chunk, end))
      offset += length;
  }
};

struct fuzz_settings {
  settings cfg;
  explicit fuzz_settings(std::uint8_t mode) {
    if (mode & 2) {
      cfg.stream_window = 16 * 1024;
      cfg.connection_window = 16 * 1024;
      cfg.max_header_list_size = 4096;
    }
  }
};

const header_list& fuzz_request() {
  static const header_list request =
      request_headers({.authority = "fuzz", .path = "/fuzz.Service/Method"}, std::nullopt);
  return request;
}

// The commands both modes share; false for an op they do not handle.
bool run_command(op code, input_reader& in, owner& o) {
  switch (code) {
    case open_stream:
      if (const auto opened = o.core.open_stream(fuzz_request(), in.u8() & 1))
        o.known.push_back(opened.id);
      return true;
    case respond: {
      const auto id = o.pick(in.u8());
      const auto flags = in.u8();
      if (flags & 2) {
        o.core.respond(id, trailers_only({status_code::unavailable, "fuzz"}), true);
      } else {
        o.core.respond(id, response_headers(), flags & 1);
      }
      return true;
    }
    case send_data: {
      const auto id = o.pick(in.u8());
      const auto length = in.u16() & 0x3fff;  // up to one frame: enough to fill small windows, cheap to run
      o.send_pattern(id, length, in.u8() & 1);
      return true;
    }
    case send_trailers:
      o.core.send_trailers(o.pick(in.u8()), trailers({}));
      return true;
    case reset_stream: {
      const auto id = o.pick(in.u8());
      o.core.reset(id, in.u8());
      return true;
    }
    case consume: {
      const auto id = o.pick(in.u8());
      o.core.consume(id, in.u16());
      return true;
    }
    case send_ping:
      if (o.peer_is_honest && o.pings_unheard >= honest_ping_bound)
        return true;
      ++o.pings_unheard;
      o.core.ping();
      return true;
    case shutdown:
      o.core.shutdown();
      return true;
    default:
      return false;
  }
}

// The connection window bounds what the peer may have delivered and we not consumed; it starts
// at 65535 and can grow, never shrink.
void check_window(const owner& o, const settings& cfg) {
  require(o.core.unconsumed() <= std::max<std::size_t>(cfg.connection_window, 65535),
          "more data delivered than the connection window allows");
}

// Two honest cores: whatever the commands, neither may see a connection error, and every byte
// arrives as sent. The op byte's top bit picks the side.
void run_pair(input_reader& in, std::uint8_t mode) {
  const fuzz_settings s(mode);
  owner client(role::client, s.cfg, (mode & 4) != 0);
  owner server(role::server, s.cfg, (mode & 4) != 0);
  client.peer_is_honest = server.peer_is_honest = true;
  for (int steps = 0; !in.done() && steps < 4096; ++steps) {
    const auto byte = in.u8();
    owner& self = (byte & 0x80) ? server : client;
    owner& other = (byte & 0x80) ? client : server;
    const auto code = static_cast<op>((byte & 0x7f) % op_count);
    // Alive until both sides have handled their events: DATA events view it.
    std::vector<std::uint8_t> moved;
    if (code == receive_raw || code == take_output) {
      moved = self.take_output(in.u16());
      if (!moved.empty())
        other.pings_unheard = 0;
      other.core.receive(moved);
    } else if (code == go_away) {
      self.core.go_away(error_code::no_error);
    } else {
      run_command(code, in, self);
    }
    client.drain();
    server.drain();
    check_window(client, s.cfg);
    check_window(server, s.cfg);
    for (const auto* side : {&client, &server}) {
      if (side->connection_error_reason.empty())
        continue;
      std::fprintf(stderr, "%s: %s\n", side == &client ? "client" : "server", side->connection_error_reason.c_str());
      require(false, "honest peers hit a connection error");
    }
  }
}

void run(input_reader& in) {
  const auto mode = in.u8();
  if (mode & 8) {
    run_pair(in, mode);
    return;
  }
  const fuzz_settings s(mode);
  owner o((mode & 1) ? role::server : role::client, s.cfg, (mode & 4) != 0);
  for (int steps = 0; !in.done() && steps < 4096; ++steps) {
    const auto code = static_cast<op>(in.u8() % op_count);
    if (code == receive_raw) {
      const auto length = in.u16();
      o.core.receive(in.take(length));
    } else if (code == go_away) {
      o.core.go_away(in.u8() % 14, "fuzz");
    } else if (code == take_output) {
      o.take_output(in.u16());
    } else {
      run_command(code, in, o);
    }
    o.drain();
    check_window(o, s.cfg);
  }
  // Whatever happened, the output drains to whole frames.
  for (int i = 0; i < 64 && !o.core.pending_output().empty(); ++i) {
    o.take_output(1 << 20);
    o.drain();
  }
}

}  // namespace
}  // namespace s2s::http2::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  s2s::http2::fuzz::input_reader in({data, size});
  s2s::http2::fuzz::run(in);
  return 0;
}
