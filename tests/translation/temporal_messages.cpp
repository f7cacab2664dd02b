// Test support: the real Temporal schema, dynamic messages built by field path, and one-call translation.
#include "temporal_messages.hpp"

#include <google/protobuf/text_format.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "translation/wire.hpp"

namespace s2s::translation::testing {
namespace {

pb::DynamicMessageFactory& factory() {
  static pb::DynamicMessageFactory instance(&temporal_schema()->pool());
  return instance;
}

[[noreturn]] void no_field(const pb::Message& message, std::string_view name) {
  throw std::invalid_argument(message.GetDescriptor()->full_name() + " has no field " + std::string(name));
}

const pb::FieldDescriptor* field_of(const pb::Message& message, std::string_view name) {
  const pb::FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(std::string(name));
  if (field == nullptr)
    no_field(message, name);
  return field;
}

// The message holding the last path element, and that element's name.
std::pair<pb::Message*, std::string_view> parent_of(pb::Message& message, std::string_view path) {
  auto dot = path.rfind('.');
  if (dot == std::string_view::npos)
    return {&message, path};
  return {&at(message, path.substr(0, dot)), path.substr(dot + 1)};
}

}  // namespace

std::string temporal_descriptor_bytes() {
  const char* from_env = std::getenv("S2S_TEMPORAL_DESCRIPTORS");
  std::string path = from_env != nullptr ? from_env : S2S_TEMPORAL_DESCRIPTORS_PATH;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read the Temporal descriptors at " + path + " (build temporal_descriptors)");
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

const std::shared_ptr<const schema>& temporal_schema() {
  static const std::shared_ptr<const schema> loaded = [] {
    auto types = schema::from_descriptor_set(temporal_descriptor_bytes());
    if (!types)
      throw std::runtime_error(types.error());
    return *types;
  }();
  return loaded;
}

std::unique_ptr<pb::Message> make(std::string_view type) {
  const pb::Descriptor* descriptor = temporal_schema()->find_message(type);
  if (descriptor == nullptr)
    throw std::invalid_argument("the Temporal schema has no " + std::string(type));
  return std::unique_ptr<pb::Message>(factory().GetPrototype(descriptor)->New());
}

pb::Message& at(pb::Message& message, std::string_view path) {
  pb::Message* current = &message;
  while (!path.empty()) {
    auto dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    current = current->GetReflection()->MutableMessage(current, field_of(*current, name), &factory());
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return *current;
}

void set(pb::Message& message, std::string_view path, std::string_view value) {
  auto [parent, name] = parent_of(message, path);
  parent->GetReflection()->SetString(parent, field_of(*parent, name), std::string(value));
}

void set_int(pb::Message& message, std::string_view path, std::int64_t value) {
  auto [parent, name] = parent_of(message, path);
  const pb::FieldDescriptor* field = field_of(*parent, name);
  const pb::Reflection* reflection = parent->GetReflection();
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      reflection->SetInt32(parent, field, static_cast<std::int32_t>(value));
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      reflection->SetInt64(parent, field, value);
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      reflection->SetUInt32(parent, field, static_cast<std::uint32_t>(value));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      reflection->SetUInt64(parent, field, static_cast<std::uint64_t>(value));
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      reflection->SetBool(parent, field, value != 0);
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      reflection->SetEnumValue(parent, field, static_cast<int>(value));
      break;
    default:
      throw std::invalid_argument(field->full_name() + " is not an integer field");
  }
}

void set_enum(pb::Message& message, std::string_view path, std::string_view value_name) {
  auto [parent, name] = parent_of(message, path);
  const pb::FieldDescriptor* field = field_of(*parent, name);
  const pb::EnumValueDescriptor* value = field->enum_type()->FindValueByName(std::string(value_name));
  if (value == nullptr)
    throw std::invalid_argument(field->full_name() + " has no value " + std::string(value_name));
  parent->GetReflection()->SetEnum(parent, field, value);
}

pb::Message& add(pb::Message& message, std::string_view path) {
  auto [parent, name] = parent_of(message, path);
  return *parent->GetReflection()->AddMessage(parent, field_of(*parent, name), &factory());
}

void add_string(pb::Message& message, std::string_view path, std::string_view value) {
  auto [parent, name] = parent_of(message, path);
  parent->GetReflection()->AddString(parent, field_of(*parent, name), std::string(value));
}

pb::Message& put(pb::Message& message, std::string_view path, std::string_view key) {
  pb::Message& entry = add(message, path);
  set(entry, "key", key);
  const pb::FieldDescriptor* value = entry.GetDescriptor()->map_value();
  if (value->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)
    return entry;
  return *entry.GetReflection()->MutableMessage(&entry, value, &factory());
}

void put_string(pb::Message& message, std::string_view path, std::string_view key, std::string_view value) {
  set(put(message, path, key), "value", value);
}

std::string bytes_of(const pb::Message& message) {
  // Not deterministic mode: that would sort map entries; maps built with put() keep insertion order.
  std::string out;
  message.SerializeToString(&out);
  return out;
}

void set_history_blob(pb::Message& blob, const pb::Message& history) {
  set_enum(blob, "encoding_type", "ENCODING_TYPE_PROTO3");
  set(blob, "data", bytes_of(history));
}

void set_payload(pb::Message& payload, std::string_view data) {
  put_string(payload, "metadata", "encoding", "json/plain");
  set(payload, "data", data);
}

std::string describe(std::string_view type, const std::string& bytes) {
  auto message = make(type);
  if (!message->ParseFromString(bytes))
    return "<does not parse as " + std::string(type) + ">";
  std::string text;
  pb::TextFormat::PrintToString(*message, &text);
  return text;
}

std::string first_difference(const std::string& actual, const std::string& expected) {
  if (actual == expected)
    return "";
  std::size_t i = 0;
  while (i < actual.size() && i < expected.size() && actual[i] == expected[i])
    ++i;
  return "sizes " + std::to_string(actual.size()) + " vs " + std::to_string(expected.size()) +
         ", first difference at byte " + std::to_string(i);
}

config::cluster_connection test_connection() {
  config::cluster_connection connection;
  connection.name = "test";
  connection.namespace_mappings = {{"orders", "orders.acct42"}, {"billing", "billing.acct42"}};
  connection.search_attribute_mappings = {
      {"orders", std::string(orders_id), {{"CustomerId", "CustomerIdAcct42"}, {"Region", "OrdersRegion"}}},
      {"billing", std::string(billing_id), {{"CustomerId", "BillingCustomer"}}},
  };
  connection.repair_utf8 = true;
  return connection;
}

std::string names::ns(std::string_view local) const {
  if (!remote)
    return std::string(local);
  for (const auto& m : test_connection().namespace_mappings) {
    if (m.local == local)
      return m.remote;
  }
  return std::string(local);
}

std::string names::attribute(std::string_view local_namespace, std::string_view local_field) const {
  if (!remote)
    return std::string(local_field);
  for (const auto& ns : test_connection().search_attribute_mappings) {
    if (ns.name != local_namespace)
      continue;
    for (const auto& m : ns.mappings) {
      if (m.local_field_name == local_field)
        return m.remote_field_name;
    }
  }
  return std::string(local_field);
}

namespace {

void append_length_delimited(std::string& out, std::uint32_t number, std::string_view payload) {
  wire::append_tag(out, number, wire::wire_type::length_delimited);
  wire::append_varint(out, payload.size());
  out.append(payload);
}

constexpr std::string_view any_type_prefix = "type.googleapis.com/";

}  // namespace

std::string status_bytes(int code, std::string_view message, const std::vector<status_detail>& details) {
  std::string out;
  wire::append_tag(out, 1, wire::wire_type::varint);
  wire::append_varint(out, static_cast<std::uint64_t>(code));
  append_length_delimited(out, 2, message);
  for (const auto& d : details) {
    std::string any;
    append_length_delimited(any, 1, std::string(any_type_prefix) + d.type);
    append_length_delimited(any, 2, d.value);
    append_length_delimited(out, 3, any);
  }
  return out;
}

decoded_status decode_status(const std::string& bytes) {
  decoded_status out;
  wire::reader in(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  while (!in.at_end()) {
    wire::field f;
    if (!in.read(f))
      throw std::runtime_error("malformed google.rpc.Status: " + in.error());
    if (f.number == 1)
      out.code = f.varint;
    if (f.number == 2)
      out.message = std::string(f.payload());
    if (f.number != 3)
      continue;
    status_detail d;
    std::string_view any = f.payload();
    wire::reader inner(any.data(), any.data() + any.size(), any.data());
    while (!inner.at_end()) {
      wire::field g;
      if (!inner.read(g))
        throw std::runtime_error("malformed google.protobuf.Any: " + inner.error());
      if (g.number == 1) {
        std::string_view url = g.payload();
        if (url.substr(0, any_type_prefix.size()) == any_type_prefix)
          url.remove_prefix(any_type_prefix.size());
        d.type = std::string(url);
      }
      if (g.number == 2)
        d.value = std::string(g.payload());
    }
    out.details.push_back(std::move(d));
  }
  return out;
}

std::string field_of(const status_detail& detail, std::string_view path) {
  auto m = make(detail.type);
  if (!m->ParseFromString(detail.value))
    throw std::runtime_error("the detail does not parse as " + detail.type);
  pb::Message* holder = m.get();
  std::string_view leaf = path;
  if (auto dot = path.rfind('.'); dot != std::string_view::npos) {
    holder = &at(*m, path.substr(0, dot));
    leaf = path.substr(dot + 1);
  }
  const pb::FieldDescriptor* field = holder->GetDescriptor()->FindFieldByName(std::string(leaf));
  if (field == nullptr)
    throw std::runtime_error(detail.type + " has no field " + std::string(path));
  return holder->GetReflection()->GetString(*holder, field);
}

translated translate(const config::cluster_connection& connection, std::string_view method, bool is_request,
                     direction dir, std::string bytes) {
  // The side on which a message of this kind travels in `dir` (see direction_of).
  side arrived_on = (dir == direction::local_to_remote) == is_request ? side::outbound : side::inbound;
  auto built = pipeline::build(connection, arrived_on, temporal_schema());
  if (!built)
    throw std::runtime_error(built.error());
  call_translation call = (*built)->start_call(method);
  translated out;
  out.result = is_request ? call.on_request(bytes) : call.on_response(bytes);
  out.bytes = std::move(bytes);
  return out;
}

}  // namespace s2s::translation::testing
