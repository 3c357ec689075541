// stream.cc - blocking TCP/TLS connection with deadlines and line reads (see stream.h).
#include "bench/blast/stream.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include <cerrno>
#include <cstring>

#include "bench/blast/tls_client.h"

namespace correo::blast {

namespace {

// The backstop only bounds how long one blocking call can overrun a poll that said
// "ready"; deadlines are enforced by the poll before each retry.
constexpr timeval kBlockingBackstop{0, 250 * 1000};

Error errno_error(const char* what) { return Error{std::string(what) + ": " + std::strerror(errno)}; }

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

Stream::Stream() : buffer_(new char[kBufferSize]) {}

Status Stream::connect(const Target& target, Deadline deadline) {
  close(false);
  const int fd = ::socket(target.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno_error("socket");
  fd_ = fd;
  // Non-blocking only for connect, so the connect honours the deadline; then blocking.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target.addr), target.addr_len) != 0) {
    if (errno != EINPROGRESS) return errno_error("connect");
    Status ready = wait_fd(fd, POLLOUT, deadline);
    if (!ready) return Error{"connect: " + ready.error().message};
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno_error("connect");
    if (err != 0) return Error{std::string("connect: ") + std::strerror(err)};
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return errno_error("fcntl");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kBlockingBackstop, sizeof kBlockingBackstop);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kBlockingBackstop, sizeof kBlockingBackstop);
  return Ok{};
}

Status Stream::start_tls(SSL_CTX* ctx, const std::string& sni, SSL_SESSION* resume, Deadline deadline) {
  ERR_clear_error();
  ssl_ = SSL_new(ctx);
  if (!ssl_) return Error{"TLS handshake: " + tls_error_text("SSL_new failed")};
  if (SSL_set_fd(ssl_, fd_) != 1) return Error{"TLS handshake: " + tls_error_text("SSL_set_fd failed")};
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
  if (resume) SSL_set_session(ssl_, resume);
  for (;;) {
    ERR_clear_error();
    errno = 0;  // SSL_ERROR_SYSCALL reads it: no stale value
    const int r = SSL_connect(ssl_);
    if (r == 1) return Ok{};
    const int err = SSL_get_error(ssl_, r);
    Status waited = Ok{};
    if (err == SSL_ERROR_WANT_READ) {
      waited = wait_fd(fd_, POLLIN, deadline);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      waited = wait_fd(fd_, POLLOUT, deadline);
    } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      return Error{errno == 0 ? "TLS handshake: connection closed by server"
                              : std::string("TLS handshake: ") + std::strerror(errno)};
    } else {
      return Error{"TLS handshake: " + tls_error_text("failed")};
    }
    if (!waited) return Error{"TLS handshake: " + waited.error().message};
  }
}

SSL_SESSION* Stream::take_tls_session() const {
  if (!ssl_) return nullptr;
  SSL_SESSION* session = SSL_get1_session(ssl_);
  if (session && SSL_SESSION_is_resumable(session) != 1) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

Status Stream::write_all(std::string_view data, Deadline deadline) {
  if (fd_ < 0) return Error{"write: not connected"};
  while (!data.empty()) {
    if (!ssl_) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && !would_block(errno)) return errno_error("write");
      Status waited = wait_fd(fd_, POLLOUT, deadline);
      if (!waited) return Error{"write: " + waited.error().message};
      continue;
    }
    ERR_clear_error();
    errno = 0;
    size_t written = 0;
    // Without SSL_MODE_ENABLE_PARTIAL_WRITE this succeeds only once all of data is written;
    // after WANT_* it must be retried with the same arguments, which this loop does.
    if (SSL_write_ex(ssl_, data.data(), data.size(), &written) == 1) {
      data.remove_prefix(written);
      continue;
    }
    const int err = SSL_get_error(ssl_, 0);
    Status waited = Ok{};
    if (err == SSL_ERROR_WANT_WRITE) {
      waited = wait_fd(fd_, POLLOUT, deadline);
    } else if (err == SSL_ERROR_WANT_READ) {
      waited = wait_fd(fd_, POLLIN, deadline);
    } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      return errno == 0 ? Error{"write: connection closed by server"} : errno_error("write");
    } else {
      return Error{"TLS write: " + tls_error_text("failed")};
    }
    if (!waited) return Error{"write: " + waited.error().message};
  }
  return Ok{};
}

Result<size_t> Stream::read_some(char* into, size_t capacity, Deadline deadline) {
  if (fd_ < 0) return Error{"read: not connected"};
  for (;;) {
    if (!ssl_) {
      Status ready = wait_fd(fd_, POLLIN, deadline);
      if (!ready) return ready.error();
      const ssize_t n = ::recv(fd_, into, capacity, 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) return Error{"connection closed by server"};
      if (!would_block(errno)) return errno_error("read");
      continue;
    }
    // Data OpenSSL already holds (decrypted or still in a record) needs no poll.
    if (SSL_has_pending(ssl_) != 1) {
      Status ready = wait_fd(fd_, POLLIN, deadline);
      if (!ready) return ready.error();
    }
    ERR_clear_error();
    errno = 0;
    size_t got = 0;
    if (SSL_read_ex(ssl_, into, capacity, &got) == 1) return got;
    const int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_READ) continue;  // e.g. a TLS 1.3 ticket, or half a record
    if (err == SSL_ERROR_WANT_WRITE) {
      Status ready = wait_fd(fd_, POLLOUT, deadline);
      if (!ready) return ready.error();
      continue;
    }
    if (err == SSL_ERROR_ZERO_RETURN) return Error{"connection closed by server (TLS close_notify)"};
    if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      return errno == 0 ? Error{"connection closed by server"} : errno_error("read");
    }
    return Error{"TLS read: " + tls_error_text("failed")};
  }
}

Result<std::string_view> Stream::read_line(Deadline deadline) {
  size_t scanned = begin_;
  for (;;) {
    const void* nl = std::memchr(buffer_.get() + scanned, '\n', end_ - scanned);
    if (nl) {
      const size_t at = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.get());
      size_t len = at - begin_;
      if (len > 0 && buffer_[at - 1] == '\r') --len;
      std::string_view line(buffer_.get() + begin_, len);
      begin_ = at + 1;
      return line;
    }
    scanned = end_;
    if (begin_ > 0) {  // make room: move the partial line to the front
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      scanned -= begin_;
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == kBufferSize) return Error{"protocol: reply line longer than 16 KiB"};
    Result<size_t> got = read_some(buffer_.get() + end_, kBufferSize - end_, deadline);
    if (!got) return got.error();
    end_ += *got;
  }
}

void Stream::close(bool graceful) {
  if (ssl_) {
    // One close_notify, no wait for the peer's: the socket is closed right after.
    if (graceful) SSL_shutdown(ssl_);
    SSL_free(ssl_);
    ssl_ = nullptr;
    ERR_clear_error();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  begin_ = end_ = 0;
}

}  // namespace correo::blast
