// Addresses written as "host:port" or "[IPv6]:port", as Go's net package and gRPC take them.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/config.hpp"

namespace s2s::config {
namespace {

struct split_address {
  std::string_view host;
  std::string_view port;
  std::string problem;
};

split_address split(std::string_view text) {
  if (text.empty())
    return {{}, {}, "it is empty"};
  if (text.front() == '[') {
    auto closing = text.find(']');
    if (closing == std::string_view::npos)
      return {{}, {}, "the ']' closing the IPv6 address is missing"};
    auto rest = text.substr(closing + 1);
    if (rest.empty())
      return {{}, {}, "the port is missing after ']'"};
    if (rest.front() != ':')
      return {{}, {}, "expected ':' and a port after ']'"};
    return {text.substr(1, closing - 1), rest.substr(1), {}};
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return {{}, {}, "the port is missing"};
  auto host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos)
    return {{}, {}, "an IPv6 address needs brackets, as in [::1]:7233"};
  return {host, text.substr(colon + 1), {}};
}

std::string ipv6_problem(std::string_view host) {
  in6_addr parsed{};
  if (inet_pton(AF_INET6, std::string(host).c_str(), &parsed) != 1)
    return "'" + std::string(host) + "' is not an IPv6 address";
  return {};
}

std::string host_problem(std::string_view host) {
  if (host.empty())
    return {};  // ":6060": all interfaces, as Go reads it
  bool looks_numeric = std::all_of(host.begin(), host.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; });
  if (looks_numeric) {
    in_addr parsed{};
    if (inet_pton(AF_INET, std::string(host).c_str(), &parsed) != 1)
      return "'" + std::string(host) + "' is not an IPv4 address";
    return {};
  }
  if (host.size() > 253)
    return "the host name is longer than 253 characters";
  auto bad = std::find_if_not(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
  if (bad != host.end())
    return "the host name '" + std::string(host) + "' contains '" + std::string(1, *bad) +
           "', which a host name cannot contain";
  if (host.front() == '.' || host.find("..") != std::string_view::npos)
    return "the host name '" + std::string(host) + "' has an empty label";
  return {};
}

std::string port_problem(std::string_view port) {
  if (port.empty())
    return "the port is missing";
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (error == std::errc::result_out_of_range ||
      (error == std::errc{} && end == port.data() + port.size() && value > 65535))
    return "the port " + std::string(port) + " is above 65535";
  if (error != std::errc{} || end != port.data() + port.size())
    return "the port '" + std::string(port) + "' is not a number";
  return {};
}

}  // namespace

std::string address_problem(std::string_view text) {
  auto parts = split(text);
  if (!parts.problem.empty())
    return parts.problem;
  bool bracketed = text.front() == '[';
  auto problem = bracketed ? ipv6_problem(parts.host) : host_problem(parts.host);
  return problem.empty() ? port_problem(parts.port) : problem;
}

std::optional<address> parse_address(std::string_view text) {
  if (!address_problem(text).empty())
    return std::nullopt;
  auto parts = split(text);
  address parsed;
  parsed.host = parts.host.empty() ? "0.0.0.0" : std::string(parts.host);
  std::from_chars(parts.port.data(), parts.port.data() + parts.port.size(), parsed.port);
  return parsed;
}

std::string address::to_string() const {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace s2s::config
