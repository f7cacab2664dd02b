// Writes the seed corpus of yamux_session_fuzz: valid frame sequences and command scripts.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "yamux/frame.hpp"
#include "yamux_fuzz_input.hpp"

#include "seed_files.hpp"

namespace fuzz_seeds = s2s::fuzz_seeds;

namespace {

using namespace s2s::yamux;
using fuzz_seeds::bytes;

struct script : fuzz_seeds::byte_script<script> {
  script(std::uint8_t mode, std::uint8_t config_bits) { data = {mode, config_bits}; }
  script& op(fuzz::op code, std::uint8_t side = 0) { return u8(code).u8(side); }
  script& time(std::uint16_t steps) { return u8(fuzz::advance_time).u16(steps); }
  script& raw(const bytes& wire) {
    u8(fuzz::receive_raw).u16(static_cast<std::uint16_t>(wire.size()));
    data.insert(data.end(), wire.begin(), wire.end());
    return *this;
  }
};

bytes frames(std::initializer_list<std::pair<frame_header, bytes>> list) {
  bytes out;
  for (const auto& [header, payload] : list)
    append_frame(out, header, payload);
  return out;
}

frame_header h(frame_type t, std::uint16_t f, stream_id id, std::uint32_t length) {
  return make_header(t, f, id, length);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = fuzz_seeds::output_dir(argc, argv);
  fuzz_seeds::seed_list seeds;

  // A server session: the peer (a client) opens stream 1, sends data, pings, half-closes.
  seeds.emplace_back("server_peer_opens_and_sends",
                     script(0x02, 0x01)
                         .raw(frames({{h(frame_type::window_update, flags::syn, 1, 0), {}},
                                      {h(frame_type::data, 0, 1, 5), {'h', 'e', 'l', 'l', 'o'}},
                                      {h(frame_type::ping, flags::syn, 0, 7), {}}}))
                         .op(fuzz::accept_stream)
                         .op(fuzz::read_stream)
                         .u8(0)
                         .u16(5)
                         .op(fuzz::write_stream)
                         .u8(0)
                         .u16(100)
                         .raw(frames({{h(frame_type::data, flags::fin, 1, 3), {'b', 'y', 'e'}}}))
                         .op(fuzz::close_stream)
                         .u8(0)
                         .data);
  // A client session opens a stream; the peer acknowledges, grants window, resets it, goes away.
  seeds.emplace_back("client_opens_peer_acks_and_resets",
                     script(0x00, 0x13)
                         .op(fuzz::open_stream)
                         .op(fuzz::write_stream)
                         .u8(0)
                         .u16(4000)
                         .raw(frames({{h(frame_type::window_update, flags::ack, 1, 4000), {}},
                                      {h(frame_type::data, 0, 1, 2), {'o', 'k'}},
                                      {h(frame_type::window_update, flags::rst, 1, 0), {}},
                                      {h(frame_type::go_away, 0, 0, 0), {}}}))
                         .op(fuzz::send_ping)
                         .time(3000)
                         .data);
  // A client session whose peer opens even streams out of order and pings it.
  seeds.emplace_back("client_peer_opens_out_of_order",
                     script(0x00, 0x05)
                         .raw(frames({{h(frame_type::window_update, flags::syn, 4, 0), {}},
                                      {h(frame_type::data, flags::syn, 2, 1), {'x'}},
                                      {h(frame_type::window_update, flags::fin, 4, 0), {}},
                                      {h(frame_type::ping, flags::ack, 0, 0), {}}}))
                         .op(fuzz::accept_stream)
                         .op(fuzz::accept_stream)
                         .op(fuzz::reset_stream)
                         .u8(1)
                         .op(fuzz::send_go_away)
                         .data);
  // Two honest sessions: open, accept, move more than a window each way, close, ping, keepalive.
  script pair(0x01, 0x01);
  pair.op(fuzz::open_stream, 0).op(fuzz::deliver_output, 0).u16(0xffff).op(fuzz::accept_stream, 1);
  for (int i = 0; i < 6; ++i) {
    pair.op(fuzz::write_stream, 0).u8(0).u16(0xffff).op(fuzz::deliver_output, 0).u16(0xffff);
    pair.op(fuzz::read_stream, 1).u8(0).u16(0xffff).op(fuzz::deliver_output, 1).u16(0xffff);
    pair.op(fuzz::write_stream, 1).u8(0).u16(0x8000).op(fuzz::deliver_output, 1).u16(0x7000);
  }
  pair.op(fuzz::close_stream, 0).op(fuzz::send_ping, 1).op(fuzz::deliver_output, 0).u16(0xffff);
  pair.op(fuzz::deliver_output, 1).u16(0xffff).time(3100);
  pair.op(fuzz::deliver_output, 0).u16(0xffff).op(fuzz::deliver_output, 1).u16(0xffff);
  seeds.emplace_back("pair_transfer_close_ping", pair.data);
  // Two honest sessions: backlog overflow, go-away, and a half-close that times out.
  script crowd(0x01, 0x03);
  for (int i = 0; i < 4; ++i)
    crowd.op(fuzz::open_stream, 0);
  crowd.op(fuzz::deliver_output, 0).u16(0xffff).op(fuzz::deliver_output, 1).u16(0xffff);
  crowd.op(fuzz::accept_stream, 1).op(fuzz::send_go_away, 1).op(fuzz::open_stream, 0);
  crowd.op(fuzz::deliver_output, 1).u16(0xffff).op(fuzz::deliver_output, 0).u16(0xffff);
  crowd.op(fuzz::close_stream, 0).u8(0).time(30100);
  seeds.emplace_back("pair_backlog_go_away_close_timeout", crowd.data);

  if (int failed = fuzz_seeds::write_seeds(dir, seeds))
    return failed;
  return 0;
}
