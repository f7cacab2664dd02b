// The small HTTP server: GET only, bounded requests, one answer per connection, clean stop.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/server.hpp"

namespace s2s::testing {
namespace {

std::unique_ptr<http::server> start_echo_paths(std::atomic<int>* served = nullptr) {
  auto started = http::server::start(
      {"127.0.0.1", 0},
      [served](std::string_view path) {
        if (served)
          ++*served;
        if (path == "/missing")
          return http::response{404, "text/plain", "no\n"};
        return http::response{200, "text/plain", "path=" + std::string(path)};
      },
      "test", "test-http");
  if (auto* problem = std::get_if<std::string>(&started))
    ADD_FAILURE() << *problem;
  return std::move(std::get<std::unique_ptr<http::server>>(started));
}

TEST(HttpServer, AnswersGetWithTheHandlersStatusAndBodyWithoutTheQuery) {
  auto server = start_echo_paths();
  ASSERT_GT(server->port(), 0);
  auto reply = http_get(server->port(), "/some/where?x=1");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "path=/some/where");
  EXPECT_NE(reply->headers.find("Content-Length: 16"), std::string::npos) << reply->headers;
  auto missing = http_get(server->port(), "/missing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(HttpServer, HeadGetsTheHeadersOnly) {
  auto server = start_echo_paths();
  auto reply = http_exchange(server->port(), "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "");
  EXPECT_NE(reply->headers.find("Content-Length: 7"), std::string::npos);
}

TEST(HttpServer, RefusesOtherMethodsMalformedAndOversizedRequests) {
  std::atomic<int> served = 0;
  auto server = start_echo_paths(&served);
  auto post = http_exchange(server->port(), "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_NE(post->headers.find("Allow: GET"), std::string::npos);
  auto garbage = http_exchange(server->port(), "hello\r\n\r\n");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400);
  // Headers that never end are cut off at the bound instead of buffered forever.
  auto huge = http_exchange(server->port(), "GET /x HTTP/1.1\r\nX-Long: " + std::string(20000, 'a'));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 431);
  EXPECT_EQ(served, 0);
}

TEST(HttpServer, ServesManyClientsAtOnceWhileOneStallsWithoutARequest) {
  auto server = start_echo_paths();
  // A client that connects and says nothing must not block the others.
  int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<std::uint16_t>(server->port()));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&target), sizeof target), 0);
  std::vector<std::future<int>> replies;
  for (int i = 0; i < 20; ++i)
    replies.push_back(std::async(std::launch::async, [&, i] {
      auto reply = http_get(server->port(), "/n" + std::to_string(i));
      return reply && reply->body == "path=/n" + std::to_string(i) ? reply->status : -1;
    }));
  for (auto& reply : replies)
    EXPECT_EQ(reply.get(), 200);
  ::close(idle);
}

TEST(HttpServer, ATakenAddressIsAnErrorThatNamesIt) {
  auto first = start_echo_paths();
  auto second = http::server::start(
      {"127.0.0.1", static_cast<std::uint16_t>(first->port())}, [](std::string_view) { return http::response{}; },
      "second", "test-http");
  auto* problem = std::get_if<std::string>(&second);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("second: cannot listen on 127.0.0.1:" + std::to_string(first->port())), std::string::npos)
      << *problem;
}

TEST(HttpServer, StopsPromptlyAndReleasesItsPort) {
  int port = 0;
  {
    auto server = start_echo_paths();
    port = server->port();
    ASSERT_TRUE(http_get(port, "/"));
  }
  EXPECT_FALSE(http_get(port, "/", std::chrono::milliseconds(500)));
}

}  // namespace
}  // namespace s2s::testing
