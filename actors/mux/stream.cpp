// The stream role: one yamux stream as an HTTP/2 connection's byte transport.
#include "actors/mux/stream.hpp"

#include <utility>

namespace s2s::actors {
namespace {

// Half-closes the stream after the data before it, once; nothing when the stream is gone.
void finish(mux_stream_state& state) {
  auto* session = std::exchange(state.session, nullptr);
  if (session && session->close(state.id, yamux::clock::now()) && state.output_queued)
    state.output_queued();
}

class stream_transport final : public byte_transport {
 public:
  stream_transport(net::event_loop& loop, std::shared_ptr<mux_stream_state> state)
      : loop_(loop), state_(std::move(state)) {}

  ~stream_transport() override {
    loop_.run_or_post([state = std::move(state_)] { finish(*state); });
  }

  int fd() const override { return -1; }

  void started(const std::shared_ptr<h2_connection>& connection) override { state_->connection = connection; }

  bool read(const read_sink& sink, std::string& problem) override {
    auto* session = state_->session;
    if (!session) {
      problem = "the mux stream is over";
      return false;
    }
    // All that is buffered: the stream's window bounds it, and no readable event comes for
    // bytes left behind.
    for (auto data = session->readable(state_->id); !data.empty(); data = session->readable(state_->id)) {
      bool more = sink(data);
      session->consume(state_->id, data.size());
      if (!more)
        break;
    }
    return !state_->remote_closed;
  }

  std::ptrdiff_t write(std::span<const std::uint8_t> bytes, std::string& problem) override {
    auto* session = state_->session;
    if (!session) {
      problem = "the mux stream is over";
      return -1;
    }
    auto taken = session->write(state_->id, bytes);
    if (taken > 0 && state_->output_queued)
      state_->output_queued();
    return static_cast<std::ptrdiff_t>(taken);
  }

 private:
  net::event_loop& loop_;
  std::shared_ptr<mux_stream_state> state_;
};

}  // namespace

std::unique_ptr<byte_transport> mux_stream_transport(net::event_loop& loop, std::shared_ptr<mux_stream_state> state) {
  return std::make_unique<stream_transport>(loop, std::move(state));
}

}  // namespace s2s::actors
