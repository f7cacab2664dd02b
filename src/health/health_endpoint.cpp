// The /health endpoint of one side of a cluster connection: 200 "OK" when it can carry traffic, else 503 and why.
#include "health/health_endpoint.hpp"

namespace s2s::health {

http::response answer(std::string_view path, readiness& side) {
  if (path != "/health")
    return {404, "text/plain; charset=utf-8", "not found; try /health\n"};
  auto verdict = side.check();
  if (verdict.ready)
    return {200, "text/plain; charset=utf-8", "OK\n"};
  return {503, "text/plain; charset=utf-8", "not ready: " + verdict.reason + "\n"};
}

std::variant<std::unique_ptr<http::server>, std::string> serve_health(const config::address& address,
                                                                      std::shared_ptr<readiness> side,
                                                                      std::string name) {
  return http::server::start(
      address, [side = std::move(side)](std::string_view path) { return answer(path, *side); }, std::move(name),
      "s2s-health");
}

}  // namespace s2s::health
