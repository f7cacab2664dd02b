// The byte layout the yamux fuzz target reads its input as, shared with the seed generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace s2s::yamux::fuzz {

// Input: mode byte, config byte, then operations until the input runs out.
//   mode even: one session (role from bit 1) gets raw peer bytes mixed with our own commands;
//   mode odd:  two honest sessions back to back, driven by commands; neither may ever see a
//              protocol error, and every byte must arrive intact.
// Config byte: bit 0 keepalive on, bits 1-3 accept backlog - 1, bits 4-5 window = 256 KiB << n;
// in mode odd the server takes its config from the byte times 37, so the two sides differ.
enum op : std::uint8_t {
  receive_raw,     // u16 length, then that many bytes (mode even only)
  open_stream,     // side
  accept_stream,   // side
  write_stream,    // side, stream index, u16 length
  read_stream,     // side, stream index, u16 length
  close_stream,    // side, stream index
  reset_stream,    // side, stream index
  send_ping,       // side
  send_go_away,    // side
  deliver_output,  // side, u16 length: that many of the side's output bytes reach the other
  advance_time,    // u16 count of 10 ms steps, then both sides tick
  op_count,
};

// Reads the input front to back; past the end every read gives zero.
class input_reader {
 public:
  explicit input_reader(std::span<const std::uint8_t> data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }
  std::uint8_t u8() { return pos_ < data_.size() ? data_[pos_++] : 0; }
  std::uint16_t u16() {
    const auto high = u8();
    return static_cast<std::uint16_t>((high << 8) | u8());
  }
  std::span<const std::uint8_t> take(std::size_t count) {
    const auto n = count < data_.size() - pos_ ? count : data_.size() - pos_;
    const auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

}  // namespace s2s::yamux::fuzz
