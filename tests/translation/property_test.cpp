// Property: for random messages of real Temporal types, with names drawn from the mapping and from outside it,
// local→remote gives exactly the message built in remote names, and remote→local gives the original back.
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "temporal_messages.hpp"

namespace s2s::translation::testing {
namespace {

// Fills messages with random values. Two generators with the same seed make the same message, one in local
// and one in remote names, so the expected translation is known without running the translator.
class random_message {
 public:
  random_message(std::uint64_t seed, const names& side) : rng_(seed), side_(side) {}

  // `scope` is the local namespace whose search-attribute mapping applies here ("" = none).
  void fill(pb::Message& message, int depth, const std::string& scope) {
    const pb::Descriptor* type = message.GetDescriptor();
    // Scalars first: the namespace a message names decides the scope of its children.
    for_present_fields(message, depth, false,
                       [&](const pb::FieldDescriptor* field) { set_scalar(message, field, scope); });
    std::string own = scope_of(message, type, scope);
    for_present_fields(message, depth, true, [&](const pb::FieldDescriptor* field) {
      const pb::Reflection* r = message.GetReflection();
      pb::Message& child = field->is_repeated() ? *r->AddMessage(&message, field) : *r->MutableMessage(&message, field);
      fill_child(child, field, depth + 1, own);
    });
  }

  std::uint32_t mapped_namespaces = 0;
  std::uint32_t mapped_attributes = 0;

 private:
  static constexpr int max_depth = 12;

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <std::size_t N>
  std::string_view pick(const std::array<std::string_view, N>& options) {
    return options[rng_() % N];
  }

  // Calls set_field for each field to populate (repeated ones once or twice); a oneof gets one random member.
  template <class Set>
  void for_present_fields(pb::Message& message, int depth, bool messages, Set set_field) {
    const pb::Descriptor* type = message.GetDescriptor();
    double presence = messages ? (depth < 6 ? 0.85 : 0.5) : 0.6;
    if (type->options().map_entry())
      presence = 1.0;  // a map entry always has its key
    if (messages && depth >= max_depth)
      return;
    std::vector<const pb::OneofDescriptor*> seen_oneofs;
    for (int i = 0; i < type->field_count(); ++i) {
      const pb::FieldDescriptor* field = type->field(i);
      if (const pb::OneofDescriptor* oneof = field->real_containing_oneof()) {
        if (std::find(seen_oneofs.begin(), seen_oneofs.end(), oneof) != seen_oneofs.end())
          continue;
        seen_oneofs.push_back(oneof);
        field = oneof->field(static_cast<int>(rng_() % static_cast<std::uint64_t>(oneof->field_count())));
      }
      if ((field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) != messages)
        continue;
      if (!chance(presence) || budget_ <= 0)
        continue;
      int count = field->is_repeated() ? 1 + static_cast<int>(rng_() % 3) : 1;
      for (int k = 0; k < count; ++k) {
        --budget_;
        set_field(field);
      }
    }
  }

  static bool is_namespace_field(const pb::Descriptor* type, const pb::FieldDescriptor* field) {
    const std::string& name = field->name();
    if (name == "namespace" || name == "workflow_namespace" || name == "parent_workflow_namespace")
      return true;
    return type->full_name() == "temporal.api.namespace.v1.NamespaceInfo" && name == "name";
  }

  static bool is_search_attribute_key(const pb::Descriptor* type, const pb::FieldDescriptor* field) {
    if (!type->options().map_entry() || field->number() != 1)
      return false;
    const pb::Descriptor* parent = type->containing_type();
    for (int i = 0; i < parent->field_count(); ++i) {
      const pb::FieldDescriptor* map = parent->field(i);
      if (map->message_type() != type)
        continue;
      if (parent->full_name() == "temporal.api.common.v1.SearchAttributes")
        return map->name() == "indexed_fields";
      const pb::Descriptor* value = type->map_value()->message_type();
      return map->name() == "search_attributes" && value != nullptr &&
             value->full_name() == "temporal.api.common.v1.Payload";
    }
    return false;
  }

  // The scope a message opens with its own namespace fields: by id when configured, else by name.
  static std::string scope_of(const pb::Message& message, const pb::Descriptor* type, const std::string& inherited) {
    std::string name, id;
    for (const char* field_name : {"namespace", "workflow_namespace", "namespace_id"}) {
      const pb::FieldDescriptor* field = type->FindFieldByName(field_name);
      if (field == nullptr || field->type() != pb::FieldDescriptor::TYPE_STRING || field->is_repeated())
        continue;
      (std::string_view(field_name) == "namespace_id" ? id : name) = message.GetReflection()->GetString(message, field);
    }
    if (name.empty() && id.empty())
      return inherited;
    if (id == orders_id)
      return "orders";
    if (id == billing_id)
      return "billing";
    for (const auto& m : test_connection().namespace_mappings) {
      if (name == m.local || name == m.remote)
        return m.local;
    }
    return "";
  }

  void fill_child(pb::Message& child, const pb::FieldDescriptor* field, int depth, const std::string& scope) {
    static constexpr std::array<std::string_view, 7> history_fields = {
        "events", "new_run_events", "event_batch", "event_batches", "events_batches", "history_batches", "raw_history"};
    bool blob = child.GetDescriptor()->full_name() == "temporal.api.common.v1.DataBlob";
    bool history_blob =
        blob && std::find(history_fields.begin(), history_fields.end(), field->name()) != history_fields.end();
    if (history_blob && chance(0.8)) {
      auto history = make("temporal.api.history.v1.History");
      fill(*history, depth + 1, scope);
      set_history_blob(child, *history);
      return;
    }
    fill(child, depth, scope);
    // Random bytes labelled PROTO3 in a history field would be malformed history; keep such blobs opaque.
    if (history_blob)
      set_enum(child, "encoding_type", "ENCODING_TYPE_JSON");
  }

  void set_scalar(pb::Message& message, const pb::FieldDescriptor* field, const std::string& scope) {
    const pb::Reflection* r = message.GetReflection();
    bool repeated = field->is_repeated();
    auto number = static_cast<std::int64_t>(rng_() % 5 == 0 ? rng_() : rng_() % 300);
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        std::string value;
        if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
          value = random_bytes();
        } else if (is_namespace_field(message.GetDescriptor(), field)) {
          value = namespace_name();
        } else if (field->name() == "namespace_id") {
          static constexpr std::array<std::string_view, 4> ids = {orders_id, billing_id, "unknown-id", ""};
          value = pick(ids);
        } else if (is_search_attribute_key(message.GetDescriptor(), field)) {
          value = attribute_name(scope);
        } else {
          value = random_text();
        }
        repeated ? r->AddString(&message, field, value) : r->SetString(&message, field, value);
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_INT32:
        repeated ? r->AddInt32(&message, field, static_cast<std::int32_t>(number))
                 : r->SetInt32(&message, field, static_cast<std::int32_t>(number));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        repeated ? r->AddInt64(&message, field, number) : r->SetInt64(&message, field, number);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        repeated ? r->AddUInt32(&message, field, static_cast<std::uint32_t>(number))
                 : r->SetUInt32(&message, field, static_cast<std::uint32_t>(number));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        repeated ? r->AddUInt64(&message, field, static_cast<std::uint64_t>(number))
                 : r->SetUInt64(&message, field, static_cast<std::uint64_t>(number));
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        repeated ? r->AddDouble(&message, field, static_cast<double>(number) / 7.0)
                 : r->SetDouble(&message, field, static_cast<double>(number) / 7.0);
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        repeated ? r->AddFloat(&message, field, static_cast<float>(number) / 3.0f)
                 : r->SetFloat(&message, field, static_cast<float>(number) / 3.0f);
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        repeated ? r->AddBool(&message, field, number % 2 == 0) : r->SetBool(&message, field, number % 2 == 0);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        const pb::EnumDescriptor* e = field->enum_type();
        int value = e->value(static_cast<int>(rng_() % static_cast<std::uint64_t>(e->value_count())))->number();
        repeated ? r->AddEnumValue(&message, field, value) : r->SetEnumValue(&message, field, value);
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }

  std::string namespace_name() {
    // Names outside the mapping include near misses; none is a remote name of the mapping.
    static constexpr std::array<std::string_view, 7> options = {"orders",         "billing", "payments", "inventory",
                                                                "orders-archive", "Orders",  ""};
    std::string_view local = pick(options);
    if (local == "orders" || local == "billing")
      ++mapped_namespaces;
    return side_.ns(local);
  }

  std::string attribute_name(const std::string& scope) {
    static constexpr std::array<std::string_view, 5> options = {"CustomerId", "Region", "OrderTotal", "Unmapped",
                                                                "customerid"};
    std::string_view local = pick(options);
    if (!scope.empty() && remote_names.attribute(scope, local) != local)
      ++mapped_attributes;
    return side_.attribute(scope, local);
  }

  std::string random_text() {
    static constexpr std::array<std::string_view, 8> pieces = {"a", "Z", "-", "7", "é", "漢", "🙂", " "};
    std::string out;
    auto length = rng_() % 12;
    for (std::uint64_t i = 0; i < length; ++i)
      out += pick(pieces);
    return out;
  }

  std::string random_bytes() {
    std::string out(rng_() % 16, '\0');
    for (char& c : out)
      c = static_cast<char>(rng_());
    return out;
  }

  std::mt19937_64 rng_;
  const names& side_;
  int budget_ = 4000;  // fields per message, so deep recursive types stay small
};

struct generated {
  std::string local;
  std::string remote;
  std::uint32_t namespaces;
  std::uint32_t attributes;
};

generated generate(std::string_view type, std::uint64_t seed) {
  random_message local_generator(seed, local_names), remote_generator(seed, remote_names);
  auto local = make(type);
  auto remote = make(type);
  local_generator.fill(*local, 0, "");
  remote_generator.fill(*remote, 0, "");
  return {bytes_of(*local), bytes_of(*remote), local_generator.mapped_namespaces, local_generator.mapped_attributes};
}

filter_result run(const message_filter& filter, const pb::Descriptor* type, direction dir, std::string& bytes) {
  message_context context;
  context.method = "/property.Test/Random";
  context.type = type;
  context.dir = dir;
  context.is_request = false;
  return filter.apply(context, bytes);
}

class RandomMessages : public ::testing::TestWithParam<const char*> {};

TEST_P(RandomMessages, RoundTripAndNamesOutsideTheMappingNeverChange) {
  auto outbound = pipeline::build(test_connection(), side::outbound, temporal_schema());
  ASSERT_TRUE(outbound) << outbound.error();
  const message_filter& translation = *(*outbound)->request_filters().front();
  const pb::Descriptor* type = temporal_schema()->find_message(GetParam());
  ASSERT_NE(type, nullptr);
  constexpr int seeds = 300;
  std::uint32_t total_namespaces = 0, total_attributes = 0;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    generated message = generate(GetParam(), seed * 7919 + std::hash<std::string>{}(GetParam()));
    std::string bytes = message.local;
    filter_result there = run(translation, type, direction::local_to_remote, bytes);
    ASSERT_FALSE(there.is_refused()) << "seed " << seed << ": " << there.refusal.message;
    ASSERT_EQ(bytes, message.remote) << "seed " << seed << ": " << first_difference(bytes, message.remote);
    EXPECT_EQ(there.counts.namespaces, message.namespaces) << "seed " << seed;
    EXPECT_EQ(there.counts.search_attributes, message.attributes) << "seed " << seed;
    EXPECT_EQ(there.counts.utf8_repairs, 0u) << "seed " << seed;
    EXPECT_EQ(there.is_changed(), message.local != message.remote) << "seed " << seed;

    filter_result back = run(translation, type, direction::remote_to_local, bytes);
    ASSERT_FALSE(back.is_refused()) << "seed " << seed << ": " << back.refusal.message;
    ASSERT_EQ(bytes, message.local) << "seed " << seed << ": " << first_difference(bytes, message.local);
    total_namespaces += message.namespaces;
    total_attributes += message.attributes;
  }
  // The generator must actually exercise the mapping.
  EXPECT_GT(total_namespaces, 0u);
  RecordProperty("namespaces_translated", static_cast<int>(total_namespaces));
  RecordProperty("search_attributes_translated", static_cast<int>(total_attributes));
}

INSTANTIATE_TEST_SUITE_P(
    TemporalTypes, RandomMessages,
    ::testing::Values("temporal.api.workflowservice.v1.StartWorkflowExecutionRequest",
                      "temporal.api.workflowservice.v1.RespondWorkflowTaskCompletedRequest",
                      "temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse",
                      "temporal.api.workflowservice.v1.DescribeNamespaceResponse",
                      "temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse",
                      "temporal.server.api.adminservice.v1.StreamWorkflowReplicationMessagesResponse",
                      "temporal.server.api.adminservice.v1.GetNamespaceReplicationMessagesResponse",
                      "temporal.server.api.adminservice.v1.GetWorkflowExecutionRawHistoryV2Response",
                      "temporal.server.api.adminservice.v1.DescribeMutableStateResponse",
                      "temporal.api.history.v1.History"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      std::string name = info.param;
      name = name.substr(name.rfind('.') + 1);
      return name;
    });

}  // namespace
}  // namespace s2s::translation::testing
