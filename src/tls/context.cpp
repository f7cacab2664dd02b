// TLS for the mux connection and the TLS sessions: OpenSSL contexts built from a config TLS block.
#include "tls/context.hpp"

#include <stdlib.h>

#include <algorithm>
#include <mutex>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log/log.hpp"

namespace s2s::tls {
namespace {

std::variant<context_ptr, std::string> fail(SSL_CTX* context, std::string what) {
  SSL_CTX_free(context);
  auto detail = drain_errors();
  return detail.empty() ? what : what + ": " + detail;
}

std::variant<context_ptr, std::string> fail(SSL_CTX* context, const pem_problem& problem) {
  SSL_CTX_free(context);
  return problem.message;
}

// Loads this side's certificate chain and key when the block names them. The config's validation loaded the
// same files: a problem here means they changed or went away since.
std::optional<pem_problem> load_identity_of(SSL_CTX* context, const config::tls_config& tls) {
  if (tls.certificate_path.empty() && tls.key_path.empty())
    return std::nullopt;
  return load_identity(context, tls.certificate_path, tls.key_path);
}

SSL_CTX* new_context(const SSL_METHOD* method) {
  SSL_CTX* context = SSL_CTX_new(method);
  if (!context)
    return nullptr;
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  // The transport writes from a buffer that may move and grow between retries.
  SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read what the socket has in one go rather than a record header and body at a time: two
  // system calls per 16 KiB record otherwise. (The reader must then ask SSL_has_pending, not
  // poll, whether more is waiting.)
  SSL_CTX_set_read_ahead(context, 1);
  SSL_CTX_set_default_read_buffer_len(context, 64 * 1024);
  // Suites in the order Go's crypto/tls prefers them on hardware with AES instructions (OpenSSL's
  // own order puts AES-256 first): AES-128-GCM is as safe for this use and does 10 rounds per
  // block, not 14, on every byte the sessions carry. OpenSSL's default TLS 1.2 list would also
  // offer CBC suites.
  if (SSL_CTX_set_cipher_list(context, tls12_cipher_list) != 1 ||
      SSL_CTX_set_ciphersuites(context, tls13_cipher_suites) != 1) {
    SSL_CTX_free(context);
    return nullptr;
  }
  return context;
}

// Where a connection keeps its protocol_choice, and the mark of a context whose selector is installed.
int choice_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int selector_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int select_protocol(SSL* ssl, const unsigned char** out, unsigned char* out_size, const unsigned char* offered,
                    unsigned int offered_size, void*) {
  auto* choice = static_cast<protocol_choice*>(SSL_get_ex_data(ssl, choice_index()));
  if (!choice || choice->accepted.empty())
    return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_size, choice->accepted.data(),
                            static_cast<unsigned int>(choice->accepted.size()), offered,
                            offered_size) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  choice->refused_offer = alpn_names(offered, offered_size);
  // OpenSSL answers this with the no_application_protocol alert.
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Once per context: the callback is a property of the shared context, the list one of the connection.
void install_protocol_selector(SSL_CTX* context) {
  static std::mutex installing;
  std::lock_guard lock(installing);
  if (SSL_CTX_get_ex_data(context, selector_index()))
    return;
  SSL_CTX_set_alpn_select_cb(context, select_protocol, nullptr);
  static char installed;
  SSL_CTX_set_ex_data(context, selector_index(), &installed);
}

}  // namespace

void restrict_grpc_suites() {
  static std::once_flag once;
  std::call_once(once, [] { ::setenv("GRPC_SSL_CIPHER_SUITES", tls12_cipher_list, 0); });
}

std::variant<context_ptr, std::string> server_context(const config::tls_config& tls) {
  SSL_CTX* context = new_context(TLS_server_method());
  if (!context)
    return "cannot create a TLS server context: " + drain_errors();
  if (auto problem = load_identity_of(context, tls))
    return fail(context, *problem);
  if (!tls.remote_ca_path.empty()) {
    if (auto problem = load_ca_bundle(context, tls.remote_ca_path))
      return fail(context, *problem);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  }
  // Before any connection uses the context, so that no handshake reads it while it changes.
  install_protocol_selector(context);
  return context_ptr(context, context_deleter{});
}

std::variant<context_ptr, std::string> client_context(const config::tls_config& tls) {
  SSL_CTX* context = new_context(TLS_client_method());
  if (!context)
    return "cannot create a TLS client context: " + drain_errors();
  if (auto problem = load_identity_of(context, tls))
    return fail(context, *problem);
  if (tls.skip_ca_verification) {
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  } else {
    if (tls.remote_ca_path.empty()) {
      if (SSL_CTX_set_default_verify_paths(context) != 1)
        return fail(context, "cannot load the system CA certificates");
    } else if (auto problem = load_ca_bundle(context, tls.remote_ca_path)) {
      return fail(context, *problem);
    }
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  }
  return context_ptr(context, context_deleter{});
}

std::string expected_server_name(const config::tls_config& tls, const std::string& dialed_host) {
  return tls.ca_server_name.empty() ? dialed_host : tls.ca_server_name;
}

bool prepare_client(SSL* ssl, const config::tls_config& tls, const std::string& dialed_host, std::string& problem) {
  auto name = expected_server_name(tls, dialed_host);
  // SNI must be a host name, not an address literal.
  ASN1_OCTET_STRING* literal = a2i_IPADDRESS(name.c_str());
  bool is_address = literal != nullptr;
  ASN1_OCTET_STRING_free(literal);
  if (!is_address && !name.empty() && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    problem = "cannot set the server name indication '" + name + "'";
    return false;
  }
  if (tls.skip_ca_verification)
    return true;
  bool ok = is_address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
                       : SSL_set1_host(ssl, name.c_str()) == 1;
  if (!ok) {
    problem = "cannot require the server name '" + name + "'";
    return false;
  }
  return true;
}

void accept_protocols(SSL* ssl, protocol_choice* choice) {
  install_protocol_selector(SSL_get_SSL_CTX(ssl));
  SSL_set_ex_data(ssl, choice_index(), choice);
}

std::vector<std::uint8_t> alpn_wire_form(const std::vector<std::string>& names, std::string& problem) {
  std::vector<std::uint8_t> wire;
  for (const auto& name : names) {
    if (name.empty() || name.size() > 255) {
      problem = "ALPN protocol name '" + name + "' must be 1 to 255 bytes long";
      return {};
    }
    wire.push_back(static_cast<std::uint8_t>(name.size()));
    wire.insert(wire.end(), name.begin(), name.end());
  }
  return wire;
}

std::string alpn_names(const std::uint8_t* wire, std::size_t size) {
  std::string out;
  for (std::size_t at = 0; at < size;) {
    std::size_t length = std::min<std::size_t>(wire[at], size - at - 1);
    if (!out.empty())
      out += ", ";
    out += "'" + std::string(reinterpret_cast<const char*>(wire + at + 1), length) + "'";
    at += 1 + length;
  }
  return out;
}

std::string handshake_problem(SSL* ssl, int ssl_error) {
  long verify = SSL_get_verify_result(ssl);
  auto queued = drain_errors();
  std::string out;
  if (verify != X509_V_OK)
    out = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
  if (!queued.empty())
    out += (out.empty() ? "" : " (") + queued + (out.empty() ? "" : ")");
  if (out.empty())
    out = ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN
              ? "the peer closed the connection during the handshake"
              : "handshake failed (SSL error " + std::to_string(ssl_error) + ")";
  return out;
}

}  // namespace s2s::tls
