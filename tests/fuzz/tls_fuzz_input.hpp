// The byte layout the TLS session fuzz target reads its input as, shared with the seed generator.
#pragma once

#include <cstdint>

#include "yamux_fuzz_input.hpp"  // input_reader: the same front-to-back reader

namespace s2s::tls::fuzz {

using s2s::yamux::fuzz::input_reader;

// Input: mode byte, then operations until the input runs out.
// Mode: bit 0 pair mode: an honest client session talks to the server session, and the operations
// move, corrupt and inject bytes between them (else the server alone gets raw bytes); bit 1 the
// server requires a client certificate; bit 2 the server accepts only "h2" (else no ALPN); bit 3
// the client offers "h2" (else nothing; "http/1.1" too with bit 4).
// Either way plaintext may come out only after a handshake, and in pair mode every plaintext byte
// must be the one its sender sent at that offset; with nothing corrupted or injected, neither side
// may fail.
enum op : std::uint8_t {
  receive_raw,  // u16 length, then that many bytes into the server
  deliver,      // u8 side (bit 0: 0 client, 1 server), u16 count: that many output bytes reach the
                // other side (with no client, the server's output is dropped)
  corrupt,      // u8 side, u16 offset, u8 mask: XORs a byte of the side's pending output
  send_plain,   // u8 side, u16 length: pattern plaintext to send
  close_side,   // u8 side
  op_count,
};

}  // namespace s2s::tls::fuzz
