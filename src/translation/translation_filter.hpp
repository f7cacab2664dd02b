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

  const plan_set& plans() const { return plans_; }

 private:
  class leaves;

  translation_filter(std::shared_ptr<const schema> types, namespace_translator names,
                     search_attribute_translator search_attributes, plan_set plans);

  std::shared_ptr<const schema> schema_;
  namespace_translator names_;
  search_attribute_translator search_attributes_;
  plan_set plans_;
  // Request types naming a namespace, to remember it for the call's responses.
  std::unordered_map<const google::protobuf::Descriptor*, scope_fields> request_scopes_;
};

}  // namespace s2s::translation
