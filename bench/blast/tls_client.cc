// tls_client.cc - the shared client SSL_CTX (see tls_client.h).
#include "bench/blast/tls_client.h"

#include <openssl/err.h>

namespace correo::blast {

Result<std::unique_ptr<TlsClientContext>> TlsClientContext::create() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return Error{"TLS context: " + tls_error_text("SSL_CTX_new failed")};
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    SSL_CTX_free(ctx);
    return Error{"TLS context: " + tls_error_text("cannot set TLS 1.2 minimum")};
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // Sessions for --tls-resume are held by each session thread (SSL_get1_session), not in
  // OpenSSL's cache: resumption then follows exactly one thread's reconnects.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return std::unique_ptr<TlsClientContext>(new TlsClientContext(ctx));
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

std::string tls_error_text(const char* fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace correo::blast
