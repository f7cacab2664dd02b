// The TCP-mode proxy end to end: real gRPC clients and echo servers on loopback, the proxy between.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using v1::EchoRequest;
using v1::EchoService;
using namespace std::chrono_literals;

// Two echo servers standing in for cluster A's and B's frontends, and the proxy between them.
class TcpProxy : public ::testing::Test {
 protected:
  echo_server cluster_a;
  echo_server cluster_b;

  config::config make_config() {
    config::config config;
    config.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a.port(), cluster_b.port()));
    return config;
  }

  std::unique_ptr<EchoService::Stub> stub(const std::string& target) {
    return EchoService::NewStub(make_channel(target));
  }
};

TEST_F(TcpProxy, PayloadsFromEmptyToSixteenMebibytesArriveByteIdentical) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  for (std::size_t size : {0ul, 1ul, 1024ul, 65536ul, 1ul << 20, 16ul << 20}) {
    auto payload = pattern_payload(size);
    auto result = call_unary(*outbound, echo(payload));
    ASSERT_TRUE(result.status.ok()) << size << ": " << result.status.error_message();
    ASSERT_EQ(result.responses.size(), 1u);
    EXPECT_EQ(result.responses[0].payload(), payload) << "size " << size;
  }
}

TEST_F(TcpProxy, MessagesOfExactlyOneHundredTwentyEightMebibytesPassBothWays) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  // A request whose serialized size is exactly 128 MiB: the payload's tag and 4 length bytes,
  // and 2 bytes for response_bytes = 1.
  auto big = pattern_payload(rpc::max_message_bytes - 7);
  auto request = echo(big);
  request.set_response_bytes(1);
  ASSERT_EQ(request.ByteSizeLong(), static_cast<std::size_t>(rpc::max_message_bytes));
  call_options slow;
  slow.timeout = 120s;
  auto upload = call_unary(*outbound, request, slow);
  ASSERT_TRUE(upload.status.ok()) << upload.status.error_message();

  EchoRequest download;
  download.set_response_bytes(rpc::max_message_bytes - 4096);
  auto result = call_unary(*outbound, download, slow);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_TRUE(result.responses[0].payload() == pattern_payload(rpc::max_message_bytes - 4096));
}

TEST_F(TcpProxy, AMessageOverTheLimitIsRefusedWithResourceExhaustedAndTheProxyKeepsServing) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  auto request = echo(pattern_payload(rpc::max_message_bytes));  // 128 MiB + 5 serialized
  call_options slow;
  slow.timeout = 120s;
  auto result = call_unary(*outbound, request, slow);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << result.status.error_message();
  EXPECT_EQ(cluster_b.calls().started(), 0u);
  auto after = call_unary(*outbound, echo("still here"));
  ASSERT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.responses[0].payload(), "still here");
}

TEST_F(TcpProxy, EachStreamingKindPassesEveryMessageInOrder) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));

  std::vector<EchoRequest> parts = {echo("alpha-"), echo(pattern_payload(100000)), echo("-omega")};
  auto client_stream = call_client_stream(*outbound, parts);
  ASSERT_TRUE(client_stream.status.ok()) << client_stream.status.error_message();
  ASSERT_EQ(client_stream.responses.size(), 1u);
  EXPECT_EQ(client_stream.responses[0].payload(), "alpha-" + pattern_payload(100000) + "-omega");
  EXPECT_EQ(client_stream.responses[0].requests_received(), 3u);

  auto fan_out = echo("tick");
  fan_out.set_stream_count(25);
  auto server_stream = call_server_stream(*outbound, fan_out);
  ASSERT_TRUE(server_stream.status.ok()) << server_stream.status.error_message();
  ASSERT_EQ(server_stream.responses.size(), 25u);
  for (std::uint32_t i = 0; i < 25; ++i) {
    EXPECT_EQ(server_stream.responses[i].sequence(), i);
    EXPECT_EQ(server_stream.responses[i].payload(), "tick");
  }

  std::vector<EchoRequest> conversation;
  for (int i = 0; i < 50; ++i)
    conversation.push_back(echo(pattern_payload(static_cast<std::size_t>(i) * 997)));
  auto bidi = call_bidi(*outbound, conversation);
  ASSERT_TRUE(bidi.status.ok()) << bidi.status.error_message();
  ASSERT_EQ(bidi.responses.size(), conversation.size());
  for (std::size_t i = 0; i < conversation.size(); ++i)
    EXPECT_EQ(bidi.responses[i].payload(), conversation[i].payload()) << "message " << i;
}

// Bursts of small messages are where the proxy lets grpc coalesce its writes; a call's first
// write carries its headers, and a burst must never leave them (and so the whole call) waiting.
TEST_F(TcpProxy, BurstsOfSmallMessagesArriveWholeOnFreshConnections) {
  proxy_process proxy(make_config());
  call_options bounded;
  bounded.timeout = std::chrono::seconds(10);
  for (int round = 0; round < 20; ++round) {
    auto outbound = stub(proxy.address("a-to-b outbound"));  // a new HTTP/2 connection each round
    auto fan_out = echo("burst");
    fan_out.set_stream_count(50);
    auto server_stream = call_server_stream(*outbound, fan_out, bounded);
    ASSERT_TRUE(server_stream.status.ok()) << "round " << round << ": " << server_stream.status.error_message();
    ASSERT_EQ(server_stream.responses.size(), 50u);
    for (std::uint32_t i = 0; i < 50; ++i)
      ASSERT_EQ(server_stream.responses[i].sequence(), i);

    // Every request written before any echo is read: a burst toward the upstream.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto bidi = outbound->Bidi(&context);
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(bidi->Write(echo("m" + std::to_string(i))));
    ASSERT_TRUE(bidi->WritesDone());
    v1::EchoResponse response;
    int echoed = 0;
    while (bidi->Read(&response))
      ASSERT_EQ(response.payload(), "m" + std::to_string(echoed++));
    auto status = bidi->Finish();
    ASSERT_TRUE(status.ok()) << "round " << round << ": " << status.error_message();
    ASSERT_EQ(echoed, 50);
  }
}

TEST_F(TcpProxy, InboundCallsReachTheLocalFrontend) {
  proxy_process proxy(make_config());
  auto inbound = stub(proxy.address("a-to-b inbound"));
  auto result = call_unary(*inbound, echo("to cluster a"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(cluster_a.calls().started(), 1u);
  EXPECT_EQ(cluster_b.calls().started(), 0u);
}

TEST_F(TcpProxy, MetadataPassesBothWaysIncludingBinaryHeaders) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  std::string binary("\x00\x01\xfe\xff zero and high bytes", 24);
  call_options options;
  options.metadata = {{"temporal-client-cluster-id", "7"},
                      {"x-echo-token", "abc"},
                      {"x-echo-blob-bin", binary},
                      {"x-trailer-note", "the end"}};
  auto result = call_unary(*outbound, echo("m"), options);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();

  std::map<std::string, std::string> seen;
  for (const auto& entry : result.responses[0].request_metadata())
    seen[entry.key()] = entry.value();
  EXPECT_EQ(seen["temporal-client-cluster-id"], "7");
  EXPECT_EQ(seen["x-echo-token"], "abc");
  EXPECT_EQ(seen["x-echo-blob-bin"], binary);

  auto initial = result.initial_metadata.find("x-echo-blob-bin");
  ASSERT_NE(initial, result.initial_metadata.end());
  EXPECT_EQ(initial->second, binary);
  EXPECT_EQ(result.initial_metadata.count("x-echo-token"), 1u);
  auto trailer = result.trailing_metadata.find("x-trailer-note");
  ASSERT_NE(trailer, result.trailing_metadata.end());
  EXPECT_EQ(trailer->second, "the end");
}

TEST_F(TcpProxy, StatusMessageAndDetailsComeBackUnchanged) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  auto request = echo("");
  request.mutable_error()->set_code(grpc::StatusCode::FAILED_PRECONDITION);
  request.mutable_error()->set_message("namespace is not active here");
  request.mutable_error()->set_details(std::string("\x08\x09\x12\x03xyz", 7));
  for (auto* kind : {"unary", "bidi"}) {
    auto result = std::string(kind) == "unary" ? call_unary(*outbound, request) : call_bidi(*outbound, {request});
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << kind;
    EXPECT_EQ(result.status.error_message(), "namespace is not active here") << kind;
    EXPECT_EQ(result.status.error_details(), request.error().details()) << kind;
  }
}

TEST_F(TcpProxy, TheCallersDeadlineReachesTheUpstreamAndASlowUpstreamExceedsIt) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  call_options options;
  options.timeout = 5s;
  auto quick = call_unary(*outbound, echo("q"), options);
  ASSERT_TRUE(quick.status.ok());
  auto remaining = quick.responses[0].deadline_remaining_ms();
  EXPECT_GT(remaining, 0);
  EXPECT_LE(remaining, 5100);  // grpc-timeout on the wire is rounded up a little

  auto slow = echo("slow");
  slow.set_delay_ms(3000);
  options.timeout = 300ms;
  auto result = call_unary(*outbound, slow, options);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The upstream call ends too instead of running on.
  EXPECT_TRUE(cluster_b.calls().wait_for_idle(5s));
}

TEST_F(TcpProxy, ACallerCancellingCancelsTheUpstreamCall) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  auto slow = echo("wait");
  slow.set_delay_ms(10000);
  call_options options;
  options.cancel_when = [&] { ASSERT_TRUE(cluster_b.calls().wait_for_in_flight(1, 5s)); };
  auto result = call_unary(*outbound, slow, options);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(cluster_b.calls().wait_for_cancelled(1, 5s));
  EXPECT_TRUE(cluster_b.calls().wait_for_idle(5s));
}

TEST_F(TcpProxy, AnUpstreamThatCancelsCancelsTheCaller) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  auto request = echo("x");
  request.set_delay_ms(10000);
  request.mutable_server_cancel()->set_after_ms(100);
  for (auto* kind : {"unary", "bidi"}) {
    auto result = std::string(kind) == "unary" ? call_unary(*outbound, request) : call_bidi(*outbound, {request});
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED) << kind;
  }
}

TEST_F(TcpProxy, TwoHundredConcurrentCallsAllComplete) {
  proxy_process proxy(make_config());
  auto channel = make_channel(proxy.address("a-to-b outbound"));
  auto outbound = EchoService::NewStub(channel);
  std::vector<std::future<call_result>> calls;
  for (int i = 0; i < 200; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      auto request = echo("call-" + std::to_string(i));
      request.set_delay_ms(300);  // keeps them in flight together
      call_options options;
      options.timeout = 60s;
      return call_unary(*outbound, request, options);
    }));
  }
  for (int i = 0; i < 200; ++i) {
    auto result = calls[i].get();
    ASSERT_TRUE(result.status.ok()) << i << ": " << result.status.error_message();
    EXPECT_EQ(result.responses[0].payload(), "call-" + std::to_string(i));
  }
  EXPECT_EQ(cluster_b.calls().started(), 200u);
}

// The upstream answering (or failing) while the caller still sends races the proxy's half-close
// of the upstream call against that call's end. Many such calls at once, on several threads,
// each get their own status, and the proxy serves on.
TEST_F(TcpProxy, UpstreamsThatAnswerBeforeTheCallerHalfClosesEndEachCallCleanly) {
  proxy_process proxy(make_config());
  auto outbound = stub(proxy.address("a-to-b outbound"));
  constexpr int threads = 4, rounds = 250;
  std::vector<std::future<std::string>> workers;
  for (int t = 0; t < threads; ++t) {
    workers.push_back(std::async(std::launch::async, [&, t]() -> std::string {
      for (int i = 0; i < rounds; ++i) {
        if ((i + t) % 2 == 0) {
          // Bidi: the first request makes the upstream end the call; the caller writes on.
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + 20s);
          auto stream = outbound->Bidi(&context);
          auto failing = echo("fail");
          failing.mutable_error()->set_code(grpc::StatusCode::FAILED_PRECONDITION);
          failing.mutable_error()->set_message("refused at once");
          stream->Write(failing);
          for (int more = 0; more < 3; ++more)
            stream->Write(echo("after"));
          stream->WritesDone();
          v1::EchoResponse ignored;
          while (stream->Read(&ignored)) {
          }
          auto status = stream->Finish();
          if (status.error_code() != grpc::StatusCode::FAILED_PRECONDITION ||
              status.error_message() != "refused at once")
            return "bidi " + std::to_string(i) + ": " + std::to_string(status.error_code()) + " " +
                   status.error_message();
        } else {
          auto result = call_unary(*outbound, echo("unary-" + std::to_string(i)));
          if (!result.status.ok() || result.responses[0].payload() != "unary-" + std::to_string(i))
            return "unary " + std::to_string(i) + ": " + result.status.error_message();
        }
      }
      return "";
    }));
  }
  for (auto& worker : workers)
    EXPECT_EQ(worker.get(), "");
  auto after = call_unary(*outbound, echo("still serving"));
  ASSERT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.responses[0].payload(), "still serving");
}

TEST_F(TcpProxy, MethodsTheProxyHasNeverSeenAreForwardedToo) {
  proxy_process proxy(make_config());
  grpc::GenericStub generic(make_channel(proxy.address("a-to-b outbound")));
  grpc::ClientContext context;
  grpc::Slice body(std::string("opaque request bytes"));
  grpc::ByteBuffer request(&body, 1), response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&context, "/temporal.server.api.adminservice.v1.AdminService/SomeFutureMethod", grpc::StubOptions(),
                    &request, &response, [&](grpc::Status status) { done.set_value(status); });
  auto status = done.get_future().get();
  // The echo server does not implement it: its own UNIMPLEMENTED comes back through the proxy.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(TcpProxy, AnUnreachableUpstreamGivesUnavailable) {
  int closed_port;
  {
    echo_server gone;
    closed_port = gone.port();
  }
  config::config config;
  config.cluster_connections.push_back(tcp_connection("a-to-b", cluster_a.port(), closed_port));
  proxy_process proxy(config);
  auto outbound = stub(proxy.address("a-to-b outbound"));
  auto result = call_unary(*outbound, echo("anyone?"));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TcpProxy, TwoClusterConnectionsInOneProcessRouteSideBySide) {
  echo_server cluster_c;
  auto config = make_config();
  config.cluster_connections.push_back(tcp_connection("a-to-c", cluster_a.port(), cluster_c.port()));
  proxy_process proxy(config);
  auto to_b = stub(proxy.address("a-to-b outbound"));
  auto to_c = stub(proxy.address("a-to-c outbound"));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(call_unary(*to_b, echo("b")).status.ok());
  ASSERT_TRUE(call_unary(*to_c, echo("c")).status.ok());
  EXPECT_EQ(cluster_b.calls().started(), 3u);
  EXPECT_EQ(cluster_c.calls().started(), 1u);
  auto from_c = stub(proxy.address("a-to-c inbound"));
  ASSERT_TRUE(call_unary(*from_c, echo("a")).status.ok());
  EXPECT_EQ(cluster_a.calls().started(), 1u);
}

// TLS on both hops, with certificates made for the test.
class TcpProxyTls : public ::testing::Test {
 protected:
  temp_dir scratch;
  test_certificates certs = make_test_certificates(scratch.path());

  config::tls_config server_tls(bool verify_clients) {
    config::tls_config tls;
    tls.certificate_path = certs.trusted.server.certificate;
    tls.key_path = certs.trusted.server.private_key;
    if (verify_clients)
      tls.remote_ca_path = certs.trusted.ca_certificate;
    return tls;
  }

  client_tls_files client(const authority_files* identity) {
    client_tls_files files;
    files.root_ca = certs.trusted.ca_certificate;
    files.server_name_override = test_certificates::server_name;
    if (identity) {
      files.certificate_chain = identity->client.certificate;
      files.private_key = identity->client.private_key;
    }
    return files;
  }

  static grpc::Status call_through(const std::string& address, const client_tls_files& tls) {
    auto stub = EchoService::NewStub(make_channel(address, tls));
    call_options options;
    options.timeout = 5s;
    return call_unary(*stub, echo("secret"), options).status;
  }
};

TEST_F(TcpProxyTls, AClientVerifiesTheProxysCertificate) {
  echo_server cluster_a, cluster_b;
  config::config config;
  config.cluster_connections.push_back(tcp_connection("tls", cluster_a.port(), cluster_b.port()));
  config.cluster_connections[0].local.tcp_server->tls = server_tls(false);
  proxy_process proxy(config);
  EXPECT_TRUE(call_through(proxy.address("tls outbound"), client(nullptr)).ok());
}

TEST_F(TcpProxyTls, MutualTlsAcceptsOnlyClientsWithACertificateFromTheConfiguredCa) {
  echo_server cluster_a, cluster_b;
  config::config config;
  config.cluster_connections.push_back(tcp_connection("mtls", cluster_a.port(), cluster_b.port()));
  config.cluster_connections[0].local.tcp_server->tls = server_tls(true);
  proxy_process proxy(config);
  auto address = proxy.address("mtls outbound");

  auto trusted = call_through(address, client(&certs.trusted));
  EXPECT_TRUE(trusted.ok()) << trusted.error_message();
  auto anonymous = call_through(address, client(nullptr));
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAVAILABLE) << anonymous.error_message();
  auto stranger = call_through(address, client(&certs.untrusted));
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::UNAVAILABLE) << stranger.error_message();
  EXPECT_EQ(cluster_b.calls().started(), 1u);
}

TEST_F(TcpProxyTls, TheProxyPresentsItsCertificateAndVerifiesTheUpstreamsName) {
  echo_server cluster_a;
  echo_server cluster_b({server_tls_files{certs.trusted.server.certificate, certs.trusted.server.private_key,
                                          certs.trusted.ca_certificate}});
  config::tls_config upstream_tls;
  upstream_tls.certificate_path = certs.trusted.client.certificate;
  upstream_tls.key_path = certs.trusted.client.private_key;
  upstream_tls.remote_ca_path = certs.trusted.ca_certificate;
  upstream_tls.ca_server_name = test_certificates::server_name;

  config::config config;
  config.cluster_connections.push_back(tcp_connection("right-name", cluster_a.port(), cluster_b.port()));
  config.cluster_connections[0].remote.tcp_client->tls = upstream_tls;
  upstream_tls.ca_server_name = "someone-else";
  config.cluster_connections.push_back(tcp_connection("wrong-name", cluster_a.port(), cluster_b.port()));
  config.cluster_connections[1].remote.tcp_client->tls = upstream_tls;
  proxy_process proxy(config);

  auto stub = EchoService::NewStub(make_channel(proxy.address("right-name outbound")));
  auto good = call_unary(*stub, echo("over mtls"));
  ASSERT_TRUE(good.status.ok()) << good.status.error_message();
  EXPECT_EQ(good.responses[0].payload(), "over mtls");

  auto wrong = EchoService::NewStub(make_channel(proxy.address("wrong-name outbound")));
  EXPECT_EQ(call_unary(*wrong, echo("x")).status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(cluster_b.calls().started(), 1u);
}

// Fails the call actor of any call whose request payload is "fail-me".
class failing_messages : public actors::message_filter {
 public:
  grpc::Status on_request(grpc::ByteBuffer& message) override {
    std::vector<grpc::Slice> slices;
    (void)message.Dump(&slices);
    std::string bytes;
    for (auto& slice : slices)
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    EchoRequest request;
    if (request.ParseFromString(bytes) && request.payload() == "fail-me")
      throw std::runtime_error("injected fault in the call actor");
    return grpc::Status::OK;
  }
};

class failing_filter : public actors::call_filter {
 public:
  decision start(const actors::call_info&) override { return {grpc::Status::OK, std::make_unique<failing_messages>()}; }
};

TEST_F(TcpProxy, AFailingCallActorEndsOnlyItsOwnCall) {
  actors::proxy_options options;
  options.filter = std::make_shared<failing_filter>();
  proxy_process proxy(make_config(), options);
  auto channel = make_channel(proxy.address("a-to-b outbound"));
  auto outbound = EchoService::NewStub(channel);

  std::vector<std::future<call_result>> healthy;
  for (int i = 0; i < 20; ++i) {
    healthy.push_back(std::async(std::launch::async, [&, i] {
      auto request = echo("healthy-" + std::to_string(i));
      request.set_delay_ms(1000);
      return call_unary(*outbound, request);
    }));
  }
  ASSERT_TRUE(cluster_b.calls().wait_for_in_flight(20, 10s));
  auto failed = call_unary(*outbound, echo("fail-me"));
  EXPECT_EQ(failed.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(failed.status.error_message(), "s2s-proxy: the call failed: injected fault in the call actor");
  for (int i = 0; i < 20; ++i) {
    auto result = healthy[i].get();
    ASSERT_TRUE(result.status.ok()) << i << ": " << result.status.error_message();
    EXPECT_EQ(result.responses[0].payload(), "healthy-" + std::to_string(i));
  }
  // The listener saw exactly one call actor fail, and goes on serving.
  caf::scoped_actor self{proxy.system()};
  actors::listener_stats stats;
  for (const auto& endpoint : proxy.report().endpoints)
    if (endpoint.name == "a-to-b outbound")
      self->request(endpoint.listener, 5s, actors::stats_atom::value)
          .receive([&](actors::listener_stats& s) { stats = s; }, [](caf::error&) {});
  EXPECT_EQ(stats.calls_failed, 1u);
  EXPECT_EQ(stats.calls_started, 21u);
  ASSERT_TRUE(call_unary(*outbound, echo("after")).status.ok());
}

const actors::endpoint_report* endpoint_named(const actors::proxy_report& report, const std::string& name) {
  for (const auto& endpoint : report.endpoints)
    if (endpoint.name == name)
      return &endpoint;
  return nullptr;
}

TEST_F(TcpProxy, AKilledListenerIsRestartedAndCountedOnceWhileTheOtherSideServesOn) {
  proxy_process proxy(make_config());
  auto before = proxy.report();
  const auto* outbound = endpoint_named(before, "a-to-b outbound");
  const auto* inbound = endpoint_named(before, "a-to-b inbound");
  ASSERT_TRUE(outbound && inbound);
  EXPECT_EQ(before.listener_restarts, 0u);
  EXPECT_EQ(before.listener_failures, 0u);
  auto killed = outbound->listener;
  auto untouched = inbound->listener;
  caf::anon_send_exit(killed, caf::exit_reason::kill);

  // The supervisor brings it back after its first backoff delay; poll the report until it has.
  actors::proxy_report after;
  for (int i = 0; i < 200; ++i) {
    after = proxy.report();
    const auto* now = endpoint_named(after, "a-to-b outbound");
    if (now && now->listener != killed && after.listener_restarts > 0)
      break;
    std::this_thread::sleep_for(50ms);
  }
  const auto* restarted = endpoint_named(after, "a-to-b outbound");
  ASSERT_TRUE(restarted);
  ASSERT_NE(restarted->listener, killed) << "the listener was not restarted";
  EXPECT_FALSE(restarted->given_up);
  EXPECT_EQ(after.listener_restarts, 1u);
  EXPECT_EQ(after.listener_failures, 1u);
  EXPECT_EQ(endpoint_named(after, "a-to-b inbound")->listener, untouched);

  auto restarted_stub = stub("127.0.0.1:" + std::to_string(restarted->port));
  auto result = call_unary(*restarted_stub, echo("after a restart"));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.responses[0].payload(), "after a restart");
  auto inbound_stub = stub(proxy.address("a-to-b inbound"));
  EXPECT_TRUE(call_unary(*inbound_stub, echo("inbound")).status.ok());
}

TEST_F(TcpProxy, AListenPortAlreadyTakenIsAClearStartupError) {
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  int taken = ntohs(address.sin_port);

  auto config = make_config();
  config.cluster_connections[0].local.tcp_server = loopback(taken);
  auto problem = proxy_start_error(config);
  ::close(holder);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("a-to-b outbound: cannot listen on 127.0.0.1:" + std::to_string(taken)), std::string::npos)
      << *problem;
  EXPECT_NE(problem->find("in use"), std::string::npos) << *problem;
}

}  // namespace
}  // namespace s2s::testing
