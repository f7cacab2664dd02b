// The HTTP/2 connection: nghttp2's callbacks turned into events, our commands into nghttp2 submissions.
#include "http2/connection.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace s2s::http2 {
namespace {

// Frames are pulled from nghttp2 until this much output waits, so a slow transport bounds
// what we hold instead of every queued stream being framed at once.
constexpr std::size_t output_high_water = 256 * 1024;

std::vector<nghttp2_nv> to_nv(const header_list& headers) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size());
  for (const auto& h : headers) {
    // nghttp2 copies names and values on submission; the casts only satisfy its C signature.
    nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(h.name.data())),
                  reinterpret_cast<std::uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(), h.value.size(),
                  NGHTTP2_NV_FLAG_NONE});
  }
  return nv;
}

std::uint64_t ping_payload(const std::uint8_t* opaque) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | opaque[i];
  return v;
}

// What a connection error code means when nghttp2 gives no explanation of its own.
std::string default_reason(std::uint32_t code) {
  switch (code) {
    case NGHTTP2_FLOW_CONTROL_ERROR:
      return "the peer sent DATA beyond the flow-control window";
    case NGHTTP2_COMPRESSION_ERROR:
      return "the peer's header block could not be decoded (HPACK)";
    case NGHTTP2_FRAME_SIZE_ERROR:
      return "the peer sent a frame of a size its type or our settings forbid";
    case NGHTTP2_SETTINGS_TIMEOUT:
      return "the peer did not acknowledge our SETTINGS";
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return "the peer flooded us with frames";
    default:
      return "the peer broke the protocol";
  }
}

std::string error_name(std::uint32_t code) {
  static constexpr const char* names[] = {"NO_ERROR",
                                          "PROTOCOL_ERROR",
                                          "INTERNAL_ERROR",
                                          "FLOW_CONTROL_ERROR",
                                          "SETTINGS_TIMEOUT",
                                          "STREAM_CLOSED",
                                          "FRAME_SIZE_ERROR",
                                          "REFUSED_STREAM",
                                          "CANCEL",
                                          "COMPRESSION_ERROR",
                                          "CONNECT_ERROR",
                                          "ENHANCE_YOUR_CALM",
                                          "INADEQUATE_SECURITY",
                                          "HTTP_1_1_REQUIRED"};
  if (code < std::size(names))
    return names[code];
  return "error code " + std::to_string(code);
}

// A GOAWAY frame written by hand, for when nghttp2 itself can no longer be called.
void append_go_away(std::vector<std::uint8_t>& out, std::uint32_t code, std::string_view debug) {
  const std::uint32_t length = 8 + static_cast<std::uint32_t>(debug.size());
  const std::uint8_t head[9] = {static_cast<std::uint8_t>(length >> 16),
                                static_cast<std::uint8_t>(length >> 8),
                                static_cast<std::uint8_t>(length),
                                NGHTTP2_GOAWAY,
                                0,
                                0,
                                0,
                                0,
                                0};
  out.insert(out.end(), head, head + 9);
  const std::uint8_t body[8] = {0,
                                0,
                                0,
                                0,
                                static_cast<std::uint8_t>(code >> 24),
                                static_cast<std::uint8_t>(code >> 16),
                                static_cast<std::uint8_t>(code >> 8),
                                static_cast<std::uint8_t>(code)};
  out.insert(out.end(), body, body + 8);
  out.insert(out.end(), debug.begin(), debug.end());
}

}  // namespace

// nghttp2 calls these with the connection as user data; each turns a library callback into state or an event.
struct callbacks {
  static connection& self(void* user) { return *static_cast<connection*>(user); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS)
      return 0;
    auto& s = c.streams_[frame->hd.stream_id];  // a request creates the stream here
    s.incoming.clear();
    s.incoming.reserve(16);  // a gRPC request has about ten fields: one allocation, not five
    s.incoming_bytes = 0;
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t name_length,
                       const std::uint8_t* value, std::size_t value_length, std::uint8_t, void* user) {
    auto& c = self(user);
    auto* s = c.find(frame->hd.stream_id);
    if (!s)
      return 0;
    // RFC 9113 counts 32 bytes of overhead per field in SETTINGS_MAX_HEADER_LIST_SIZE.
    s->incoming_bytes += name_length + value_length + 32;
    if (s->incoming_bytes > c.cfg_.max_header_list_size) {
      c.last_error_ = "header block larger than " + std::to_string(c.cfg_.max_header_list_size) + " bytes";
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets this stream only
    }
    s->incoming.push_back({std::string(reinterpret_cast<const char*>(name), name_length),
                           std::string(reinterpret_cast<const char*>(value), value_length)});
    return 0;
  }

  static header_kind kind_of(const connection& c, const nghttp2_frame* frame, const header_list& headers) {
    if (c.side_ == role::server) {
      return frame->headers.cat == NGHTTP2_HCAT_REQUEST ? header_kind::request : header_kind::trailers;
    }
    for (const auto& h : headers) {
      if (h.name == ":status")
        return h.value.starts_with('1') ? header_kind::informational : header_kind::response;
    }
    return header_kind::trailers;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        auto* s = c.find(frame->hd.stream_id);
        if (!s)
          break;
        const auto kind = kind_of(c, frame, s->incoming);
        s->announced = true;
        c.push(headers_received{frame->hd.stream_id, kind, std::move(s->incoming), end_stream});
        s->incoming.clear();
        break;
      }
      case NGHTTP2_DATA:
        if (!end_stream)
          break;
        if (!c.events_.empty()) {
          if (auto* last = std::get_if<data_received>(&c.events_.back()); last && last->id == frame->hd.stream_id) {
            last->end_stream = true;
            break;
          }
        }
        c.push(data_received{frame->hd.stream_id, {}, true});
        break;
      case NGHTTP2_RST_STREAM:
        if (auto* s = c.find(frame->hd.stream_id))
          s->reset_by_peer = true;
        break;
      case NGHTTP2_GOAWAY:
        c.push(go_away_received{
            frame->goaway.last_stream_id, frame->goaway.error_code,
            std::string(reinterpret_cast<const char*>(frame->goaway.opaque_data), frame->goaway.opaque_data_len)});
        break;
      case NGHTTP2_PING: {
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
          break;  // nghttp2 answers the peer's pings itself
        const auto payload = ping_payload(frame->ping.opaque_data);
        if (c.shutdown_ping_ == payload) {
          // The peer has seen our first GOAWAY: any stream it opened is in by now.
          c.shutdown_ping_.reset();
          c.submit_go_away(NGHTTP2_NO_ERROR, {});
          break;
        }
        c.push(ping_acknowledged{payload});
        break;
      }
      default:
        break;
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                           std::size_t length, void* user) {
    auto& c = self(user);
    c.unconsumed_[id] += length;
    c.unconsumed_total_ += length;
    // A view, not a copy: nghttp2 keeps `data` valid until its next input (see events.hpp).
    c.push(data_received{id, {data, length}, false});
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
    auto& c = self(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end())
      return 0;
    const bool by_peer = it->second.reset_by_peer;
    const bool announced = it->second.announced;
    c.streams_.erase(it);
    c.submit_deferred_go_away();
    // A request nghttp2 refused before its headers came out (malformed, too large) ends unseen.
    if (!announced)
      return 0;
    if (code == NGHTTP2_NO_ERROR && !by_peer) {
      c.push(stream_closed{id});
    } else {
      c.push(stream_reset{id, code, by_peer});
    }
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    // A server that has ended its response while the request is still open resets the stream
    // with NO_ERROR, as gRPC servers do: the client learns it may stop sending, and the stream
    // does not stay half-open on both sides for as long as the connection lives.
    if (c.side_ == role::server && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        nghttp2_session_get_stream_remote_close(c.session_, frame->hd.stream_id) == 0) {
      nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (auto* s = c.find(frame->hd.stream_id); s && !s->headers_framed) {
        s->headers_framed = true;
        if (s->reset_after_headers) {
          nghttp2_submit_rst_stream(c.session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, *s->reset_after_headers);
        }
      }
      c.submit_deferred_go_away();
      return 0;
    }
    if (frame->hd.type != NGHTTP2_GOAWAY)
      return 0;
    c.go_away_unsent_ = false;
    if (frame->goaway.error_code == NGHTTP2_NO_ERROR)
      return 0;
    c.ended_ = true;
    if (c.go_away_commanded_)
      return 0;
    // nghttp2 found a connection error and sent this GOAWAY; its debug data says why, when it has any.
    std::string reason(reinterpret_cast<const char*>(frame->goaway.opaque_data), frame->goaway.opaque_data_len);
    if (reason.empty())
      reason = c.last_error_;
    if (reason.empty())
      reason = default_reason(frame->goaway.error_code);
    c.push(connection_error{frame->goaway.error_code, error_name(frame->goaway.error_code) + ": " + reason});
    return 0;
  }

  static int on_invalid_frame(nghttp2_session*, const nghttp2_frame*, int lib_error, void* user) {
    self(user).last_error_ = nghttp2_strerror(lib_error);
    return 0;
  }

  static int on_error(nghttp2_session*, int, const char* message, std::size_t length, void* user) {
    self(user).last_error_.assign(message, length);
    return 0;
  }

  // Data sources: hand nghttp2 what the stream's send queue holds, then end it as asked.
  static ssize_t read_data(nghttp2_session* session, std::int32_t id, std::uint8_t* buffer, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto& c = self(user);
    auto* s = c.find(id);
    if (!s)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t n = s->outbox.take(buffer, length);
    if (s->outbox.empty()) {
      if (n > 0)
        c.push(stream_writable{id});
      if (s->end_queued) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        s->sending = false;
        if (s->trailers) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
          const auto nv = to_nv(*s->trailers);
          if (nghttp2_submit_trailer(session, id, nv.data(), nv.size()) != 0) {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
          }
          s->trailers.reset();
        }
        return static_cast<ssize_t>(n);
      }
      if (n == 0) {
        s->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }
};

connection::connection(role side, const settings& cfg) : side_(side), cfg_(cfg) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_option* options = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&options) != 0) {
    throw std::bad_alloc();
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, callbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, callbacks::on_invalid_frame);
  nghttp2_session_callbacks_set_error_callback2(cbs, callbacks::on_error);
  // Credit goes back only when the owner says it has taken the bytes: that is the back-pressure.
  nghttp2_option_set_no_auto_window_update(options, 1);
  const int rv = side == role::client ? nghttp2_session_client_new2(&session_, cbs, this, options)
                                      : nghttp2_session_server_new2(&session_, cbs, this, options);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_option_del(options);
  if (rv != 0)
    throw std::runtime_error(std::string("http2: cannot create a session: ") + nghttp2_strerror(rv));

  std::vector<nghttp2_settings_entry> entries = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg.stream_window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, cfg.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, cfg.max_header_list_size},
  };
  if (side == role::client)
    entries.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries.data(), entries.size()) != 0 ||
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<std::int32_t>(cfg.connection_window)) != 0) {
    nghttp2_session_del(session_);
    throw std::invalid_argument("http2: settings out of range (windows up to 2^31-1, frames 16 KiB to 16 MiB)");
  }
}

connection::~connection() { nghttp2_session_del(session_); }

void connection::receive(std::span<const std::uint8_t> bytes) {
  if (fatal_ || bytes.empty())
    return;
  if (!nghttp2_session_want_read(session_)) {
    // nghttp2 drops input once a GOAWAY is out (or in) and no stream is active. Reading must
    // not resume after bytes were dropped, so no stream may open on this connection again.
    input_dropped_ = true;
    return;
  }
  const auto rv = nghttp2_session_mem_recv(session_, bytes.data(), bytes.size());
  if (rv >= 0) {
    frame_go_away();
  } else {
    std::string reason = rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? "the peer did not send the HTTP/2 client preface"
                                                            : nghttp2_strerror(static_cast<int>(rv));
    if (!last_error_.empty() && rv != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
      reason += " (" + last_error_ + ")";
    fail_fatally(reason);
  }
}

std::span<const std::uint8_t> connection::pending_output() {
  pull_output(false);
  return {output_.data() + output_head_, output_.size() - output_head_};
}

void connection::pull_output(bool until_go_away) {
  while (!fatal_ && (until_go_away ? go_away_unsent_ : output_.size() - output_head_ < output_high_water)) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      fail_fatally(std::string("cannot frame output: ") + nghttp2_strerror(static_cast<int>(n)));
      break;
    }
    if (n == 0)
      break;
    output_.insert(output_.end(), data, data + n);
  }
}

void connection::frame_go_away() {
  // nghttp2 stops accepting streams above a GOAWAY's last stream id only once the frame is sent.
  // Framed now, before any more input, a stream the peer opens meanwhile is refused (and may be
  // retried elsewhere) rather than processed behind a GOAWAY that told the peer it was not.
  // Only the server accepts streams; a client's GOAWAY may wait its turn.
  if (side_ == role::server && go_away_unsent_)
    pull_output(true);
}

void connection::submit_go_away(std::uint32_t code, std::string_view debug_data) {
  // Once a GOAWAY is out and no stream is active, nghttp2 ignores all input. A request of ours
  // whose HEADERS are still queued is not active yet, so a graceful GOAWAY framed before it
  // would make us drop the server's replies until it goes out. It waits for those HEADERS.
  if (side_ == role::client && code == NGHTTP2_NO_ERROR) {
    for (const auto& [id, s] : streams_) {
      if (!s.headers_framed) {
        deferred_go_away_ = true;
        return;
      }
    }
  }
  deferred_go_away_ = false;
  go_away_unsent_ = true;
  // A later GOAWAY may never name a larger last stream id than an earlier one (the peer treats
  // that as a protocol error), though streams may have been processed since.
  auto last = nghttp2_session_get_last_proc_stream_id(session_);
  if (last_go_away_id_)
    last = std::min(last, *last_go_away_id_);
  last_go_away_id_ = last;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last, code,
                        reinterpret_cast<const std::uint8_t*>(debug_data.data()), debug_data.size());
}

void connection::submit_deferred_go_away() {
  if (deferred_go_away_)
    submit_go_away(NGHTTP2_NO_ERROR, {});
}

void connection::consume_output(std::size_t count) {
  output_head_ += std::min(count, output_.size() - output_head_);
  if (output_head_ == output_.size()) {
    output_.clear();
    output_head_ = 0;
  } else if (output_head_ >= output_high_water && output_head_ * 2 >= output_.size()) {
    // A transport that always takes a little less than offered would otherwise never let the
    // buffer empty, and it would grow by every byte ever sent.
    output_.erase(output_.begin(), output_.begin() + static_cast<std::ptrdiff_t>(output_head_));
    output_head_ = 0;
  }
}

std::optional<event> connection::poll_event() {
  if (events_.empty())
    return std::nullopt;
  event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

connection::stream_state* connection::find(stream_id id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

bool connection::attach_source(stream_id id, stream_state& s, const header_list& headers, bool end_stream) {
  const auto nv = to_nv(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = callbacks::read_data;
  if (nghttp2_submit_response(session_, id, nv.data(), nv.size(), end_stream ? nullptr : &provider) != 0) {
    return false;
  }
  s.sending = !end_stream;
  s.responded = true;
  return true;
}

connection::open_result connection::open_stream(const header_list& headers, bool end_stream) {
  if (side_ != role::client)
    return {0, "only the client role opens streams"};
  if (fatal_ || ended_)
    return {0, "the connection has ended"};
  if (going_away_ || input_dropped_)
    return {0, "this connection is shutting down: no new streams"};
  if (!nghttp2_session_check_request_allowed(session_)) {
    return {0, "the peer sent GOAWAY: no new streams on this connection"};
  }
  const auto nv = to_nv(headers);
  nghttp2_data_provider provider{};
  provider.read_callback = callbacks::read_data;
  const auto id =
      nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), end_stream ? nullptr : &provider, nullptr);
  if (id < 0)
    return {0, nghttp2_strerror(id)};
  auto& s = streams_[id];
  s.sending = !end_stream;
  s.announced = true;
  return {id, {}};
}

bool connection::respond(stream_id id, const header_list& headers, bool end_stream) {
  auto* s = find(id);
  if (side_ != role::server || fatal_ || !s || s->responded)
    return false;
  return attach_source(id, *s, headers, end_stream);
}

void connection::resume(stream_id id, stream_state& s) {
  if (!s.deferred)
    return;
  s.deferred = false;
  nghttp2_session_resume_data(session_, id);
}

connection::stream_state* connection::data_stream(stream_id id) {
  auto* s = find(id);
  return fatal_ || !s || !s->sending || s->end_queued || s->reset_after_headers ? nullptr : s;
}

template <class Append>
bool connection::queue_data(stream_id id, bool end_stream, Append append) {
  auto* s = data_stream(id);
  if (!s)
    return false;
  append(s->outbox);
  s->end_queued = end_stream;
  resume(id, *s);
  return true;
}

bool connection::send_data(stream_id id, std::span<const std::uint8_t> bytes, bool end_stream) {
  return queue_data(id, end_stream, [&](send_queue& q) { q.append(bytes); });
}

bool connection::send_buffer(stream_id id, std::vector<std::uint8_t>&& bytes, bool end_stream) {
  return queue_data(id, end_stream, [&](send_queue& q) { q.append(std::move(bytes)); });
}

bool connection::send_borrowed(stream_id id, std::span<const std::uint8_t> bytes, std::shared_ptr<const void> keeper,
                               bool end_stream) {
  return queue_data(id, end_stream, [&](send_queue& q) { q.append(bytes, std::move(keeper)); });
}

bool connection::send_trailers(stream_id id, const header_list& trailers) {
  auto* s = data_stream(id);
  if (!s)
    return false;
  s->trailers = trailers;
  s->end_queued = true;
  resume(id, *s);
  return true;
}

bool connection::reset(stream_id id, std::uint32_t code) {
  auto* s = find(id);
  if (fatal_ || !s)
    return false;
  if (side_ == role::client && !s->headers_framed) {
    // nghttp2 would frame the RST_STREAM ahead of the still-queued request HEADERS, and the
    // server would see a reset of a stream that does not exist yet (a connection error).
    s->reset_after_headers = code;
    return true;
  }
  return nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code) == 0;
}

void connection::consume(stream_id id, std::size_t count) {
  auto it = unconsumed_.find(id);
  if (it == unconsumed_.end())
    return;
  const std::size_t n = std::min(count, it->second);
  it->second -= n;
  unconsumed_total_ -= n;
  if (it->second == 0)
    unconsumed_.erase(it);
  // nghttp2 returns the connection's share even when the stream has closed.
  if (!fatal_ && n > 0)
    nghttp2_session_consume(session_, id, n);
}

std::uint64_t connection::ping() {
  const std::uint64_t payload = next_ping_++;
  std::uint8_t opaque[8];
  for (int i = 0; i < 8; ++i)
    opaque[i] = static_cast<std::uint8_t>(payload >> (56 - 8 * i));
  if (!fatal_)
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, opaque);
  return payload;
}

void connection::shutdown() {
  // A GOAWAY's last stream id may never grow: after go_away() or a first shutdown(), the
  // notice's 2^31-1 would be a protocol error, and the connection is going away already.
  if (fatal_ || ended_ || going_away_)
    return;
  going_away_ = true;
  if (side_ == role::server && !shutdown_ping_) {
    nghttp2_submit_shutdown_notice(session_);
    shutdown_ping_ = ping();
    return;
  }
  submit_go_away(NGHTTP2_NO_ERROR, {});
  frame_go_away();
}

void connection::go_away(std::uint32_t code, std::string_view debug_data) {
  if (fatal_)
    return;
  go_away_commanded_ = true;
  going_away_ = true;
  shutdown_ping_.reset();
  submit_go_away(code, debug_data);
  frame_go_away();
  if (code != NGHTTP2_NO_ERROR)
    ended_ = true;
}

bool connection::finished() {
  if (!pending_output().empty())
    return false;
  return fatal_ || ended_ || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
}

std::size_t connection::queued(stream_id id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.outbox.size();
}

std::int64_t connection::send_window(stream_id id) const {
  const auto stream = nghttp2_session_get_stream_remote_window_size(session_, id);
  if (stream < 0)
    return 0;
  return std::min<std::int64_t>(stream, nghttp2_session_get_remote_window_size(session_));
}

void connection::push(event e) { events_.push_back(std::move(e)); }

void connection::fail_fatally(std::string reason) {
  if (fatal_)
    return;
  fatal_ = true;
  ended_ = true;
  append_go_away(output_, NGHTTP2_PROTOCOL_ERROR, reason);
  push(connection_error{NGHTTP2_PROTOCOL_ERROR, "PROTOCOL_ERROR: " + reason});
}

}  // namespace s2s::http2
