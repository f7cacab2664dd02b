// The Temporal schema: a FileDescriptorSet loaded into a descriptor pool, and gRPC method paths mapped to types.
#pragma once

#include <google/protobuf/descriptor.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "translation/status.hpp"

namespace s2s::translation {

// Hash and equality that let string-keyed maps be searched with a string_view.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

struct method_types {
  const google::protobuf::Descriptor* request = nullptr;
  const google::protobuf::Descriptor* response = nullptr;
  bool client_streaming = false;
  bool server_streaming = false;
};

class schema {
 public:
  // Loads a serialized google.protobuf.FileDescriptorSet, files in any order.
  static result<std::shared_ptr<const schema>> from_descriptor_set(std::string_view bytes);

  // "/pkg.Service/Method" → its request and response types; nullptr when the method is unknown.
  const method_types* find_method(std::string_view path) const;
  const google::protobuf::Descriptor* find_message(std::string_view full_name) const;

  // Every message type of every file, nested and map-entry types included.
  const std::vector<const google::protobuf::Descriptor*>& message_types() const { return message_types_; }
  const google::protobuf::DescriptorPool& pool() const { return *pool_; }

 private:
  schema() = default;

  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::vector<const google::protobuf::Descriptor*> message_types_;
  string_map<method_types> methods_;
};

}  // namespace s2s::translation
