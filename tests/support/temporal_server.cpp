// A stand-in Temporal frontend on loopback: canned answers, recorded requests, and gRPC server
// reflection encoded by hand from a descriptor set.
#include "support/temporal_server.hpp"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <optional>
#include <stdexcept>

namespace s2s::testing {

namespace pbio = google::protobuf::io;

// Reflection, as the server side of grpc/reflection/v1 (and v1alpha, the same numbers) lays it out.
class reflection_answers {
 public:
  explicit reflection_answers(const std::string& descriptor_set) {
    google::protobuf::FileDescriptorSet set;
    if (!set.ParseFromString(descriptor_set))
      throw std::runtime_error("the descriptor set does not parse");
    for (const auto& file : set.file()) {
      std::string prefix = file.package().empty() ? "" : file.package() + ".";
      std::string bytes = file.SerializeAsString();
      files_[file.name()] = bytes;
      for (const auto& service : file.service()) {
        services_.push_back(prefix + service.name());
        symbols_[prefix + service.name()] = bytes;
      }
      for (const auto& message : file.message_type())
        symbols_[prefix + message.name()] = bytes;
    }
  }

  // The response to one ServerReflectionRequest.
  std::string answer(const std::string& request) const {
    pbio::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(request.data()), static_cast<int>(request.size()));
    std::uint32_t asked = 0;
    std::string name;
    while (std::uint32_t tag = in.ReadTag()) {
      std::uint32_t length = 0;
      if ((tag & 7) != 2 || !in.ReadVarint32(&length) || !in.ReadString(&name, static_cast<int>(length)))
        return error(3, "malformed request");
      if ((tag >> 3) >= 3)
        asked = tag >> 3;
    }
    std::string body;
    switch (asked) {
      case 7: {  // list_services → list_services_response (6) of ServiceResponse{name (1)}
        std::string list;
        for (const auto& service : services_)
          append(list, 1, encoded(1, service));
        append(body, 6, list);
        break;
      }
      case 4:    // file_containing_symbol → file_descriptor_response (4), one file
      case 3: {  // file_by_filename
        const auto& table = asked == 4 ? symbols_ : files_;
        auto found = table.find(name);
        if (found == table.end())
          return error(5, "'" + name + "' is not known here");
        append(body, 4, encoded(1, found->second));
        break;
      }
      default:
        return error(12, "this request is not served");
    }
    std::string response;
    append(response, 2, request);  // original_request
    return response + body;
  }

 private:
  static std::string encoded(std::uint32_t number, const std::string& bytes) {
    std::string out;
    append(out, number, bytes);
    return out;
  }
  static void append(std::string& out, std::uint32_t number, const std::string& bytes) {
    pbio::StringOutputStream stream(&out);
    pbio::CodedOutputStream coded(&stream);
    coded.WriteTag((number << 3) | 2);
    coded.WriteVarint32(static_cast<std::uint32_t>(bytes.size()));
    coded.WriteString(bytes);
  }
  static std::string error(int code, const std::string& message) {
    std::string inner;
    {
      pbio::StringOutputStream stream(&inner);
      pbio::CodedOutputStream coded(&stream);
      coded.WriteTag(1 << 3);
      coded.WriteVarint32(static_cast<std::uint32_t>(code));
    }
    append(inner, 2, message);
    return encoded(7, inner);
  }

  std::vector<std::string> services_;
  std::map<std::string, std::string> files_;
  std::map<std::string, std::string> symbols_;
};

class temporal_server::state {
 public:
  explicit state(const temporal_server_options& options) : options_(options) {
    if (!options.descriptor_set.empty())
      reflection_ = std::make_unique<reflection_answers>(options.descriptor_set);
  }

  bool serves_reflection(const std::string& method) const {
    if (!reflection_)
      return false;
    return (options_.reflection_v1 && method == "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") ||
           (options_.reflection_v1alpha && method == "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
  }
  bool answers(const std::string& method) const {
    std::lock_guard lock(mutex_);
    return answers_.count(method) != 0 || failures_.count(method) != 0;
  }
  std::optional<temporal_error> failure(const std::string& method) const {
    std::lock_guard lock(mutex_);
    auto found = failures_.find(method);
    if (found == failures_.end())
      return std::nullopt;
    return found->second;
  }
  void record_metadata(const std::string& method, recorded_metadata entries) {
    std::lock_guard lock(mutex_);
    metadata_[method].push_back(std::move(entries));
  }
  // Records request number `index` of a call and returns its answer, if any.
  std::optional<std::string> on_request(const std::string& method, std::size_t index, const std::string& bytes) {
    if (serves_reflection(method)) {
      std::lock_guard lock(mutex_);
      ++reflection_requests_;
      return reflection_->answer(bytes);
    }
    std::lock_guard lock(mutex_);
    requests_[method].push_back(bytes);
    changed_.notify_all();
    const auto& canned = answers_[method];
    if (index < canned.size())
      return canned[index];
    return std::nullopt;
  }

  temporal_server_options options_;
  std::unique_ptr<reflection_answers> reflection_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, std::vector<std::string>> answers_;
  std::map<std::string, std::vector<std::string>> requests_;
  std::map<std::string, temporal_error> failures_;
  std::map<std::string, std::vector<recorded_metadata>> metadata_;
  std::size_t reflection_requests_ = 0;
};

namespace {

// One call: read a request, write its answer, read the next, until the caller half-closes.
class call final : public grpc::ServerGenericBidiReactor {
 public:
  call(std::shared_ptr<temporal_server::state> state, grpc::GenericCallbackServerContext* context)
      : state_(std::move(state)), method_(context->method()) {
    recorded_metadata entries;
    for (const auto& [key, value] : context->client_metadata()) {
      entries.emplace_back(std::string(key.data(), key.size()), std::string(value.data(), value.size()));
    }
    state_->record_metadata(method_, std::move(entries));
    if (!state_->serves_reflection(method_) && !state_->answers(method_)) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no answers for " + method_));
      return;
    }
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (in_.Dump(&slices).ok())
      for (const auto& slice : slices)
        bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    auto answer = state_->on_request(method_, index_++, bytes);
    if (auto error = state_->failure(method_)) {
      Finish(grpc::Status(static_cast<grpc::StatusCode>(error->code), error->message, error->details));
      return;
    }
    if (!answer) {
      StartRead(&in_);
      return;
    }
    grpc::Slice slice(*answer);
    out_ = grpc::ByteBuffer(&slice, 1);
    StartWrite(&out_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away"));
      return;
    }
    StartRead(&in_);
  }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<temporal_server::state> state_;
  std::string method_;
  std::size_t index_ = 0;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
};

}  // namespace

class temporal_service final : public grpc::CallbackGenericService {
 public:
  explicit temporal_service(std::shared_ptr<temporal_server::state> state) : state_(std::move(state)) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override {
    return new call(state_, context);
  }

 private:
  std::shared_ptr<temporal_server::state> state_;
};

temporal_server::temporal_server(temporal_server_options options)
    : state_(std::make_shared<state>(options)), service_(std::make_unique<temporal_service>(state_)) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(options.port), grpc::InsecureServerCredentials(), &port_);
  builder.RegisterCallbackGenericService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0)
    throw std::runtime_error("the test Temporal server cannot listen on port " + std::to_string(options.port));
}

temporal_server::~temporal_server() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

std::string temporal_server::address() const { return "127.0.0.1:" + std::to_string(port_); }

void temporal_server::answer(const std::string& method, std::vector<std::string> responses) {
  std::lock_guard lock(state_->mutex_);
  state_->answers_[method] = std::move(responses);
}

void temporal_server::fail(const std::string& method, temporal_error error) {
  std::lock_guard lock(state_->mutex_);
  state_->failures_[method] = std::move(error);
}

std::vector<recorded_metadata> temporal_server::metadata(const std::string& method) const {
  std::lock_guard lock(state_->mutex_);
  auto found = state_->metadata_.find(method);
  return found == state_->metadata_.end() ? std::vector<recorded_metadata>{} : found->second;
}

std::vector<std::string> temporal_server::requests(const std::string& method) const {
  std::lock_guard lock(state_->mutex_);
  auto found = state_->requests_.find(method);
  return found == state_->requests_.end() ? std::vector<std::string>{} : found->second;
}

bool temporal_server::wait_for_requests(const std::string& method, std::size_t count,
                                        std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex_);
  return state_->changed_.wait_for(lock, timeout, [&] { return state_->requests_[method].size() >= count; });
}

std::size_t temporal_server::reflection_requests() const {
  std::lock_guard lock(state_->mutex_);
  return state_->reflection_requests_;
}

}  // namespace s2s::testing
