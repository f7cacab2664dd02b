// The Temporal schema: a FileDescriptorSet loaded into a descriptor pool, and gRPC method paths mapped to types.
#include "translation/schema.hpp"

#include <google/protobuf/descriptor.pb.h>

#include <functional>

namespace s2s::translation {
namespace {

namespace pb = google::protobuf;

class collecting_error_collector : public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name, const pb::Message*, ErrorLocation,
                const std::string& message) override {
    if (!errors.empty())
      errors += "; ";
    errors += filename + ": " + element_name + ": " + message;
  }
  std::string errors;
};

void collect_types(const pb::Descriptor* type, std::vector<const pb::Descriptor*>& out) {
  out.push_back(type);
  for (int i = 0; i < type->nested_type_count(); ++i)
    collect_types(type->nested_type(i), out);
}

}  // namespace

result<std::shared_ptr<const schema>> schema::from_descriptor_set(std::string_view bytes) {
  pb::FileDescriptorSet set;
  if (!set.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return result<std::shared_ptr<const schema>>::failure(
        "the descriptor set (" + std::to_string(bytes.size()) +
        " bytes) is not a serialized google.protobuf.FileDescriptorSet");
  }
  std::unordered_map<std::string, const pb::FileDescriptorProto*> by_name;
  for (const auto& file : set.file()) {
    if (!by_name.emplace(file.name(), &file).second) {
      return result<std::shared_ptr<const schema>>::failure("the descriptor set holds " + file.name() + " twice");
    }
  }

  std::shared_ptr<schema> loaded(new schema());
  loaded->pool_ = std::make_unique<pb::DescriptorPool>();
  collecting_error_collector collector;
  std::unordered_map<std::string, int> state;  // 1 = being built, 2 = built
  std::string error;
  // Builds dependencies first, whatever order the set lists the files in.
  std::function<bool(const std::string&, const std::string&)> build = [&](const std::string& name,
                                                                          const std::string& needed_by) {
    auto& st = state[name];
    if (st == 2)
      return true;
    if (st == 1) {
      error = "import cycle through " + name;
      return false;
    }
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      error = needed_by + " imports " + name + ", which the descriptor set does not hold";
      return false;
    }
    st = 1;
    for (const auto& dependency : it->second->dependency()) {
      if (!build(dependency, name))
        return false;
    }
    const pb::FileDescriptor* file = loaded->pool_->BuildFileCollectingErrors(*it->second, &collector);
    if (file == nullptr) {
      error = "cannot load " + name + ": " + collector.errors;
      return false;
    }
    state[name] = 2;
    for (int i = 0; i < file->message_type_count(); ++i)
      collect_types(file->message_type(i), loaded->message_types_);
    for (int s = 0; s < file->service_count(); ++s) {
      const pb::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const pb::MethodDescriptor* method = service->method(m);
        loaded->methods_["/" + service->full_name() + "/" + method->name()] = method_types{
            method->input_type(), method->output_type(), method->client_streaming(), method->server_streaming()};
      }
    }
    return true;
  };
  for (const auto& file : set.file()) {
    if (!build(file.name(), "the descriptor set"))
      return result<std::shared_ptr<const schema>>::failure(error);
  }
  return std::shared_ptr<const schema>(std::move(loaded));
}

const method_types* schema::find_method(std::string_view path) const {
  auto it = methods_.find(path);
  return it == methods_.end() ? nullptr : &it->second;
}

const pb::Descriptor* schema::find_message(std::string_view full_name) const {
  return pool_->FindMessageTypeByName(std::string(full_name));
}

}  // namespace s2s::translation
