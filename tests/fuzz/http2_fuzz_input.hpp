// The byte layout the HTTP/2 fuzz target reads its input as, shared with the seed generator.
#pragma once

#include <cstdint>

#include "yamux_fuzz_input.hpp"  // input_reader: the same front-to-back reader

namespace s2s::http2::fuzz {

using s2s::yamux::fuzz::input_reader;

// Input: mode byte, then operations until the input runs out.
// Mode: bit 0 role (0 client, 1 server); bit 1 small windows (16 KiB) instead of the defaults;
// bit 2 the owner consumes every DATA byte at once (else only on consume ops); bit 3 pair mode:
// two honest cores back to back, the op byte's top bit choosing the side (0 client, 1 server),
// receive_raw and take_output then moving u16 bytes of that side's output to the other; neither
// may see a connection error, and data must arrive as sent.
enum op : std::uint8_t {
  receive_raw,    // u16 length, then that many peer bytes
  open_stream,    // u8: bit 0 end_stream
  respond,        // u8 stream index, u8: bit 0 end_stream, bit 1 a trailers-only error
  send_data,      // u8 stream index, u16 length, u8: bit 0 end_stream
  send_trailers,  // u8 stream index
  reset_stream,   // u8 stream index, u8 code
  consume,        // u8 stream index, u16 count
  send_ping,      //
  shutdown,       //
  go_away,        // u8 code
  take_output,    // u16 count: that many output bytes leave (the rest waits)
  op_count,
};

}  // namespace s2s::http2::fuzz
