// A TLS connection without I/O, on OpenSSL memory BIOs: ciphertext and plaintext in and out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <openssl/ssl.h>

#include "config/config.hpp"
#include "tls/context.hpp"

namespace s2s::tls {

// Ciphertext from the network goes in, plaintext comes out; plaintext to send goes in, ciphertext to
// write comes out. Drive it like this:
//   - bytes read from the transport go to receive();
//   - pending_output() is what to write to the transport; consume_output(n) once n bytes are written;
//   - after each receive(), take_received() is the plaintext that arrived;
//   - send() and close() may be called at any time; their records appear in pending_output().
// Every call does all the work its input allows at once, so nothing is left to a timer or a second
// call. Nothing here blocks, reads a clock or touches a socket; one thread drives a session at a time.
class session {
 public:
  enum class role { client, server };

  // `context` from server_context()/client_context(). Client: `tls` and `dialed_host` give the name
  // checks and SNI (prepare_client), and the ClientHello is in pending_output() at once. `alpn`: the
  // protocols to offer (client) or accept (server), in order of preference, e.g. {"h2"}. A server
  // whose peer offers ALPN with none of ours fails the handshake (no_application_protocol); a peer
  // that offers no ALPN at all is accepted.
  static std::variant<std::unique_ptr<session>, std::string> create(context_ptr context, role side,
                                                                    const config::tls_config& tls,
                                                                    const std::string& dialed_host,
                                                                    std::vector<std::string> alpn);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Ciphertext read from the network. Ignored after a failure or once the peer has closed.
  void receive(std::span<const std::uint8_t> bytes);
  // Ciphertext to write to the network; consume_output(n) once n bytes are written. The span is
  // valid until the next call that changes the session.
  std::span<const std::uint8_t> pending_output();
  void consume_output(std::size_t count);

  // Plaintext to send; buffered until the handshake completes, then encrypted into pending_output()
  // as it is given. Ignored after a failure or close().
  void send(std::span<const std::uint8_t> bytes);
  // Plaintext received so far (moves it out; empty when none).
  std::vector<std::uint8_t> take_received();

  role side() const { return side_; }
  bool handshake_done() const { return handshake_done_; }
  // Why the session failed (handshake: untrusted peer with the verification result, wrong name,
  // protocol mismatch; or a TLS error afterwards), in words a person can act on; nothing while
  // healthy. After a failure, pending_output() may still hold an alert to flush.
  const std::optional<std::string>& failure() const { return failure_; }
  // The ALPN protocol agreed ("h2"), empty when none was negotiated.
  std::string_view alpn_protocol() const { return alpn_protocol_; }
  // The peer sent close_notify: no more plaintext will come. We may still send until close().
  bool peer_closed() const { return peer_closed_; }
  // Queues our close_notify, after the plaintext already given to send() (so, when called during
  // the handshake, once it completes).
  void close();
  // close() was called and our close_notify is in the output (or went out with it).
  bool close_sent() const { return close_sent_; }
  // Plaintext accepted by send() and not yet encrypted (waiting for the handshake).
  std::size_t unsent_plaintext() const { return unsent_.size() - unsent_head_; }

 private:
  session(context_ptr context, role side);
  static void on_info(const SSL* ssl, int where, int value);

  void advance();
  void handshake();
  void read_plaintext();
  void write_unsent();
  std::size_t encrypt(std::span<const std::uint8_t> bytes);
  void send_close_notify();
  void collect_output();
  void fail(int ssl_error);

  context_ptr context_;  // the SSL refers to it
  role side_;
  SSL* ssl_ = nullptr;
  BIO* network_in_ = nullptr;         // owned by ssl_: ciphertext received, not yet read by OpenSSL
  BIO* network_out_ = nullptr;        // owned by ssl_: ciphertext OpenSSL wrote, not yet in output_
  std::string peer_;                  // who is at the other end, for failure messages
  std::vector<std::string> offered_;  // client: the ALPN protocols offered
  protocol_choice choice_;            // server: the ALPN protocols accepted, and a refused offer
  std::vector<std::uint8_t> output_;
  std::size_t output_head_ = 0;
  std::vector<std::uint8_t> unsent_;
  std::size_t unsent_head_ = 0;
  std::vector<std::uint8_t> received_;
  std::optional<std::string> failure_;
  std::string alpn_protocol_;
  std::optional<int> peer_alert_;  // the description of a fatal alert the peer sent
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool close_requested_ = false;
  bool close_sent_ = false;
};

}  // namespace s2s::tls
