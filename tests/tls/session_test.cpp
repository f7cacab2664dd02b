// The sans-I/O TLS session: two sessions wired to each other in memory with real certificates, and one
// over a socketpair against OpenSSL's own socket I/O, to show the bytes are real TLS.
#include "tls/session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "support/certs.hpp"
#include "support/temp_dir.hpp"

namespace s2s::tls {
namespace {

using testing::authority_files;
using testing::certificate_files;
using testing::test_certificates;
using role = session::role;
using bytes = std::vector<std::uint8_t>;

bytes text(const std::string& s) { return bytes(s.begin(), s.end()); }
std::string text(const bytes& b) { return std::string(b.begin(), b.end()); }

template <class T>
T value(std::variant<T, std::string> made) {
  if (auto* problem = std::get_if<std::string>(&made))
    throw std::runtime_error(*problem);
  return std::move(std::get<T>(made));
}

// A server block: its certificate from `authority`, and with `client_ca` a client certificate
// that chains to it is required.
config::tls_config server_block(const authority_files& authority, const authority_files* client_ca) {
  config::tls_config tls;
  tls.certificate_path = authority.server.certificate;
  tls.key_path = authority.server.private_key;
  if (client_ca)
    tls.remote_ca_path = client_ca->ca_certificate;
  return tls;
}

// A client block that trusts `trusted` and presents `identity` when given.
config::tls_config client_block(const authority_files& trusted, const certificate_files* identity) {
  config::tls_config tls;
  tls.remote_ca_path = trusted.ca_certificate;
  if (identity) {
    tls.certificate_path = identity->certificate;
    tls.key_path = identity->private_key;
  }
  return tls;
}

std::unique_ptr<session> make_server(const config::tls_config& tls, std::vector<std::string> alpn) {
  return value(session::create(value(server_context(tls)), role::server, tls, "", std::move(alpn)));
}

std::unique_ptr<session> make_client(const config::tls_config& tls, const std::string& host,
                                     std::vector<std::string> alpn) {
  return value(session::create(value(client_context(tls)), role::client, tls, host, std::move(alpn)));
}

// Moves up to `piece` bytes of `from`'s output into `to`; false when it had none.
bool move_bytes(session& from, session& to, std::size_t piece) {
  auto out = from.pending_output();
  if (out.empty())
    return false;
  std::size_t count = std::min(out.size(), piece);
  to.receive(out.first(count));
  from.consume_output(count);
  return true;
}

// Carries bytes both ways, `piece` at a time, until neither side has any to write.
void shuttle(session& a, session& b, std::size_t piece = std::numeric_limits<std::size_t>::max()) {
  for (long round = 0; round < 10'000'000; ++round) {
    bool moved = move_bytes(a, b, piece);
    moved = move_bytes(b, a, piece) || moved;
    if (!moved)
      return;
  }
  FAIL() << "the sessions never stopped talking";
}

std::uint8_t pattern(std::uint64_t offset, std::uint8_t salt) {
  return static_cast<std::uint8_t>((offset * 131 + (offset >> 11) + salt) & 0xff);
}

bytes pattern_bytes(std::uint64_t from, std::size_t count, std::uint8_t salt) {
  bytes out(count);
  for (std::size_t i = 0; i < count; ++i)
    out[i] = pattern(from + i, salt);
  return out;
}

// The session failed, and its failure says `words`.
::testing::AssertionResult failed_saying(const session& s, const std::string& words) {
  if (!s.failure())
    return ::testing::AssertionFailure() << "no failure, where one saying \"" << words << "\" was due";
  if (s.failure()->find(words) == std::string::npos)
    return ::testing::AssertionFailure() << "the failure \"" << *s.failure() << "\" does not say \"" << words << "\"";
  return ::testing::AssertionSuccess();
}

class TlsSession : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory = new testing::temp_dir("s2s-tls-session-");
    certs = new test_certificates(testing::make_test_certificates(directory->path()));
  }
  static void TearDownTestSuite() {
    delete certs;
    delete directory;
  }

  static inline testing::temp_dir* directory = nullptr;
  static inline test_certificates* certs = nullptr;
};

TEST_F(TlsSession, HandshakeAgreesOnH2AndCarriesDataBothWays) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2", "http/1.1"});
  EXPECT_FALSE(client->pending_output().empty()) << "the ClientHello is queued at once";
  shuttle(*client, *server);

  ASSERT_TRUE(client->handshake_done()) << client->failure().value_or("");
  ASSERT_TRUE(server->handshake_done()) << server->failure().value_or("");
  EXPECT_FALSE(client->failure());
  EXPECT_FALSE(server->failure());
  EXPECT_EQ(client->alpn_protocol(), "h2");
  EXPECT_EQ(server->alpn_protocol(), "h2");

  client->send(text("ping"));
  server->send(text("pong"));
  shuttle(*client, *server);
  EXPECT_EQ(text(server->take_received()), "ping");
  EXPECT_EQ(text(client->take_received()), "pong");
  EXPECT_TRUE(server->take_received().empty()) << "take_received moves the plaintext out";
}

TEST_F(TlsSession, Tls12PeersAgreeOnH2AndRefuseAMissingClientCertificateInTheHandshake) {
  auto client_tls = client_block(certs->trusted, &certs->trusted.client);
  auto client_context_12 = value(client_context(client_tls));
  SSL_CTX_set_max_proto_version(client_context_12.get(), TLS1_2_VERSION);
  auto server = make_server(server_block(certs->trusted, &certs->trusted), {"h2"});
  auto client = value(session::create(client_context_12, role::client, client_tls, "localhost", {"h2"}));
  client->send(text("over TLS 1.2"));
  shuttle(*client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->failure().value_or("");
  EXPECT_EQ(server->alpn_protocol(), "h2");
  EXPECT_EQ(text(server->take_received()), "over TLS 1.2");

  // Under TLS 1.2 the server judges the client's certificate before the client's handshake ends.
  auto anonymous_tls = client_block(certs->trusted, nullptr);
  auto anonymous_context = value(client_context(anonymous_tls));
  SSL_CTX_set_max_proto_version(anonymous_context.get(), TLS1_2_VERSION);
  auto refused_server = make_server(server_block(certs->trusted, &certs->trusted), {"h2"});
  auto anonymous = value(session::create(anonymous_context, role::client, anonymous_tls, "localhost", {"h2"}));
  shuttle(*anonymous, *refused_server);
  EXPECT_FALSE(anonymous->handshake_done());
  ASSERT_TRUE(failed_saying(*anonymous, "TLS handshake with the server 'localhost' failed"));
  ASSERT_TRUE(failed_saying(*refused_server, "sent no certificate"));
}

TEST_F(TlsSession, ServerPrefersItsOwnAlpnOrder) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2", "http/1.1"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"http/1.1", "h2"});
  shuttle(*client, *server);
  ASSERT_TRUE(client->handshake_done()) << client->failure().value_or("");
  EXPECT_EQ(client->alpn_protocol(), "h2");
  EXPECT_EQ(server->alpn_protocol(), "h2");
}

TEST_F(TlsSession, MutualTlsWithATrustedClientCertificateSucceeds) {
  auto server = make_server(server_block(certs->trusted, &certs->trusted), {"h2"});
  auto client = make_client(client_block(certs->trusted, &certs->trusted.client), "localhost", {"h2"});
  shuttle(*client, *server);
  client->send(text("authenticated"));
  shuttle(*client, *server);
  EXPECT_FALSE(client->failure()) << *client->failure();
  EXPECT_FALSE(server->failure()) << *server->failure();
  ASSERT_TRUE(server->handshake_done());
  EXPECT_EQ(text(server->take_received()), "authenticated");
}

// A server requiring a client certificate from the trusted CA refuses a client with `identity`.
// Under TLS 1.3 the client finishes its side before the server has judged its certificate; the
// refusal arrives as an alert on the next read, and the plaintext the client sent is never read.
void expect_client_refused(const test_certificates& certs, const certificate_files* identity,
                           const std::string& server_says, const std::string& client_says) {
  auto server = make_server(server_block(certs.trusted, &certs.trusted), {"h2"});
  auto client = make_client(client_block(certs.trusted, identity), "localhost", {"h2"});
  shuttle(*client, *server);
  client->send(text("let me in"));
  shuttle(*client, *server);
  EXPECT_TRUE(failed_saying(*server, server_says));
  EXPECT_TRUE(server->take_received().empty());
  EXPECT_TRUE(failed_saying(*client, client_says));
}

TEST_F(TlsSession, MutualTlsRefusesAClientWithoutCertificate) {
  expect_client_refused(*certs, nullptr, "sent no certificate, and this side requires one",
                        "requires a client certificate");
}

TEST_F(TlsSession, MutualTlsRefusesAClientCertificateFromAnotherCa) {
  expect_client_refused(*certs, &certs->untrusted.client, "certificate verification failed",
                        "does not accept our certificate");
}

TEST_F(TlsSession, ServerCertificateFromAnUntrustedCaFailsBothSides) {
  auto server = make_server(server_block(certs->untrusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  shuttle(*client, *server);
  ASSERT_TRUE(failed_saying(*client, "certificate verification failed: unable to get local issuer"));
  EXPECT_TRUE(failed_saying(*client, "the server 'localhost'"));
  EXPECT_FALSE(client->handshake_done());
  EXPECT_TRUE(failed_saying(*server, "unknown CA")) << "the client's alert reaches the server";
  EXPECT_FALSE(server->handshake_done());
}

TEST_F(TlsSession, WrongServerNameFails) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "elsewhere.example", {"h2"});
  shuttle(*client, *server);
  ASSERT_TRUE(failed_saying(*client, "hostname mismatch"));
  EXPECT_TRUE(failed_saying(*client, "'elsewhere.example'"));
  EXPECT_TRUE(failed_saying(*server, "does not accept our certificate"));
}

TEST_F(TlsSession, CaServerNameOverridesTheDialedHost) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto tls = client_block(certs->trusted, nullptr);
  tls.ca_server_name = test_certificates::server_name;
  auto client = make_client(tls, "10.1.2.3", {"h2"});
  shuttle(*client, *server);
  EXPECT_TRUE(client->handshake_done()) << client->failure().value_or("");
  EXPECT_FALSE(server->failure());
}

TEST_F(TlsSession, AlpnMismatchFailsTheHandshake) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"http/1.1"});
  shuttle(*client, *server);
  ASSERT_TRUE(failed_saying(*server, "'http/1.1'"));
  EXPECT_TRUE(failed_saying(*server, "accepts 'h2'"));
  ASSERT_TRUE(failed_saying(*client, "no application protocol"));
  EXPECT_FALSE(client->handshake_done());
  EXPECT_FALSE(server->handshake_done());
}

TEST_F(TlsSession, PeerOfferingNoAlpnIsAccepted) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {});
  shuttle(*client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->failure().value_or("");
  ASSERT_TRUE(client->handshake_done()) << client->failure().value_or("");
  EXPECT_EQ(server->alpn_protocol(), "");
  EXPECT_EQ(client->alpn_protocol(), "");
}

TEST_F(TlsSession, ServerWithoutAlpnIgnoresTheOffer) {
  auto server = make_server(server_block(certs->trusted, nullptr), {});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  shuttle(*client, *server);
  ASSERT_TRUE(client->handshake_done()) << client->failure().value_or("");
  EXPECT_EQ(client->alpn_protocol(), "");
}

TEST_F(TlsSession, InvalidAlpnNameIsRefusedAtCreation) {
  auto tls = server_block(certs->trusted, nullptr);
  auto made = session::create(value(server_context(tls)), role::server, tls, "", {""});
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_NE(std::get<std::string>(made).find("1 to 255 bytes"), std::string::npos);
}

TEST_F(TlsSession, SixteenMebibytesEachWayInRandomChunksArriveIntactInOrder) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  constexpr std::uint64_t total = 16u << 20;
  std::mt19937_64 random(20261203);
  std::uniform_int_distribution<std::size_t> chunk(1, 200'000);
  std::uniform_int_distribution<std::size_t> piece(1, 100'000);

  // Plaintext starts flowing before the handshake is done, and is held until it is.
  std::uint64_t client_sent = 0, server_sent = 0, client_got = 0, server_got = 0;
  auto check = [](session& s, std::uint64_t& got, std::uint8_t salt) {
    auto plain = s.take_received();
    for (std::size_t i = 0; i < plain.size(); ++i)
      if (plain[i] != pattern(got + i, salt))
        throw std::runtime_error("byte " + std::to_string(got + i) + " corrupted");
    got += plain.size();
  };
  while (client_got < total || server_got < total) {
    if (client_sent < total) {
      auto n = std::min<std::uint64_t>(chunk(random), total - client_sent);
      client->send(pattern_bytes(client_sent, n, 1));
      client_sent += n;
    }
    if (server_sent < total) {
      auto n = std::min<std::uint64_t>(chunk(random), total - server_sent);
      server->send(pattern_bytes(server_sent, n, 2));
      server_sent += n;
    }
    // Deliver a random part of what is waiting, so records are split anywhere.
    std::size_t p = piece(random);
    move_bytes(*client, *server, p);
    move_bytes(*server, *client, p);
    if (client_sent == total && server_sent == total)
      shuttle(*client, *server, p);
    check(*server, server_got, 1);
    check(*client, client_got, 2);
    ASSERT_FALSE(client->failure()) << *client->failure();
    ASSERT_FALSE(server->failure()) << *server->failure();
  }
  EXPECT_EQ(server_got, total);
  EXPECT_EQ(client_got, total);
}

TEST_F(TlsSession, LargePlaintextIsEncryptedAsItArrivesInBoundedMemory) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  shuttle(*client, *server);
  ASSERT_TRUE(client->handshake_done());
  constexpr std::uint64_t total = 128u << 20;
  constexpr std::size_t call = 1 << 20;
  const bytes block = pattern_bytes(0, call, 3);
  std::uint64_t got = 0;
  std::size_t most_output = 0;
  for (std::uint64_t sent = 0; sent < total; sent += call) {
    client->send(block);
    EXPECT_EQ(client->unsent_plaintext(), 0u) << "after the handshake, nothing waits";
    most_output = std::max(most_output, client->pending_output().size());
    // The network takes it in two writes, as a socket might.
    auto out = client->pending_output();
    server->receive(out.first(out.size() / 3));
    client->consume_output(out.size() / 3);
    shuttle(*client, *server);
    got += server->take_received().size();
  }
  EXPECT_EQ(got, total);
  // One call's plaintext plus TLS framing, not everything sent.
  EXPECT_LT(most_output, call + call / 8);
}

TEST_F(TlsSession, PlaintextSentDuringTheHandshakeWaitsForIt) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  client->send(text("early"));
  client->send(text(" bird"));
  EXPECT_EQ(client->unsent_plaintext(), 10u);
  shuttle(*client, *server);
  EXPECT_EQ(client->unsent_plaintext(), 0u);
  EXPECT_EQ(text(server->take_received()), "early bird");
}

TEST_F(TlsSession, HandshakeFedOneByteAtATimeWorks) {
  auto server = make_server(server_block(certs->trusted, &certs->trusted), {"h2"});
  auto client = make_client(client_block(certs->trusted, &certs->trusted.client), "localhost", {"h2"});
  client->send(text("one byte at a time"));
  shuttle(*client, *server, 1);
  ASSERT_TRUE(client->handshake_done()) << client->failure().value_or("");
  ASSERT_TRUE(server->handshake_done()) << server->failure().value_or("");
  EXPECT_EQ(server->alpn_protocol(), "h2");
  server->send(text("and back"));
  shuttle(*client, *server, 1);
  EXPECT_EQ(text(server->take_received()), "one byte at a time");
  EXPECT_EQ(text(client->take_received()), "and back");
}

TEST_F(TlsSession, CloseNotifyReachesThePeerWhoMayStillAnswer) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  shuttle(*client, *server);
  client->send(text("last words"));
  client->close();
  client->send(text("ignored after close"));
  EXPECT_TRUE(client->close_sent());
  shuttle(*client, *server);
  EXPECT_EQ(text(server->take_received()), "last words");
  EXPECT_TRUE(server->peer_closed());
  EXPECT_FALSE(client->peer_closed());
  // A half-closed connection still carries the other way.
  server->send(text("reply"));
  server->close();
  shuttle(*client, *server);
  EXPECT_EQ(text(client->take_received()), "reply");
  EXPECT_TRUE(client->peer_closed());
  EXPECT_FALSE(client->failure());
  EXPECT_FALSE(server->failure());
}

TEST_F(TlsSession, CloseDuringTheHandshakeWaitsForIt) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  client->send(text("brief"));
  client->close();
  EXPECT_FALSE(client->close_sent());
  shuttle(*client, *server);
  EXPECT_TRUE(client->close_sent());
  EXPECT_EQ(text(server->take_received()), "brief");
  EXPECT_TRUE(server->peer_closed());
}

TEST_F(TlsSession, AnAlteredRecordFailsTheReceiverAndDeliversNothingOfIt) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  auto client = make_client(client_block(certs->trusted, nullptr), "localhost", {"h2"});
  shuttle(*client, *server);
  client->send(text("integrity matters"));
  auto record = client->pending_output();
  bytes altered(record.begin(), record.end());
  client->consume_output(record.size());
  altered[altered.size() - 3] ^= 0x20;
  server->receive(altered);
  EXPECT_TRUE(failed_saying(*server, "integrity check"));
  EXPECT_TRUE(server->take_received().empty());
  EXPECT_FALSE(server->pending_output().empty()) << "an alert is left to flush";
}

TEST_F(TlsSession, HttpRequestInsteadOfClientHelloFails) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  server->receive(text("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(failed_saying(*server, "not TLS"));
  EXPECT_FALSE(server->handshake_done());
  server->receive(text("more"));  // ignored, and harmless
  server->send(text("nothing"));
  EXPECT_TRUE(server->take_received().empty());
}

TEST_F(TlsSession, GarbageInsteadOfClientHelloFailsWithoutCrashing) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
    bytes garbage(1 + random() % 4096);
    for (auto& b : garbage)
      b = static_cast<std::uint8_t>(random());
    // Some trials look like a TLS handshake record, to get past the first checks.
    if (trial % 2 == 0 && garbage.size() > 5) {
      garbage[0] = 0x16;
      garbage[1] = 0x03;
      garbage[2] = 0x01;
      garbage[3] = static_cast<std::uint8_t>((garbage.size() - 5) >> 8);
      garbage[4] = static_cast<std::uint8_t>(garbage.size() - 5);
    }
    server->receive(garbage);
    // A prefix of garbage can look like the start of a long message (an SSLv2-style hello, or a
    // ClientHello that announces more bytes): what follows can never complete it.
    if (!server->failure())
      server->receive(bytes(64 * 1024, 0xff));
    ASSERT_TRUE(server->failure()) << "trial " << trial << " was accepted";
    EXPECT_FALSE(server->handshake_done());
    EXPECT_TRUE(server->take_received().empty());
  }
}

// --- over a real socket, against OpenSSL's own I/O

// Drives `s` over the non-blocking `fd` with poll() until `done()` says so, the peer hangs up, or
// ten seconds pass; `step()` runs after every read.
void drive(session& s, int fd, const std::function<bool()>& done, const std::function<void()>& step) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    while (!s.pending_output().empty()) {
      auto out = s.pending_output();
      ssize_t wrote = ::write(fd, out.data(), out.size());
      if (wrote <= 0)
        break;
      s.consume_output(static_cast<std::size_t>(wrote));
    }
    pollfd p{fd, static_cast<short>(POLLIN | (s.pending_output().empty() ? 0 : POLLOUT)), 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    if (p.revents & (POLLIN | POLLHUP)) {
      std::uint8_t buffer[64 * 1024];
      ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got <= 0)
        return;
      s.receive(std::span(buffer, static_cast<std::size_t>(got)));
      step();
    }
  }
}

struct socket_pair {
  int ours = -1;
  int theirs = -1;
  socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::runtime_error("socketpair failed");
    ours = fds[0];
    theirs = fds[1];
    ::fcntl(ours, F_SETFL, ::fcntl(ours, F_GETFL) | O_NONBLOCK);
    // The peer blocks, but never forever.
    timeval limit{10, 0};
    ::setsockopt(theirs, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(theirs, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  }
  ~socket_pair() {
    ::close(ours);
    ::close(theirs);
  }
};

// What the OpenSSL peer saw.
struct peer_report {
  bool handshake = false;
  std::string alpn;
  bytes received;
  bool close_notify = false;
  std::string error;
};

// Reads until close_notify; false on any other end.
bool read_to_close(SSL* ssl, peer_report& report) {
  std::uint8_t buffer[16 * 1024];
  for (;;) {
    std::size_t got = 0;
    if (SSL_read_ex(ssl, buffer, sizeof buffer, &got) == 1) {
      report.received.insert(report.received.end(), buffer, buffer + got);
      continue;
    }
    report.close_notify = SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN;
    if (!report.close_notify)
      report.error = "read: " + drain_errors();
    return report.close_notify;
  }
}

// The proxy's contexts allow partial writes, so a blocking SSL_write may take less than all.
bool write_all(SSL* ssl, const bytes& data, peer_report& report) {
  for (std::size_t at = 0; at < data.size();) {
    std::size_t wrote = 0;
    if (SSL_write_ex(ssl, data.data() + at, data.size() - at, &wrote) != 1) {
      report.error = "write: " + drain_errors();
      return false;
    }
    at += wrote;
  }
  return true;
}

std::string alpn_of(SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl, &data, &size);
  return std::string(reinterpret_cast<const char*>(data), size);
}

// The OpenSSL peer, on its blocking socket: handshakes, writes `out`, and ends with close_notify
// both ways, sending its own first or last. Frees `ssl`.
void run_peer(SSL* ssl, int fd, session::role side, const bytes& out, bool close_first, peer_report& report) {
  SSL_set_fd(ssl, fd);
  report.handshake = (side == role::server ? SSL_accept(ssl) : SSL_connect(ssl)) == 1;
  if (!report.handshake) {
    report.error = "handshake: " + drain_errors();
  } else if (report.alpn = alpn_of(ssl); write_all(ssl, out, report)) {
    if (close_first && SSL_shutdown(ssl) < 0)
      report.error = "shutdown: " + drain_errors();
    else if (read_to_close(ssl, report) && !close_first)
      SSL_shutdown(ssl);
  }
  SSL_free(ssl);
}

void expect_peer_report(const peer_report& report, const std::string& alpn, const bytes& received) {
  EXPECT_TRUE(report.handshake) << report.error;
  EXPECT_EQ(report.error, "");
  EXPECT_EQ(report.alpn, alpn);
  EXPECT_TRUE(report.received == received) << "the peer got " << report.received.size() << " bytes";
  EXPECT_TRUE(report.close_notify);
}

TEST_F(TlsSession, ClientSessionTalksToAnOpenSslServerOnASocket) {
  // The peer is what the mux transport does with a server context: SSL_set_fd, blocking calls,
  // and no ALPN preference of its own, so it must ignore the offer.
  auto server_tls = server_block(certs->trusted, &certs->trusted);
  auto context = value(server_context(server_tls));
  socket_pair sockets;
  const bytes reply = pattern_bytes(0, 300'000, 9);
  peer_report report;
  std::thread peer([&] { run_peer(SSL_new(context.get()), sockets.theirs, role::server, reply, false, report); });

  auto client = make_client(client_block(certs->trusted, &certs->trusted.client), "localhost", {"h2"});
  const bytes message = pattern_bytes(0, 1 << 20, 4);
  client->send(message);
  bytes received;
  drive(
      *client, sockets.ours, [&] { return client->peer_closed() || client->failure().has_value(); },
      [&] {
        auto plain = client->take_received();
        received.insert(received.end(), plain.begin(), plain.end());
        // Once the reply is in, say goodbye; the peer answers with its own close_notify.
        if (received.size() == reply.size())
          client->close();
      });
  peer.join();

  EXPECT_FALSE(client->failure()) << *client->failure();
  expect_peer_report(report, "", message);
  EXPECT_EQ(client->alpn_protocol(), "");
  EXPECT_TRUE(received == reply) << "we got " << received.size() << " bytes";
  EXPECT_TRUE(client->peer_closed());
}

TEST_F(TlsSession, ServerSessionAgreesOnH2WithAnOpenSslClientOnASocket) {
  auto server = make_server(server_block(certs->trusted, nullptr), {"h2"});
  socket_pair sockets;
  const bytes message = pattern_bytes(0, 500'000, 5);
  peer_report report;
  std::thread peer([&] {
    SSL_CTX* context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(context, certs->trusted.ca_certificate.c_str(), nullptr);
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    const unsigned char offer[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1', 2, 'h', '2'};
    SSL_CTX_set_alpn_protos(context, offer, sizeof offer);
    SSL* ssl = SSL_new(context);
    SSL_set1_host(ssl, "localhost");
    SSL_set_tlsext_host_name(ssl, "localhost");
    // Its close_notify goes right after the message; the echo still comes back.
    run_peer(ssl, sockets.theirs, role::client, message, true, report);
    SSL_CTX_free(context);
  });

  // Echoes everything, and closes after the peer did.
  drive(
      *server, sockets.ours, [&] { return server->close_sent() && server->pending_output().empty(); },
      [&] {
        server->send(server->take_received());
        if (server->peer_closed())
          server->close();
      });
  peer.join();

  EXPECT_FALSE(server->failure()) << *server->failure();
  expect_peer_report(report, "h2", message);
  EXPECT_EQ(server->alpn_protocol(), "h2");
}

}  // namespace
}  // namespace s2s::tls
