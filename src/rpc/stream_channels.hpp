// Connections for long-lived streams: each stream rides a connection opened for it (or for the few
// streams that started with it), so the connection is as old as the stream.
//
// Why: a server that ages its connections (Temporal's frontend sends GOAWAY max_age after 5
// minutes ±10%, and closes the connection 70 s later) ends every call still on a connection
// when it closes it. On a connection shared with unary calls, the one in use is whatever the
// last reconnect made, often minutes old when a stream starts there, so the stream is cut early;
// its caller, connected directly, would have opened a connection for it and kept it a full age
// plus the grace. Calls that end in seconds lose nothing on the shared connection and stay there.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

namespace s2s::rpc {

// Temporal's long-lived streams are named Stream...: AdminService/StreamWorkflowReplicationMessages,
// one per shard pair, open for as long as the connection under it lives. True for a full method
// name ("/package.Service/Method") whose method starts with "Stream".
bool is_long_lived_stream(std::string_view method);

// Streams that start within this long of a connection's first stream share it: the streams
// of every shard, re-opened together after their connection closed, take one connection, not
// one each, and none of them starts on a connection more than this old.
inline constexpr std::chrono::seconds default_share_window{10};

template <class Connection>
class stream_connections {
 public:
  using clock = std::chrono::steady_clock;
  using opener = std::function<std::shared_ptr<Connection>()>;
  // Whether a connection may still take a stream (not closing); null: every live one may.
  using usable_rule = std::function<bool(const Connection&)>;

  // `open` makes a connection no other call shares (null when it cannot).
  explicit stream_connections(opener open, usable_rule usable = nullptr,
                              clock::duration share_window = default_share_window)
      : open_(std::move(open)), usable_(std::move(usable)), share_window_(share_window) {}

  // The connection for a stream starting at `now`: the newest one if it was opened within the
  // share window, something still holds it and it is usable, else a new one. The pool does not
  // keep connections alive by itself. Thread-safe.
  std::shared_ptr<Connection> for_stream(clock::time_point now = clock::now()) {
    std::lock_guard lock(mutex_);
    if (auto newest = newest_.lock(); newest && now - newest_opened_ < share_window_ && (!usable_ || usable_(*newest)))
      return newest;
    auto connection = open_();
    if (connection) {
      newest_ = connection;
      newest_opened_ = now;
      ++opened_;
    }
    return connection;
  }

  // Connections opened so far.
  std::uint64_t opened() const {
    std::lock_guard lock(mutex_);
    return opened_;
  }

 private:
  opener open_;
  usable_rule usable_;
  clock::duration share_window_;
  mutable std::mutex mutex_;
  std::weak_ptr<Connection> newest_;
  clock::time_point newest_opened_{};
  std::uint64_t opened_ = 0;
};

}  // namespace s2s::rpc
