// Two cores in memory with the EchoService on the server and the call-running client on the other.
#pragma once

#include <string>

#include "core_echo.hpp"
#include "memory_link.hpp"

namespace s2s::http2::testing {

struct echo_link : memory_link {
  echo_link() {
    on_server = [this](const event& e) { echo_server.on_event(e); };
    on_client = [this](const event& e) { echo_client.on_event(e); };
  }
  core_echo_server echo_server{server};
  core_echo_client echo_client{client};
};

inline s2s::testing::v1::EchoRequest request(const std::string& payload) {
  s2s::testing::v1::EchoRequest r;
  r.set_payload(payload);
  return r;
}

}  // namespace s2s::http2::testing
