// gRPC server reflection, as much as loading a schema needs: its messages encoded and decoded on the
// wire by field number, and the walk from a server's service list to every file those services need.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "translation/status.hpp"

namespace s2s::translation::reflection {

// The bidi method of each protocol version, newest first: servers may offer either or both.
inline constexpr std::string_view v1_method = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
inline constexpr std::string_view v1alpha_method = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// Types no service names but the proxy translates: the details of Temporal's errors (a symbol of each file).
inline constexpr std::array<std::string_view, 1> error_detail_symbols = {
    "temporal.api.errordetails.v1.NamespaceNotFoundFailure"};

// ServerReflectionRequest messages.
std::string list_services_request();
std::string file_by_filename_request(std::string_view file_name);
std::string file_containing_symbol_request(std::string_view symbol);

// One ServerReflectionResponse, reduced to what a schema load reads.
struct response {
  std::vector<std::string> services;  // list_services_response: the full service names
  std::vector<std::string> files;     // file_descriptor_response: serialized FileDescriptorProtos
  std::optional<status> error;        // error_response: its code and message
};
result<response> decode_response(std::string_view bytes);

// The walk, without I/O: ask next_request() and send it, give its answer to on_response(), until
// finished(). Requests go one at a time, so each answer belongs to the request before it.
class schema_walk {
 public:
  // `extra_symbols` are asked for after the services, with their files' dependencies; a server that does not
  // know one is no failure.
  explicit schema_walk(std::vector<std::string> extra_symbols = {});

  // The request to send now; nullopt once the walk is finished or failed.
  std::optional<std::string> next_request();
  // The answer to the last request. A failure ends the walk; its message says what was asked.
  status on_response(std::string_view bytes);
  bool finished() const { return !waiting_ && pending_.empty() && !failed_; }

  // A serialized FileDescriptorSet of every file collected, once finished.
  std::string descriptor_set() const;
  std::size_t file_count() const { return files_.size(); }
  const std::vector<std::string>& services() const { return services_; }

 private:
  struct ask {
    enum class kind { list_services, symbol, extra_symbol, file } what;
    std::string name;
  };
  status add_file(const std::string& serialized);
  void want_file(const std::string& name);

  std::deque<ask> pending_;
  std::optional<ask> waiting_;  // sent, not yet answered
  bool failed_ = false;
  std::vector<std::string> services_;
  std::vector<std::string> extra_symbols_;
  std::map<std::string, std::string> files_;  // file name → serialized FileDescriptorProto
  std::set<std::string> asked_;               // file names requested or received
};

}  // namespace s2s::translation::reflection
