// TLS under an HTTP/2 connection: a sans-I/O TLS session between the socket and the HTTP/2 core.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "actors/h2/connection.hpp"
#include "tls/session.hpp"

namespace s2s::actors {
namespace {

// Ciphertext the session may hold unwritten before the transport takes no more plaintext.
constexpr std::size_t ciphertext_backlog = 256 * 1024;
constexpr std::size_t read_per_turn = 256 * 1024;

class tls_over_socket final : public byte_transport {
 public:
  tls_over_socket(net::unique_fd fd, std::unique_ptr<tls::session> session)
      : fd_(std::move(fd)), session_(std::move(session)) {}
  int fd() const override { return fd_.get(); }

  bool read(const read_sink& sink, std::string& problem) override {
    std::size_t taken = 0;
    bool open = true;
    while (taken < read_per_turn) {
      auto* buffer = transport_read_buffer();
      auto n = ::recv(fd_.get(), buffer, transport_read_bytes, 0);
      if (n > 0) {
        session_->receive({buffer, static_cast<std::size_t>(n)});
        taken += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) {
        open = false;
        break;
      }
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        problem = std::strerror(errno);
        open = false;
      }
      break;
    }
    auto plain = session_->take_received();
    if (!plain.empty() && !sink(plain))
      return true;
    // Handshake replies, alerts.
    std::string flush_problem;
    flush(flush_problem);
    if (auto& failure = session_->failure()) {
      problem = "TLS: " + *failure;
      return false;
    }
    if (session_->peer_closed())
      return false;
    return open;
  }

  std::ptrdiff_t write(std::span<const std::uint8_t> bytes, std::string& problem) override {
    if (auto& failure = session_->failure()) {
      problem = "TLS: " + *failure;
      return -1;
    }
    if (session_->pending_output().size() + session_->unsent_plaintext() >= ciphertext_backlog)
      return 0;
    session_->send(bytes);
    if (!flush(problem) && !problem.empty())
      return -1;
    return static_cast<std::ptrdiff_t>(bytes.size());
  }

  bool flush(std::string& problem) override {
    for (;;) {
      auto out = session_->pending_output();
      if (out.empty())
        return true;
      auto n = ::send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        session_->consume_output(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return false;
      problem = std::strerror(errno);
      return false;
    }
  }

  bool established() const override { return session_->handshake_done(); }

 private:
  net::unique_fd fd_;
  std::unique_ptr<tls::session> session_;
};

}  // namespace

std::unique_ptr<byte_transport> tls_transport(net::unique_fd fd, std::unique_ptr<tls::session> session) {
  return std::make_unique<tls_over_socket>(std::move(fd), std::move(session));
}

}  // namespace s2s::actors
