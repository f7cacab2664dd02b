// The yamux session state machine: frame dispatch, stream table, accept backlog, pings and timeouts.
#include "yamux/session.hpp"

#include <algorithm>
#include <stdexcept>

namespace s2s::yamux {

namespace {

// How many out-of-order peer ids are remembered; a real peer reorders only concurrent opens.
constexpr std::size_t max_unopened_peer_ids = 4096;
// Consumed output is compacted away once this much has piled up at the front.
constexpr std::size_t output_compaction_threshold = 64 * 1024;

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

const char* frame_name(const frame_header& header) { return header.is(frame_type::data) ? "data" : "window update"; }

}  // namespace

session::session(role side, const config& cfg, clock::time_point now)
    : side_(side), cfg_(cfg), next_id_(side == role::client ? 1 : 2), next_keepalive_(now + cfg.keepalive_interval) {
  if (auto problem = verify(cfg))
    throw std::invalid_argument(*problem);
}

// ---------------------------------------------------------------- bytes in

void session::receive(std::span<const std::uint8_t> bytes, clock::time_point now) {
  while (!ended_) {
    const auto item = decoder_.next(bytes);
    switch (item.what) {
      case frame_decoder::item::kind::need_more:
        return;
      case frame_decoder::item::kind::header:
        on_header(item.header, now);
        break;
      case frame_decoder::item::kind::payload:
        on_payload(item.payload);
        break;
    }
  }
}

void session::on_header(const frame_header& header, clock::time_point now) {
  if (auto problem = check_header(header))
    return fail(*problem);
  ++frames_received_;
  switch (static_cast<frame_type>(header.type)) {
    case frame_type::data:
    case frame_type::window_update:
      return on_stream_frame(header);
    case frame_type::ping:
      return on_ping(header, now);
    case frame_type::go_away:
      return on_go_away(header);
  }
}

void session::on_stream_frame(const frame_header& header) {
  payload_ = {};
  const bool is_data = header.is(frame_type::data);
  stream* s = nullptr;
  if (header.has(flags::syn)) {
    s = on_incoming_syn(header.stream);
  } else if (s = find_mutable(header.stream); !s && never_opened(header.stream)) {
    return fail("peer sent a " + std::string(frame_name(header)) + " frame on stream " + std::to_string(header.stream) +
                ", which was never opened");
  }
  if (!s)
    return;  // rejected, failed, or a stream already gone: any payload is discarded

  if (is_data) {
    if (auto problem = s->check_incoming_data(header.length))
      return fail(*problem);
  }
  const auto window_before = s->send_window();
  const auto outcome = s->on_flags(header.flags);
  if (outcome.error)
    return fail(*outcome.error);
  if (header.has(flags::ack) && s->awaiting_ack) {
    s->awaiting_ack = false;
    s->open_deadline.reset();
    --awaiting_ack_;
  }
  if (outcome.established)
    events_.push_back(stream_established{s->id()});
  if (outcome.reset)
    return settle(*s, true);

  if (!is_data) {
    if (auto problem = s->on_window_update(header.length))
      return fail(*problem);
    if (window_before == 0 && s->send_window() > 0 && s->can_send_data()) {
      events_.push_back(stream_writable{s->id()});
    }
  }
  if (is_data && header.length > 0) {
    payload_ = {s->id(), outcome.remote_closed};  // finish_frame runs when the payload is in
    return;
  }
  finish_frame(*s, outcome.remote_closed);
}

void session::on_payload(std::span<const std::uint8_t> bytes) {
  stream* s = find_mutable(payload_.target);
  if (s) {
    const bool was_empty = s->buffered() == 0;
    s->on_data(bytes);
    if (was_empty)
      events_.push_back(stream_readable{s->id()});
  }
  if (decoder_.payload_remaining() > 0)
    return;
  if (s)
    finish_frame(*s, payload_.remote_closed);
  payload_ = {};
}

void session::finish_frame(stream& s, bool remote_closed) {
  if (remote_closed)
    events_.push_back(stream_remote_closed{s.id()});
  settle(s, true);
}

stream* session::on_incoming_syn(stream_id id) {
  if (is_ours(id)) {
    fail("peer opened stream " + std::to_string(id) + ", but " + (side_ == role::client ? "odd" : "even") +
         " ids are ours to open");
    return nullptr;
  }
  if (streams_.contains(id)) {
    fail("peer opened stream " + std::to_string(id) + ", which is already open");
    return nullptr;
  }
  if (auto problem = track_peer_id(id)) {
    fail(*problem);
    return nullptr;
  }
  if (went_away_ || accept_queue_.size() >= cfg_.accept_backlog) {
    send(make_header(frame_type::window_update, flags::rst, id, 0));
    return nullptr;
  }
  auto& s = streams_.emplace(id, stream(id, stream_state::syn_received)).first->second;
  accept_queue_.push_back(id);
  events_.push_back(stream_incoming{id});
  return &s;
}

std::optional<std::string> session::track_peer_id(stream_id id) {
  if (id <= peer_max_id_) {
    if (peer_unopened_ids_.erase(id) == 1)
      return std::nullopt;
    return "peer opened stream " + std::to_string(id) + " again; stream ids are never reused";
  }
  const stream_id first = peer_max_id_ == 0 ? (side_ == role::client ? 2 : 1) : peer_max_id_ + 2;
  const std::size_t skipped = (id - first) / 2;
  const std::size_t remembered = std::min(skipped, max_unopened_peer_ids);
  for (std::size_t i = 1; i <= remembered; ++i)
    peer_unopened_ids_.insert(id - static_cast<stream_id>(2 * i));
  while (peer_unopened_ids_.size() > max_unopened_peer_ids)
    peer_unopened_ids_.erase(peer_unopened_ids_.begin());
  peer_max_id_ = id;
  return std::nullopt;
}

bool session::never_opened(stream_id id) const {
  if (is_ours(id))
    return id >= next_id_;
  return id > peer_max_id_ || peer_unopened_ids_.contains(id);
}

void session::on_ping(const frame_header& header, clock::time_point now) {
  if (header.has(flags::syn))
    return send(make_header(frame_type::ping, flags::ack, 0, header.length));
  const auto it = pings_.find(header.length);
  if (it == pings_.end())
    return;  // a reply after its timeout, or to a ping we never sent
  events_.push_back(ping_acknowledged{it->first, now - it->second.sent});
  pings_.erase(it);
}

void session::on_go_away(const frame_header& header) {
  const auto code = static_cast<go_away_code>(header.length);
  if (code == go_away_code::normal) {
    if (!peer_went_away_)
      events_.push_back(go_away_received{code});
    peer_went_away_ = true;
    return;
  }
  events_.push_back(go_away_received{code});
  end("peer sent go-away: " + describe(code));
}

// ---------------------------------------------------------------- bytes out

std::span<const std::uint8_t> session::pending_output() const {
  return std::span<const std::uint8_t>(output_).subspan(output_head_);
}

void session::consume_output(std::size_t count) {
  count = std::min(count, output_.size() - output_head_);
  output_head_ += count;
  output_taken_ += count;
  if (output_head_ == output_.size()) {
    output_.clear();
    output_head_ = 0;
  } else if (output_head_ >= output_compaction_threshold && output_head_ >= output_.size() / 2) {
    output_.erase(output_.begin(), output_.begin() + static_cast<std::ptrdiff_t>(output_head_));
    output_head_ = 0;
  }
}

void session::send(const frame_header& header, std::span<const std::uint8_t> payload) {
  append_frame(output_, header, payload);
}

std::uint16_t session::open_flags(stream& s) {
  const auto f = s.take_open_flags();
  if (f & flags::ack)
    std::erase(accept_queue_, s.id());
  return f;
}

void session::send_window_update(stream& s, std::uint16_t extra_flags, bool force) {
  const auto frame_flags = static_cast<std::uint16_t>(open_flags(s) | extra_flags);
  const auto delta = s.take_window_update(cfg_.max_stream_window, force || frame_flags != 0);
  if (delta)
    send(make_header(frame_type::window_update, frame_flags, s.id(), *delta));
}

// ---------------------------------------------------------------- events and time

std::optional<session_event> session::poll_event() {
  if (events_.empty())
    return std::nullopt;
  auto event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void session::tick(clock::time_point now) {
  if (ended_)
    return;
  check_write_progress(now);
  for (auto it = pings_.begin(); !ended_ && it != pings_.end();) {
    if (now - it->second.sent < cfg_.connection_write_timeout) {
      ++it;
    } else if (it->second.keepalive) {
      end("keepalive failed: no reply to ping " + std::to_string(it->first) + " within " +
          ms(cfg_.connection_write_timeout));
    } else {
      events_.push_back(ping_timed_out{it->first});
      it = pings_.erase(it);
    }
  }
  if (ended_)
    return;
  const bool keepalive_outstanding =
      std::any_of(pings_.begin(), pings_.end(), [](const auto& p) { return p.second.keepalive; });
  if (cfg_.enable_keepalive && !keepalive_outstanding && now >= next_keepalive_) {
    pings_[ping(now)].keepalive = true;
    next_keepalive_ = now + cfg_.keepalive_interval;
  }
  for (auto it = streams_.begin(); it != streams_.end();) {
    stream& s = it->second;
    ++it;  // s may be removed below
    if (s.awaiting_ack && s.open_deadline && now >= *s.open_deadline) {
      return end("stream " + std::to_string(s.id()) + " was not acknowledged by the peer within " +
                 ms(cfg_.stream_open_timeout));
    }
    if (s.state() == stream_state::local_close && s.close_deadline && now >= *s.close_deadline) {
      const auto id = s.id();
      send(make_header(frame_type::window_update, flags::rst, id, 0));
      remove(id);
      events_.push_back(stream_reset{id, false});
    }
  }
}

void session::check_write_progress(clock::time_point now) {
  if (pending_output().empty()) {
    stalled_since_.reset();
  } else if (!stalled_since_ || output_taken_ != taken_at_stall_check_) {
    stalled_since_ = now;
    taken_at_stall_check_ = output_taken_;
  } else if (now - *stalled_since_ >= cfg_.connection_write_timeout) {
    end("connection write timeout: the transport took none of " + std::to_string(pending_output().size()) +
        " queued bytes in " + ms(cfg_.connection_write_timeout));
  }
}

std::optional<clock::time_point> session::next_deadline() const {
  if (ended_)
    return std::nullopt;
  std::optional<clock::time_point> earliest;
  const auto consider = [&](clock::time_point t) {
    if (!earliest || t < *earliest)
      earliest = t;
  };
  bool keepalive_outstanding = false;
  for (const auto& [id, p] : pings_) {
    consider(p.sent + cfg_.connection_write_timeout);
    keepalive_outstanding = keepalive_outstanding || p.keepalive;
  }
  if (cfg_.enable_keepalive && !keepalive_outstanding)
    consider(next_keepalive_);
  if (stalled_since_)
    consider(*stalled_since_ + cfg_.connection_write_timeout);
  for (const auto& [id, s] : streams_) {
    if (s.awaiting_ack && s.open_deadline)
      consider(*s.open_deadline);
    if (s.state() == stream_state::local_close && s.close_deadline)
      consider(*s.close_deadline);
  }
  return earliest;
}

// ---------------------------------------------------------------- streams

session::open_result session::open_stream(clock::time_point now) {
  if (ended_)
    return {0, "the session has ended: " + end_reason_};
  if (peer_went_away_)
    return {0, "the peer sent go-away and accepts no new streams"};
  if (awaiting_ack_ >= cfg_.accept_backlog) {
    return {0, std::to_string(awaiting_ack_) + " opened streams already await the peer's acknowledgement"};
  }
  if (next_id_ >= UINT32_MAX - 1)
    return {0, "stream ids are exhausted"};
  const stream_id id = next_id_;
  next_id_ += 2;
  auto& s = streams_.emplace(id, stream(id, stream_state::syn_sent)).first->second;
  s.awaiting_ack = true;
  ++awaiting_ack_;
  if (cfg_.stream_open_timeout.count() > 0)
    s.open_deadline = now + cfg_.stream_open_timeout;
  send_window_update(s, flags::syn, true);
  return {id, {}};
}

std::optional<stream_id> session::accept_stream() {
  if (accept_queue_.empty())
    return std::nullopt;
  const stream_id id = accept_queue_.front();
  send_window_update(*find_mutable(id), 0, true);  // carries the ACK and removes id from the queue
  return id;
}

std::size_t session::write(stream_id id, std::span<const std::uint8_t> bytes) {
  stream* s = find_mutable(id);
  if (!s || !s->can_send_data())
    return 0;
  const auto length = static_cast<std::uint32_t>(std::min<std::size_t>(bytes.size(), s->send_window()));
  if (length == 0)
    return 0;
  send(make_header(frame_type::data, open_flags(*s), id, length), bytes.first(length));
  s->on_data_sent(length);
  return length;
}

std::span<const std::uint8_t> session::readable(stream_id id) const {
  const stream* s = find(id);
  return s ? s->readable() : std::span<const std::uint8_t>{};
}

void session::consume(stream_id id, std::size_t count) {
  stream* s = find_mutable(id);
  if (!s)
    return;
  s->consume(count);
  // Before accept, the credit read back rides on the ACK that accept_stream() sends.
  if (!s->remote_done() && s->state() != stream_state::syn_received)
    send_window_update(*s, 0, false);
  settle(*s, false);
}

std::size_t session::read(stream_id id, std::span<std::uint8_t> out) {
  const auto available = readable(id);
  const auto count = std::min(available.size(), out.size());
  std::copy_n(available.begin(), count, out.begin());
  consume(id, count);
  return count;
}

bool session::close(stream_id id, clock::time_point now) {
  stream* s = find_mutable(id);
  if (!s)
    return false;
  const auto ack = open_flags(*s);
  if (!s->close_local())
    return false;
  send_window_update(*s, static_cast<std::uint16_t>(ack | flags::fin), true);
  s->open_deadline.reset();
  if (s->state() == stream_state::local_close && cfg_.stream_close_timeout.count() > 0) {
    s->close_deadline = now + cfg_.stream_close_timeout;
  }
  settle(*s, false);
  return true;
}

bool session::reset(stream_id id) {
  if (!find(id))
    return false;
  send(make_header(frame_type::window_update, flags::rst, id, 0));
  remove(id);
  return true;
}

stream* session::find_mutable(stream_id id) {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

const stream* session::find(stream_id id) const {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

bool session::is_ours(stream_id id) const { return (id % 2 == 1) == (side_ == role::client); }

void session::remove(stream_id id) {
  const auto it = streams_.find(id);
  if (it == streams_.end())
    return;
  if (it->second.awaiting_ack)
    --awaiting_ack_;
  std::erase(accept_queue_, id);
  streams_.erase(it);
}

void session::settle(stream& s, bool by_peer) {
  if (!s.finished())
    return;
  const auto id = s.id();
  const bool was_reset = s.state() == stream_state::reset;
  remove(id);
  if (was_reset) {
    events_.push_back(stream_reset{id, by_peer});
  } else {
    events_.push_back(stream_closed{id});
  }
}

// ---------------------------------------------------------------- the session

std::uint32_t session::ping(clock::time_point now) {
  const auto id = next_ping_id_++;
  if (ended_)
    return id;
  send(make_header(frame_type::ping, flags::syn, 0, id));
  pings_[id] = outstanding_ping{now, false};
  return id;
}

void session::go_away(go_away_code code) {
  if (ended_)
    return;
  send(make_header(frame_type::go_away, 0, 0, static_cast<std::uint32_t>(code)));
  went_away_ = true;
  if (code != go_away_code::normal)
    end("we sent go-away: " + describe(code));
}

void session::fail(std::string reason) {
  if (ended_)
    return;
  send(make_header(frame_type::go_away, 0, 0, static_cast<std::uint32_t>(go_away_code::protocol_error)));
  end("protocol error: " + reason);
}

void session::end(std::string reason) {
  if (ended_)
    return;
  ended_ = true;
  end_reason_ = std::move(reason);
  streams_.clear();
  accept_queue_.clear();
  pings_.clear();
  awaiting_ack_ = 0;
  events_.push_back(session_ended{end_reason_});
}

}  // namespace s2s::yamux
