// tls_context.h - OpenSSL contexts: the server's certificate and protocol policy, the
// client's policy for outbound STARTTLS, and the slot that lets SIGHUP swap certificates.
//
// An SSL_CTX is shared by every worker (SSL_new is thread-safe on a context that is no
// longer being configured), so session tickets and the session cache work across workers:
// a client that resumes may land on any of them (SO_REUSEPORT spreads connections).
// A reload builds a new context and publishes it; sessions already open keep the old one
// (each SSL holds a reference), new ones get the new certificate.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "relay/common/result.h"
#include "relay/common/snapshot.h"

namespace correo {

class TlsContext {
 public:
  // server - TLS 1.2+, server cipher preference, session tickets and cache, no
  // renegotiation; the chain and key are PEM files; the key must match the certificate.
  static Result<std::shared_ptr<const TlsContext>> server(const std::string& cert_file, const std::string& key_file);
  // client - for outbound STARTTLS. verify = check the chain against the system's trust
  // store (the host name is checked per connection, TlsStream::client).
  static Result<std::shared_ptr<const TlsContext>> client(bool verify);
  // load_generator_client - no trust store and no checks at all: correo-blast measures a
  // server on loopback. (Loading the store makes every handshake look the issuer up in
  // /etc/ssl/certs even when the result is ignored: measurable in a handshake benchmark.)
  static Result<std::shared_ptr<const TlsContext>> load_generator_client();

  ~TlsContext();
  SSL_CTX* raw() const { return ctx_; }
  // description - "CN=subject, expires YYYY-MM-DD" of the server certificate, for logs.
  const std::string& description() const { return description_; }

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  std::string description_;
};

// TlsContextSlot - the current server context, replaced by SIGHUP (relay/common/snapshot.h).
using TlsContextSlot = Snapshot<TlsContext>;

// openssl_error - the most recent OpenSSL error on this thread as text (and clears the queue).
std::string openssl_error();

}  // namespace correo
