// The PEM files a TLS block names, loaded into an OpenSSL context: by the contexts the proxy serves and dials
// with, and by the config's validation, which loads them the same way so that start refuses no file it accepted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>

namespace s2s::tls {

// The key of a TLS block whose file a problem is about.
enum class pem_file { certificate, private_key, ca_bundle };

struct pem_problem {
  pem_file file;
  std::string message;  // names the file and says what it must hold
};

// Loads this side's certificate chain and its private key, and checks that the key is the certificate's.
// An encrypted key is refused, never asked a passphrase for.
std::optional<pem_problem> load_identity(SSL_CTX* context, const std::string& certificate_path,
                                         const std::string& key_path);

// Loads the CA certificates a peer's certificate must chain to.
std::optional<pem_problem> load_ca_bundle(SSL_CTX* context, const std::string& path);

// The files a TLS context would load, each left empty when it would not be: the identity when both of its
// paths are set, the CA bundle when its path is.
struct pem_paths {
  std::string certificate;
  std::string private_key;
  std::string ca_bundle;
};

// What loading those files into a context of its own (discarded after) finds wrong with them.
std::vector<pem_problem> check_pem_files(const pem_paths& files);

// The calling thread's queued OpenSSL errors as one line (drains the queue).
std::string drain_errors();

}  // namespace s2s::tls
