// Which TLS versions and cipher suites the proxy's TLS endpoints accept, probed by real handshakes:
// a mux-server with mutual TLS, and a TCP-mode gRPC listener with TLS.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy/proxy_harness.hpp"
#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace s2s::testing {
namespace {

// What a client offered: one protocol version, and one suite of it.
struct offer {
  int version;        // TLS1_VERSION ... TLS1_3_VERSION
  std::string suite;  // an OpenSSL cipher name (TLS 1.2 and below) or a TLS 1.3 suite name
};

std::string version_name(int version) {
  switch (version) {
    case TLS1_VERSION:
      return "TLSv1.0";
    case TLS1_1_VERSION:
      return "TLSv1.1";
    case TLS1_2_VERSION:
      return "TLSv1.2";
    case TLS1_3_VERSION:
      return "TLSv1.3";
  }
  return "version " + std::to_string(version);
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A client that offers exactly `what` (and presents the trusted client certificate, for servers
// that require one): true when the server completed the handshake with that suite.
bool accepted(int port, const offer& what, const test_certificates& certs) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  // The probe itself must be willing to speak anything, old versions and weak suites included.
  SSL_CTX_set_security_level(context, 0);
  SSL_CTX_set_min_proto_version(context, what.version);
  SSL_CTX_set_max_proto_version(context, what.version);
  bool configured = what.version == TLS1_3_VERSION ? SSL_CTX_set_ciphersuites(context, what.suite.c_str()) == 1
                                                   : SSL_CTX_set_cipher_list(context, what.suite.c_str()) == 1;
  SSL_CTX_use_certificate_chain_file(context, certs.trusted.client.certificate.c_str());
  SSL_CTX_use_PrivateKey_file(context, certs.trusted.client.private_key.c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  const unsigned char h2[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(context, h2, sizeof h2);
  bool done = false;
  int fd = configured ? connect_loopback(port) : -1;
  if (fd >= 0) {
    SSL* ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    done = SSL_connect(ssl) == 1 && SSL_version(ssl) == what.version;
    if (done && what.version == TLS1_3_VERSION) {
      // Under TLS 1.3 a server refuses a client certificate only after the client's Finished:
      // a read shows whether the connection outlived that.
      char byte;
      SSL_write(ssl, "", 0);
      timeval brief{0, 200000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof brief);
      int got = SSL_read(ssl, &byte, 1);
      int error = SSL_get_error(ssl, got);
      done = got > 0 || (error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) ||
             error == SSL_ERROR_WANT_READ;
    }
    SSL_free(ssl);
    ::close(fd);
  }
  SSL_CTX_free(context);
  ERR_clear_error();
  return done;
}

// Every suite this OpenSSL knows for TLS 1.2 and below, and every TLS 1.3 suite.
std::vector<std::string> legacy_suites() {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(context, 0);
  SSL_CTX_set_cipher_list(context, "ALL:COMPLEMENTOFALL");
  SSL* ssl = SSL_new(context);
  std::vector<std::string> names;
  auto* ciphers = SSL_get_ciphers(ssl);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    if (std::string(SSL_CIPHER_get_version(cipher)) != "TLSv1.3")
      names.emplace_back(SSL_CIPHER_get_name(cipher));
  }
  SSL_free(ssl);
  SSL_CTX_free(context);
  return names;
}

const std::vector<std::string> tls13_suites = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                               "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                                               "TLS_AES_128_CCM_8_SHA256"};

struct accepted_set {
  std::set<std::string> tls12;
  std::set<std::string> tls13;
  std::set<int> versions;
};

// Tries every version and every suite against the port, and prints what was accepted.
accepted_set probe(const std::string& endpoint, int port, const test_certificates& certs) {
  accepted_set found;
  for (const auto& suite : legacy_suites()) {
    if (accepted(port, {TLS1_2_VERSION, suite}, certs))
      found.tls12.insert(suite);
  }
  for (const auto& suite : tls13_suites)
    if (accepted(port, {TLS1_3_VERSION, suite}, certs))
      found.tls13.insert(suite);
  for (int version : {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto any = version == TLS1_3_VERSION ? std::string("TLS_AES_128_GCM_SHA256") : std::string("ALL:@SECLEVEL=0");
    if (accepted(port, {version, any}, certs))
      found.versions.insert(version);
  }
  std::cout << endpoint << " accepts:";
  for (int version : found.versions)
    std::cout << " " << version_name(version);
  std::cout << "\n  TLSv1.2:";
  for (const auto& suite : found.tls12)
    std::cout << " " << suite;
  std::cout << "\n  TLSv1.3:";
  for (const auto& suite : found.tls13)
    std::cout << " " << suite;
  std::cout << std::endl;
  return found;
}

// With an EC server key, the ECDSA half of the proxy's TLS 1.2 list is what can be negotiated.
const std::set<std::string> aead_ecdsa_suites = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                                 "ECDHE-ECDSA-CHACHA20-POLY1305"};
const std::set<std::string> tls13_aead_suites = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                                 "TLS_CHACHA20_POLY1305_SHA256"};

class TlsSuites : public ::testing::Test {
 protected:
  temp_dir files;
  test_certificates certs = make_test_certificates(files.path());
};

TEST_F(TlsSuites, TheMuxServerAcceptsTls12WithAeadSuitesOnlyAndTls13) {
  config::config config;
  config.cluster_connections.push_back(
      mux_connection("b", 1, config::connection_type::mux_server, 0, mux_server_tls(certs)));
  proxy_process proxy(config);
  auto found = probe("mux-server", proxy.mux_port("b"), certs);
  EXPECT_EQ(found.versions, (std::set<int>{TLS1_2_VERSION, TLS1_3_VERSION}));
  EXPECT_EQ(found.tls12, aead_ecdsa_suites);
  EXPECT_EQ(found.tls13, tls13_aead_suites);
}

TEST_F(TlsSuites, ATlsGrpcListenerAcceptsTls12WithAeadSuitesOnlyAndTls13) {
  config::config config;
  auto connection = tcp_connection("a", 1, 2);
  config::tls_config server;
  server.certificate_path = certs.trusted.server.certificate;
  server.key_path = certs.trusted.server.private_key;
  connection.local.tcp_server->tls = server;
  config.cluster_connections.push_back(connection);
  proxy_process proxy(config);
  auto found = probe("gRPC listener", proxy.port("a outbound"), certs);
  EXPECT_EQ(found.versions, (std::set<int>{TLS1_2_VERSION, TLS1_3_VERSION}));
  EXPECT_EQ(found.tls12, aead_ecdsa_suites);
  for (const auto& suite : found.tls13)
    EXPECT_TRUE(tls13_aead_suites.count(suite)) << suite;
  EXPECT_FALSE(found.tls13.empty());
}

}  // namespace
}  // namespace s2s::testing
