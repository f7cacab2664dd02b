// libFuzzer target: the wire rewriter, driven by the real Temporal descriptors, never crashes, refuses malformed
// input with INVALID_ARGUMENT, keeps protobuf-valid input valid, and has nothing left to do on its own output.
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/logging.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "translation/pipeline.hpp"
#include "translation_fuzz_input.hpp"

namespace {

namespace pb = google::protobuf;
using namespace s2s::translation;

struct fuzz_state {
  std::shared_ptr<const schema> types;
  std::shared_ptr<const pipeline> outbound, inbound;
  const message_filter* translation = nullptr;
  const message_filter* acl = nullptr;
  std::unique_ptr<pb::DynamicMessageFactory> factory;
  const pb::Descriptor* roots[fuzz::root_types.size()] = {};
};
fuzz_state* state = nullptr;

[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "translation_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

s2s::config::cluster_connection fuzz_connection() {
  s2s::config::cluster_connection connection;
  connection.name = "fuzz";
  connection.namespace_mappings = {{"orders", "orders.acct42"}, {"billing", "billing.acct42"}};
  connection.search_attribute_mappings = {{"orders", "6d5c2b1e-orders", {{"CustomerId", "CustomerIdAcct42"}}},
                                          {"billing", "9a8b7c6d-billing", {{"CustomerId", "BillingCustomer"}}}};
  connection.acl = s2s::config::acl_policy{std::vector<std::string>{"DescribeCluster"},
                                           std::vector<std::string>{"orders", "billing"}};
  connection.failover_version_increment_translation = s2s::config::failover_version_increment{100, 1000000};
  connection.replication_endpoint = "proxy:6233";
  connection.repair_utf8 = true;
  return connection;
}

std::string read_descriptors() {
  const char* from_env = std::getenv("S2S_TEMPORAL_DESCRIPTORS");
  std::string path = from_env != nullptr ? from_env : S2S_TEMPORAL_DESCRIPTORS_PATH;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    violated("setup", "cannot read the Temporal descriptors at " + path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

filter_result apply(const message_filter& filter, const pb::Descriptor* type, direction dir, bool is_request,
                    std::string& bytes) {
  message_context context;
  context.method = "/fuzz.Service/Method";
  context.type = type;
  context.dir = dir;
  context.is_request = is_request;
  return filter.apply(context, bytes);
}

bool parses(const pb::Descriptor* type, const std::string& bytes) {
  std::unique_ptr<pb::Message> message(state->factory->GetPrototype(type)->New());
  return message->ParseFromString(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  pb::SetLogHandler(nullptr);  // protobuf's own parse complaints are expected here
  state = new fuzz_state();
  auto types = schema::from_descriptor_set(read_descriptors());
  if (!types)
    violated("setup", types.error());
  state->types = *types;
  auto outbound = pipeline::build(fuzz_connection(), side::outbound, state->types);
  auto inbound = pipeline::build(fuzz_connection(), side::inbound, state->types);
  if (!outbound || !inbound)
    violated("setup", outbound ? inbound.error() : outbound.error());
  state->outbound = *outbound;
  state->inbound = *inbound;
  state->translation = state->outbound->request_filters().front().get();
  for (const auto& filter : state->inbound->request_filters()) {
    if (filter->name() == "acl")
      state->acl = filter.get();
  }
  state->factory = std::make_unique<pb::DynamicMessageFactory>(&state->types->pool());
  for (std::size_t i = 0; i < fuzz::root_types.size(); ++i) {
    state->roots[i] = state->types->find_message(fuzz::root_types[i]);
    if (state->roots[i] == nullptr)
      violated("setup", "the schema has no " + std::string(fuzz::root_types[i]));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2)
    return 0;
  const pb::Descriptor* type = state->roots[data[0] % fuzz::root_types.size()];
  direction dir = (data[1] & fuzz::flag_remote_to_local) != 0 ? direction::remote_to_local : direction::local_to_remote;
  bool is_request = (data[1] & fuzz::flag_request) != 0;
  const std::string input(reinterpret_cast<const char*>(data) + 2, size - 2);

  std::string bytes = input;
  filter_result once = apply(*state->translation, type, dir, is_request, bytes);
  if (once.is_refused()) {
    if (once.refusal.code != status_code::invalid_argument || once.refusal.message.empty()) {
      violated("refusal", once.refusal.message);
    }
    if (bytes != input)
      violated("refused input was modified", once.refusal.message);
    return 0;
  }
  if (!once.is_changed() && bytes != input)
    violated("unchanged result with different bytes", type->full_name());
  if (once.is_changed() && parses(type, input) && !parses(type, bytes)) {
    violated("valid protobuf became invalid", type->full_name());
  }

  // Every name and repair is done in one pass: a second pass in the same direction finds nothing.
  std::string again = bytes;
  filter_result twice = apply(*state->translation, type, dir, is_request, again);
  if (twice.is_refused())
    violated("own output refused", twice.refusal.message);
  if (twice.is_changed() || again != bytes)
    violated("second pass changed the output", type->full_name());

  // The other direction accepts it too.
  std::string back = bytes;
  filter_result reverse_result = apply(*state->translation, type, reverse(dir), is_request, back);
  if (reverse_result.is_refused())
    violated("reverse refused", reverse_result.refusal.message);

  if (is_request && state->acl != nullptr) {
    std::string checked = bytes;
    filter_result acl = apply(*state->acl, type, direction::remote_to_local, true, checked);
    if (acl.is_refused() && acl.refusal.code != status_code::permission_denied) {
      violated("acl refused a message the translator accepted", acl.refusal.message);
    }
    if (checked != bytes)
      violated("acl modified a message", type->full_name());
  }
  return 0;
}
