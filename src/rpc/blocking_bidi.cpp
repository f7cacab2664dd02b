// A generic gRPC call driven one blocking operation at a time, for bytes in and out by method path.
#include "rpc/blocking_bidi.hpp"

#include <vector>

namespace s2s::rpc {

blocking_bidi::blocking_bidi(std::shared_ptr<grpc::Channel> channel, std::string_view method,
                             std::chrono::milliseconds timeout,
                             const std::vector<std::pair<std::string, std::string>>& metadata)
    : stub_(std::move(channel)) {
  context_.set_deadline(std::chrono::system_clock::now() + timeout);
  for (const auto& [key, value] : metadata)
    context_.AddMetadata(key, value);
  call_ = stub_.PrepareCall(&context_, std::string(method), &queue_);
  call_->StartCall(this);
  open_ = next();
}

blocking_bidi::~blocking_bidi() {
  if (!finished_) {
    context_.TryCancel();
    finish();
  }
  queue_.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue_.Next(&tag, &ok)) {
  }
}

bool blocking_bidi::write(std::string_view bytes) {
  if (!open_)
    return false;
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer buffer(&slice, 1);
  call_->Write(buffer, this);
  return open_ = next();
}

bool blocking_bidi::read(std::string& bytes) {
  if (finished_)
    return false;
  grpc::ByteBuffer buffer;
  call_->Read(&buffer, this);
  if (!next())
    return false;
  std::vector<grpc::Slice> slices;
  bytes.clear();
  if (buffer.Dump(&slices).ok())
    for (const auto& slice : slices)
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return true;
}

void blocking_bidi::writes_done() {
  if (!open_)
    return;
  open_ = false;
  call_->WritesDone(this);
  next();
}

grpc::Status blocking_bidi::finish() {
  if (finished_)
    return status_;
  finished_ = true;
  writes_done();
  call_->Finish(&status_, this);
  next();
  return status_;
}

bool blocking_bidi::next() {
  void* tag = nullptr;
  bool ok = false;
  return queue_.Next(&tag, &ok) && ok;
}

}  // namespace s2s::rpc
