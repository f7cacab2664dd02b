// The /health endpoint of one side of a cluster connection: 200 "OK" when it can carry traffic, else 503 and why.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "config/config.hpp"
#include "health/readiness.hpp"
#include "http/server.hpp"

namespace s2s::health {

// Answers a path: /health with the readiness, anything else 404.
http::response answer(std::string_view path, readiness& side);

// Serves /health on `address` until the server is destroyed.
std::variant<std::unique_ptr<http::server>, std::string> serve_health(const config::address& address,
                                                                      std::shared_ptr<readiness> side,
                                                                      std::string name);

}  // namespace s2s::health
