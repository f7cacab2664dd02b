// Pins the test-support pieces on their own: the echo service over loopback, certificates, TLS, helpers.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "support/certs.hpp"
#include "support/echo_client.hpp"
#include "support/echo_server.hpp"
#include "support/files.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

using namespace std::chrono_literals;
using v1::EchoRequest;
using v1::EchoResponse;
using v1::EchoService;

std::string only_value(const metadata_map& metadata, const std::string& key) {
  EXPECT_EQ(metadata.count(key), 1u) << key;
  auto found = metadata.find(key);
  return found == metadata.end() ? std::string() : found->second;
}

std::string received_value(const EchoResponse& response, const std::string& key) {
  for (const auto& entry : response.request_metadata())
    if (entry.key() == key)
      return entry.value();
  ADD_FAILURE() << "the server did not receive " << key;
  return {};
}

class echo_test : public ::testing::Test {
 protected:
  echo_server server;
  std::unique_ptr<EchoService::Stub> stub = EchoService::NewStub(make_channel(server.address()));
};

TEST_F(echo_test, unary_echoes_payload_and_reports_deadline) {
  auto result = call_unary(*stub, echo("hello"), {.timeout = 5s});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(result.responses[0].payload(), "hello");
  EXPECT_GT(result.responses[0].deadline_remaining_ms(), 3000);
  // grpc-timeout rounds up on the wire, so the server may see a few milliseconds more.
  EXPECT_LE(result.responses[0].deadline_remaining_ms(), 5100);
  ASSERT_TRUE(server.calls().last_deadline().has_value());
  EXPECT_EQ(server.calls().started(), 1u);
  EXPECT_TRUE(server.calls().wait_for_idle(5s));
}

TEST_F(echo_test, request_metadata_reaches_server_and_echo_keys_come_back_as_headers_and_trailers) {
  const std::string binary("\x00\x01\xfe\xff", 4);
  call_options options;
  options.metadata = {{"x-plain", "plain"},
                      {"x-plain-bin", binary},
                      {"x-echo-header", "header value"},
                      {"x-echo-header-bin", binary},
                      {"x-trailer-end", "trailer value"},
                      {"x-trailer-end-bin", binary}};
  auto result = call_unary(*stub, echo("m"), options);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  const auto& response = result.responses.at(0);
  EXPECT_EQ(received_value(response, "x-plain"), "plain");
  EXPECT_EQ(received_value(response, "x-plain-bin"), binary);
  EXPECT_EQ(received_value(response, "x-echo-header-bin"), binary);
  EXPECT_EQ(received_value(response, "x-trailer-end-bin"), binary);

  EXPECT_EQ(only_value(result.initial_metadata, "x-echo-header"), "header value");
  EXPECT_EQ(only_value(result.initial_metadata, "x-echo-header-bin"), binary);
  EXPECT_EQ(only_value(result.trailing_metadata, "x-trailer-end"), "trailer value");
  EXPECT_EQ(only_value(result.trailing_metadata, "x-trailer-end-bin"), binary);
  EXPECT_EQ(result.initial_metadata.count("x-trailer-end"), 0u);
  EXPECT_EQ(result.trailing_metadata.count("x-echo-header"), 0u);
  EXPECT_EQ(result.initial_metadata.count("x-plain"), 0u);
}

TEST_F(echo_test, response_bytes_asks_for_a_generated_payload) {
  auto request = echo("ignored");
  request.set_response_bytes(1000);
  auto result = call_unary(*stub, request);
  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(result.responses.at(0).payload(), pattern_payload(1000));
  EXPECT_NE(pattern_payload(1000), pattern_payload(1001).substr(1));
}

TEST_F(echo_test, client_stream_concatenates_payloads) {
  auto result = call_client_stream(*stub, {echo("a"), echo("bc"), echo("def")});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(result.responses[0].payload(), "abcdef");
  EXPECT_EQ(result.responses[0].requests_received(), 3u);
}

TEST_F(echo_test, server_stream_sends_the_requested_count_and_size) {
  EchoRequest request;
  request.set_stream_count(5);
  request.set_response_bytes(4096);
  request.set_stream_interval_ms(5);
  auto result = call_server_stream(*stub, request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 5u);
  for (std::uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(result.responses[i].sequence(), i);
    EXPECT_EQ(result.responses[i].payload(), pattern_payload(4096));
  }
}

TEST_F(echo_test, server_stream_error_follows_its_responses) {
  EchoRequest request;
  request.set_stream_count(2);
  request.mutable_error()->set_code(grpc::StatusCode::ABORTED);
  request.mutable_error()->set_message("stopped after two");
  auto result = call_server_stream(*stub, request);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(result.responses.size(), 2u);
}

TEST_F(echo_test, bidi_echoes_each_request_in_order) {
  auto delayed = echo("two");
  delayed.set_delay_ms(50);
  auto result = call_bidi(*stub, {echo("one"), delayed, echo("three")});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.responses.size(), 3u);
  EXPECT_EQ(result.responses[0].payload(), "one");
  EXPECT_EQ(result.responses[1].payload(), "two");
  EXPECT_EQ(result.responses[2].payload(), "three");
  EXPECT_EQ(result.responses[2].sequence(), 2u);
}

TEST_F(echo_test, bidi_request_with_an_error_ends_the_stream_with_it) {
  auto failing = echo("second");
  failing.mutable_error()->set_code(grpc::StatusCode::FAILED_PRECONDITION);
  failing.mutable_error()->set_message("no second");
  auto result = call_bidi(*stub, {echo("first"), failing, echo("third")});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(result.status.error_message(), "no second");
  ASSERT_EQ(result.responses.size(), 1u);
  EXPECT_EQ(result.responses[0].payload(), "first");
}

TEST_F(echo_test, injected_error_carries_code_message_and_details) {
  const std::string details("\x08\x05\x12\x04gone\xff", 9);
  auto request = echo("x");
  request.mutable_error()->set_code(grpc::StatusCode::NOT_FOUND);
  request.mutable_error()->set_message("namespace 'payments' not found");
  request.mutable_error()->set_details(details);
  call_options options;
  options.metadata = {{"x-trailer-kept", "yes"}};
  auto result = call_unary(*stub, request, options);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(result.status.error_message(), "namespace 'payments' not found");
  EXPECT_EQ(result.status.error_details(), details);
  EXPECT_TRUE(result.responses.empty());
  EXPECT_EQ(only_value(result.trailing_metadata, "x-trailer-kept"), "yes");
  EXPECT_TRUE(server.calls().wait_for_idle(5s));
  EXPECT_EQ(server.calls().cancelled(), 0u);
}

TEST_F(echo_test, slow_reply_exceeds_the_deadline_and_the_server_sees_it_end) {
  auto request = echo("slow");
  request.set_delay_ms(5000);
  auto result = call_unary(*stub, request, {.timeout = 200ms});
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(server.calls().wait_for_cancelled(1, 5s));
  EXPECT_TRUE(server.calls().wait_for_idle(5s));
}

TEST_F(echo_test, client_cancellation_is_observed_by_the_server) {
  auto request = echo("never answered");
  request.set_delay_ms(30000);
  call_options options;
  options.cancel_when = [&] { server.calls().wait_for_in_flight(1, 5s); };
  auto result = call_unary(*stub, request, options);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(server.calls().wait_for_cancelled(1, 5s));
  EXPECT_TRUE(server.calls().wait_for_idle(5s));
}

TEST_F(echo_test, client_cancellation_of_a_bidi_stream_is_observed_by_the_server) {
  auto slow = echo("late");
  slow.set_delay_ms(30000);
  call_options options;
  options.cancel_when = [&] { server.calls().wait_for_in_flight(1, 5s); };
  auto result = call_bidi(*stub, {echo("first"), slow}, options);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(server.calls().wait_for_cancelled(1, 5s));
  EXPECT_TRUE(server.calls().wait_for_idle(5s));
}

TEST_F(echo_test, server_side_cancel_reaches_the_client_and_is_not_counted_as_client_cancel) {
  auto request = echo("cancelled by the server");
  request.set_delay_ms(30000);
  request.mutable_server_cancel()->set_after_ms(100);
  auto result = call_unary(*stub, request);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(server.calls().wait_for_idle(5s));
  EXPECT_EQ(server.calls().cancelled(), 0u);
}

TEST_F(echo_test, server_side_cancel_ends_a_server_stream_midway) {
  EchoRequest request;
  request.set_stream_count(1000);
  request.set_stream_interval_ms(20);
  request.mutable_server_cancel()->set_after_ms(100);
  auto result = call_server_stream(*stub, request);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_GT(result.responses.size(), 0u);
  EXPECT_LT(result.responses.size(), 1000u);
}

TEST_F(echo_test, serves_two_hundred_concurrent_calls) {
  constexpr std::size_t calls = 200;
  std::atomic<std::size_t> succeeded{0};
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < calls; ++i)
    clients.emplace_back([&, i] {
      auto request = echo(std::to_string(i));
      request.set_delay_ms(1000);
      auto result = call_unary(*stub, request, {.timeout = 20s});
      if (result.status.ok() && result.responses.at(0).payload() == std::to_string(i))
        ++succeeded;
    });
  EXPECT_TRUE(server.calls().wait_for_in_flight(calls, 15s));
  for (auto& client : clients)
    client.join();
  EXPECT_EQ(succeeded.load(), calls);
}

TEST_F(echo_test, a_128_mib_payload_round_trips) {
  const std::string payload = pattern_payload(128u * 1024 * 1024);
  auto result = call_unary(*stub, echo(payload), {.timeout = 60s});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_TRUE(result.responses.at(0).payload() == payload);
}

// TLS: one set of certificates for the whole suite, since making keys is the slow part.
class tls_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory = new temp_dir("s2s-certs-");
    certificates = new test_certificates(make_test_certificates(directory->path()));
  }
  static void TearDownTestSuite() {
    delete certificates;
    delete directory;
  }

  static echo_server_options tls_server(bool require_client_certificate) {
    const auto& trusted = certificates->trusted;
    echo_server_options options;
    options.tls = server_tls_files{trusted.server.certificate, trusted.server.private_key,
                                   require_client_certificate ? trusted.ca_certificate : std::filesystem::path()};
    return options;
  }

  static client_tls_files client(const authority_files* identity = nullptr) {
    client_tls_files files{certificates->trusted.ca_certificate, {}, {}, {}};
    if (identity) {
      files.certificate_chain = identity->client.certificate;
      files.private_key = identity->client.private_key;
    }
    return files;
  }

  static grpc::Status unary_status(const std::string& target, const client_tls_files& tls) {
    auto stub = EchoService::NewStub(make_channel(target, tls));
    return call_unary(*stub, echo("tls"), {.timeout = 5s}).status;
  }

  static inline temp_dir* directory = nullptr;
  static inline test_certificates* certificates = nullptr;
};

TEST_F(tls_test, certificates_are_written_as_pem) {
  for (const auto& authority : {certificates->trusted, certificates->untrusted}) {
    EXPECT_NE(read_file(authority.ca_certificate).find("BEGIN CERTIFICATE"), std::string::npos);
    EXPECT_NE(read_file(authority.server.private_key).find("BEGIN PRIVATE KEY"), std::string::npos);
    EXPECT_NE(read_file(authority.client.certificate).find("BEGIN CERTIFICATE"), std::string::npos);
  }
}

TEST_F(tls_test, server_certificate_matches_localhost_ip_and_its_common_name) {
  echo_server server(tls_server(false));
  const std::string port = std::to_string(server.port());
  EXPECT_TRUE(unary_status("localhost:" + port, client()).ok());
  EXPECT_TRUE(unary_status("127.0.0.1:" + port, client()).ok());
  auto by_name = client();
  by_name.server_name_override = test_certificates::server_name;
  EXPECT_TRUE(unary_status("127.0.0.1:" + port, by_name).ok());
}

TEST_F(tls_test, client_that_trusts_another_ca_refuses_the_server) {
  echo_server server(tls_server(false));
  auto wrong_root = client();
  wrong_root.root_ca = certificates->untrusted.ca_certificate;
  EXPECT_EQ(unary_status(server.address(), wrong_root).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server.calls().started(), 0u);
}

TEST_F(tls_test, mutual_tls_accepts_a_client_certificate_from_the_trusted_ca) {
  echo_server server(tls_server(true));
  auto status = unary_status(server.address(), client(&certificates->trusted));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(tls_test, mutual_tls_refuses_a_client_without_a_certificate) {
  echo_server server(tls_server(true));
  EXPECT_EQ(unary_status(server.address(), client()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server.calls().started(), 0u);
}

TEST_F(tls_test, mutual_tls_refuses_a_client_certificate_from_another_ca) {
  echo_server server(tls_server(true));
  EXPECT_EQ(unary_status(server.address(), client(&certificates->untrusted)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server.calls().started(), 0u);
}

TEST(temp_dir_test, removes_its_directory_and_contents) {
  std::filesystem::path path;
  {
    temp_dir directory;
    path = directory.path();
    std::filesystem::create_directories(directory / "nested");
    write_file(directory / "nested" / "file", "content");
    EXPECT_EQ(read_file(directory / "nested" / "file"), "content");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ports_test, free_loopback_port_can_be_listened_on) {
  echo_server_options options;
  options.port = free_loopback_port();
  echo_server server(options);
  EXPECT_EQ(server.port(), options.port);
}

TEST(process_test, captures_stdout_and_stderr_and_reports_the_exit_code) {
  temp_dir directory;
  process child({.argv = {"sh", "-c", "echo out; echo err >&2; echo $S2S_TEST_VALUE; exit 3"},
                 .environment = {{"S2S_TEST_VALUE", "from the test"}},
                 .output_file = directory / "output"});
  EXPECT_EQ(child.wait_exit(10s), 3);
  auto output = child.output();
  EXPECT_NE(output.find("out\n"), std::string::npos);
  EXPECT_NE(output.find("err\n"), std::string::npos);
  EXPECT_NE(output.find("from the test\n"), std::string::npos);
}

TEST(process_test, waits_for_output_and_stops_with_a_signal) {
  temp_dir directory;
  process child({.argv = {"sh", "-c", "echo ready; exec sleep 60"}, .output_file = directory / "output"});
  EXPECT_TRUE(child.wait_for_output("ready", 10s));
  EXPECT_FALSE(child.wait_exit(50ms).has_value());
  EXPECT_TRUE(child.running());
  EXPECT_EQ(child.stop(5s), 128 + SIGTERM);
  EXPECT_FALSE(child.running());
}

TEST(process_test, unknown_program_is_an_error) {
  temp_dir directory;
  EXPECT_THROW(process({.argv = {"/nonexistent/s2s-program"}, .output_file = directory / "out"}), std::runtime_error);
}

}  // namespace
}  // namespace s2s::testing
