// Channels for long-lived streams, each opened for the streams that start together.
#include "rpc/stream_channels.hpp"

namespace s2s::rpc {

bool is_long_lived_stream(std::string_view method) {
  auto slash = method.rfind('/');
  auto name = slash == std::string_view::npos ? method : method.substr(slash + 1);
  return name.starts_with("Stream");
}

stream_channels::stream_channels(opener open, rule long_lived, clock::duration share_window)
    : open_(std::move(open)), long_lived_(std::move(long_lived)), share_window_(share_window) {}

std::shared_ptr<grpc::Channel> stream_channels::for_stream(clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (auto newest = newest_.lock(); newest && now - newest_opened_ < share_window_)
    return newest;
  auto channel = open_();
  newest_ = channel;
  newest_opened_ = now;
  ++opened_;
  return channel;
}

std::uint64_t stream_channels::opened() const {
  std::lock_guard lock(mutex_);
  return opened_;
}

}  // namespace s2s::rpc
