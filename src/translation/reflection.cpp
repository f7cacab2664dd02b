// gRPC server reflection on the wire (field numbers of grpc/reflection/v1/reflection.proto, the same in v1alpha).
#include "translation/reflection.hpp"

#include "translation/wire.hpp"

namespace s2s::translation::reflection {
namespace {

// ServerReflectionRequest
constexpr std::uint32_t request_file_by_filename = 3;
constexpr std::uint32_t request_file_containing_symbol = 4;
constexpr std::uint32_t request_list_services = 7;
// ServerReflectionResponse
constexpr std::uint32_t response_file_descriptor = 4;
constexpr std::uint32_t response_list_services = 6;
constexpr std::uint32_t response_error = 7;
// FileDescriptorResponse.file_descriptor_proto, ListServiceResponse.service, ServiceResponse.name
constexpr std::uint32_t repeated_first = 1;
// ErrorResponse
constexpr std::uint32_t error_code = 1;
constexpr std::uint32_t error_message = 2;
// FileDescriptorProto
constexpr std::uint32_t file_name = 1;
constexpr std::uint32_t file_dependency = 3;
// FileDescriptorSet.file
constexpr std::uint32_t set_file = 1;

void append_string(std::string& out, std::uint32_t number, std::string_view value) {
  wire::append_tag(out, number, wire::wire_type::length_delimited);
  wire::append_varint(out, value.size());
  out.append(value);
}

std::string request_with(std::uint32_t number, std::string_view value) {
  std::string out;
  append_string(out, number, value);
  return out;
}

// Calls on_field for each field of `bytes`; false with `error` set when they are not a message.
template <class F>
bool each_field(std::string_view bytes, std::string& error, F on_field) {
  wire::reader fields(bytes.data(), bytes.data() + bytes.size(), bytes.data());
  wire::field field;
  while (!fields.at_end()) {
    if (!fields.read(field)) {
      error = fields.error();
      return false;
    }
    if (!on_field(field))
      return false;
  }
  return true;
}

bool is_bytes(const wire::field& field) { return field.type == wire::wire_type::length_delimited; }

}  // namespace

std::string list_services_request() { return request_with(request_list_services, "*"); }
std::string file_by_filename_request(std::string_view name) { return request_with(request_file_by_filename, name); }
std::string file_containing_symbol_request(std::string_view symbol) {
  return request_with(request_file_containing_symbol, symbol);
}

result<response> decode_response(std::string_view bytes) {
  using answer = result<response>;
  response decoded;
  std::string error;
  bool ok = each_field(bytes, error, [&](const wire::field& field) {
    if (!is_bytes(field))
      return true;
    std::string inner_error;
    bool inner_ok = true;
    if (field.number == response_file_descriptor) {
      inner_ok = each_field(field.payload(), inner_error, [&](const wire::field& file) {
        if (file.number == repeated_first && is_bytes(file))
          decoded.files.emplace_back(file.payload());
        return true;
      });
    } else if (field.number == response_list_services) {
      inner_ok = each_field(field.payload(), inner_error, [&](const wire::field& service) {
        if (service.number != repeated_first || !is_bytes(service))
          return true;
        return each_field(service.payload(), inner_error, [&](const wire::field& name) {
          if (name.number == repeated_first && is_bytes(name))
            decoded.services.emplace_back(name.payload());
          return true;
        });
      });
    } else if (field.number == response_error) {
      status failure{status_code::internal, ""};
      inner_ok = each_field(field.payload(), inner_error, [&](const wire::field& part) {
        if (part.number == error_code && part.type == wire::wire_type::varint)
          failure.code = static_cast<status_code>(static_cast<std::int32_t>(part.varint));
        if (part.number == error_message && is_bytes(part))
          failure.message = std::string(part.payload());
        return true;
      });
      decoded.error = std::move(failure);
    }
    if (!inner_ok)
      error = inner_error;
    return inner_ok;
  });
  if (!ok)
    return answer::failure("malformed ServerReflectionResponse: " + error);
  return decoded;
}

schema_walk::schema_walk(std::vector<std::string> extra_symbols) : extra_symbols_(std::move(extra_symbols)) {
  pending_.push_back({ask::kind::list_services, ""});
}

std::optional<std::string> schema_walk::next_request() {
  if (failed_ || waiting_ || pending_.empty())
    return std::nullopt;
  waiting_ = std::move(pending_.front());
  pending_.pop_front();
  switch (waiting_->what) {
    case ask::kind::list_services:
      return list_services_request();
    case ask::kind::symbol:
    case ask::kind::extra_symbol:
      return file_containing_symbol_request(waiting_->name);
    case ask::kind::file:
      return file_by_filename_request(waiting_->name);
  }
  return std::nullopt;
}

status schema_walk::on_response(std::string_view bytes) {
  auto fail = [&](std::string message) {
    failed_ = true;
    return status{status_code::internal, std::move(message)};
  };
  if (!waiting_)
    return fail("a reflection response arrived without a request");
  ask asked = std::move(*waiting_);
  waiting_.reset();
  std::string what = asked.what == ask::kind::list_services  ? std::string("the service list")
                     : asked.what == ask::kind::symbol       ? "the file of service " + asked.name
                     : asked.what == ask::kind::extra_symbol ? "the file of " + asked.name
                                                             : "file " + asked.name;
  auto decoded = decode_response(bytes);
  if (!decoded)
    return fail("asking for " + what + ": " + decoded.error());
  // A server without an extra type serves without it; errors naming it are then not translated.
  if (decoded->error && asked.what == ask::kind::extra_symbol)
    return {};
  if (decoded->error) {
    std::string reason = "asking for " + what + ": the server answered with error code " +
                         std::to_string(static_cast<int>(decoded->error->code)) + ": " + decoded->error->message;
    // Temporal before v1.23 (gogo protobuf) lists its services but cannot describe them.
    if (asked.what == ask::kind::symbol && decoded->error->code == status_code::not_found) {
      reason +=
          "; the server lists the service but cannot describe it, as a Temporal frontend before v1.23 "
          "does: give the proxy its schema in translation.descriptorSetPath";
    }
    return fail(reason);
  }
  if (asked.what == ask::kind::list_services) {
    if (decoded->services.empty())
      return fail("the server lists no services");
    services_ = decoded->services;
    for (const auto& service : services_)
      pending_.push_back({ask::kind::symbol, service});
    for (const auto& symbol : extra_symbols_)
      pending_.push_back({ask::kind::extra_symbol, symbol});
    return {};
  }
  if (decoded->files.empty())
    return fail("asking for " + what + ": the server sent no file");
  for (const auto& file : decoded->files) {
    status added = add_file(file);
    if (!added.ok())
      return fail("asking for " + what + ": " + added.message);
  }
  // A file sent along with another one need not be asked for again.
  std::erase_if(pending_, [&](const ask& next) { return next.what == ask::kind::file && files_.count(next.name); });
  return {};
}

status schema_walk::add_file(const std::string& serialized) {
  std::string name;
  std::vector<std::string> dependencies;
  std::string error;
  bool ok = each_field(serialized, error, [&](const wire::field& field) {
    if (field.number == file_name && is_bytes(field))
      name = std::string(field.payload());
    if (field.number == file_dependency && is_bytes(field))
      dependencies.emplace_back(field.payload());
    return true;
  });
  if (!ok)
    return {status_code::internal, "a FileDescriptorProto is malformed: " + error};
  if (name.empty())
    return {status_code::internal, "a FileDescriptorProto has no name"};
  asked_.insert(name);
  files_.emplace(name, serialized);
  for (const auto& dependency : dependencies)
    want_file(dependency);
  return {};
}

void schema_walk::want_file(const std::string& name) {
  if (asked_.insert(name).second)
    pending_.push_back({ask::kind::file, name});
}

std::string schema_walk::descriptor_set() const {
  std::string out;
  for (const auto& [name, file] : files_)
    append_string(out, set_file, file);
  return out;
}

}  // namespace s2s::translation::reflection
