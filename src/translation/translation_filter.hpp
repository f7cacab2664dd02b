// The translation filter: namespace names, search attribute names and UTF-8 repair, applied on the wire.
#pragma once

#include <memory>
#include <unordered_map>

#include "translation/filter.hpp"
#include "translation/namespace_translator.hpp"
#include "translation/plan.hpp"
#include "translation/search_attribute_translator.hpp"

namespace s2s::translation {

class translation_filter : public message_filter {
 public:
  static result<std::unique_ptr<translation_filter>> create(std::shared_ptr<const schema> types,
                                                            namespace_translator names,
                                                            search_attribute_translator search_attributes,
                                                            bool repair_utf8);

  std::string_view name() const override { return "translation"; }
  filter_result apply(const message_context& context, std::string& bytes) const override;
  bool wants(const message_context& context) const override;
  // Namespace headers are renamed like namespace fields; from the remote side, the routing header naming a
  // local name of a mapping is refused as the body would be.
  filter_result apply_header(const message_context& context, std::string_view key, std::string& value) const override;
  bool wants_headers() const override { return !names_.empty(); }
  // Names in the status message (whole words only) and in every detail whose type the schema knows.
  filter_result apply_status(const message_context& context, std::string& message, std::string& details) const override;
  bool wants_status() const override { return !names_.empty() || !search_attributes_.empty(); }

  const plan_set& plans() const { return plans_; }

 private:
  class leaves;

  translation_filter(std::shared_ptr<const schema> types, namespace_translator names,
                     search_attribute_translator search_attributes, plan_set plans);
  // A remote caller naming a namespace by its local name: the namespace does not exist for that side.
  filter_result not_found(std::string_view name, const message_context& context) const;

  std::shared_ptr<const schema> schema_;
  namespace_translator names_;
  search_attribute_translator search_attributes_;
  plan_set plans_;
  // Request types naming a namespace, to remember it for the call's responses.
  std::unordered_map<const google::protobuf::Descriptor*, scope_fields> request_scopes_;
  // NamespaceNotFoundFailure's namespace field, for the details of not_found(); 0 when the schema lacks it.
  std::uint32_t not_found_namespace_field_ = 0;
};

}  // namespace s2s::translation
