// Writes the seed corpus of tls_session_fuzz: real ClientHellos for the lone server, and scripts
// that carry honest pairs through handshakes, data and close_notify.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/certs.hpp"
#include "support/temp_dir.hpp"
#include "tls/session.hpp"
#include "tls_fuzz_input.hpp"

#include "seed_files.hpp"

namespace fuzz_seeds = s2s::fuzz_seeds;

namespace {

using namespace s2s::tls;
using fuzz_seeds::bytes;

struct script : fuzz_seeds::byte_script<script> {
  explicit script(std::uint8_t mode) { data = {mode}; }
  script& raw(const bytes& wire) {
    u8(fuzz::receive_raw).u16(static_cast<std::uint16_t>(wire.size()));
    data.insert(data.end(), wire.begin(), wire.end());
    return *this;
  }
  script& deliver(std::uint8_t side, std::uint16_t count = 65535) { return u8(fuzz::deliver).u8(side).u16(count); }
  // Enough round trips for any handshake, whole flights at a time.
  script& handshake() {
    for (int i = 0; i < 3; ++i)
      deliver(0).deliver(1);
    return *this;
  }
  script& send(std::uint8_t side, std::uint16_t length) { return u8(fuzz::send_plain).u8(side).u16(length); }
  script& close(std::uint8_t side) { return u8(fuzz::close_side).u8(side); }
};

// The first flight of a client offering `alpn`.
bytes client_hello(const s2s::testing::test_certificates& certs, std::vector<std::string> alpn) {
  s2s::config::tls_config tls;
  tls.remote_ca_path = certs.trusted.ca_certificate;
  auto context = std::get<context_ptr>(client_context(tls));
  auto client = std::get<std::unique_ptr<session>>(
      session::create(context, session::role::client, tls, "localhost", std::move(alpn)));
  auto out = client->pending_output();
  return bytes(out.begin(), out.end());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = fuzz_seeds::output_dir(argc, argv);
  s2s::testing::temp_dir scratch("s2s-tls-seeds-");
  auto certs = s2s::testing::make_test_certificates(scratch.path());

  fuzz_seeds::seed_list seeds;
  seeds.emplace_back("raw_client_hello_h2", script(4).raw(client_hello(certs, {"h2"})).data);
  seeds.emplace_back("raw_client_hello_no_alpn", script(2).raw(client_hello(certs, {})).data);
  seeds.emplace_back("raw_http_request", script(0).raw(bytes{'G', 'E', 'T', ' ', '/', '\r', '\n'}).data);
  seeds.emplace_back(
      "pair_h2_data_both_ways",
      script(1 | 4 | 8).send(0, 300).handshake().send(1, 5000).send(0, 20000).deliver(0).deliver(1).data);
  seeds.emplace_back(
      "pair_mutual_close",
      script(1 | 2 | 4 | 8).handshake().send(0, 100).close(0).deliver(0).send(1, 100).close(1).deliver(1).data);
  seeds.emplace_back("pair_byte_split", [] {
    script s(1 | 8);
    for (int i = 0; i < 40; ++i)
      s.deliver(0, 97).deliver(1, 131);
    return s.send(0, 1000).handshake().data;
  }());
  seeds.emplace_back("pair_alpn_refused", script(1 | 4 | 16).handshake().data);
  seeds.emplace_back("pair_corrupted_record",
                     script(1 | 4 | 8).handshake().send(0, 1000).u8(fuzz::corrupt).u8(0).u16(40).u8(1).deliver(0).data);

  if (int failed = fuzz_seeds::write_seeds(dir, seeds))
    return failed;
  return 0;
}
