// TLS for the mux connection and the TLS sessions: OpenSSL contexts built from a config TLS block,
// and the per-connection settings that make a client check the server's name and a server pick ALPN.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <openssl/ssl.h>

#include "config/config.hpp"
#include "tls/pem_files.hpp"

namespace s2s::tls {

struct context_deleter {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using context_ptr = std::shared_ptr<SSL_CTX>;

// What every TLS endpoint of the proxy offers: TLS 1.2 and 1.3, and under TLS 1.2 only ECDHE key
// exchange with an AEAD cipher (AES-GCM, ChaCha20-Poly1305), in the order Go's crypto/tls prefers on
// hardware with AES instructions. Under TLS 1.3 every suite is an AEAD one.
inline constexpr const char* tls12_cipher_list =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* tls13_cipher_suites =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";

// Makes grpc++'s TLS (the gRPC servers and channels with a TLS block) offer the same TLS 1.2 suites,
// through its GRPC_SSL_CIPHER_SUITES setting, unless the operator set that variable. Call before the
// first grpc++ TLS credentials are built; later calls do nothing.
void restrict_grpc_suites();

// The server side of a mux-server or a TLS listener. With remoteCAPath set, a client must present a
// certificate that chains to that CA (verified, not merely required).
std::variant<context_ptr, std::string> server_context(const config::tls_config& tls);

// The client side of a mux-client. Unless skipCAVerification, the server's certificate must
// chain to remoteCAPath (or the system roots when it is empty) and carry the expected name.
std::variant<context_ptr, std::string> client_context(const config::tls_config& tls);

// The name a client checks the server's certificate against: caServerName, else the dialed host.
std::string expected_server_name(const config::tls_config& tls, const std::string& dialed_host);

// Applies the per-connection client checks to `ssl` (host name, SNI). False with a reason on failure.
bool prepare_client(SSL* ssl, const config::tls_config& tls, const std::string& dialed_host, std::string& problem);

// ALPN on the server side. A context is shared by its connections, so server_context() installs one
// selector on it and each connection says what it accepts through accept_protocols(); a connection
// that says nothing ignores ALPN, as the mux transport always has.
struct protocol_choice {
  std::vector<std::uint8_t> accepted;  // in ALPN's wire form, in our order of preference
  std::string refused_offer;           // set when the client offered only protocols we do not accept: those
};

// Makes the handshake of `ssl` pick from `choice` (which must outlive it). A client that offers ALPN
// with none of the accepted protocols then fails the handshake with no_application_protocol; one
// that offers none is accepted. A context not made by server_context() gets the selector here, so it
// must not be in use by other threads for the first such call.
void accept_protocols(SSL* ssl, protocol_choice* choice);

// Protocol names in ALPN's wire form (each preceded by its length). Empty, with `problem` set, when
// a name is empty or longer than 255 bytes.
std::vector<std::uint8_t> alpn_wire_form(const std::vector<std::string>& names, std::string& problem);

// Wire-form protocol names as a person reads them: 'h2', 'http/1.1'.
std::string alpn_names(const std::uint8_t* wire, std::size_t size);

// Why a handshake failed, in words: the verification result when the peer was not trusted,
// else OpenSSL's queued errors. Drains the calling thread's OpenSSL error queue.
std::string handshake_problem(SSL* ssl, int ssl_error);

}  // namespace s2s::tls
