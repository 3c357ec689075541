// stream.h - one SMTP client connection: a blocking TCP socket, optionally TLS, read in
// CRLF-terminated lines.
//
// Blocking sockets keep a session thread's code straight-line. Each call still honours an
// absolute deadline: the stream polls before it reads or writes, and short SO_RCVTIMEO /
// SO_SNDTIMEO backstops turn any read or write that would block past readiness (a TLS
// record arriving in pieces, a full send buffer) into a retry that re-checks the deadline.
// OpenSSL reports those as SSL_ERROR_WANT_READ/WRITE even on a blocking socket; they are
// retried, never treated as failures.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "bench/blast/deadline.h"
#include "bench/blast/target.h"
#include "relay/common/result.h"

namespace correo::blast {

class Stream {
 public:
  Stream();
  ~Stream() { close(false); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // connect - TCP connect with TCP_NODELAY (commands are small and latency is measured).
  Status connect(const Target& target, Deadline deadline);
  // start_tls - client handshake on the open connection. `resume` (may be null) is offered
  // for session resumption; `sni` empty = no SNI.
  Status start_tls(SSL_CTX* ctx, const std::string& sni, SSL_SESSION* resume, Deadline deadline);
  bool tls_resumed() const { return ssl_ && SSL_session_reused(ssl_) == 1; }
  // take_tls_session - a new reference to this connection's TLS session if it can be
  // resumed (for TLS 1.3 that needs a ticket, read along with the replies), else null.
  SSL_SESSION* take_tls_session() const;

  Status write_all(std::string_view data, Deadline deadline);
  // read_line - the next line without its CRLF; valid until the next read.
  Result<std::string_view> read_line(Deadline deadline);
  // buffered - bytes received but not yet read as lines (must be 0 when STARTTLS starts:
  // anything already there arrived in plaintext and would be read as if it were protected).
  size_t buffered() const { return end_ - begin_; }

  bool is_open() const { return fd_ >= 0; }
  // close - graceful sends a TLS close_notify first (after QUIT); errors just drop the socket.
  void close(bool graceful);

 private:
  Result<size_t> read_some(char* into, size_t capacity, Deadline deadline);

  static constexpr size_t kBufferSize = 16384;  // replies are short; this bounds a line
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::unique_ptr<char[]> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace correo::blast
