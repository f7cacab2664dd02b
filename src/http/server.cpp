// A small HTTP/1.1 server for operators' endpoints: one thread, poll, GET only, bounded requests.
#include "http/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>

#include "log/log.hpp"
#include "net/socket.hpp"
#include "sys/thread_name.hpp"

namespace s2s::http {
namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string render(const response& answer, bool with_body) {
  std::string out =
      "HTTP/1.1 " + std::to_string(answer.status) + " " + std::string(reason_phrase(answer.status)) + "\r\n";
  out += "Content-Type: " + answer.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(answer.body.size()) + "\r\n";
  if (answer.status == 405)
    out += "Allow: GET, HEAD\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (with_body)
    out += answer.body;
  return out;
}

// One accepted connection: it sends one request, gets one answer, and is closed.
struct client {
  int fd = -1;
  std::string request;
  std::string reply;
  std::size_t written = 0;
  std::chrono::steady_clock::time_point accepted;
};

}  // namespace

std::variant<std::unique_ptr<server>, std::string> server::start(const config::address& address, handler handle,
                                                                 std::string name, std::string thread_name) {
  auto listening = net::listen_tcp(address, 64);
  if (auto* problem = std::get_if<std::string>(&listening))
    return name + ": cannot listen on " + address.to_string() + ": " + *problem;
  auto& bound = std::get<net::listening_socket>(listening);
  int port = bound.port;
  int fd = bound.fd.release();
  return std::unique_ptr<server>(new server(fd, port, std::move(handle), std::move(name), thread_name));
}

server::server(int listen_fd, int port, handler handle, std::string name, const std::string& thread_name)
    : listen_fd_(listen_fd), port_(port), handle_(std::move(handle)), name_(std::move(name)) {
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_read_ = wake[0];
    wake_write_ = wake[1];
  }
  thread_ = std::thread([this, thread_name] {
    sys::name_this_thread(thread_name);
    run();
  });
}

server::~server() {
  if (wake_write_ >= 0) {
    char stop = 0;
    [[maybe_unused]] auto ignored = ::write(wake_write_, &stop, 1);
  }
  if (thread_.joinable())
    thread_.join();
  ::close(listen_fd_);
  if (wake_read_ >= 0)
    ::close(wake_read_);
  if (wake_write_ >= 0)
    ::close(wake_write_);
}

void server::run() {
  std::list<client> clients;
  auto answer = [this](client& peer) {
    response result;
    auto line_end = peer.request.find("\r\n");
    auto line = std::string_view(peer.request).substr(0, line_end);
    auto first_space = line.find(' ');
    auto second_space = first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
    bool head = false;
    if (second_space == std::string_view::npos || !line.substr(second_space + 1).starts_with("HTTP/1.")) {
      result = {400, "text/plain; charset=utf-8", "malformed request line\n"};
    } else {
      auto method = line.substr(0, first_space);
      auto target = line.substr(first_space + 1, second_space - first_space - 1);
      head = method == "HEAD";
      if (method != "GET" && !head) {
        result = {405, "text/plain; charset=utf-8", "only GET is served here\n"};
      } else {
        auto path = target.substr(0, target.find('?'));
        try {
          result = handle_(path);
        } catch (const std::exception& e) {
          log::error(name_, std::string("request for a path failed: ") + e.what());
          result = {500, "text/plain; charset=utf-8", "internal error\n"};
        }
      }
    }
    peer.reply = render(result, !head);
  };

  for (;;) {
    std::vector<pollfd> watched;
    watched.push_back({wake_read_, POLLIN, 0});
    watched.push_back({listen_fd_, static_cast<short>(clients.size() < max_clients ? POLLIN : 0), 0});
    for (const auto& peer : clients)
      watched.push_back({peer.fd, static_cast<short>(peer.reply.empty() ? POLLIN : POLLOUT), 0});
    int ready = ::poll(watched.data(), watched.size(), 1000);
    if (ready < 0 && errno != EINTR) {
      log::error(name_, std::string("poll failed: ") + std::strerror(errno));
      break;
    }
    if (watched[0].revents != 0)
      break;
    auto now = std::chrono::steady_clock::now();
    std::size_t index = 2;
    for (auto peer = clients.begin(); peer != clients.end(); ++index) {
      auto events = watched[index].revents;
      bool done = false;
      if (events & (POLLIN | POLLHUP | POLLERR)) {
        if (peer->reply.empty()) {
          char buffer[2048];
          auto got = ::recv(peer->fd, buffer, sizeof buffer, 0);
          if (got <= 0) {
            done = got == 0 || (errno != EAGAIN && errno != EINTR);
          } else {
            peer->request.append(buffer, static_cast<std::size_t>(got));
            if (peer->request.find("\r\n\r\n") != std::string::npos)
              answer(*peer);
            else if (peer->request.size() > max_request_bytes)
              peer->reply = render({431, "text/plain; charset=utf-8", "request too large\n"}, true);
          }
        } else {
          done = true;
        }
      }
      if (!done && (events & POLLOUT) && !peer->reply.empty()) {
        auto sent =
            ::send(peer->fd, peer->reply.data() + peer->written, peer->reply.size() - peer->written, MSG_NOSIGNAL);
        if (sent > 0)
          peer->written += static_cast<std::size_t>(sent);
        done = (sent < 0 && errno != EAGAIN && errno != EINTR) || peer->written == peer->reply.size();
      }
      if (now - peer->accepted > std::chrono::milliseconds(client_timeout_ms))
        done = true;
      if (done) {
        ::close(peer->fd);
        peer = clients.erase(peer);
      } else {
        ++peer;
      }
    }
    if (watched[1].revents & POLLIN) {
      while (clients.size() < max_clients) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
          break;
        clients.push_back({fd, {}, {}, 0, now});
      }
    }
  }
  for (auto& peer : clients)
    ::close(peer.fd);
}

}  // namespace s2s::http
