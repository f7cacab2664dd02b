// The channels of long-lived streams: which methods get one, and when streams share one.
#include "rpc/stream_channels.hpp"

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

namespace s2s::rpc {
namespace {

using namespace std::chrono_literals;

TEST(LongLivedStream, TemporalsReplicationStreamIsOneAndUnaryAdminCallsAreNot) {
  EXPECT_TRUE(is_long_lived_stream("/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages"));
  EXPECT_FALSE(is_long_lived_stream("/temporal.server.api.adminservice.v1.AdminService/DescribeCluster"));
  EXPECT_FALSE(is_long_lived_stream("/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue"));
  // Only the method's own name counts, and only its start.
  EXPECT_FALSE(is_long_lived_stream("/Stream.Service/Upstream"));
}

// Channels to a port nothing listens on: grpc connects only for a call, and no test makes one.
struct counting_opener {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::shared_ptr<grpc::Channel> operator()() const {
    ++*calls;
    return grpc::CreateChannel("127.0.0.1:9", grpc::InsecureChannelCredentials());
  }
};

stream_channels make(counting_opener opener) {
  return stream_channels(opener, is_long_lived_stream, 10s);
}

TEST(StreamChannels, StreamsStartingWithinTheShareWindowShareOneChannel) {
  counting_opener opener;
  auto channels = make(opener);
  auto start = stream_channels::clock::now();
  auto first = channels.for_stream(start);
  auto second = channels.for_stream(start + 9s);
  EXPECT_EQ(first, second);
  EXPECT_EQ(*opener.calls, 1);
  EXPECT_EQ(channels.opened(), 1u);
}

TEST(StreamChannels, AStreamStartingAfterTheShareWindowGetsAChannelOfItsOwn) {
  counting_opener opener;
  auto channels = make(opener);
  auto start = stream_channels::clock::now();
  auto first = channels.for_stream(start);
  auto later = channels.for_stream(start + 10s);
  EXPECT_NE(first, later);
  // The window runs from the newest channel's opening: a stream soon after `later` shares it.
  EXPECT_EQ(channels.for_stream(start + 15s), later);
  EXPECT_EQ(channels.opened(), 2u);
}

TEST(StreamChannels, AChannelThatNoStreamHoldsAnyMoreIsNotHandedOut) {
  counting_opener opener;
  auto channels = make(opener);
  auto start = stream_channels::clock::now();
  std::weak_ptr<grpc::Channel> gone = channels.for_stream(start);
  EXPECT_TRUE(gone.expired()) << "the pool must not keep a channel alive by itself";
  auto next = channels.for_stream(start + 1s);
  EXPECT_NE(next, nullptr);
  EXPECT_EQ(*opener.calls, 2);
}

}  // namespace
}  // namespace s2s::rpc
