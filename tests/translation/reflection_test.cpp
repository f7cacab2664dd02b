// The reflection walk on scripted answers: from the service list to every file, dependencies followed.
#include <google/protobuf/descriptor.pb.h>
#include <gtest/gtest.h>

#include "temporal_messages.hpp"
#include "translation/pipeline.hpp"
#include "translation/reflection.hpp"

namespace s2s::translation::testing {
namespace {

using namespace reflection;

// Encodes a length-delimited field, as a server would.
std::string field(std::uint32_t number, const std::string& bytes) {
  std::string out(1, static_cast<char>((number << 3) | 2));
  out += static_cast<char>(bytes.size());  // every test payload is shorter than 128 bytes
  return out + bytes;
}

std::string file_proto(const std::string& name, const std::vector<std::string>& dependencies) {
  pb::FileDescriptorProto file;
  file.set_name(name);
  for (const auto& dependency : dependencies)
    file.add_dependency(dependency);
  return file.SerializeAsString();
}

std::string files_answer(const std::vector<std::string>& files) {
  std::string list;
  for (const auto& file : files)
    list += field(1, file);
  return field(4, list);
}

TEST(Reflection, WalkAsksForEachServiceThenEachMissingDependencyOnce) {
  schema_walk walk;
  EXPECT_EQ(walk.next_request(), list_services_request());
  ASSERT_TRUE(walk.on_response(field(6, field(1, field(1, "a.A")) + field(1, field(1, "b.B")))).ok());
  EXPECT_EQ(walk.next_request(), file_containing_symbol_request("a.A"));
  EXPECT_FALSE(walk.next_request());  // one request at a time
  ASSERT_TRUE(walk.on_response(files_answer({file_proto("a.proto", {"common.proto"})})).ok());
  EXPECT_EQ(walk.next_request(), file_containing_symbol_request("b.B"));
  // A server may send a file's dependencies along with it.
  ASSERT_TRUE(
      walk.on_response(files_answer({file_proto("b.proto", {"common.proto"}), file_proto("common.proto", {})})).ok());
  EXPECT_FALSE(walk.next_request());
  EXPECT_TRUE(walk.finished());
  EXPECT_EQ(walk.file_count(), 3u);
  pb::FileDescriptorSet set;
  ASSERT_TRUE(set.ParseFromString(walk.descriptor_set()));
  EXPECT_EQ(set.file_size(), 3);
}

TEST(Reflection, ExtraSymbolsAreAskedForAfterTheServicesAndMayBeMissing) {
  schema_walk walk({"x.Detail", "y.Missing"});
  walk.next_request();
  ASSERT_TRUE(walk.on_response(field(6, field(1, field(1, "a.A")))).ok());
  EXPECT_EQ(walk.next_request(), file_containing_symbol_request("a.A"));
  ASSERT_TRUE(walk.on_response(files_answer({file_proto("a.proto", {})})).ok());
  EXPECT_EQ(walk.next_request(), file_containing_symbol_request("x.Detail"));
  ASSERT_TRUE(walk.on_response(files_answer({file_proto("x.proto", {"common.proto"})})).ok());
  EXPECT_EQ(walk.next_request(), file_containing_symbol_request("y.Missing"));
  ASSERT_TRUE(walk.on_response(field(7, std::string("\x08\x05", 2) + field(2, "not found"))).ok());
  EXPECT_EQ(walk.next_request(), file_by_filename_request("common.proto"));
  ASSERT_TRUE(walk.on_response(files_answer({file_proto("common.proto", {})})).ok());
  EXPECT_FALSE(walk.next_request());
  EXPECT_TRUE(walk.finished());
  EXPECT_EQ(walk.file_count(), 3u);
}

TEST(Reflection, ErrorAnswerEndsTheWalkSayingWhatWasAsked) {
  schema_walk walk;
  walk.next_request();
  ASSERT_TRUE(walk.on_response(field(6, field(1, field(1, "a.A")))).ok());
  walk.next_request();
  std::string error = std::string("\x08\x05", 2) + field(2, "not found");
  auto failed = walk.on_response(field(7, error));
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message.find("service a.A"), std::string::npos) << failed.message;
  EXPECT_NE(failed.message.find("error code 5: not found"), std::string::npos) << failed.message;
  EXPECT_FALSE(walk.next_request());
  EXPECT_FALSE(walk.finished());
}

TEST(Reflection, ServiceListedButNotDescribedNamesTheDescriptorSetKey) {
  // What a Temporal v1.22 frontend answers: gogo registers its files where reflection does not look.
  schema_walk walk;
  walk.next_request();
  ASSERT_TRUE(walk.on_response(field(6, field(1, field(1, "a.A")))).ok());
  walk.next_request();
  auto failed = walk.on_response(field(7, std::string("\x08\x05", 2) + field(2, "proto: not found")));
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message.find("error code 5: proto: not found"), std::string::npos) << failed.message;
  EXPECT_NE(failed.message.find("translation.descriptorSetPath"), std::string::npos) << failed.message;
}

TEST(Reflection, MalformedAnswerIsAFailureNotACrash) {
  schema_walk walk;
  walk.next_request();
  auto failed = walk.on_response(std::string("\x32\x09\x0a", 3));
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message.find("malformed"), std::string::npos) << failed.message;
}

TEST(PipelineWants, OnlyTypesWithSomethingToChangeAreFlattened) {
  auto connection = test_connection();
  connection.repair_utf8 = false;
  auto outbound = pipeline::build(connection, side::outbound, temporal_schema());
  ASSERT_TRUE(outbound) << outbound.error();
  auto described = (*outbound)->start_call("/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace");
  EXPECT_TRUE(described.wants_requests());
  EXPECT_TRUE(described.wants_responses());
  auto info = (*outbound)->start_call("/temporal.api.workflowservice.v1.WorkflowService/GetClusterInfo");
  EXPECT_FALSE(info.wants_requests());
  EXPECT_FALSE(info.wants_responses());
  auto unknown = (*outbound)->start_call("/other.Service/Method");
  EXPECT_FALSE(unknown.wants_requests());
  EXPECT_FALSE(unknown.wants_responses());
}

}  // namespace
}  // namespace s2s::translation::testing
