// Translation plans: per message type, the fields that can lead to something to change (DESIGN.md §3).
#pragma once

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "translation/schema.hpp"
#include "translation/status.hpp"

namespace s2s::translation {

// What the proxy may change; a plan set is compiled for one combination.
struct plan_features {
  bool namespace_names = false;
  bool search_attributes = false;
  bool utf8_repair = false;
  bool history_blobs = true;  // follow DataBlobs into the History they hold

  bool any() const { return namespace_names || search_attributes || utf8_repair; }
};

// Roles of a string field; one field can have several.
enum string_role : std::uint8_t {
  role_namespace_name = 1,
  role_search_attribute_key = 2,
  role_text = 4,  // any string: UTF-8 repair
};

enum class step_kind : std::uint8_t {
  string,        // a leaf to hand to the leaf rewriter
  message,       // a nested message with its own plan
  history_blob,  // a DataBlob whose data is a serialized History when its encoding is PROTO3
};

struct message_plan;

struct field_step {
  std::uint32_t number = 0;
  step_kind kind = step_kind::string;
  std::uint8_t roles = 0;               // string steps
  const message_plan* child = nullptr;  // message and history_blob steps (the History plan)
  const google::protobuf::FieldDescriptor* field = nullptr;
};

// The fields by which a message names the namespace its contents belong to.
struct scope_fields {
  std::vector<std::uint32_t> names;  // namespace name fields
  std::vector<std::uint32_t> ids;    // namespace id fields

  bool empty() const { return names.empty() && ids.empty(); }
};
scope_fields find_scope_fields(const google::protobuf::Descriptor* type);

struct message_plan {
  const google::protobuf::Descriptor* type = nullptr;
  std::vector<field_step> steps;  // by field number
  // Set when search attributes lie below: the message's namespace selects their mapping.
  scope_fields scope;

  const field_step* find(std::uint32_t number) const {
    if (number < index.size())
      return index[number] == 0 ? nullptr : &steps[index[number] - 1];
    return index.empty() ? find_sorted(number) : nullptr;
  }

 private:
  friend class plan_set;
  const field_step* find_sorted(std::uint32_t number) const;
  std::vector<std::uint16_t> index;  // field number → 1 + position in steps; empty when numbers are huge
};

// Where a DataBlob keeps its encoding and data, read from the schema.
struct data_blob_layout {
  std::uint32_t encoding_field = 0;
  std::uint32_t data_field = 0;
  std::uint64_t proto3_encoding = 0;
};

// Plans for every message type of a schema under one feature set. Types absent from it have an empty plan:
// their messages are forwarded as the same bytes, unparsed.
class plan_set {
 public:
  static result<plan_set> compile(const schema& types, plan_features features);

  const message_plan* find(const google::protobuf::Descriptor* type) const {
    auto it = plans_.find(type);
    return it == plans_.end() ? nullptr : it->second.get();
  }
  const data_blob_layout& blob_layout() const { return blob_; }
  plan_features features() const { return features_; }
  std::size_t size() const { return plans_.size(); }

 private:
  plan_features features_;
  data_blob_layout blob_;
  std::unordered_map<const google::protobuf::Descriptor*, std::unique_ptr<message_plan>> plans_;
};

}  // namespace s2s::translation
