// Real X.509 certificates made at test time: a trusted CA with server and client leaves, and an unrelated CA.
#pragma once

#include <filesystem>
#include <string>

namespace s2s::testing {

struct certificate_files {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path private_key;  // PEM, unencrypted PKCS#8
};

// One certificate authority and the three leaves it signed.
struct authority_files {
  std::filesystem::path ca_certificate;
  // Names: the common name below, DNS localhost and IP 127.0.0.1.
  certificate_files server;
  certificate_files client;
  // For both ends of a connection (serverAuth and clientAuth), as an instance of a group that listens
  // and dials is; names as the server's.
  certificate_files member;
};

struct test_certificates {
  // The common name of both server certificates; a name a client can override the target with.
  static constexpr const char* server_name = "s2s-test-server";

  authority_files trusted;
  // A second CA that nothing trusts, with its own leaves, for "wrong CA" tests.
  authority_files untrusted;
};

// Writes every certificate and key into the directory (EC P-256 keys, SHA-256 signatures, valid
// from an hour ago for a day). Throws std::runtime_error with OpenSSL's reason on failure.
test_certificates make_test_certificates(const std::filesystem::path& directory);

}  // namespace s2s::testing
