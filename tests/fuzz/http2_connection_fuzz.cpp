// libFuzzer target: arbitrary peer bytes and owner commands against the HTTP/2 connection core and
// the gRPC layer over what it delivers.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <algorithm>
#include <vector>

#include "http2/connection.hpp"
#include "http2/grpc_headers.hpp"
#include "http2/grpc_message.hpp"
#include "http2_fuzz_input.hpp"

namespace s2s::http2::fuzz {
namespace {

void require(bool condition, const char* what) {
  if (condition) return;
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
      if (pending.size() < 24) return;
      require(std::string_view(reinterpret_cast<const char*>(pending.data()), 24) == "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
              "client output does not start with the preface");
      pending.erase(pending.begin(), pending.begin() + 24);
      client_preface_pending = false;
    }
    std::size_t at = 0;
    while (pending.size() - at >= 9) {
      const std::size_t length = (std::size_t{pending[at]} << 16) | (std::size_t{pending[at + 1]} << 8) | pending[at + 2];
      require(pending[at + 3] <= 0x9, "we emitted a frame of unknown type");
      if (pending.size() - at - 9 < length) break;
      at += 9 + length;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(at));
  }
};

struct owner {
  owner(role r, const settings& cfg, bool eager) : core(r, cfg), eager_consume(eager), out{r == role::client, {}} {}

  connection core;
  bool eager_consume;
  output_checker out;
  std::vector<stream_id> known;
  std::map<stream_id, message_reader> readers;

  stream_id pick(std::uint8_t index) const { return known.empty() ? 1 : known[index % known.size()]; }

  void drain() {
    while (auto e = core.poll_event()) {
      if (const auto* h = std::get_if<headers_received>(&*e)) {
        known.push_back(h->id);
        // The gRPC layer reads whatever headers arrive.
        if (h->kind == header_kind::request) (void)parse_request(h->headers);
        if (h->kind == header_kind::response) (void)check_response(h->headers);
        if (h->end_stream) (void)status_of(h->headers);
      } else if (const auto* d = std::get_if<data_received>(&*e)) {
        auto& reader = readers[d->id];
        (void)reader.feed(d->bytes);
        while (reader.next()) {
        }
        if (eager_consume) core.consume(d->id, d->bytes.size());
      } else if (const auto* r = std::get_if<stream_reset>(&*e)) {
        readers.erase(r->id);
      } else if (const auto* c = std::get_if<stream_closed>(&*e)) {
        readers.erase(c->id);
      }
    }
  }

  void take_output(std::size_t count) {
    const auto pending = core.pending_output();
    const auto n = std::min(count, pending.size());
    out.take(pending.subspan(0, n));
    core.consume_output(n);
  }
};

void run(input_reader& in) {
  const auto mode = in.u8();
  settings cfg;
  if (mode & 2) {
    cfg.stream_window = 16 * 1024;
    cfg.connection_window = 16 * 1024;
    cfg.max_header_list_size = 4096;
  }
  owner o((mode & 1) ? role::server : role::client, cfg, (mode & 4) != 0);
  const std::vector<std::uint8_t> filler(65535, 0x5a);
  header_list request = request_headers({.authority = "fuzz", .path = "/fuzz.Service/Method"}, std::nullopt);

  for (int steps = 0; !in.done() && steps < 4096; ++steps) {
    switch (in.u8() % op_count) {
      case receive_raw: {
        const auto length = in.u16();
        o.core.receive(in.take(length));
        break;
      }
      case open_stream:
        if (const auto opened = o.core.open_stream(request, in.u8() & 1)) o.known.push_back(opened.id);
        break;
      case respond: {
        const auto id = o.pick(in.u8());
        const auto flags = in.u8();
        if (flags & 2) {
          o.core.respond(id, trailers_only({status_code::unavailable, "fuzz"}), true);
        } else {
          o.core.respond(id, response_headers(), flags & 1);
        }
        break;
      }
      case send_data: {
        const auto id = o.pick(in.u8());
        const auto length = in.u16();
        o.core.send_data(id, {filler.data(), length}, in.u8() & 1);
        break;
      }
      case send_trailers:
        o.core.send_trailers(o.pick(in.u8()), trailers({}));
        break;
      case reset_stream: {
        const auto id = o.pick(in.u8());
        o.core.reset(id, in.u8());
        break;
      }
      case consume: {
        const auto id = o.pick(in.u8());
        o.core.consume(id, in.u16());
        break;
      }
      case send_ping:
        o.core.ping();
        break;
      case shutdown:
        o.core.shutdown();
        break;
      case go_away:
        o.core.go_away(in.u8() % 14, "fuzz");
        break;
      case take_output:
        o.take_output(in.u16());
        break;
    }
    o.drain();
    // The connection window bounds what the peer may have delivered and we not consumed; it
    // starts at 65535 and can grow, never shrink.
    require(o.core.unconsumed() <= std::max<std::size_t>(cfg.connection_window, 65535),
            "more data delivered than the connection window allows");
  }
  // Whatever happened, the output drains to whole frames and the core says it may close.
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
