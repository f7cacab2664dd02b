// The replication stream's messages as routing reads and writes them, against messages encoded by Temporal's own Go
// types (tests/e2e/cmd/replmsgs): every kind of task names its workflow where Temporal's receiver looks for it, and
// what the proxy writes decodes with Temporal's types as the original with only the ids it meant to change.
#include "translation/replication_messages.hpp"

#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "temporal_messages.hpp"

namespace s2s::translation {
namespace {

namespace pb = google::protobuf;

struct expected_task {
  std::string namespace_id, workflow_id;
  std::int64_t id = 0;
};
struct response_case {
  std::string bytes;
  std::int64_t watermark = 0;
  std::int32_t priority = 0;
  std::vector<expected_task> tasks;
};
struct request_case {
  std::string bytes;
  std::int64_t overall = 0;
  std::string high, low;  // "-" when absent
};

std::string unhex(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}
std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}
std::string undash(const std::string& text) { return text == "-" ? std::string() : text; }

struct temporal_cases {
  std::vector<response_case> responses;
  std::vector<request_case> requests;
};

const temporal_cases& cases() {
  static const temporal_cases loaded = [] {
    temporal_cases out;
    std::ifstream in(S2S_TEMPORAL_REPLICATION_MESSAGES);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string kind, bytes;
      words >> kind;
      if (kind == "response") {
        response_case c;
        std::size_t count = 0;
        words >> bytes >> c.watermark >> c.priority >> count;
        c.bytes = unhex(bytes);
        out.responses.push_back(std::move(c));
      } else if (kind == "task") {
        expected_task t;
        words >> t.namespace_id >> t.workflow_id >> t.id;
        t.namespace_id = undash(t.namespace_id);
        t.workflow_id = undash(t.workflow_id);
        out.responses.back().tasks.push_back(t);
      } else if (kind == "request") {
        request_case c;
        words >> bytes >> c.overall >> c.high >> c.low;
        c.bytes = unhex(bytes);
        out.requests.push_back(std::move(c));
      }
    }
    return out;
  }();
  return loaded;
}

replication_codec codec() {
  auto fields = replication_fields_of(*testing::temporal_schema());
  EXPECT_TRUE(fields) << fields.error();
  return replication_codec(*fields);
}

TEST(ReplicationMessages, EveryKindOfTaskNamesItsWorkflowAsTemporalReadsIt) {
  ASSERT_EQ(cases().responses.size(), 3u) << "the Temporal-encoded messages are missing";
  auto messages = codec();
  for (const auto& c : cases().responses) {
    auto read = messages.read_response(c.bytes);
    ASSERT_TRUE(read) << read.error();
    ASSERT_TRUE(read->has_value());
    const auto& batch = **read;
    EXPECT_EQ(batch.exclusive_high_watermark, c.watermark);
    EXPECT_EQ(batch.priority, c.priority);
    ASSERT_EQ(batch.tasks.size(), c.tasks.size());
    for (std::size_t i = 0; i < c.tasks.size(); ++i) {
      EXPECT_EQ(batch.tasks[i].namespace_id, c.tasks[i].namespace_id) << "task " << i;
      EXPECT_EQ(batch.tasks[i].workflow_id, c.tasks[i].workflow_id) << "task " << i;
      EXPECT_EQ(batch.tasks[i].source_task_id, c.tasks[i].id) << "task " << i;
    }
  }
  // The first batch has its watermark time, the third none.
  EXPECT_FALSE((**messages.read_response(cases().responses[0].bytes)).watermark_time.empty());
  EXPECT_TRUE((**messages.read_response(cases().responses[2].bytes)).watermark_time.empty());
}

TEST(ReplicationMessages, AcksOfBothModesAreRead) {
  auto messages = codec();
  ASSERT_EQ(cases().requests.size(), 3u);
  for (const auto& c : cases().requests) {
    auto read = messages.read_request(c.bytes);
    ASSERT_TRUE(read) << read.error();
    ASSERT_TRUE(read->has_value());
    const auto& state = **read;
    EXPECT_EQ(state.overall.inclusive_low_watermark, c.overall);
    EXPECT_EQ(state.high_priority ? std::to_string(state.high_priority->inclusive_low_watermark) : "-", c.high);
    EXPECT_EQ(state.low_priority ? std::to_string(state.low_priority->inclusive_low_watermark) : "-", c.low);
  }
  auto non_tiered = **messages.read_request(cases().requests[0].bytes);
  EXPECT_FALSE(non_tiered.overall.time.empty());
}

// Writes what routing sends (batches split with new ids, acks re-stated) and has Temporal's types check it.
TEST(ReplicationMessages, WrittenMessagesDecodeWithTemporalsTypes) {
  auto messages = codec();
  std::ostringstream lines;
  const auto& first = cases().responses[0];
  auto batch = **messages.read_response(first.bytes);
  // A target that gets every other task, in source order, with its own ids.
  std::vector<std::pair<std::size_t, std::int64_t>> picks;
  std::string listed;
  for (std::size_t i = 0; i < batch.tasks.size(); i += 2) {
    picks.emplace_back(i, static_cast<std::int64_t>(picks.size() + 1));
    listed += (listed.empty() ? "" : ",") + std::to_string(i) + ":" + std::to_string(picks.size());
  }
  auto written = messages.write_response(batch, picks, static_cast<std::int64_t>(picks.size() + 1));
  lines << "rewritten " << hex(first.bytes) << " " << hex(written) << " " << picks.size() + 1 << " " << listed << "\n";
  // Our own reading of it agrees.
  auto reread = messages.read_response(written);
  ASSERT_TRUE(reread && reread->has_value());
  ASSERT_EQ((**reread).tasks.size(), picks.size());
  for (std::size_t i = 0; i < picks.size(); ++i) {
    EXPECT_EQ((**reread).tasks[i].source_task_id, picks[i].second);
    EXPECT_EQ((**reread).tasks[i].workflow_id, batch.tasks[picks[i].first].workflow_id);
  }
  // A priority batch keeps its priority; a watermark-only batch stays one.
  for (std::size_t n : {1u, 2u}) {
    const auto& c = cases().responses[n];
    auto other = **messages.read_response(c.bytes);
    std::vector<std::pair<std::size_t, std::int64_t>> all;
    std::string ids;
    for (std::size_t i = 0; i < other.tasks.size(); ++i) {
      all.emplace_back(i, 40 + static_cast<std::int64_t>(i));
      ids += (ids.empty() ? "" : ",") + std::to_string(i) + ":" + std::to_string(40 + i);
    }
    lines << "rewritten " << hex(c.bytes) << " " << hex(messages.write_response(other, all, 99)) << " 99 "
          << (ids.empty() ? "-" : ids) << "\n";
  }
  replication_state tiered{{12, "\x08\x01"}, replication_ack{14, ""}, replication_ack{12, ""}};
  lines << "state " << hex(messages.write_request(tiered)) << " 12 14 12\n";
  lines << "state " << hex(messages.write_request(replication_state{{3, ""}, {}, {}})) << " 3 - -\n";
  EXPECT_EQ(**messages.read_request(messages.write_request(tiered)), tiered);

  std::string path = ::testing::TempDir() + "replication-written.txt";
  std::ofstream(path) << lines.str();
  std::string command = std::string(S2S_REPLMSGS_TOOL) + " --check " + path;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(ReplicationMessages, MalformedBytesAreRefusedWithWhereAndWhat) {
  auto messages = codec();
  const auto& first = cases().responses[0].bytes;
  auto truncated = messages.read_response(first.substr(0, first.size() / 2));
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().find("malformed"), std::string::npos) << truncated.error();
  auto bad_request = messages.read_request(std::string("\x0a\x05\x08", 3));
  ASSERT_FALSE(bad_request);
  EXPECT_NE(bad_request.error().find("StreamWorkflowReplicationMessagesRequest"), std::string::npos)
      << bad_request.error();
  // Another oneof case (none today): no batch, no error.
  auto other = messages.read_response(std::string("\x12\x00", 2));
  ASSERT_TRUE(other) << other.error();
  EXPECT_FALSE(other->has_value());
}

TEST(ReplicationMessages, ASchemaWithoutAFieldRoutingReadsIsRefusedNamingIt) {
  pb::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(testing::temporal_descriptor_bytes()));
  bool removed = false;
  for (auto& file : *set.mutable_file()) {
    for (auto& message : *file.mutable_message_type()) {
      if (file.package() != "temporal.server.api.replication.v1" || message.name() != "ReplicationTask")
        continue;
      auto* fields = message.mutable_field();
      for (int i = 0; i < fields->size(); ++i) {
        if (fields->Get(i).name() == "source_task_id") {
          fields->DeleteSubrange(i, 1);
          removed = true;
          break;
        }
      }
    }
  }
  ASSERT_TRUE(removed);
  auto types = schema::from_descriptor_set(set.SerializeAsString());
  ASSERT_TRUE(types) << types.error();
  auto fields = replication_fields_of(**types);
  ASSERT_FALSE(fields);
  EXPECT_NE(fields.error().find("temporal.server.api.replication.v1.ReplicationTask.source_task_id"), std::string::npos)
      << fields.error();
}

}  // namespace
}  // namespace s2s::translation
