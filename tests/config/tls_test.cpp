// Tests of the TLS block: when TLS is on, which files must be readable and loadable, and when caServerName is
// required.
#include <unistd.h>

#include <memory>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config_files.hpp"

namespace s2s::config::testing {
namespace {

TEST(TlsEnabled, IsOnWithACertificateAndAKey) {
  tls_config tls;
  tls.certificate_path = "proxy.pem";
  tls.key_path = "proxy.key";
  EXPECT_TRUE(tls.enabled());
}

TEST(TlsEnabled, IsOffWithOnlyACertificateOrOnlyAKey) {
  tls_config certificate_only;
  certificate_only.certificate_path = "proxy.pem";
  EXPECT_FALSE(certificate_only.enabled());
  tls_config key_only;
  key_only.key_path = "proxy.key";
  EXPECT_FALSE(key_only.enabled());
}

TEST(TlsEnabled, IsOnWithOnlyAServerName) {
  tls_config tls;
  tls.ca_server_name = "proxy-b.example";
  EXPECT_TRUE(tls.enabled());
}

TEST(TlsEnabled, IsOffWhenNothingIsSetEvenWithACaOrSkippedVerification) {
  tls_config tls;
  EXPECT_FALSE(tls.enabled());
  tls.remote_ca_path = "ca.pem";
  tls.skip_ca_verification = true;
  EXPECT_FALSE(tls.enabled());
}

class TlsFiles : public config_files {
 protected:
  void SetUp() override {
    config_files::SetUp();
    made_ = write_tls_files();
  }

  // The certificates write_tls_files made; proxy.pem and proxy.key are made.trusted.server's.
  const s2s::testing::test_certificates& made() const { return made_; }

  // A config whose remote side is a mux side of type with the given TLS block lines (indented by 10).
  load_result with_mux_tls(std::string_view type, std::string_view tls_lines) {
    return parse(in_directory(std::string(R"(clusterConnections:
  - name: a-to-b
    local:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7233"}
      tcpServer: {address: "127.0.0.1:6233"}
    remote:
      connectionType: )") + std::string(type) +
                              R"(
      muxAddressInfo:
        address: "proxy-b.example:6334"
        tls:
)" + std::string(tls_lines)));
  }

 private:
  s2s::testing::test_certificates made_;
};

TEST_F(TlsFiles, UnreadableCertificateKeyAndCaFilesAreEachReported) {
  auto result = with_mux_tls("mux-client", R"(          certificatePath: "{dir}/missing.pem"
          keyPath: "{dir}"
          remoteCAPath: "{dir}/nowhere/ca.pem"
          caServerName: proxy-b.example
)");
  auto tls = std::string("clusterConnections[0].remote.muxAddressInfo.tls.");
  EXPECT_TRUE(reports(
      result, tls + "certificatePath", 12, 11,
      "cannot read the certificate file '" + directory().string() + "/missing.pem': No such file or directory"));
  EXPECT_TRUE(reports(result, tls + "keyPath", 13, 11,
                      "cannot read the private key file '" + directory().string() + "': it is a directory"));
  EXPECT_TRUE(reports(result, tls + "remoteCAPath", 14, 11, "cannot read the CA bundle file"));
  EXPECT_EQ(result.errors.size(), 3u) << listing(result);
}

TEST_F(TlsFiles, ReadableFilesLoad) {
  auto result = with_mux_tls("mux-client", R"(          certificatePath: "{dir}/proxy.pem"
          keyPath: "{dir}/proxy.key"
          remoteCAPath: "{dir}/ca.pem"
          caServerName: proxy-b.example
)");
  ASSERT_TRUE(result.value) << listing(result);
  const auto& tls = result.value->cluster_connections[0].remote.mux_address->tls;
  EXPECT_EQ(tls.certificate_path, directory().string() + "/proxy.pem");
  EXPECT_EQ(tls.ca_server_name, "proxy-b.example");
  EXPECT_FALSE(tls.skip_ca_verification);
}

TEST_F(TlsFiles, RelativePathsAreTakenFromTheWorkingDirectory) {
  auto previous = std::filesystem::current_path();
  std::filesystem::current_path(directory());
  auto found = with_mux_tls("mux-client",
                            "          certificatePath: proxy.pem\n          keyPath: proxy.key\n"
                            "          caServerName: proxy-b.example\n");
  auto missing = with_mux_tls("mux-client",
                              "          certificatePath: certs/proxy.pem\n          keyPath: proxy.key\n"
                              "          caServerName: proxy-b.example\n");
  std::filesystem::current_path(previous);
  EXPECT_TRUE(found.value) << listing(found);
  EXPECT_TRUE(reports(missing, "clusterConnections[0].remote.muxAddressInfo.tls.certificatePath", 12, 11,
                      "(a relative path is taken from " + directory().string() + ")"));
}

TEST_F(TlsFiles, MuxClientVerifyingThePeerNeedsCaServerName) {
  auto result =
      with_mux_tls("mux-client", "          certificatePath: {dir}/proxy.pem\n          keyPath: {dir}/proxy.key\n");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.caServerName", 11, 9,
                      "caServerName (the name that certificate must carry) is required; set it, or set "
                      "skipCAVerification: true"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(TlsFiles, TcpClientVerifyingThePeerNeedsCaServerName) {
  auto result = parse(in_directory(R"(clusterConnections:
  - name: a-to-b
    local:
      connectionType: tcp
      tcpClient:
        address: "frontend.example:7233"
        tls: {certificatePath: "{dir}/proxy.pem", keyPath: "{dir}/proxy.key"}
      tcpServer: {address: "127.0.0.1:6233"}
    remote:
      connectionType: mux-server
      muxAddressInfo: {address: "0.0.0.0:6334"}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].local.tcpClient.tls.caServerName", 7, 9,
                      "caServerName (the name that certificate must carry) is required"));
}

TEST_F(TlsFiles, SkippedVerificationNeedsNoCaServerName) {
  auto result = with_mux_tls("mux-client",
                             "          certificatePath: {dir}/proxy.pem\n          keyPath: {dir}/proxy.key\n"
                             "          skipCAVerification: true\n");
  EXPECT_TRUE(result.value) << listing(result);
}

TEST_F(TlsFiles, MuxServerNeedsNoCaServerName) {
  auto result = with_mux_tls("mux-server",
                             "          certificatePath: {dir}/proxy.pem\n          keyPath: {dir}/proxy.key\n"
                             "          remoteCAPath: {dir}/ca.pem\n");
  EXPECT_TRUE(result.value) << listing(result);
}

TEST_F(TlsFiles, ServerWithOnlyCaServerNameNeedsACertificate) {
  auto result = with_mux_tls("mux-server", "          caServerName: proxy-b.example\n");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.certificatePath", 11, 9,
                      "a TLS server needs certificatePath and keyPath"));
}

TEST_F(TlsFiles, CertificateWithoutKeyIsReported) {
  auto result = with_mux_tls("mux-client", "          certificatePath: {dir}/proxy.pem\n          caServerName: b\n");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.keyPath", 11, 9,
                      "certificatePath is set but keyPath is not; TLS uses them as a pair"));
}

TEST_F(TlsFiles, CaBundleUrlIsReportedAsUnsupported) {
  auto result =
      with_mux_tls("mux-client", "          remoteCAPath: https://ca.example/ca.pem\n          caServerName: b\n");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.remoteCAPath", 12, 11,
                      "'https://ca.example/ca.pem' is a URL; this proxy reads the CA bundle from a file"));
}

// What start loads into a TLS context, validation loads the same way: a file start could not use is refused at
// its key, before anything starts.
TEST_F(TlsFiles, CertificateFileWithoutAPemCertificateIsRefused) {
  write("not-a-certificate.pem", "certificate");
  auto result = with_mux_tls("mux-client", R"(          certificatePath: "{dir}/not-a-certificate.pem"
          keyPath: "{dir}/proxy.key"
          caServerName: proxy-b.example
)");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.certificatePath", 12, 11,
                      "cannot load the certificate '" + directory().string() +
                          "/not-a-certificate.pem', which must be PEM: the certificate, then any intermediates"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(TlsFiles, KeyFileWithoutAPemKeyIsRefused) {
  auto result = with_mux_tls("mux-server", R"(          certificatePath: "{dir}/proxy.pem"
          keyPath: "{dir}/ca.pem"
)");
  EXPECT_TRUE(reports(
      result, "clusterConnections[0].remote.muxAddressInfo.tls.keyPath", 13, 11,
      "cannot load the private key '" + directory().string() + "/ca.pem', which must be PEM and not encrypted"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(TlsFiles, KeyOfAnotherCertificateIsRefused) {
  auto result =
      with_mux_tls("mux-server", in_directory("          certificatePath: \"{dir}/proxy.pem\"\n") +
                                     "          keyPath: \"" + made().untrusted.server.private_key.string() + "\"\n");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.keyPath", 13, 11,
                      "the private key '" + made().untrusted.server.private_key.string() +
                          "' is not the key of the certificate '" + directory().string() + "/proxy.pem'"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// A proxy has nobody to type a passphrase: an encrypted key is refused, not asked about.
TEST_F(TlsFiles, EncryptedKeyIsRefusedWithoutAskingForAPassphrase) {
  std::unique_ptr<FILE, int (*)(FILE*)> plain(std::fopen((directory() / "proxy.key").c_str(), "r"), std::fclose);
  ASSERT_TRUE(plain);
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(PEM_read_PrivateKey(plain.get(), nullptr, nullptr, nullptr),
                                                     EVP_PKEY_free);
  ASSERT_TRUE(key);
  std::unique_ptr<FILE, int (*)(FILE*)> sealed(std::fopen((directory() / "sealed.key").c_str(), "w"), std::fclose);
  ASSERT_TRUE(sealed);
  static char passphrase[] = "secret";
  ASSERT_EQ(PEM_write_PrivateKey(sealed.get(), key.get(), EVP_aes_128_cbc(), nullptr, 0, nullptr, passphrase), 1);
  sealed.reset();
  auto result = with_mux_tls("mux-server", R"(          certificatePath: "{dir}/proxy.pem"
          keyPath: "{dir}/sealed.key"
)");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.keyPath", 13, 11,
                      "which must be PEM and not encrypted"));
}

TEST_F(TlsFiles, CaBundleWithoutPemCertificatesIsRefusedOnAServer) {
  write("not-a-bundle.pem", "authority");
  auto result = with_mux_tls("mux-server", R"(          certificatePath: "{dir}/proxy.pem"
          keyPath: "{dir}/proxy.key"
          remoteCAPath: "{dir}/not-a-bundle.pem"
)");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.remoteCAPath", 14, 11,
                      "cannot load the CA bundle '" + directory().string() +
                          "/not-a-bundle.pem', which must hold one or more PEM certificates"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

TEST_F(TlsFiles, CaBundleWithoutPemCertificatesIsRefusedOnAVerifyingClient) {
  write("not-a-bundle.pem", "authority");
  auto result = with_mux_tls("mux-client", R"(          remoteCAPath: "{dir}/not-a-bundle.pem"
          caServerName: proxy-b.example
)");
  EXPECT_TRUE(reports(result, "clusterConnections[0].remote.muxAddressInfo.tls.remoteCAPath", 12, 11,
                      "cannot load the CA bundle"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// The listeners of a tcp side load their files as a mux-server does.
TEST_F(TlsFiles, TcpServerCertificateWithoutAPemCertificateIsRefused) {
  write("not-a-certificate.pem", "certificate");
  auto result = parse(in_directory(R"(clusterConnections:
  - name: a-to-b
    local:
      connectionType: tcp
      tcpClient: {address: "127.0.0.1:7233"}
      tcpServer:
        address: "127.0.0.1:6233"
        tls: {certificatePath: "{dir}/not-a-certificate.pem", keyPath: "{dir}/proxy.key"}
    remote:
      connectionType: mux-server
      muxAddressInfo: {address: "0.0.0.0:6334"}
)"));
  EXPECT_TRUE(reports(result, "clusterConnections[0].local.tcpServer.tls.certificatePath", 8, 15,
                      "cannot load the certificate"));
  EXPECT_EQ(result.errors.size(), 1u) << listing(result);
}

// Start loads no file it does not use, so neither does validation: a client that skips verification reads no CA
// bundle, and a block that leaves TLS off loads nothing.
TEST_F(TlsFiles, FilesThatStartDoesNotLoadAreOnlyRequiredToBeReadable) {
  write("not-a-bundle.pem", "authority");
  auto skipped = with_mux_tls("mux-client", R"(          remoteCAPath: "{dir}/not-a-bundle.pem"
          caServerName: proxy-b.example
          skipCAVerification: true
)");
  EXPECT_TRUE(skipped.value) << listing(skipped);
  auto off = with_mux_tls("mux-server", "          remoteCAPath: \"{dir}/not-a-bundle.pem\"\n");
  EXPECT_TRUE(off.value) << listing(off);
}

}  // namespace
}  // namespace s2s::config::testing
