// tls_client.h - the one client SSL_CTX a run shares: TLS 1.2+, no certificate checks.
//
// correo-blast measures a server on loopback; it trusts whatever certificate it is shown
// (SSL_VERIFY_NONE), which is wrong for a mail client and right for a load generator.
// One context for all sessions: SSL_new on a configured context is thread-safe.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "relay/common/result.h"

namespace correo::blast {

class TlsClientContext {
 public:
  static Result<std::unique_ptr<TlsClientContext>> create();
  ~TlsClientContext();
  SSL_CTX* raw() const { return ctx_; }

  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

 private:
  explicit TlsClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// tls_error_text - the oldest queued OpenSSL error as text (and clears the queue), or
// `fallback` when OpenSSL queued none.
std::string tls_error_text(const char* fallback);

}  // namespace correo::blast
