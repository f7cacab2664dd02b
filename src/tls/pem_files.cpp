// Loading the certificate, private key and CA bundle of a TLS block, with a problem that names the file.
#include "tls/pem_files.hpp"

#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>

namespace s2s::tls {
namespace {

// OpenSSL's default would prompt on the terminal for an encrypted key's passphrase: a proxy has nobody to ask.
int no_passphrase(char*, int, int, void*) { return 0; }

pem_problem problem(pem_file file, std::string what) {
  auto detail = drain_errors();
  return {file, detail.empty() ? what : what + ": " + detail};
}

}  // namespace

std::string drain_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty())
      out += "; ";
    out += text;
  }
  return out;
}

std::optional<pem_problem> load_identity(SSL_CTX* context, const std::string& certificate_path,
                                         const std::string& key_path) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(context, certificate_path.c_str()) != 1)
    return problem(pem_file::certificate, "cannot load the certificate '" + certificate_path +
                                              "', which must be PEM: the certificate, then any intermediates");
  // Read apart from its use, so that a key that does not load and a key of another certificate read differently.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(nullptr, EVP_PKEY_free);
  if (std::unique_ptr<BIO, decltype(&BIO_free)> file(BIO_new_file(key_path.c_str(), "r"), BIO_free); file)
    key.reset(PEM_read_bio_PrivateKey(file.get(), nullptr, no_passphrase, nullptr));
  if (!key)
    return problem(pem_file::private_key,
                   "cannot load the private key '" + key_path + "', which must be PEM and not encrypted");
  if (SSL_CTX_use_PrivateKey(context, key.get()) != 1 || SSL_CTX_check_private_key(context) != 1)
    return problem(pem_file::private_key,
                   "the private key '" + key_path + "' is not the key of the certificate '" + certificate_path + "'");
  return std::nullopt;
}

std::optional<pem_problem> load_ca_bundle(SSL_CTX* context, const std::string& path) {
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(context, path.c_str(), nullptr) != 1)
    return problem(pem_file::ca_bundle,
                   "cannot load the CA bundle '" + path + "', which must hold one or more PEM certificates");
  return std::nullopt;
}

std::vector<pem_problem> check_pem_files(const pem_paths& files) {
  std::vector<pem_problem> found;
  bool identity = !files.certificate.empty() && !files.private_key.empty();
  if (!identity && files.ca_bundle.empty())
    return found;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!context) {
    // Without a context nothing can be loaded, here or at start; say so at the first file.
    auto file = identity ? pem_file::certificate : pem_file::ca_bundle;
    found.push_back(problem(file, "cannot create a TLS context to load the files into"));
    return found;
  }
  if (identity)
    if (auto wrong = load_identity(context.get(), files.certificate, files.private_key))
      found.push_back(std::move(*wrong));
  if (!files.ca_bundle.empty())
    if (auto wrong = load_ca_bundle(context.get(), files.ca_bundle))
      found.push_back(std::move(*wrong));
  return found;
}

}  // namespace s2s::tls
