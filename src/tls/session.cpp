// A TLS connection without I/O, on OpenSSL memory BIOs: ciphertext and plaintext in and out.
#include "tls/session.hpp"

#include <algorithm>
#include <utility>

#include <openssl/err.h>

namespace s2s::tls {
namespace {

// Received ciphertext goes to OpenSSL in pieces of this size and plaintext to SSL_write likewise,
// and each piece is carried through before the next, so OpenSSL's buffers never hold more than one.
constexpr std::size_t input_piece = 256 * 1024;
constexpr std::size_t write_piece = 64 * 1024;
// How far SSL_read's destination grows per call: a whole record (16 KiB and its overhead) and more,
// since with read-ahead OpenSSL may hold several.
constexpr std::size_t read_piece = 32 * 1024;
// Consumed bytes at the front of a buffer are dropped once there are this many and they are at
// least half of it, so each byte is moved a bounded number of times however the buffer is used.
constexpr std::size_t compact_after = 64 * 1024;

void drop_consumed(std::vector<std::uint8_t>& buffer, std::size_t& head) {
  if (head == buffer.size()) {
    buffer.clear();
    head = 0;
  } else if (head >= compact_after && head * 2 >= buffer.size()) {
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(head));
    head = 0;
  }
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

std::string alert_name(int description) {
  std::string name = SSL_alert_desc_string_long(description);
  // OpenSSL 3.0 has no long names for the alerts TLS 1.3 added.
  if (name == "unknown") {
    switch (description) {
      case SSL_AD_MISSING_EXTENSION:
        return "missing extension";
      case SSL_AD_CERTIFICATE_REQUIRED:
        return "certificate required";
      default:
        return "number " + std::to_string(description);
    }
  }
  return name;
}

// What a fatal alert from the peer most likely means for us, when that is clear.
std::string alert_meaning(int description, const std::vector<std::string>& offered) {
  switch (description) {
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_REVOKED:
      return "it does not accept our certificate";
    case SSL_AD_CERTIFICATE_REQUIRED:
      return "it requires a client certificate";
    case SSL_AD_NO_APPLICATION_PROTOCOL:
      return offered.empty() ? "it requires ALPN"
                             : "it accepts none of the ALPN protocols we offered (" + quoted_list(offered) + ")";
    case SSL_AD_PROTOCOL_VERSION:
      return "we have no TLS version in common";
    case SSL_AD_UNRECOGNIZED_NAME:
      return "it has no certificate for the server name we asked for";
    default:
      return {};
  }
}

// OpenSSL's reasons for input that is no TLS record at all.
bool not_tls(unsigned long error) {
  int reason = ERR_GET_REASON(error);
  return ERR_GET_LIB(error) == ERR_LIB_SSL &&
         (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST ||
          reason == SSL_R_PACKET_LENGTH_TOO_LONG);
}

}  // namespace

session::session(context_ptr context, role side) : context_(std::move(context)), side_(side) {}

session::~session() { SSL_free(ssl_); }

std::variant<std::unique_ptr<session>, std::string> session::create(context_ptr context, role side,
                                                                    const config::tls_config& tls,
                                                                    const std::string& dialed_host,
                                                                    std::vector<std::string> alpn) {
  if (!context)
    return std::string("no TLS context for the session");
  std::string problem;
  auto wire = alpn_wire_form(alpn, problem);
  if (!problem.empty())
    return problem;

  std::unique_ptr<session> self(new session(context, side));
  ERR_clear_error();
  self->ssl_ = SSL_new(context.get());
  self->network_in_ = BIO_new(BIO_s_mem());
  self->network_out_ = BIO_new(BIO_s_mem());
  if (!self->ssl_ || !self->network_in_ || !self->network_out_) {
    // Not yet handed to the SSL, so still ours to free.
    BIO_free(self->network_in_);
    BIO_free(self->network_out_);
    return "cannot create a TLS session: " + drain_errors();
  }
  // An empty memory BIO reads as "try again later", not as the end of the stream.
  BIO_set_mem_eof_return(self->network_in_, -1);
  BIO_set_mem_eof_return(self->network_out_, -1);
  SSL_set_bio(self->ssl_, self->network_in_, self->network_out_);
  SSL_set_app_data(self->ssl_, self.get());
  SSL_set_info_callback(self->ssl_, &session::on_info);

  if (side == role::client) {
    self->peer_ = "the server '" + expected_server_name(tls, dialed_host) + "'";
    if (!prepare_client(self->ssl_, tls, dialed_host, problem))
      return problem;
    if (!wire.empty() && SSL_set_alpn_protos(self->ssl_, wire.data(), static_cast<unsigned int>(wire.size())) != 0)
      return "cannot offer the ALPN protocols " + quoted_list(alpn) + ": " + drain_errors();
    self->offered_ = std::move(alpn);
    SSL_set_connect_state(self->ssl_);
  } else {
    self->peer_ = "the client";
    self->choice_.accepted = std::move(wire);
    accept_protocols(self->ssl_, &self->choice_);
    SSL_set_accept_state(self->ssl_);
  }
  self->advance();
  return self;
}

void session::on_info(const SSL* ssl, int where, int value) {
  // SSL_CB_READ_ALERT shares its alert bit with SSL_CB_WRITE_ALERT: both bits must be set.
  if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT || (value >> 8) != SSL3_AL_FATAL)
    return;
  auto* self = static_cast<session*>(SSL_get_app_data(ssl));
  if (self && !self->peer_alert_)
    self->peer_alert_ = value & 0xff;
}

void session::receive(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty() && !failure_ && !peer_closed_) {
    auto piece = bytes.first(std::min(bytes.size(), input_piece));
    if (BIO_write(network_in_, piece.data(), static_cast<int>(piece.size())) != static_cast<int>(piece.size())) {
      failure_ = "cannot buffer received TLS bytes: out of memory";
      break;
    }
    bytes = bytes.subspan(piece.size());
    advance();
  }
}

std::span<const std::uint8_t> session::pending_output() {
  return {output_.data() + output_head_, output_.size() - output_head_};
}

void session::consume_output(std::size_t count) {
  output_head_ += std::min(count, output_.size() - output_head_);
  drop_consumed(output_, output_head_);
}

void session::send(std::span<const std::uint8_t> bytes) {
  if (failure_ || close_requested_ || bytes.empty())
    return;
  // Plaintext goes straight from the caller's buffer when nothing is waiting ahead of it.
  std::size_t encrypted = 0;
  if (handshake_done_ && unsent_plaintext() == 0)
    encrypted = encrypt(bytes);
  if (!failure_)
    unsent_.insert(unsent_.end(), bytes.begin() + static_cast<std::ptrdiff_t>(encrypted), bytes.end());
  advance();
}

std::vector<std::uint8_t> session::take_received() { return std::exchange(received_, {}); }

void session::close() {
  if (close_requested_)
    return;
  close_requested_ = true;
  advance();
}

// Carries the connection as far as the input and the queued plaintext allow.
void session::advance() {
  if (!failure_ && !handshake_done_)
    handshake();
  if (!failure_ && handshake_done_ && !peer_closed_)
    read_plaintext();
  if (!failure_ && handshake_done_)
    write_unsent();
  if (!failure_ && handshake_done_ && close_requested_ && !close_sent_ && unsent_plaintext() == 0)
    send_close_notify();
  collect_output();
}

void session::handshake() {
  ERR_clear_error();
  int result = SSL_do_handshake(ssl_);
  if (result != 1) {
    int error = SSL_get_error(ssl_, result);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
      fail(error);
    return;
  }
  handshake_done_ = true;
  const unsigned char* protocol = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl_, &protocol, &size);
  alpn_protocol_.assign(reinterpret_cast<const char*>(protocol), size);
}

void session::read_plaintext() {
  // Records may wait in OpenSSL's read-ahead buffer even when the memory BIO is empty.
  while (BIO_ctrl_pending(network_in_) > 0 || SSL_has_pending(ssl_)) {
    std::size_t old = received_.size();
    received_.resize(old + read_piece);
    std::size_t got = 0;
    ERR_clear_error();
    int result = SSL_read_ex(ssl_, received_.data() + old, read_piece, &got);
    received_.resize(old + got);
    if (result == 1)
      continue;
    int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_ZERO_RETURN)
      peer_closed_ = true;
    else if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
      fail(error);
    return;
  }
}

void session::write_unsent() {
  while (unsent_plaintext() > 0 && !failure_) {
    std::size_t done = encrypt(std::span(unsent_).subspan(unsent_head_));
    if (done == 0)
      break;
    unsent_head_ += done;
  }
  drop_consumed(unsent_, unsent_head_);
}

// Encrypts as much of `bytes` as OpenSSL takes now (all of it, unless the connection is
// renegotiating or has failed) and returns how much that was.
std::size_t session::encrypt(std::span<const std::uint8_t> bytes) {
  std::size_t total = 0;
  while (total < bytes.size()) {
    std::size_t written = 0;
    ERR_clear_error();
    int result = SSL_write_ex(ssl_, bytes.data() + total, std::min(bytes.size() - total, write_piece), &written);
    if (result != 1) {
      int error = SSL_get_error(ssl_, result);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
        fail(error);
      break;
    }
    total += written;
    collect_output();
  }
  return total;
}

void session::send_close_notify() {
  ERR_clear_error();
  // 0: sent, the peer's has not come yet; 1: sent, and the peer's had come.
  int result = SSL_shutdown(ssl_);
  if (result < 0)
    fail(SSL_get_error(ssl_, result));
  else
    close_sent_ = true;
}

void session::collect_output() {
  std::size_t size = BIO_ctrl_pending(network_out_);
  if (size == 0)
    return;
  std::size_t old = output_.size();
  output_.resize(old + size);
  int got = BIO_read(network_out_, output_.data() + old, static_cast<int>(size));
  output_.resize(old + static_cast<std::size_t>(std::max(got, 0)));
}

void session::fail(int ssl_error) {
  const std::string stage = handshake_done_ ? "TLS connection with " : "TLS handshake with ";
  std::string why;
  if (peer_alert_) {
    why = "it sent the alert '" + alert_name(*peer_alert_) + "'";
    if (auto meaning = alert_meaning(*peer_alert_, offered_); !meaning.empty())
      why += ": " + meaning;
    ERR_clear_error();
  } else if (!choice_.refused_offer.empty()) {
    why = "it offered only the ALPN protocols " + choice_.refused_offer + ", and this side accepts " +
          alpn_names(choice_.accepted.data(), choice_.accepted.size());
    ERR_clear_error();
  } else if (!handshake_done_) {
    const unsigned long first = ERR_peek_error();
    why = handshake_problem(ssl_, ssl_error);
    if (not_tls(first))
      why = "what arrived is not TLS (" + why + ")";
    else if (ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
      why = "it sent no certificate, and this side requires one (" + why + ")";
  } else {
    const bool altered = ERR_GET_REASON(ERR_peek_error()) == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC;
    why = drain_errors();
    if (why.empty())
      why = "SSL error " + std::to_string(ssl_error);
    if (altered)
      why = "a record failed its integrity check: bytes were altered or lost on the way (" + why + ")";
  }
  failure_ = stage + peer_ + " failed: " + why;
  // Whatever OpenSSL queued on the way out (an alert) is still to be flushed.
  collect_output();
}

}  // namespace s2s::tls
