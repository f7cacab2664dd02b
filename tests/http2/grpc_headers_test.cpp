// gRPC header blocks and status mappings: requests checked, deadlines re-emitted, statuses read unchanged.
#include "http2/grpc_headers.hpp"

#include <gtest/gtest.h>

namespace s2s::http2 {
namespace {

using namespace std::chrono_literals;

header_list good_request() {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":path", "/s2s.testing.v1.EchoService/Unary"},
          {":authority", "frontend:7233"},
          {"te", "trailers"},
          {"content-type", "application/grpc"},
          {"grpc-timeout", "1500m"},
          {"temporal-client-cluster-id", "a"},
          {"x-bin", "AAEC"}};
}

TEST(GrpcHeaders, ParsesARequestAndKeepsItsMetadataInOrder) {
  const auto parsed = parse_request(good_request());
  ASSERT_TRUE(std::holds_alternative<request_head>(parsed));
  const auto& head = std::get<request_head>(parsed);
  EXPECT_EQ(head.path, "/s2s.testing.v1.EchoService/Unary");
  EXPECT_EQ(head.authority, "frontend:7233");
  EXPECT_EQ(head.timeout, 1500ms);
  EXPECT_EQ(
      head.metadata,
      (header_list{{"content-type", "application/grpc"}, {"temporal-client-cluster-id", "a"}, {"x-bin", "AAEC"}}));
}

TEST(GrpcHeaders, RefusesWhatIsNotAGrpcRequest) {
  auto get = good_request();
  get[0].value = "GET";
  EXPECT_EQ(std::get<status>(parse_request(get)).code, status_code::internal);
  auto text = good_request();
  text[5].value = "text/plain";
  EXPECT_EQ(std::get<status>(parse_request(text)).code, status_code::internal);
  auto timeout = good_request();
  timeout[6].value = "soon";
  EXPECT_EQ(std::get<status>(parse_request(timeout)).message, "malformed grpc-timeout 'soon'");
  auto proto = good_request();
  proto[5].value = "application/grpc+proto";
  EXPECT_TRUE(std::holds_alternative<request_head>(parse_request(proto)));
}

TEST(GrpcHeaders, ReEmitsTheRemainingDeadline) {
  const auto head = std::get<request_head>(parse_request(good_request()));
  const auto out = request_headers(head, 1200ms);
  EXPECT_EQ(find_header(out, "grpc-timeout"), "1200000u");
  EXPECT_EQ(find_header(out, "te"), "trailers");
  EXPECT_EQ(out[0], (header{":method", "POST"}));
  EXPECT_EQ(out.back(), (header{"x-bin", "AAEC"}));
  EXPECT_FALSE(find_header(request_headers(head, std::nullopt), "grpc-timeout"));
}

TEST(GrpcHeaders, TrailersCarryStatusMessageAndDetailsUnchanged) {
  const status s{status_code::not_found, "namespace 'payments' 100% gone"};
  const auto t = trailers(s, {{"grpc-status-details-bin", "CAUSBm5vIHN1Y2g"}});
  EXPECT_EQ(t, (header_list{{"grpc-status", "5"},
                            {"grpc-message", "namespace 'payments' 100%25 gone"},
                            {"grpc-status-details-bin", "CAUSBm5vIHN1Y2g"}}));
  const auto back = status_of(t);
  EXPECT_EQ(back.code, status_code::not_found);
  EXPECT_EQ(back.message, s.message);
}

TEST(GrpcHeaders, TrailersOnlyIsOneBlockWithStatus200) {
  const auto t = trailers_only({status_code::permission_denied, "no"});
  EXPECT_EQ(
      t, (header_list{
             {":status", "200"}, {"content-type", "application/grpc"}, {"grpc-status", "7"}, {"grpc-message", "no"}}));
  EXPECT_FALSE(check_response(t));
  EXPECT_EQ(status_of(t).code, status_code::permission_denied);
}

TEST(GrpcHeaders, AResponseWithoutGrpcStatusTakesItsHttpStatus) {
  EXPECT_EQ(status_of({{":status", "503"}}).code, status_code::unavailable);
  EXPECT_EQ(status_of({{":status", "200"}}).code, status_code::unknown);
  EXPECT_EQ(status_of({{"grpc-status", "x"}}).code, status_code::unknown);
  EXPECT_EQ(check_response({{":status", "404"}})->code, status_code::unimplemented);
  EXPECT_EQ(check_response({{":status", "200"}, {"content-type", "text/html"}})->code, status_code::unknown);
}

TEST(GrpcStatus, Http2ErrorsMapAsGrpcSpecifies) {
  EXPECT_EQ(status_for_http2_error(0x0), status_code::internal);
  EXPECT_EQ(status_for_http2_error(0x1), status_code::internal);
  EXPECT_EQ(status_for_http2_error(0x3), status_code::internal);
  EXPECT_EQ(status_for_http2_error(0x7), status_code::unavailable);
  EXPECT_EQ(status_for_http2_error(0x8), status_code::cancelled);
  EXPECT_EQ(status_for_http2_error(0xb), status_code::resource_exhausted);
  EXPECT_EQ(status_for_http2_error(0xc), status_code::permission_denied);
}

TEST(GrpcStatus, HttpStatusesMapAsGrpcSpecifies) {
  EXPECT_EQ(status_for_http_status(400), status_code::internal);
  EXPECT_EQ(status_for_http_status(401), status_code::unauthenticated);
  EXPECT_EQ(status_for_http_status(403), status_code::permission_denied);
  EXPECT_EQ(status_for_http_status(404), status_code::unimplemented);
  for (int s : {429, 502, 503, 504})
    EXPECT_EQ(status_for_http_status(s), status_code::unavailable);
  EXPECT_EQ(status_for_http_status(500), status_code::unknown);
}

TEST(GrpcStatus, PercentEncodingRoundTripsAndToleratesBadEscapes) {
  const std::string text = "caf\xc3\xa9 50% \n";
  EXPECT_EQ(percent_encode(text), "caf%C3%A9 50%25 %0A");
  EXPECT_EQ(percent_decode(percent_encode(text)), text);
  EXPECT_EQ(percent_decode("100%zz%4"), "100%zz%4");
  EXPECT_EQ(code_name(status_code::resource_exhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(code_name(static_cast<status_code>(42)), "CODE_42");
}

}  // namespace
}  // namespace s2s::http2
