// Test support: the real Temporal schema, dynamic messages built by field path, and one-call translation.
#pragma once

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "translation/pipeline.hpp"
#include "translation/schema.hpp"

namespace s2s::translation::testing {

namespace pb = google::protobuf;

// The descriptors generated from the pinned Temporal Go modules, loaded once.
const std::shared_ptr<const schema>& temporal_schema();
std::string temporal_descriptor_bytes();

// A fresh dynamic message of a Temporal type (fails the test when the schema lacks it).
std::unique_ptr<pb::Message> make(std::string_view type);

// Field paths are dot-separated field names through singular message fields: "workflow_type.name".
pb::Message& at(pb::Message& message, std::string_view path);
void set(pb::Message& message, std::string_view path, std::string_view value);  // string or bytes
void set_int(pb::Message& message, std::string_view path, std::int64_t value);  // any integer or bool
void set_enum(pb::Message& message, std::string_view path, std::string_view value_name);
pb::Message& add(pb::Message& message, std::string_view path);  // a new element of a repeated message field
void add_string(pb::Message& message, std::string_view path, std::string_view value);
// A map entry appended in order (the map is serialized in insertion order); returns the entry's value message,
// or the entry itself when the value is not a message.
pb::Message& put(pb::Message& message, std::string_view path, std::string_view key);
void put_string(pb::Message& message, std::string_view path, std::string_view key, std::string_view value);

// Serialized in field order with maps in insertion order, as the Go encoder writes them.
std::string bytes_of(const pb::Message& message);
// A DataBlob holding `history` (a temporal.api.history.v1.History) encoded as PROTO3.
void set_history_blob(pb::Message& blob, const pb::Message& history);
// A Payload whose data is `data` (json/plain metadata).
void set_payload(pb::Message& payload, std::string_view data);

// google.rpc.Status as a server sends it in grpc-status-details-bin, built and read on the wire.
struct status_detail {
  std::string type;  // a full protobuf name
  std::string value;
};
struct decoded_status {
  std::uint64_t code = 0;
  std::string message;
  std::vector<status_detail> details;
};
std::string status_bytes(int code, std::string_view message, const std::vector<status_detail>& details);
decoded_status decode_status(const std::string& bytes);
// The string at `path` of a detail parsed as its type.
std::string field_of(const status_detail& detail, std::string_view path);

// Readable text of `bytes` parsed as `type`, for failure messages.
std::string describe(std::string_view type, const std::string& bytes);
// "" when equal, else where the two byte strings first differ.
std::string first_difference(const std::string& actual, const std::string& expected);

// The mappings most tests use: orders ↔ orders.acct42, billing ↔ billing.acct42, and per-namespace
// search attributes that map the same local field differently in the two namespaces.
inline constexpr std::string_view orders_id = "6d5c2b1e-orders";
inline constexpr std::string_view billing_id = "9a8b7c6d-billing";
config::cluster_connection test_connection();

// Names as one side sees them: builders take one of these and produce the same message in either side's names.
struct names {
  bool remote = false;
  std::string ns(std::string_view local) const;                                                 // namespace name
  std::string attribute(std::string_view local_namespace, std::string_view local_field) const;  // search attribute
};
inline const names local_names{false};
inline const names remote_names{true};

// Runs one message through the pipeline of the side that translates in `dir`.
struct translated {
  std::string bytes;
  filter_result result;
};
translated translate(const config::cluster_connection& connection, std::string_view method, bool is_request,
                     direction dir, std::string bytes);

}  // namespace s2s::translation::testing
