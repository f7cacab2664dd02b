// Channels for long-lived streams: each stream rides a connection opened for it (or for the few
// streams that started with it), so the connection is as old as the stream.
//
// Why: a server that ages its connections (Temporal's frontend sends GOAWAY max_age after 5
// minutes ±10%, and closes the connection 70 s later) ends every call still on a connection
// when it closes it. On a channel shared with unary calls, the connection in use is whatever the
// last reconnect made, often minutes old when a stream starts there, so the stream is cut early;
// its caller, connected directly, would have opened a connection for it and kept it a full age
// plus the grace. Calls that end in seconds lose nothing on the shared channel and stay there.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include <grpcpp/channel.h>

namespace s2s::rpc {

// Temporal's long-lived streams are named Stream...: AdminService/StreamWorkflowReplicationMessages,
// one per shard pair, open for as long as the connection under it lives. True for a full method
// name ("/package.Service/Method") whose method starts with "Stream".
bool is_long_lived_stream(std::string_view method);

class stream_channels {
 public:
  using clock = std::chrono::steady_clock;
  using opener = std::function<std::shared_ptr<grpc::Channel>()>;
  using rule = std::function<bool(std::string_view method)>;

  // Streams that start within this long of a connection's first stream share it: the streams
  // of every shard, re-opened together after their connection closed, take one connection, not
  // one each, and none of them starts on a connection more than this old.
  static constexpr std::chrono::seconds default_share_window{10};

  // `open` makes a channel whose connection no other channel shares; `long_lived` picks the
  // methods that get one.
  stream_channels(opener open, rule long_lived, clock::duration share_window = default_share_window);

  bool wants_own(std::string_view method) const { return long_lived_(method); }

  // The channel for a stream starting at `now`: the newest one if it was opened within the share
  // window and a stream still holds it, else a new one. Callers keep the channel as long as
  // their stream lives; the last to let it go closes its connection. Thread-safe.
  std::shared_ptr<grpc::Channel> for_stream(clock::time_point now = clock::now());

  // Channels opened so far.
  std::uint64_t opened() const;

 private:
  opener open_;
  rule long_lived_;
  clock::duration share_window_;
  mutable std::mutex mutex_;
  std::weak_ptr<grpc::Channel> newest_;
  clock::time_point newest_opened_{};
  std::uint64_t opened_ = 0;
};

}  // namespace s2s::rpc
