// tls_stream.h - one TLS connection over memory buffers, so ciphertext still flows through
// io_uring: the worker receives ciphertext and hands it in, takes ciphertext out and sends
// it. Nothing here touches a socket or blocks.
//
//   put_ciphertext(bytes from recv)  ->  read(plaintext)   -> Session::feed
//   Session output -> write(plaintext) -> take_ciphertext() -> send
//
// The handshake runs inside read(): call it after every put_ciphertext and send whatever
// take_ciphertext() yields (handshake records, tickets, alerts). Memory is bounded by the
// caller: it puts at most one receive buffer before reading everything out, and writes at
// most its bounded output buffer before sending. SSL_MODE_RELEASE_BUFFERS (set on the
// contexts) frees record buffers while a connection is idle.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "tls/tls_context.h"
#include "tls/tls_info.h"

namespace correo {

class TlsStream {
 public:
  enum class State : uint8_t {
    kHandshaking,  // needs more ciphertext from the peer
    kOpen,         // handshake done; plaintext flows
    kClosed,       // the peer sent close_notify
    kFailed,       // handshake or record error: error() says why; close the connection
  };

  // server/client - a stream on ctx (which it keeps alive). For a client, `sni` is the peer's
  // name (sent as SNI) or address; with verify_host the certificate must name it.
  static std::unique_ptr<TlsStream> server(std::shared_ptr<const TlsContext> ctx);
  static std::unique_ptr<TlsStream> client(std::shared_ptr<const TlsContext> ctx, const std::string& sni,
                                           bool verify_host);
  ~TlsStream();

  void put_ciphertext(std::string_view bytes);
  // read - advance the handshake and append every plaintext byte available to `plain`.
  State read(std::string& plain);
  // write - encrypt plaintext (only once open); false on a record error.
  bool write(std::string_view plain);
  // take_ciphertext - append what must be sent to the peer to `out`; true if any.
  bool take_ciphertext(std::string& out);
  // close_notify - queue our close alert (sent with the next take_ciphertext).
  void close_notify();
  // Client session resumption (correo-blast --tls-resume): offer a session from an earlier
  // connection before the handshake; take this connection's (a new reference, or null)
  // once it ends, when TLS 1.3 tickets have arrived.
  void offer_session(SSL_SESSION* session);
  SSL_SESSION* take_session() const;

  bool open() const { return state_ == State::kOpen; }
  State state() const { return state_; }
  const std::string& error() const { return error_; }
  TlsInfo info() const;
  // verify_result - for clients: "ok" or X509's reason the chain/host was not trusted.
  std::string verify_result() const;

  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

 private:
  TlsStream(std::shared_ptr<const TlsContext> ctx, SSL* ssl, BIO* in, BIO* out);
  State fail(std::string_view what);

  std::shared_ptr<const TlsContext> ctx_;
  SSL* ssl_;
  BIO* in_;   // ciphertext from the peer (owned by ssl_)
  BIO* out_;  // ciphertext for the peer (owned by ssl_)
  State state_ = State::kHandshaking;
  std::string error_;
};

const char* to_string(TlsStream::State state);

}  // namespace correo
