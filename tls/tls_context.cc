// tls_context.cc - building the server and client SSL_CTX.
#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace correo {
namespace {

// TLS 1.2 suites, strongest first; the server's order wins (SSL_OP_CIPHER_SERVER_PREFERENCE).
// Forward-secret AEAD first, then CBC suites kept for old MTAs: for opportunistic SMTP any
// encryption beats the cleartext fallback (RFC 7435). TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kCipherList =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDHE+AES:DHE+AES:AESGCM:AES"
    ":!aNULL:!eNULL:!MD5:!DSS:!PSK:!SRP:!CAMELLIA:!ARIA";
constexpr unsigned char kSessionIdContext[] = "correo";

std::string describe_certificate(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (!cert) return "no certificate";
  std::string out;
  char cn[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
    out += "CN=";
    out += cn;
  }
  BIO* mem = BIO_new(BIO_s_mem());
  if (mem && ASN1_TIME_print(mem, X509_get0_notAfter(cert)) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(mem, &data);
    out += out.empty() ? "expires " : ", expires ";
    out.append(data, static_cast<size_t>(n));
  }
  BIO_free(mem);
  return out;
}

void apply_common(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their record buffers back (34 KiB each): thousands of sessions
  // mostly wait for the next command.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_cipher_list(ctx, kCipherList);
}

}  // namespace

std::string openssl_error() {
  std::string text;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown TLS error" : text;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<const TlsContext>> TlsContext::server(const std::string& cert_file,
                                                             const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (!raw) return Error{"cannot create TLS context: " + openssl_error()};
  std::shared_ptr<TlsContext> ctx(new TlsContext(raw));
  apply_common(raw);
  SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_dh_auto(raw, 1);
  if (SSL_CTX_use_certificate_chain_file(raw, cert_file.c_str()) != 1) {
    return Error{cert_file + ": cannot load certificate chain: " + openssl_error()};
  }
  if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return Error{key_file + ": private key does not match the certificate in " + cert_file};
    }
    return Error{key_file + ": cannot load private key: " + openssl_error()};
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return Error{key_file + ": private key does not match the certificate in " + cert_file};
  }
  // Resumption by stateless tickets only (TLS 1.2 RFC 5077 and TLS 1.3): no server-side
  // session cache, which is one locked hash table for all workers and is walked to expire
  // entries (measured: a few % of CPU under handshake load, bench/RESULTS.md). One ticket
  // per handshake is enough for an MTA that reconnects one connection at a time.
  SSL_CTX_set_session_id_context(raw, kSessionIdContext, sizeof kSessionIdContext - 1);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(raw, 1);
  ctx->description_ = describe_certificate(raw);
  return std::shared_ptr<const TlsContext>(std::move(ctx));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::client(bool verify) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (!raw) return Error{"cannot create TLS context: " + openssl_error()};
  std::shared_ptr<TlsContext> ctx(new TlsContext(raw));
  apply_common(raw);
  // The chain is always checked (the result is logged); only `verify` makes it fatal.
  if (SSL_CTX_set_default_verify_paths(raw) != 1) ERR_clear_error();
  SSL_CTX_set_verify(raw, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  ctx->description_ = verify ? "client, verifying" : "client, opportunistic";
  return std::shared_ptr<const TlsContext>(std::move(ctx));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::load_generator_client() {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (!raw) return Error{"cannot create TLS context: " + openssl_error()};
  std::shared_ptr<TlsContext> ctx(new TlsContext(raw));
  apply_common(raw);
  SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
  ctx->description_ = "client, load generator (no checks)";
  return std::shared_ptr<const TlsContext>(std::move(ctx));
}

}  // namespace correo
