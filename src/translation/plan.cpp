// Translation plans: per message type, the fields that can lead to something to change (DESIGN.md §3).
#include "translation/plan.hpp"

#include <algorithm>
#include <array>
#include <deque>

namespace s2s::translation {
namespace {

namespace pb = google::protobuf;

// The rules of DESIGN.md §3, checked against the descriptors of go.temporal.io/api and go.temporal.io/server.
constexpr std::array<std::string_view, 3> namespace_name_fields = {"namespace", "workflow_namespace",
                                                                   "parent_workflow_namespace"};
constexpr std::string_view namespace_info_type = "temporal.api.namespace.v1.NamespaceInfo";
constexpr std::string_view namespace_info_name_field = "name";
// Fields whose own namespace (not a parent's) is the one their message's contents belong to.
constexpr std::array<std::string_view, 2> scope_name_fields = {"namespace", "workflow_namespace"};
constexpr std::array<std::string_view, 1> scope_id_fields = {"namespace_id"};

constexpr std::string_view data_blob_type = "temporal.api.common.v1.DataBlob";
constexpr std::string_view history_type = "temporal.api.history.v1.History";
// DataBlob fields that carry history events; raw_history is GetWorkflowExecutionHistoryResponse's.
constexpr std::array<std::string_view, 7> history_blob_fields = {
    "events", "new_run_events", "event_batch", "event_batches", "events_batches", "history_batches", "raw_history"};

constexpr std::string_view search_attributes_type = "temporal.api.common.v1.SearchAttributes";
constexpr std::string_view search_attributes_map_field = "indexed_fields";
constexpr std::string_view search_attribute_map_name = "search_attributes";  // any map<string, Payload> so named
constexpr std::string_view payload_type = "temporal.api.common.v1.Payload";

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_string(const pb::FieldDescriptor* field) { return field->type() == pb::FieldDescriptor::TYPE_STRING; }

bool is_message(const pb::FieldDescriptor* field) { return field->type() == pb::FieldDescriptor::TYPE_MESSAGE; }

bool is_namespace_name(const pb::Descriptor* type, const pb::FieldDescriptor* field) {
  if (contains(namespace_name_fields, field->name()))
    return true;
  return type->full_name() == namespace_info_type && field->name() == namespace_info_name_field;
}

// A map from search attribute name to Payload: its entry type's key is a search attribute name.
bool is_search_attribute_map(const pb::Descriptor* type, const pb::FieldDescriptor* field) {
  if (!field->is_map())
    return false;
  if (type->full_name() == search_attributes_type && field->name() == search_attributes_map_field)
    return true;
  const pb::FieldDescriptor* value = field->message_type()->map_value();
  return field->name() == search_attribute_map_name && value != nullptr && is_message(value) &&
         value->message_type()->full_name() == payload_type;
}

struct edge {
  const pb::FieldDescriptor* field;
  const pb::Descriptor* child;
  step_kind kind;
};

struct leaf {
  const pb::FieldDescriptor* field;
  std::uint8_t roles;
};

struct node {
  std::vector<leaf> leaves;
  std::vector<edge> edges;
  std::vector<const pb::Descriptor*> parents;
  bool interesting = false;
  bool reaches_search_attributes = false;
};

// Marks every type from which a type satisfying `seed` is reachable.
template <class Seed, class Mark>
void propagate(std::unordered_map<const pb::Descriptor*, node>& graph, Seed seed, Mark mark) {
  std::deque<const pb::Descriptor*> work;
  for (auto& [type, n] : graph) {
    if (seed(n)) {
      mark(n) = true;
      work.push_back(type);
    }
  }
  while (!work.empty()) {
    const pb::Descriptor* type = work.front();
    work.pop_front();
    for (const pb::Descriptor* parent : graph[type].parents) {
      bool& flag = mark(graph[parent]);
      if (!flag) {
        flag = true;
        work.push_back(parent);
      }
    }
  }
}

}  // namespace

scope_fields find_scope_fields(const pb::Descriptor* type) {
  scope_fields found;
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* field = type->field(i);
    if (!is_string(field) || field->is_repeated())
      continue;
    auto number = static_cast<std::uint32_t>(field->number());
    if (contains(scope_name_fields, field->name()))
      found.names.push_back(number);
    if (contains(scope_id_fields, field->name()))
      found.ids.push_back(number);
  }
  return found;
}

const field_step* message_plan::find_sorted(std::uint32_t number) const {
  auto it = std::lower_bound(steps.begin(), steps.end(), number,
                             [](const field_step& step, std::uint32_t n) { return step.number < n; });
  return it != steps.end() && it->number == number ? &*it : nullptr;
}

result<plan_set> plan_set::compile(const schema& types, plan_features features) {
  plan_set plans;
  plans.features_ = features;
  if (!features.any())
    return plans;

  const pb::Descriptor* data_blob = types.find_message(data_blob_type);
  const pb::Descriptor* history = types.find_message(history_type);
  if (data_blob != nullptr && history != nullptr) {
    const pb::FieldDescriptor* encoding = data_blob->FindFieldByName("encoding_type");
    const pb::FieldDescriptor* data = data_blob->FindFieldByName("data");
    const pb::EnumValueDescriptor* proto3 = encoding != nullptr && encoding->enum_type() != nullptr
                                                ? encoding->enum_type()->FindValueByName("ENCODING_TYPE_PROTO3")
                                                : nullptr;
    if (data == nullptr || proto3 == nullptr) {
      return result<plan_set>::failure(std::string(data_blob_type) +
                                       " in the schema lacks encoding_type (with ENCODING_TYPE_PROTO3) or data");
    }
    plans.blob_ = {static_cast<std::uint32_t>(encoding->number()), static_cast<std::uint32_t>(data->number()),
                   static_cast<std::uint64_t>(proto3->number())};
  } else {
    history = nullptr;  // a schema without Temporal's common types has no history blobs
  }

  // Map entry types whose key is a search attribute name.
  std::unordered_map<const pb::Descriptor*, bool> search_attribute_entries;
  for (const pb::Descriptor* type : types.message_types()) {
    for (int i = 0; i < type->field_count(); ++i) {
      if (is_search_attribute_map(type, type->field(i)))
        search_attribute_entries[type->field(i)->message_type()] = true;
    }
  }

  std::unordered_map<const pb::Descriptor*, node> graph;
  for (const pb::Descriptor* type : types.message_types()) {
    node& n = graph[type];
    bool search_attribute_entry = search_attribute_entries.count(type) != 0;
    for (int i = 0; i < type->field_count(); ++i) {
      const pb::FieldDescriptor* field = type->field(i);
      if (is_string(field)) {
        std::uint8_t roles = 0;
        if (features.namespace_names && is_namespace_name(type, field))
          roles |= role_namespace_name;
        if (features.search_attributes && search_attribute_entry && field->number() == 1) {
          roles |= role_search_attribute_key;
        }
        if (features.utf8_repair)
          roles |= role_text;
        if (roles != 0)
          n.leaves.push_back({field, roles});
      } else if (is_message(field)) {
        if (history != nullptr && field->message_type() == data_blob && contains(history_blob_fields, field->name())) {
          if (features.history_blobs)
            n.edges.push_back({field, history, step_kind::history_blob});
        } else {
          n.edges.push_back({field, field->message_type(), step_kind::message});
        }
      }
    }
  }
  for (auto& [type, n] : graph) {
    for (const edge& e : n.edges)
      graph[e.child].parents.push_back(type);
  }
  propagate(
      graph, [](const node& n) { return !n.leaves.empty(); }, [](node& n) -> bool& { return n.interesting; });
  propagate(
      graph,
      [](const node& n) {
        return std::any_of(n.leaves.begin(), n.leaves.end(),
                           [](const leaf& l) { return (l.roles & role_search_attribute_key) != 0; });
      },
      [](node& n) -> bool& { return n.reaches_search_attributes; });

  for (auto& [type, n] : graph) {
    if (n.interesting)
      plans.plans_[type] = std::make_unique<message_plan>();
  }
  for (auto& [type, n] : graph) {
    if (!n.interesting)
      continue;
    message_plan& plan = *plans.plans_[type];
    plan.type = type;
    for (const leaf& l : n.leaves) {
      plan.steps.push_back(
          {static_cast<std::uint32_t>(l.field->number()), step_kind::string, l.roles, nullptr, l.field});
    }
    for (const edge& e : n.edges) {
      auto child = plans.plans_.find(e.child);
      if (child == plans.plans_.end())
        continue;
      plan.steps.push_back({static_cast<std::uint32_t>(e.field->number()), e.kind, 0, child->second.get(), e.field});
    }
    std::sort(plan.steps.begin(), plan.steps.end(),
              [](const field_step& a, const field_step& b) { return a.number < b.number; });
    constexpr std::uint32_t dense_limit = 4096;
    if (!plan.steps.empty() && plan.steps.back().number < dense_limit) {
      plan.index.assign(plan.steps.back().number + 1, 0);
      for (std::size_t i = 0; i < plan.steps.size(); ++i) {
        plan.index[plan.steps[i].number] = static_cast<std::uint16_t>(i + 1);
      }
    }
    if (n.reaches_search_attributes)
      plan.scope = find_scope_fields(type);
  }
  return plans;
}

}  // namespace s2s::translation
