// Writes the seed corpus of http2_connection_fuzz: real peer bytes, recorded from a second core,
// mixed with the owner's commands.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "http2/connection.hpp"
#include "http2/grpc_headers.hpp"
#include "http2/grpc_message.hpp"
#include "http2_fuzz_input.hpp"

#include "seed_files.hpp"

namespace fuzz_seeds = s2s::fuzz_seeds;

namespace {

using namespace s2s::http2;
using fuzz_seeds::bytes;

struct script : fuzz_seeds::byte_script<script> {
  explicit script(std::uint8_t mode) { data = {mode}; }
  script& op(fuzz::op code) { return u8(code); }
  script& raw(const bytes& wire) {
    for (std::size_t at = 0; at < wire.size(); at += 65535) {
      const auto n = std::min<std::size_t>(65535, wire.size() - at);
      op(fuzz::receive_raw).u16(static_cast<std::uint16_t>(n));
      data.insert(data.end(), wire.begin() + static_cast<std::ptrdiff_t>(at),
                  wire.begin() + static_cast<std::ptrdiff_t>(at + n));
    }
    return *this;
  }
  script& output() { return op(fuzz::take_output).u16(65535); }
};

bytes take(connection& c) {
  const auto out = c.pending_output();
  bytes copy(out.begin(), out.end());
  c.consume_output(copy.size());
  return copy;
}

bytes message(std::string_view text) {
  bytes out;
  append_message(out, 0, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  return out;
}

header_list request() {
  return request_headers({.authority = "seed", .path = "/s2s.testing.v1.EchoService/Unary"}, std::nullopt);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = fuzz_seeds::output_dir(argc, argv);
  fuzz_seeds::seed_list seeds;

  {  // Server role: a client's unary call, answered with headers, a message and trailers.
    connection peer(role::client);
    const auto id = peer.open_stream(request(), false).id;
    peer.send_data(id, message("hello"), true);
    seeds.emplace_back("server_unary", script(0x05)
                                           .raw(take(peer))
                                           .op(fuzz::respond)
                                           .u8(0)
                                           .u8(0)
                                           .op(fuzz::send_data)
                                           .u8(0)
                                           .u16(12)
                                           .u8(0)
                                           .op(fuzz::send_trailers)
                                           .u8(0)
                                           .output()
                                           .data);
  }
  {  // Server role, small windows, slow consumer: a bidi stream with pings, a reset, a shutdown.
    connection peer(role::client);
    const auto id = peer.open_stream(request(), false).id;
    peer.send_data(id, message(std::string(3000, 'b')));
    peer.ping();
    auto first = take(peer);
    peer.send_data(id, message("more"));
    peer.reset(id, error_code::cancel);
    seeds.emplace_back("server_bidi_reset_shutdown", script(0x03)
                                                         .raw(first)
                                                         .op(fuzz::respond)
                                                         .u8(0)
                                                         .u8(0)
                                                         .op(fuzz::consume)
                                                         .u8(0)
                                                         .u16(1000)
                                                         .output()
                                                         .raw(take(peer))
                                                         .op(fuzz::shutdown)
                                                         .output()
                                                         .data);
  }
  {  // Client role: our unary call answered by a real server core, then GOAWAY.
    connection server(role::server);
    connection us(role::client);
    const auto id = us.open_stream(request(), true).id;
    server.receive(take(us));
    while (server.poll_event()) {
    }
    server.respond(id, response_headers(), false);
    server.send_data(id, message("world"));
    server.send_trailers(id, trailers({status_code::not_found, "gone"}));
    server.go_away(error_code::no_error);
    seeds.emplace_back("client_unary_go_away",
                       script(0x04).op(fuzz::open_stream).u8(1).output().raw(take(server)).output().data);
  }
  {  // Client role: a trailers-only error and a server-side reset.
    connection server(role::server);
    connection us(role::client);
    const auto a = us.open_stream(request(), true).id;
    const auto b = us.open_stream(request(), false).id;
    server.receive(take(us));
    while (server.poll_event()) {
    }
    server.respond(a, trailers_only({status_code::permission_denied, "no"}), true);
    server.reset(b, error_code::refused_stream);
    seeds.emplace_back(
        "client_trailers_only_reset",
        script(0x04).op(fuzz::open_stream).u8(1).op(fuzz::open_stream).u8(0).output().raw(take(server)).output().data);
  }
  {  // Server role: hand-made violations after a good start (HEADERS on an even stream id).
    connection peer(role::client);
    auto wire = take(peer);
    const bytes bad = {0x00, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00, 0x02, 0x83};
    wire.insert(wire.end(), bad.begin(), bad.end());
    seeds.emplace_back("server_even_stream_headers", script(0x01).raw(wire).output().data);
  }

  // Pair mode: two honest cores; 0x80 on an op byte means the server side does it.
  constexpr std::uint8_t server_side = 0x80;
  seeds.emplace_back("pair_unary", script(0x0c)
                                       .op(fuzz::open_stream)
                                       .u8(0)
                                       .op(fuzz::send_data)
                                       .u8(0)
                                       .u16(300)
                                       .u8(1)
                                       .op(fuzz::take_output)
                                       .u16(65535)
                                       .u8(server_side | fuzz::respond)
                                       .u8(0)
                                       .u8(0)
                                       .u8(server_side | fuzz::send_data)
                                       .u8(0)
                                       .u16(16000)
                                       .u8(0)
                                       .u8(server_side | fuzz::send_trailers)
                                       .u8(0)
                                       .u8(server_side | fuzz::take_output)
                                       .u16(65535)
                                       .op(fuzz::take_output)
                                       .u16(65535)
                                       .u8(server_side | fuzz::take_output)
                                       .u16(65535)
                                       .data);
  seeds.emplace_back("pair_bidi_slow_reader_shutdown", script(0x0a)
                                                           .op(fuzz::open_stream)
                                                           .u8(0)
                                                           .op(fuzz::send_data)
                                                           .u8(0)
                                                           .u16(12000)
                                                           .u8(0)
                                                           .op(fuzz::take_output)
                                                           .u16(65535)
                                                           .u8(server_side | fuzz::take_output)
                                                           .u16(65535)
                                                           .u8(server_side | fuzz::consume)
                                                           .u8(0)
                                                           .u16(9000)
                                                           .u8(server_side | fuzz::respond)
                                                           .u8(0)
                                                           .u8(0)
                                                           .u8(server_side | fuzz::take_output)
                                                           .u16(65535)
                                                           .op(fuzz::take_output)
                                                           .u16(65535)
                                                           .u8(server_side | fuzz::shutdown)
                                                           .u8(server_side | fuzz::take_output)
                                                           .u16(65535)
                                                           .op(fuzz::take_output)
                                                           .u16(65535)
                                                           .u8(server_side | fuzz::take_output)
                                                           .u16(65535)
                                                           .op(fuzz::reset_stream)
                                                           .u8(0)
                                                           .u8(8)
                                                           .op(fuzz::take_output)
                                                           .u16(65535)
                                                           .data);

  if (int failed = fuzz_seeds::write_seeds(dir, seeds))
    return failed;
  std::printf("wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
  return 0;
}
