// tls_stream.cc - SSL over two memory BIOs.
#include "tls/tls_stream.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "relay/common/cidr.h"

namespace correo {

const char* to_string(TlsStream::State state) {
  switch (state) {
    case TlsStream::State::kHandshaking: return "handshaking";
    case TlsStream::State::kOpen: return "open";
    case TlsStream::State::kClosed: return "closed";
    case TlsStream::State::kFailed: return "failed";
  }
  return "unknown";
}

namespace {

// make - an SSL on ctx with memory BIOs; an empty input BIO reads as "retry", not EOF.
SSL* make(const TlsContext& ctx, BIO*& in, BIO*& out) {
  SSL* ssl = SSL_new(ctx.raw());
  if (!ssl) return nullptr;
  in = BIO_new(BIO_s_mem());
  out = BIO_new(BIO_s_mem());
  if (!in || !out) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);
  return ssl;
}

}  // namespace

TlsStream::TlsStream(std::shared_ptr<const TlsContext> ctx, SSL* ssl, BIO* in, BIO* out)
    : ctx_(std::move(ctx)), ssl_(ssl), in_(in), out_(out) {}

TlsStream::~TlsStream() { SSL_free(ssl_); }

std::unique_ptr<TlsStream> TlsStream::server(std::shared_ptr<const TlsContext> ctx) {
  BIO* in = nullptr;
  BIO* out = nullptr;
  SSL* ssl = make(*ctx, in, out);
  if (!ssl) return nullptr;
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(ctx), ssl, in, out));
}

std::unique_ptr<TlsStream> TlsStream::client(std::shared_ptr<const TlsContext> ctx, const std::string& sni,
                                             bool verify_host) {
  BIO* in = nullptr;
  BIO* out = nullptr;
  SSL* ssl = make(*ctx, in, out);
  if (!ssl) return nullptr;
  SSL_set_connect_state(ssl);
  // SNI carries names only (RFC 6066 §3); the identity checked may be a name or an address
  // (fatal only with SSL_VERIFY_PEER on the context, i.e. delivery.tls = verify).
  const bool is_address = IpAddress::parse(sni).has_value();
  if (!sni.empty() && !is_address) SSL_set_tlsext_host_name(ssl, sni.c_str());
  if (verify_host && !sni.empty()) {
    if (is_address) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), sni.c_str());
    } else {
      SSL_set1_host(ssl, sni.c_str());
    }
  }
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(ctx), ssl, in, out));
}

void TlsStream::put_ciphertext(std::string_view bytes) {
  if (bytes.empty()) return;
  BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
}

TlsStream::State TlsStream::fail(std::string_view what) {
  state_ = State::kFailed;
  error_ = std::string(what) + ": " + openssl_error();
  return state_;
}

TlsStream::State TlsStream::read(std::string& plain) {
  if (state_ == State::kFailed || state_ == State::kClosed) return state_;
  ERR_clear_error();
  if (state_ == State::kHandshaking) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return state_;
      if (err == SSL_ERROR_SSL && SSL_get_verify_result(ssl_) != X509_V_OK) {
        state_ = State::kFailed;
        error_ = std::string("certificate not trusted: ") +
                 X509_verify_cert_error_string(SSL_get_verify_result(ssl_));
        ERR_clear_error();
        return state_;
      }
      return fail("handshake");
    }
    state_ = State::kOpen;
  }
  char buf[16384];
  while (true) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plain.append(buf, static_cast<size_t>(n));
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return state_;
    if (err == SSL_ERROR_ZERO_RETURN) {
      state_ = State::kClosed;
      return state_;
    }
    return fail("read");
  }
}

bool TlsStream::write(std::string_view plain) {
  if (state_ != State::kOpen) return false;
  ERR_clear_error();
  while (!plain.empty()) {
    // Memory BIOs take everything, so a write never stops half way for lack of room.
    const int n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n <= 0) {
      fail("write");
      return false;
    }
    plain.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool TlsStream::take_ciphertext(std::string& out) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(out_, &data);
  if (n <= 0) return false;
  out.append(data, static_cast<size_t>(n));
  (void)BIO_reset(out_);
  return true;
}

void TlsStream::close_notify() {
  if (state_ != State::kOpen && state_ != State::kClosed) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues our alert; we do not wait for the peer's
  ERR_clear_error();
}

void TlsStream::offer_session(SSL_SESSION* session) {
  if (session != nullptr && state_ == State::kHandshaking) SSL_set_session(ssl_, session);
}

SSL_SESSION* TlsStream::take_session() const { return SSL_get1_session(ssl_); }

TlsInfo TlsStream::info() const {
  TlsInfo info;
  info.version = SSL_get_version(ssl_);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  if (cipher) {
    info.cipher = SSL_CIPHER_get_name(cipher);
    info.bits = SSL_CIPHER_get_bits(cipher, nullptr);
  }
  info.resumed = SSL_session_reused(ssl_) == 1;
  return info;
}

std::string TlsStream::verify_result() const {
  if (SSL_get0_peer_certificate(ssl_) == nullptr) return "no certificate";
  const long rc = SSL_get_verify_result(ssl_);
  return rc == X509_V_OK ? "ok" : X509_verify_cert_error_string(rc);
}

}  // namespace correo
