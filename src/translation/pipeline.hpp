// The filters of one side of a cluster connection, in order, and the per-call object that runs them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "shards/lcm_shard_map.hpp"
#include "translation/acl.hpp"
#include "translation/filter.hpp"
#include "translation/replication_messages.hpp"
#include "translation/schema.hpp"

namespace s2s::translation {

class call_translation;

using filter_list = std::vector<std::shared_ptr<const message_filter>>;
// Request metadata as (key, value) pairs, keys in lower case as gRPC carries them.
using header_list = std::vector<std::pair<std::string, std::string>>;

// Built once per (cluster connection, side) from validated config; immutable and shared by all calls.
// A SIGHUP reload builds a new pipeline; calls in flight keep the one they started with.
class pipeline : public std::enable_shared_from_this<pipeline> {
 public:
  // Outbound: requests local→remote, responses remote→local, DescribeCluster gets failover increment `.remote`.
  // Inbound: requests remote→local (a local name of a mapping is refused NOT_FOUND) then ACL and the
  // replicationEndpoint override; responses: the ACL drops listed namespaces outside allowedNamespaces, then
  // local→remote, DescribeCluster gets `.local`. Request headers naming a namespace and the upstream's error
  // status are translated as the requests and responses are. With shardCount.mode lcm, DescribeCluster reports
  // the least common multiple of the shard counts and replication streams get their shard ids mapped
  // (docs/shard-counts.md): on the outbound side the local cluster is the streams' client, on the inbound side
  // the remote one. With routing, DescribeCluster reports the asking cluster's own count and the pipeline carries
  // the replication codec the side's routing hub uses.
  static result<std::shared_ptr<const pipeline>> build(const config::cluster_connection& connection, side arrived_on,
                                                       std::shared_ptr<const schema> types);

  // What applies before the schema is loaded: the method checks of aclPolicy (on the inbound side), which need no
  // schema; without a policy there, a pipeline that changes and refuses nothing.
  static result<std::shared_ptr<const pipeline>> build_method_checks(const config::cluster_connection& connection,
                                                                     side arrived_on);
  // Whether this side's Temporal calls wait for the schema: a filter that build() makes for the side reads their
  // messages for more than UTF-8 repair, which lets calls pass unrepaired until the schema is there.
  static bool needs_schema(const config::cluster_connection& connection, side arrived_on);

  // Starts a call: resolves the method once and decides method-level ACL before any message.
  call_translation start_call(std::string_view method) const;

  side arrived_on() const { return side_; }
  const schema& types() const { return *schema_; }
  const filter_list& request_filters() const { return request_filters_; }
  const filter_list& response_filters() const { return response_filters_; }
  // The mapping of replication streams' shard ids on this side; nullopt unless shardCount.mode is lcm.
  const std::optional<shards::lcm_shard_map>& stream_shards() const { return stream_shards_; }
  // How replication streams' messages are read and written on this side's schema; null unless shardCount.mode is
  // routing.
  const std::shared_ptr<const translation::replication_codec>& stream_codec() const { return replication_codec_; }

 private:
  friend class call_translation;
  pipeline(side arrived_on, std::shared_ptr<const schema> types) : side_(arrived_on), schema_(std::move(types)) {}

  // Adds the aclPolicy filter on this pipeline's schema; empty, or why it cannot be built there.
  std::string add_acl(const config::acl_policy& policy, namespace_translator names);
  filter_result run(const filter_list& filters, const message_context& context, std::string& bytes) const;
  static bool any_wants(const filter_list& filters, const message_context& context);
  filter_result run_headers(const message_context& context, header_list& headers) const;
  filter_result run_status(const message_context& context, std::string& message, std::string& details) const;

  side side_;
  std::shared_ptr<const schema> schema_;
  const acl_filter* acl_ = nullptr;  // owned by the filter lists
  filter_list request_filters_;
  filter_list response_filters_;
  std::optional<shards::lcm_shard_map> stream_shards_;
  std::shared_ptr<const translation::replication_codec> replication_codec_;
};

// One call's view of a pipeline: the actor owning the call runs every message of it through here.
class call_translation {
 public:
  // Set when the call must end before any message is forwarded (e.g. PERMISSION_DENIED for its method).
  const std::optional<status>& refusal() const { return refusal_; }
  // Each returns unchanged, changed (bytes rewritten) or refused (end the call with result.refusal).
  filter_result on_request(std::string& bytes) { return on_message(bytes, true); }
  filter_result on_response(std::string& bytes) { return on_message(bytes, false); }
  // The request's metadata entries that name a namespace (is_namespace_header), renamed or refused, and on a
  // replication stream under shardCount.mode lcm its shard ids, mapped (refused FAILED_PRECONDITION when they
  // fit neither the counts nor their mapping); the others are left alone.
  filter_result on_request_headers(header_list& headers);
  // Whether on_request_headers may change or refuse these headers; when not, skip it.
  bool wants_headers(const header_list& headers) const;
  // Once on_request_headers mapped a replication stream (shardCount lcm): the ids as they arrived and as the
  // server gets them.
  const std::optional<shards::lcm_stream>& mapped_stream() const { return mapped_stream_; }
  // The real (client, server) shards of the mapped stream, for operators; nullopt before it is mapped.
  std::optional<shards::stream_shard_ids> mapped_real_shards() const;
  // The error status the upstream ended the call with: its message and its grpc-status-details-bin bytes
  // (empty when absent), renamed as responses are.
  filter_result on_status(std::string& message, std::string& details);
  bool wants_headers() const { return wants_headers_; }
  bool wants_status() const { return wants_status_; }
  // Whether this call's requests (responses) may be read or changed at all; when not, forward them as they are,
  // without flattening them to call on_request (on_response). Set by the method's types and the filters' plans.
  bool wants_requests() const { return wants_requests_; }
  bool wants_responses() const { return wants_responses_; }
  // The method's types; nullptr when the schema does not know it (its messages then pass unchanged).
  const method_types* types() const { return types_; }

 private:
  friend class pipeline;
  call_translation(std::shared_ptr<const pipeline> owner, std::string_view method);
  filter_result on_message(std::string& bytes, bool is_request);
  message_context context_of(bool is_request);

  std::shared_ptr<const pipeline> pipeline_;
  std::string method_;
  const method_types* types_ = nullptr;
  std::optional<status> refusal_;
  call_state state_;
  bool wants_requests_ = true;
  bool wants_responses_ = true;
  bool wants_headers_ = false;
  bool wants_status_ = false;
  bool maps_stream_shards_ = false;
  std::optional<shards::lcm_stream> mapped_stream_;
};

}  // namespace s2s::translation
