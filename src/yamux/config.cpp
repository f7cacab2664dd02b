// Validation of the yamux session tuning.
#include "yamux/config.hpp"

#include "yamux/frame.hpp"

namespace s2s::yamux {

std::optional<std::string> verify(const config& cfg) {
  if (cfg.accept_backlog == 0)
    return "yamux accept_backlog must be positive";
  if (cfg.keepalive_interval.count() <= 0)
    return "yamux keepalive_interval must be positive";
  if (cfg.connection_write_timeout.count() <= 0)
    return "yamux connection_write_timeout must be positive";
  if (cfg.max_stream_window < initial_stream_window) {
    return "yamux max_stream_window must be at least " + std::to_string(initial_stream_window) + " bytes, got " +
           std::to_string(cfg.max_stream_window);
  }
  if (cfg.stream_open_timeout.count() < 0)
    return "yamux stream_open_timeout must not be negative";
  if (cfg.stream_close_timeout.count() < 0)
    return "yamux stream_close_timeout must not be negative";
  return std::nullopt;
}

}  // namespace s2s::yamux
