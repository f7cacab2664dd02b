// gRPC credentials and channel settings built from a TLS block of the config.
#include "rpc/credentials.hpp"

#include <fstream>
#include <optional>
#include <sstream>

#include <grpc/grpc_security_constants.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "rpc/keepalive.hpp"
#include "rpc/limits.hpp"
#include "tls/context.hpp"

namespace s2s::rpc {
namespace {

std::optional<std::string> read_pem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Reads every non-empty path; the first unreadable one becomes the error.
struct pem_files {
  std::string certificate, key, ca;
  std::string error;
};

pem_files read_tls_files(const config::tls_config& tls) {
  pem_files files;
  auto load = [&](const std::string& path, std::string& into, const char* what) {
    if (path.empty() || !files.error.empty())
      return;
    if (auto text = read_pem(path))
      into = std::move(*text);
    else
      files.error = std::string("cannot read ") + what + " '" + path + "'";
  };
  load(tls.certificate_path, files.certificate, "certificate");
  load(tls.key_path, files.key, "private key");
  load(tls.remote_ca_path, files.ca, "CA bundle");
  return files;
}

}  // namespace

std::variant<std::shared_ptr<grpc::ServerCredentials>, std::string> server_credentials(const config::tls_config& tls) {
  if (!tls.enabled())
    return grpc::InsecureServerCredentials();
  tls::restrict_grpc_suites();
  auto files = read_tls_files(tls);
  if (!files.error.empty())
    return files.error;
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({files.key, files.certificate});
  if (!files.ca.empty()) {
    // A CA configured on a server means: only peers whose certificate chains to it.
    options.pem_root_certs = files.ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    options.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(options);
}

std::variant<client_settings, std::string> client_channel_settings(const config::tls_config& tls) {
  client_settings settings;
  settings.arguments.SetMaxReceiveMessageSize(max_message_bytes);
  settings.arguments.SetMaxSendMessageSize(max_message_bytes);
  send_keepalives(settings.arguments);
  if (!tls.enabled()) {
    settings.credentials = grpc::InsecureChannelCredentials();
    return settings;
  }
  tls::restrict_grpc_suites();
  auto files = read_tls_files(tls);
  if (!files.error.empty())
    return files.error;
  if (tls.skip_ca_verification) {
    grpc::experimental::TlsChannelCredentialsOptions options;
    std::vector<grpc::experimental::IdentityKeyCertPair> identity;
    if (!files.certificate.empty())
      identity.push_back({files.key, files.certificate});
    options.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(identity));
    if (!identity.empty())
      options.watch_identity_key_cert_pairs();
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    settings.credentials = grpc::experimental::TlsCredentials(options);
  } else {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = files.ca;  // empty = the system's roots
    options.pem_private_key = files.key;
    options.pem_cert_chain = files.certificate;
    settings.credentials = grpc::SslCredentials(options);
  }
  if (!tls.ca_server_name.empty())
    settings.arguments.SetSslTargetNameOverride(tls.ca_server_name);
  return settings;
}

std::variant<std::shared_ptr<grpc::Channel>, std::string> open_channel(const config::endpoint& target) {
  auto settings = client_channel_settings(target.tls);
  if (auto* error = std::get_if<std::string>(&settings))
    return *error;
  auto& ready = std::get<client_settings>(settings);
  return grpc::CreateCustomChannel(target.addr.to_string(), ready.credentials, ready.arguments);
}

std::variant<channel_opener, std::string> own_channel_opener(const config::endpoint& target) {
  auto settings = client_channel_settings(target.tls);
  if (auto* error = std::get_if<std::string>(&settings))
    return *error;
  auto ready = std::get<client_settings>(std::move(settings));
  ready.arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return channel_opener([address = target.addr.to_string(), ready = std::move(ready)] {
    return grpc::CreateCustomChannel(address, ready.credentials, ready.arguments);
  });
}

}  // namespace s2s::rpc
