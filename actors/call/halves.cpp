// The HTTP/2 halves of a proxied call.
#include "actors/call/halves.hpp"

#include <grpcpp/support/slice.h>

#include "actors/runtime/inline_run.hpp"
#include "actors/runtime/scheduling.hpp"
#include "http2/base64.hpp"
#include "http2/grpc_status.hpp"
#include "rpc/header_rules.hpp"

namespace s2s::actors {
namespace {

constexpr std::string_view details_key = "grpc-status-details-bin";

grpc::StatusCode grpc_code(http2::status_code code) { return static_cast<grpc::StatusCode>(code); }

grpc::Status reset_status(std::uint32_t code, bool by_peer, std::string_view who) {
  auto mapped = http2::status_for_http2_error(code);
  std::string message = "s2s-proxy: the " + std::string(who) + (by_peer ? " reset the stream" : " stream was reset") +
                        " (HTTP/2 error " + std::to_string(code) + ")";
  return grpc::Status(grpc_code(mapped), message);
}

const grpc::Status compressed_refusal(grpc::StatusCode::UNIMPLEMENTED,
                                      "s2s-proxy: compressed messages (grpc-encoding) are not supported; "
                                      "send them uncompressed");

}  // namespace

std::vector<std::uint8_t> bytes_of(const grpc::ByteBuffer& message) {
  std::vector<grpc::Slice> slices;
  std::vector<std::uint8_t> out;
  if (!message.Dump(&slices).ok())
    return out;
  std::size_t total = 0;
  for (auto& slice : slices)
    total += slice.size();
  out.reserve(http2::message_prefix_bytes + total);
  auto prefix = http2::message_prefix(0, static_cast<std::uint32_t>(total));
  out.insert(out.end(), prefix.begin(), prefix.end());
  for (auto& slice : slices)
    out.insert(out.end(), slice.begin(), slice.end());
  return out;
}

namespace {
// From this size on a message's slices are borrowed: below it, one copy costs less than sharing.
constexpr std::size_t borrow_from_bytes = 64 * 1024;
}  // namespace

outgoing_message::outgoing_message(const grpc::ByteBuffer& message) {
  if (message.Length() < borrow_from_bytes) {
    framed_ = bytes_of(message);
    return;
  }
  auto slices = std::make_shared<std::vector<grpc::Slice>>();
  if (!message.Dump(slices.get()).ok()) {
    framed_ = bytes_of(message);
    return;
  }
  auto prefix = http2::message_prefix(0, static_cast<std::uint32_t>(message.Length()));
  framed_.assign(prefix.begin(), prefix.end());
  slices_ = std::move(slices);
}

bool outgoing_message::queue_on(http2::connection& core, http2::stream_id id) {
  if (!core.send_buffer(id, std::move(framed_)))
    return false;
  if (slices_)
    for (auto& slice : *slices_)
      if (!core.send_borrowed(id, {slice.begin(), slice.size()}, slices_))
        return false;
  return true;
}

grpc::ByteBuffer buffer_of(std::vector<std::uint8_t> bytes) {
  if (bytes.empty())
    return grpc::ByteBuffer(nullptr, 0);
  auto* owned = new std::vector<std::uint8_t>(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* user) { delete static_cast<std::vector<std::uint8_t>*>(user); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

http2::header_list header_list_of(metadata_list metadata) {
  http2::header_list out;
  out.reserve(metadata.size());
  for (auto& [key, value] : metadata)
    out.push_back({std::move(key), std::move(value)});
  return out;
}

metadata_list metadata_of(http2::header_list headers) {
  metadata_list out;
  out.reserve(headers.size());
  for (auto& h : headers)
    if (rpc::is_forwardable_header(h.name))
      out.emplace_back(std::move(h.name), std::move(h.value));
  return out;
}

grpc::Status status_of_trailers(const http2::header_list& trailers) {
  auto status = http2::status_of(trailers);
  std::string details;
  if (auto encoded = http2::find_header(trailers, details_key))
    details = http2::base64_decode(*encoded).value_or(std::string());
  return grpc::Status(grpc_code(status.code), status.message, details);
}

http2::header_list trailers_of(const grpc::Status& status, const metadata_list& metadata, bool only) {
  auto headers = header_list_of(metadata);
  if (!status.error_details().empty())
    headers.push_back({std::string(details_key), http2::base64_encode(status.error_details())});
  http2::status s{static_cast<http2::status_code>(status.error_code()), status.error_message()};
  return only ? http2::trailers_only(s, std::move(headers)) : http2::trailers(s, std::move(headers));
}

// --- what both halves share

template <class Half>
void h2_half_pacing<Half>::post_grants(std::size_t count) {
  connection_->loop().post([self = half().shared_from_this(), count] {
    self->grants_ += count;
    self->deliver();
  });
}

template <class Half>
void h2_half_pacing<Half>::post_peer(std::weak_ptr<read_gate> peer) {
  connection_->loop().post([self = half().shared_from_this(), peer = std::move(peer)] { self->peer_ = peer; });
}

template <class Half>
outgoing_message h2_half_pacing<Half>::frame(const grpc::ByteBuffer& message, bool& large) {
  large = message.Length() >= large_message_bytes;
  if (large)
    note_large_message();
  return outgoing_message(message);
}

template <class Half>
void h2_half_pacing<Half>::queued_message(bool large) {
  large_pending_ |= large;
  connection_->kick();
  if (connection_->core().queued(id_) >= h2_write_budget) {
    ++owed_grants_;
  } else if (auto peer = peer_.lock()) {
    peer->grant_reads(1);
  }
}

template <class Half>
void h2_half_pacing<Half>::framed_all() {
  if (std::exchange(large_pending_, false))
    note_large_message();
  if (owed_grants_ > 0)
    if (auto peer = peer_.lock())
      peer->grant_reads(std::exchange(owed_grants_, 0));
}

template <class Half>
void h2_half_pacing<Half>::credit_back(bool now) {
  if (held_credit_ == 0 || id_ == 0 || !(now || !reader_.has_message()))
    return;
  connection_->core().consume(id_, std::exchange(held_credit_, 0));
  connection_->kick();
}

template <class Half>
template <class Message>
void h2_half_pacing<Half>::tell(Message message) {
  if (owner_)
    actors::deliver(owner_, std::move(message));
}

template class h2_half_pacing<h2_server_half>;
template class h2_half_pacing<h2_client_half>;

// --- the caller's side

h2_server_half::h2_server_half(std::shared_ptr<h2_connection> connection, http2::stream_id id, call_info info,
                               std::size_t max_message_bytes)
    : h2_half_pacing(std::move(connection), {}, max_message_bytes), info_(std::move(info)) {
  id_ = id;
}

void h2_server_half::bind(call_actor owner) { owner_ = std::move(owner); }

void h2_server_half::start(bool request_ended) {
  request_ended_ = request_ended;
  if (info_.deadline == std::chrono::system_clock::time_point::max())
    return;
  auto left = info_.deadline - std::chrono::system_clock::now();
  deadline_timer_ =
      connection_->loop().run_after(std::max<std::chrono::system_clock::duration>(left, {}), [weak = weak_from_this()] {
        auto self = weak.lock();
        if (!self)
          return;
        self->deadline_timer_.reset();
        if (self->finished_)
          return;
        self->do_finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"), {});
        self->tell(downstream_cancelled{});
      });
}

void h2_server_half::answer(const grpc::Status& status) { do_finish(status, {}); }

void h2_server_half::grant_reads(std::size_t count) { post_grants(count); }

void h2_server_half::return_grants_to(std::weak_ptr<read_gate> peer) { post_peer(std::move(peer)); }

void h2_server_half::write(grpc::ByteBuffer message) {
  bool large = false;
  auto framed = frame(message, large);
  connection_->loop().post([self = shared_from_this(), framed = std::move(framed), large]() mutable {
    if (self->finished_ || self->stream_gone_)
      return;
    self->send_headers_if_needed();
    if (!framed.queue_on(self->connection_->core(), self->id_)) {
      self->gone();
      return;
    }
    self->queued_message(large);
  });
}

void h2_server_half::send_metadata(metadata_list headers) {
  connection_->loop().post([self = shared_from_this(), headers = std::move(headers)]() mutable {
    if (self->headers_sent_ || self->finished_ || self->stream_gone_)
      return;
    self->pending_metadata_ = std::move(headers);
    self->send_headers_if_needed();
    self->connection_->kick();
  });
}

void h2_server_half::send_headers_if_needed() {
  if (headers_sent_)
    return;
  headers_sent_ = true;
  auto metadata = pending_metadata_ ? header_list_of(std::move(*pending_metadata_)) : http2::header_list{};
  connection_->core().respond(id_, http2::response_headers(std::move(metadata)), false);
}

void h2_server_half::finish(const grpc::Status& status, const metadata_list& trailers) {
  connection_->loop().post([self = shared_from_this(), status, trailers] { self->do_finish(status, trailers); });
}

void h2_server_half::go_away_gracefully() {
  connection_->loop().post([connection = connection_] { connection->shut_down(); });
}

void h2_server_half::do_finish(const grpc::Status& status, const metadata_list& trailers) {
  if (finished_)
    return;
  finished_ = true;
  if (deadline_timer_) {
    connection_->loop().cancel(*deadline_timer_);
    deadline_timer_.reset();
  }
  if (stream_gone_)
    return;
  auto& core = connection_->core();
  if (!headers_sent_) {
    headers_sent_ = true;
    core.respond(id_, trailers_of(status, trailers, true), true);
  } else {
    core.send_trailers(id_, trailers_of(status, trailers, false));
  }
  connection_->kick();
}

void h2_server_half::deliver() {
  while (grants_ > 0 && !finished_) {
    auto message = reader_.next();
    if (!message)
      break;
    if (message->compressed) {
      do_finish(compressed_refusal, {});
      tell(downstream_cancelled{});
      break;
    }
    --grants_;
    if (message->payload.size() >= large_message_bytes)
      note_large_message();
    tell(downstream_read{buffer_of(std::move(message->payload))});
  }
  credit_back(finished_);
  if (request_ended_ && !reader_.has_message() && !read_end_told_ && !finished_) {
    if (auto cut = reader_.finish()) {
      do_finish(grpc::Status(grpc_code(cut->code), "s2s-proxy: " + cut->message), {});
      tell(downstream_cancelled{});
      return;
    }
    read_end_told_ = true;
    tell(downstream_read_end{});
  }
}

void h2_server_half::on_headers(http2::headers_received& headers) {
  if (headers.end_stream) {
    request_ended_ = true;
    deliver();
  }
}

void h2_server_half::on_data(http2::data_received& data) {
  held_credit_ += data.bytes.size();
  if (auto error = reader_.feed(data.bytes); error && !finished_) {
    do_finish(grpc::Status(grpc_code(error->code), "s2s-proxy: " + error->message), {});
    credit_back(true);
    tell(downstream_cancelled{});
    return;
  }
  if (data.end_stream)
    request_ended_ = true;
  deliver();
}

void h2_server_half::on_writable() { framed_all(); }

void h2_server_half::gone() {
  stream_gone_ = true;
  if (deadline_timer_) {
    connection_->loop().cancel(*deadline_timer_);
    deadline_timer_.reset();
  }
  if (!finished_ && !told_gone_) {
    finished_ = true;
    told_gone_ = true;
    tell(downstream_cancelled{});
  }
}

void h2_server_half::on_closed() { gone(); }
void h2_server_half::on_reset(std::uint32_t, bool) { gone(); }
void h2_server_half::on_connection_lost(const std::string&) { gone(); }

// --- the upstream side

h2_client_half::h2_client_half(std::shared_ptr<h2_connection> connection, std::string authority, call_info info,
                               call_actor owner, std::size_t max_message_bytes)
    : h2_half_pacing(std::move(connection), std::move(owner), max_message_bytes),
      authority_(std::move(authority)),
      info_(std::move(info)) {}

void h2_client_half::start() {
  if (!connection_->accepting_streams())
    return settle(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "s2s-proxy: the connection to " + authority_ + " is closing; call again"));
  http2::request_head head;
  head.path = info_.method;
  head.authority = authority_;
  head.metadata = header_list_of(info_.metadata);
  head.metadata.push_back({"user-agent", "s2s-proxy"});
  std::optional<std::chrono::nanoseconds> remaining;
  if (info_.deadline != std::chrono::system_clock::time_point::max()) {
    remaining = std::chrono::duration_cast<std::chrono::nanoseconds>(info_.deadline - std::chrono::system_clock::now());
    if (*remaining <= std::chrono::nanoseconds::zero())
      return settle(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"));
  }
  auto opened = connection_->core().open_stream(http2::request_headers(std::move(head), remaining), false);
  if (!opened)
    return settle(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "s2s-proxy: cannot open a stream to " + authority_ + ": " + opened.error));
  id_ = opened.id;
  connection_->attach(id_, shared_from_this());
  connection_->kick();
}

void h2_client_half::grant_reads(std::size_t count) { post_grants(count); }

void h2_client_half::return_grants_to(std::weak_ptr<read_gate> peer) { post_peer(std::move(peer)); }

void h2_client_half::write(grpc::ByteBuffer message) {
  bool large = false;
  auto framed = frame(message, large);
  connection_->loop().post([self = shared_from_this(), framed = std::move(framed), large]() mutable {
    auto& core = self->connection_->core();
    if (self->status_ || self->writes_closed_ || self->id_ == 0 || !framed.queue_on(core, self->id_)) {
      if (!self->write_failed_told_) {
        self->write_failed_told_ = true;
        self->tell(upstream_write_failed{});
      }
      return;
    }
    self->queued_message(large);
  });
}

void h2_client_half::writes_done() {
  connection_->loop().post([self = shared_from_this()] {
    if (self->writes_closed_)
      return;
    self->writes_closed_ = true;
    if (self->status_ || self->id_ == 0)
      return;
    self->connection_->core().send_data(self->id_, {}, true);
    self->connection_->kick();
  });
}

void h2_client_half::cancel() {
  connection_->loop().post([self = shared_from_this()] {
    if (self->status_)
      return;
    if (self->id_ != 0 && !self->stream_gone_) {
      self->connection_->core().reset(self->id_, http2::error_code::cancel);
      self->connection_->kick();
    }
    self->settle(grpc::Status(grpc::StatusCode::CANCELLED, "s2s-proxy: the upstream call was cancelled"));
  });
}

void h2_client_half::release() {
  connection_->loop().post([self = shared_from_this()] {
    self->release_asked_ = true;
    self->deliver();
  });
}

void h2_client_half::settle(grpc::Status status, metadata_list trailers) {
  if (!status_) {
    status_ = std::move(status);
    trailers_ = std::move(trailers);
  }
  deliver();
}

void h2_client_half::deliver() {
  auto& core = connection_->core();
  bool cancelled = status_ && status_->error_code() == grpc::StatusCode::CANCELLED && !metadata_in_;
  while (metadata_in_ && grants_ > 0) {
    auto message = reader_.next();
    if (!message)
      break;
    if (message->compressed) {
      if (!stream_gone_ && id_ != 0)
        core.reset(id_, http2::error_code::cancel);
      status_ = compressed_refusal;
      break;
    }
    --grants_;
    if (message->payload.size() >= large_message_bytes)
      note_large_message();
    tell(upstream_read{buffer_of(std::move(message->payload))});
  }
  credit_back(status_.has_value());
  if (!status_)
    return;
  // Once the call is over upstream, messages nobody can take any more are dropped.
  bool drained = !reader_.has_message() || release_asked_ || cancelled || !metadata_in_;
  if (drained && !read_end_told_) {
    if (status_->ok())
      if (auto cut = reader_.finish())
        status_ = grpc::Status(grpc_code(cut->code), "s2s-proxy: " + cut->message);
    read_end_told_ = true;
    tell(upstream_read_end{});
  }
  if (read_end_told_ && release_asked_ && !done_told_) {
    done_told_ = true;
    if (!stream_gone_ && id_ != 0 && !writes_closed_) {
      core.reset(id_, http2::error_code::cancel);
      connection_->kick();
    }
    tell(upstream_done{*status_, trailers_});
  }
}

void h2_client_half::on_headers(http2::headers_received& headers) {
  if (headers.kind == http2::header_kind::informational)
    return;
  if (headers.kind == http2::header_kind::trailers) {
    auto status = status_of_trailers(headers.headers);
    settle(std::move(status), metadata_of(std::move(headers.headers)));
    return;
  }
  if (headers.end_stream) {  // trailers only
    metadata_in_ = true;
    tell(upstream_metadata{false, {}});
    auto status = status_of_trailers(headers.headers);
    settle(std::move(status), metadata_of(std::move(headers.headers)));
    return;
  }
  if (auto bad = http2::check_response(headers.headers)) {
    connection_->core().reset(id_, http2::error_code::cancel);
    connection_->kick();
    metadata_in_ = true;
    tell(upstream_metadata{false, {}});
    settle(grpc::Status(grpc_code(bad->code), "s2s-proxy: the upstream's response is not gRPC: " + bad->message));
    return;
  }
  metadata_in_ = true;
  tell(upstream_metadata{true, metadata_of(std::move(headers.headers))});
  deliver();
}

void h2_client_half::on_data(http2::data_received& data) {
  held_credit_ += data.bytes.size();
  if (auto error = reader_.feed(data.bytes); error && !status_) {
    connection_->core().reset(id_, http2::error_code::cancel);
    connection_->kick();
    settle(grpc::Status(grpc_code(error->code), "s2s-proxy: " + error->message));
    return;
  }
  deliver();
}

void h2_client_half::on_writable() { framed_all(); }

void h2_client_half::on_closed() {
  stream_gone_ = true;
  settle(grpc::Status(grpc::StatusCode::INTERNAL, "s2s-proxy: the upstream ended the call without a status"));
}

void h2_client_half::on_reset(std::uint32_t code, bool by_peer) {
  stream_gone_ = true;
  settle(reset_status(code, by_peer, "upstream"));
}

void h2_client_half::on_go_away() {
  if (going_away_told_ || done_told_)
    return;
  going_away_told_ = true;
  tell(upstream_going_away{});
}

void h2_client_half::on_connection_lost(const std::string& reason) {
  stream_gone_ = true;
  settle(grpc::Status(grpc::StatusCode::UNAVAILABLE, "s2s-proxy: " + reason));
}

}  // namespace s2s::actors
