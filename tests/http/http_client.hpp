// A plain HTTP/1.1 client over a loopback socket, for tests of the operators' endpoints.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace s2s::testing {

struct http_reply {
  int status = 0;
  std::string headers;  // the status line and header lines as received
  std::string body;
};

// Sends `request` as is to 127.0.0.1:port and reads until the server closes. Empty when the
// connection fails or no complete reply arrives within the timeout.
std::optional<http_reply> http_exchange(int port, const std::string& request,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

// GET path, with Host and Connection: close.
std::optional<http_reply> http_get(int port, const std::string& path,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace s2s::testing
