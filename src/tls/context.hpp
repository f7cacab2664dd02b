// TLS for the mux connection: OpenSSL contexts built from a config TLS block, and the
// per-connection settings that make a client check the server's name.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include <openssl/ssl.h>

#include "config/config.hpp"

namespace s2s::tls {

struct context_deleter {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using context_ptr = std::shared_ptr<SSL_CTX>;

// The server side of a mux-server. With remoteCAPath set, a client must present a
// certificate that chains to that CA (verified, not merely required).
std::variant<context_ptr, std::string> server_context(const config::tls_config& tls);

// The client side of a mux-client. Unless skipCAVerification, the server's certificate must
// chain to remoteCAPath (or the system roots when it is empty) and carry the expected name.
std::variant<context_ptr, std::string> client_context(const config::tls_config& tls);

// The name a client checks the server's certificate against: caServerName, else the dialed host.
std::string expected_server_name(const config::tls_config& tls, const std::string& dialed_host);

// Applies the per-connection client checks to `ssl` (host name, SNI). False with a reason on failure.
bool prepare_client(SSL* ssl, const config::tls_config& tls, const std::string& dialed_host,
                    std::string& problem);

// Why a handshake failed, in words: the verification result when the peer was not trusted,
// else OpenSSL's queued errors. Drains the calling thread's OpenSSL error queue.
std::string handshake_problem(SSL* ssl, int ssl_error);

// The calling thread's queued OpenSSL errors as one line (drains the queue).
std::string drain_errors();

}  // namespace s2s::tls
