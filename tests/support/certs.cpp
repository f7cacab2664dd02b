// Certificate and key generation on the OpenSSL 3 C API.
#include "support/certs.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "support/files.hpp"

namespace s2s::testing {
namespace {

struct openssl_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* certificate) const { X509_free(certificate); }
  void operator()(X509_EXTENSION* extension) const { X509_EXTENSION_free(extension); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(BIGNUM* number) const { BN_free(number); }
};
template <class T>
using openssl_ptr = std::unique_ptr<T, openssl_free>;

[[noreturn]] void fail(const std::string& step) {
  std::string reason = "unknown error";
  if (unsigned long code = ERR_get_error(); code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    reason = text;
  }
  ERR_clear_error();
  throw std::runtime_error("test certificates: " + step + ": " + reason);
}

void check(int result, const std::string& step) {
  if (result <= 0)
    fail(step);
}

struct issued {
  openssl_ptr<EVP_PKEY> key;
  openssl_ptr<X509> certificate;
};

enum class role { authority, server, client, member };

void add_extension(X509* certificate, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  openssl_ptr<X509_EXTENSION> extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension)
    fail(std::string("extension ") + OBJ_nid2sn(nid));
  check(X509_add_ext(certificate, extension.get(), -1), "add extension");
}

// Makes a key and a certificate for it, signed by the issuer or, without one, by itself.
issued issue(const std::string& common_name, role kind, const issued* issuer) {
  issued result;
  result.key.reset(EVP_EC_gen("P-256"));
  if (!result.key)
    fail("generate EC P-256 key");

  result.certificate.reset(X509_new());
  X509* certificate = result.certificate.get();
  if (!certificate)
    fail("allocate certificate");
  check(X509_set_version(certificate, X509_VERSION_3), "set version");

  // Random serials keep certificates from different runs distinct to any cache that sees them.
  openssl_ptr<BIGNUM> serial(BN_new());
  if (!serial)
    fail("allocate serial");
  check(BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "random serial");
  check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate)) != nullptr, "set serial");

  // An hour back absorbs clock skew between this process and whatever verifies the chain.
  if (!X509_gmtime_adj(X509_getm_notBefore(certificate), -60L * 60) ||
      !X509_gmtime_adj(X509_getm_notAfter(certificate), 24L * 60 * 60))
    fail("set validity");

  X509_NAME* subject = X509_get_subject_name(certificate);
  check(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("s2s-proxy tests"), -1, -1, 0),
        "set organization");
  check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0),
        "set common name");
  X509* signer = issuer ? issuer->certificate.get() : certificate;
  check(X509_set_issuer_name(certificate, X509_get_subject_name(signer)), "set issuer");
  check(X509_set_pubkey(certificate, result.key.get()), "set public key");

  add_extension(certificate, signer, NID_subject_key_identifier, "hash");
  if (issuer)
    add_extension(certificate, signer, NID_authority_key_identifier, "keyid:always");
  switch (kind) {
    case role::authority:
      add_extension(certificate, signer, NID_basic_constraints, "critical,CA:TRUE");
      add_extension(certificate, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case role::server:
      add_extension(certificate, signer, NID_basic_constraints, "critical,CA:FALSE");
      add_extension(certificate, signer, NID_key_usage, "critical,digitalSignature");
      add_extension(certificate, signer, NID_ext_key_usage, "serverAuth");
      add_extension(certificate, signer, NID_subject_alt_name,
                    ("DNS:" + common_name + ",DNS:localhost,IP:127.0.0.1").c_str());
      break;
    case role::client:
      add_extension(certificate, signer, NID_basic_constraints, "critical,CA:FALSE");
      add_extension(certificate, signer, NID_key_usage, "critical,digitalSignature");
      add_extension(certificate, signer, NID_ext_key_usage, "clientAuth");
      break;
    case role::member:
      add_extension(certificate, signer, NID_basic_constraints, "critical,CA:FALSE");
      add_extension(certificate, signer, NID_key_usage, "critical,digitalSignature");
      add_extension(certificate, signer, NID_ext_key_usage, "serverAuth,clientAuth");
      add_extension(certificate, signer, NID_subject_alt_name,
                    ("DNS:" + common_name + ",DNS:localhost,IP:127.0.0.1").c_str());
      break;
  }

  EVP_PKEY* signing_key = issuer ? issuer->key.get() : result.key.get();
  check(X509_sign(certificate, signing_key, EVP_sha256()), "sign certificate");
  return result;
}

template <class Write>
void write_pem(const std::filesystem::path& path, const std::string& what, Write write) {
  openssl_ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio)
    fail("allocate buffer for " + what);
  check(write(bio.get()), "encode " + what);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  write_file(path, std::string(data, static_cast<std::size_t>(size)));
}

void write_certificate(const std::filesystem::path& path, X509* certificate) {
  write_pem(path, path.filename().string(), [&](BIO* bio) { return PEM_write_bio_X509(bio, certificate); });
}

certificate_files write_leaf(const std::filesystem::path& directory, const std::string& stem, const issued& leaf) {
  certificate_files files{directory / (stem + ".crt"), directory / (stem + ".key")};
  write_certificate(files.certificate, leaf.certificate.get());
  write_pem(files.private_key, stem + " key", [&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, leaf.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return files;
}

authority_files make_authority(const std::filesystem::path& directory, const std::string& stem) {
  issued ca = issue(stem + " CA", role::authority, nullptr);
  issued server = issue(test_certificates::server_name, role::server, &ca);
  issued client = issue(stem + " client", role::client, &ca);
  issued member = issue(stem + " member", role::member, &ca);

  authority_files files;
  files.ca_certificate = directory / (stem + "-ca.crt");
  write_certificate(files.ca_certificate, ca.certificate.get());
  files.server = write_leaf(directory, stem + "-server", server);
  files.client = write_leaf(directory, stem + "-client", client);
  files.member = write_leaf(directory, stem + "-member", member);
  return files;
}

}  // namespace

test_certificates make_test_certificates(const std::filesystem::path& directory) {
  return {make_authority(directory, "trusted"), make_authority(directory, "untrusted")};
}

}  // namespace s2s::testing
