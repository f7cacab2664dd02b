// libFuzzer target: raw network bytes into a server TLS session, or an honest client and server
// with their bytes split, corrupted and mixed with injected ones.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/certs.hpp"
#include "support/temp_dir.hpp"
#include "tls/session.hpp"
#include "tls_fuzz_input.hpp"

namespace s2s::tls::fuzz {
namespace {

void require(bool condition, const char* what) {
  if (condition)
    return;
  std::fprintf(stderr, "tls fuzz invariant broken: %s\n", what);
  std::abort();
}

std::uint8_t pattern_byte(std::uint64_t offset, int side) {
  return static_cast<std::uint8_t>(offset * 7u + (offset >> 9) + static_cast<unsigned>(side) * 101u);
}

// Certificates and contexts are made once: they are the setting, not what is being fuzzed.
struct setting {
  testing::temp_dir directory{"s2s-tls-fuzz-"};
  testing::test_certificates certs = testing::make_test_certificates(directory.path());
  config::tls_config server_tls, mutual_server_tls, client_tls;
  context_ptr server, mutual_server, client;

  setting() {
    server_tls.certificate_path = certs.trusted.server.certificate;
    server_tls.key_path = certs.trusted.server.private_key;
    mutual_server_tls = server_tls;
    mutual_server_tls.remote_ca_path = certs.trusted.ca_certificate;
    client_tls.remote_ca_path = certs.trusted.ca_certificate;
    client_tls.certificate_path = certs.trusted.client.certificate;
    client_tls.key_path = certs.trusted.client.private_key;
    server = std::get<context_ptr>(server_context(server_tls));
    mutual_server = std::get<context_ptr>(server_context(mutual_server_tls));
    client = std::get<context_ptr>(client_context(client_tls));
  }
};

setting& the_setting() {
  static setting s;
  return s;
}

struct endpoint {
  std::unique_ptr<session> core;
  int side;
  std::uint64_t sent = 0;      // pattern bytes accepted by send()
  std::uint64_t received = 0;  // pattern bytes taken out
  bool closed = false;         // close() was called: later sends are ignored

  void check_received() {
    auto plain = core->take_received();
    require(plain.empty() || core->handshake_done(), "plaintext before the handshake completed");
    int from = 1 - side;
    for (std::size_t i = 0; i < plain.size(); ++i)
      require(plain[i] == pattern_byte(received + i, from), "plaintext not as sent");
    received += plain.size();
  }
};

std::unique_ptr<session> make(context_ptr context, session::role side, const config::tls_config& tls,
                              std::vector<std::string> alpn) {
  auto made = session::create(std::move(context), side, tls, "localhost", std::move(alpn));
  require(std::holds_alternative<std::unique_ptr<session>>(made), "session creation failed");
  return std::move(std::get<std::unique_ptr<session>>(made));
}

void run(std::span<const std::uint8_t> data) {
  auto& s = the_setting();
  input_reader in(data);
  const std::uint8_t mode = in.u8();
  const bool pair = mode & 1, mutual = mode & 2;
  std::vector<std::string> accepted, offered;
  if (mode & 4)
    accepted = {"h2"};
  if (mode & 8)
    offered = {"h2"};
  if (mode & 16)
    offered.push_back("http/1.1");

  endpoint server{make(mutual ? s.mutual_server : s.server, session::role::server,
                       mutual ? s.mutual_server_tls : s.server_tls, accepted),
                  1};
  std::optional<endpoint> client;
  if (pair)
    client.emplace(endpoint{make(s.client, session::role::client, s.client_tls, offered), 0});
  bool tampered = false;
  auto pick = [&](std::uint8_t side) -> endpoint& { return (side & 1) || !client ? server : *client; };

  while (!in.done()) {
    const std::uint8_t code = in.u8() % op_count;
    switch (code) {
      case receive_raw: {
        auto bytes = in.take(in.u16());
        tampered = true;
        server.core->receive(bytes);
        break;
      }
      case deliver: {
        endpoint& from = pick(in.u8());
        std::size_t count = std::min<std::size_t>(in.u16(), from.core->pending_output().size());
        if (client) {
          endpoint& to = &from == &server ? *client : server;
          to.core->receive(from.core->pending_output().first(count));
        }
        from.core->consume_output(count);
        break;
      }
      case corrupt: {
        endpoint& target = pick(in.u8());
        const std::uint16_t offset = in.u16();
        const std::uint8_t mask = in.u8();
        auto out = target.core->pending_output();
        if (!out.empty() && mask != 0) {
          // The span is the session's own buffer; a network could do the same to the bytes.
          const_cast<std::uint8_t&>(out[offset % out.size()]) ^= mask;
          tampered = true;
        }
        break;
      }
      case send_plain: {
        endpoint& from = pick(in.u8());
        std::vector<std::uint8_t> plain(in.u16());
        for (std::size_t i = 0; i < plain.size(); ++i)
          plain[i] = pattern_byte(from.sent + i, from.side);
        bool accepted_now = !from.core->failure() && !from.closed;
        from.core->send(plain);
        // What a failed or closed session ignores is not part of its stream.
        if (accepted_now && !from.core->failure())
          from.sent += plain.size();
        break;
      }
      case close_side: {
        endpoint& target = pick(in.u8());
        target.core->close();
        target.closed = true;
        break;
      }
    }
    server.check_received();
    if (client)
      client->check_received();
    // A client offering only protocols the server refuses fails honestly; so does its server.
    const bool refused = !accepted.empty() && !offered.empty() && (mode & 8) == 0;
    if (client && !tampered && !refused) {
      require(!server.core->failure(), "honest server failed");
      require(!client->core->failure(), "honest client failed");
    }
  }
}

}  // namespace
}  // namespace s2s::tls::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  s2s::tls::fuzz::run({data, size});
  return 0;
}
