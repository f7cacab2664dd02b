// The core against grpc++ over loopback TCP, both ways: a grpc++ client calls a server loop on the
// server-role core, and the client-role core calls grpc++'s echo server.
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "core_echo.hpp"
#include "socket_driver.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"

namespace s2s::http2::testing {
namespace {

using namespace std::chrono_literals;
namespace v1 = s2s::testing::v1;

// Accepts connections one after another and serves EchoService on each with the server core.
class core_server_loop {
 public:
  core_server_loop() : listener_(listen_loopback(port_)) {
    if (listener_ < 0)
      throw std::runtime_error("cannot listen on loopback");
    thread_ = std::thread([this] { run(); });
  }
  ~core_server_loop() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> requests{0};
  std::atomic<int> cancels{0};  // RST_STREAM(CANCEL) from the client

 private:
  void run() {
    for (int i = 0; i < 1000 && !stop_; ++i) {  // bounded: at most 1000 accept waits
      const int fd = accept_within(listener_, 50ms);
      if (fd < 0)
        continue;
      connection c(role::server);
      core_echo_server echo(c);
      drive(
          fd, c,
          [&](const event& e) {
            echo.on_event(e);
            requests = static_cast<int>(echo.requests.size());
            if (const auto* r = std::get_if<stream_reset>(&e); r && r->by_peer && r->code == error_code::cancel) {
              ++cancels;
            }
          },
          [&] { return stop_.load() || c.finished(); }, 60s);
      ::close(fd);
    }
  }

  int port_ = 0;
  int listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(GrpcInterop, GrpcClientUnaryToCoreServer) {
  core_server_loop server;
  auto stub = v1::EchoService::NewStub(s2s::testing::make_channel(server.address()));
  const auto result = s2s::testing::call_unary(*stub, s2s::testing::echo("hello core"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(result.responses[0].payload(), "hello core");
  EXPECT_GT(result.responses[0].deadline_remaining_ms(), 5000) << "grpc-timeout arrived from grpc++";
}

TEST(GrpcInterop, GrpcClientStreamingShapesToCoreServer) {
  core_server_loop server;
  auto stub = v1::EchoService::NewStub(s2s::testing::make_channel(server.address()));
  auto streamed = s2s::testing::echo("s");
  streamed.set_stream_count(4);
  const auto server_stream = s2s::testing::call_server_stream(*stub, streamed);
  ASSERT_TRUE(server_stream.status.ok()) << server_stream.status.error_message();
  EXPECT_EQ(server_stream.responses.size(), 4u);

  const auto client_stream = s2s::testing::call_client_stream(
      *stub, {s2s::testing::echo("a"), s2s::testing::echo("b"), s2s::testing::echo("c")});
  ASSERT_TRUE(client_stream.status.ok()) << client_stream.status.error_message();
  EXPECT_EQ(client_stream.responses.at(0).payload(), "abc");

  const auto bidi = s2s::testing::call_bidi(*stub, {s2s::testing::echo("x"), s2s::testing::echo("y")});
  ASSERT_TRUE(bidi.status.ok()) << bidi.status.error_message();
  ASSERT_EQ(bidi.responses.size(), 2u);
  EXPECT_EQ(bidi.responses[1].payload(), "y");
}

TEST(GrpcInterop, GrpcClientSeesTrailersOnlyErrorWithDetails) {
  core_server_loop server;
  auto stub = v1::EchoService::NewStub(s2s::testing::make_channel(server.address()));
  auto failing = s2s::testing::echo("x");
  failing.mutable_error()->set_code(grpc::StatusCode::NOT_FOUND);
  failing.mutable_error()->set_message("no such workflow: 100% sure");
  failing.mutable_error()->set_details(
      "\x08\x05\x12\x03"
      "abc");
  const auto result = s2s::testing::call_unary(*stub, failing);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(result.status.error_message(), "no such workflow: 100% sure");
  EXPECT_EQ(result.status.error_details(), failing.error().details());
}

TEST(GrpcInterop, GrpcClientCancelReachesCoreServerAsReset) {
  core_server_loop server;
  auto stub = v1::EchoService::NewStub(s2s::testing::make_channel(server.address()));
  // Bidi stays open until the client half-closes, so the cancel finds it running.
  grpc::ClientContext context;
  auto stream = stub->Bidi(&context);
  ASSERT_TRUE(stream->Write(s2s::testing::echo("first")));
  v1::EchoResponse response;
  ASSERT_TRUE(stream->Read(&response));
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  for (int i = 0; i < 500 && server.cancels == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server.cancels, 1);
}

TEST(GrpcInterop, GrpcClientLargeMessageToCoreServer) {
  core_server_loop server;
  auto stub = v1::EchoService::NewStub(s2s::testing::make_channel(server.address()));
  auto big = s2s::testing::echo(std::string(8 << 20, 'p'));
  const auto result = s2s::testing::call_unary(*stub, big);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.responses.at(0).payload().size(), 8u << 20);
}

// The client core on a socket to grpc++'s echo server, until the given calls are done.
struct core_client_session {
  explicit core_client_session(int port) : fd(connect_loopback(port)) {}
  ~core_client_session() {
    if (fd >= 0)
      ::close(fd);
  }
  bool run_until_done(const std::vector<stream_id>& ids) {
    return drive(
        fd, conn, [&](const event& e) { client.on_event(e); },
        [&] {
          for (const auto id : ids) {
            if (!client.done(id))
              return false;
          }
          return true;
        },
        20s);
  }
  int fd;
  connection conn{role::client};
  core_echo_client client{conn};
};

TEST(GrpcInterop, CoreClientUnaryToGrpcServer) {
  s2s::testing::echo_server server;
  core_client_session session(server.port());
  ASSERT_GE(session.fd, 0);
  const auto id = session.client.start("Unary", {s2s::testing::echo("from core")}, true, 3s,
                                       {{"x-echo-color", "blue"}, {"x-trailer-kind", "t"}});
  ASSERT_TRUE(session.run_until_done({id}));
  const auto& out = session.client.outcome(id);
  ASSERT_TRUE(out.result->ok()) << out.result->message;
  ASSERT_EQ(out.responses.size(), 1u);
  EXPECT_EQ(out.responses[0].payload(), "from core");
  EXPECT_GT(out.responses[0].deadline_remaining_ms(), 2000);
  EXPECT_LE(out.responses[0].deadline_remaining_ms(), 3000);
  EXPECT_EQ(find_header(out.response_headers, "x-echo-color"), "blue");
  EXPECT_EQ(find_header(out.trailers, "x-trailer-kind"), "t");
}

TEST(GrpcInterop, CoreClientStreamingShapesToGrpcServer) {
  s2s::testing::echo_server server;
  core_client_session session(server.port());
  ASSERT_GE(session.fd, 0);
  auto streamed = s2s::testing::echo("s");
  streamed.set_stream_count(3);
  const auto server_stream = session.client.start("ServerStream", {streamed});
  const auto client_stream = session.client.start("ClientStream", {s2s::testing::echo("1"), s2s::testing::echo("2")});
  const auto bidi = session.client.start("Bidi", {s2s::testing::echo("b1")}, false);
  ASSERT_TRUE(session.run_until_done({server_stream, client_stream}));
  EXPECT_EQ(session.client.outcome(server_stream).responses.size(), 3u);
  EXPECT_EQ(session.client.outcome(client_stream).responses.at(0).payload(), "12");

  // Bidi: the second message goes only after the first echo came back.
  ASSERT_TRUE(drive(
      session.fd, session.conn, [&](const event& e) { session.client.on_event(e); },
      [&] { return session.client.outcome(bidi).responses.size() == 1; }, 10s));
  session.client.send(bidi, s2s::testing::echo("b2"), true);
  ASSERT_TRUE(session.run_until_done({bidi}));
  const auto& out = session.client.outcome(bidi);
  ASSERT_TRUE(out.result->ok()) << out.result->message;
  ASSERT_EQ(out.responses.size(), 2u);
  EXPECT_EQ(out.responses[1].payload(), "b2");
}

TEST(GrpcInterop, CoreClientGetsGrpcServerErrorsAndCancels) {
  s2s::testing::echo_server server;
  core_client_session session(server.port());
  ASSERT_GE(session.fd, 0);
  auto failing = s2s::testing::echo("x");
  failing.mutable_error()->set_code(grpc::StatusCode::FAILED_PRECONDITION);
  failing.mutable_error()->set_message("shard 7 moved");
  failing.mutable_error()->set_details("detail-bytes");
  const auto id = session.client.start("Unary", {failing});
  ASSERT_TRUE(session.run_until_done({id}));
  const auto& out = session.client.outcome(id);
  EXPECT_EQ(out.result->code, status_code::failed_precondition);
  EXPECT_EQ(out.result->message, "shard 7 moved");
  EXPECT_EQ(find_header(out.trailers, "grpc-status-details-bin"), base64_encode("detail-bytes").substr(0, 16))
      << "grpc++ sends the details unpadded";

  // A cancel from the core reaches grpc++ as a cancelled call.
  auto slow = s2s::testing::echo("slow");
  slow.set_delay_ms(5000);
  const auto cancelled = session.client.start("Unary", {slow});
  ASSERT_TRUE(drive(
      session.fd, session.conn, [&](const event& e) { session.client.on_event(e); },
      [&] { return server.calls().in_flight() == 1; }, 5s));
  session.conn.reset(cancelled, error_code::cancel);
  ASSERT_TRUE(session.run_until_done({cancelled}));
  // The server's call ends at once, not after its 5 s delay: it saw the RST_STREAM.
  const auto reset_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(server.calls().wait_for_idle(4s));
  EXPECT_LT(std::chrono::steady_clock::now() - reset_at, 2s);
}

}  // namespace
}  // namespace s2s::http2::testing
