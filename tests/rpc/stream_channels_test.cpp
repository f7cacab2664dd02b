// The connections of long-lived streams: which methods get one, and when streams share one.
#include "rpc/stream_channels.hpp"

#include <gtest/gtest.h>

namespace s2s::rpc {
namespace {

using namespace std::chrono_literals;

TEST(LongLivedStream, TemporalsReplicationStreamIsOneAndUnaryAdminCallsAreNot) {
  EXPECT_TRUE(
      is_long_lived_stream("/temporal.server.api.adminservice.v1.AdminService/StreamWorkflowReplicationMessages"));
  EXPECT_FALSE(is_long_lived_stream("/temporal.server.api.adminservice.v1.AdminService/DescribeCluster"));
  EXPECT_FALSE(is_long_lived_stream("/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue"));
  // Only the method's own name counts, and only its start.
  EXPECT_FALSE(is_long_lived_stream("/Stream.Service/Upstream"));
}

// A stand-in connection: the pool only hands them out, it never uses them.
struct connection {
  bool closing = false;
};
using pool = stream_connections<connection>;

struct counting_opener {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::shared_ptr<connection> operator()() const {
    ++*calls;
    return std::make_shared<connection>();
  }
};

pool make(counting_opener opener) {
  return pool(
      opener, [](const connection& c) { return !c.closing; }, 10s);
}

TEST(StreamChannels, StreamsStartingWithinTheShareWindowShareOneChannel) {
  counting_opener opener;
  auto channels = make(opener);
  auto start = pool::clock::now();
  auto first = channels.for_stream(start);
  auto second = channels.for_stream(start + 9s);
  EXPECT_EQ(first, second);
  EXPECT_EQ(*opener.calls, 1);
  EXPECT_EQ(channels.opened(), 1u);
}

TEST(StreamChannels, AStreamStartingAfterTheShareWindowGetsAChannelOfItsOwn) {
  counting_opener opener;
  auto channels = make(opener);
  auto start = pool::clock::now();
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
  auto start = pool::clock::now();
  std::weak_ptr<connection> gone = channels.for_stream(start);
  EXPECT_TRUE(gone.expired()) << "the pool must not keep a channel alive by itself";
  auto next = channels.for_stream(start + 1s);
  EXPECT_NE(next, nullptr);
  EXPECT_EQ(*opener.calls, 2);
}

TEST(StreamChannels, AConnectionThatIsClosingIsNotHandedOut) {
  counting_opener opener;
  auto channels = make(opener);
  auto start = pool::clock::now();
  auto first = channels.for_stream(start);
  first->closing = true;  // told to go away, say
  auto next = channels.for_stream(start + 1s);
  EXPECT_NE(first, next);
  EXPECT_EQ(*opener.calls, 2);
}

}  // namespace
}  // namespace s2s::rpc
