// Runs an HTTP/2 core over a connected TCP socket: the smallest transport loop, for interop tests.
#pragma once

#include <chrono>
#include <functional>

#include "http2/connection.hpp"

namespace s2s::http2::testing {

// Writes the core's output, feeds it what the socket reads and hands every event to `handler`,
// until `done()` holds (true), the peer closes or the deadline passes (false, unless done()).
bool drive(int fd, connection& c, const std::function<void(const event&)>& handler, const std::function<bool()>& done,
           std::chrono::milliseconds timeout);

// A loopback listener on a kernel-chosen port; accept() waits at most `timeout`. Both return -1 on failure.
int listen_loopback(int& port);
int accept_within(int listener, std::chrono::milliseconds timeout);
int connect_loopback(int port);

}  // namespace s2s::http2::testing
