// admin_socket_writer.cc - see admin_socket_writer.h.
#include "relay/admin/admin_socket_writer.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace correo {

SocketReplyWriter::SocketReplyWriter(int fd, int stop_fd, std::chrono::milliseconds write_timeout)
    : fd_(fd), stop_fd_(stop_fd), write_timeout_(write_timeout), last_flush_(std::chrono::steady_clock::now()) {}

bool SocketReplyWriter::data(std::string_view text) {
  if (failed_ || finished_) return false;
  buffer_ += encode_data_line(text);
  ++data_lines_;
  if (buffer_.size() >= kFlushBytes || std::chrono::steady_clock::now() - last_flush_ >= kFlushInterval) flush();
  return !failed_;
}

void SocketReplyWriter::ok(std::string_view text) {
  if (finished_) return;
  finished_ = true;
  result_ = "ok";
  buffer_ += encode_ok_line(text);
  flush();
}

void SocketReplyWriter::error(AdminError code, std::string_view text) {
  if (finished_) return;
  finished_ = true;
  result_ = std::string(to_string(code));
  buffer_ += encode_err_line(code, text);
  flush();
}

void SocketReplyWriter::finish() {
  if (failed_) {
    result_ = "dropped";  // the client went away or stopped reading; nothing more to say
    return;
  }
  if (!finished_) error(AdminError::kFailed, "internal error: the command gave no result");
  flush();
}

void SocketReplyWriter::flush() {
  size_t sent = 0;
  while (!failed_ && sent < buffer_.size()) {
    const ssize_t n = ::send(fd_, buffer_.data() + sent, buffer_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      failed_ = true;
      failure_ = std::string("write: ") + std::strerror(errno);
      break;
    }
    pollfd p[2] = {{fd_, POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
    int rc;
    do {
      rc = ::poll(p, 2, static_cast<int>(write_timeout_.count()));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      failed_ = true;
      failure_ = "client not reading (write timeout)";
    } else if (rc < 0) {
      failed_ = true;
      failure_ = std::string("poll: ") + std::strerror(errno);
    } else if (p[1].revents != 0) {
      failed_ = true;
      failure_ = "server stopping";
    }
    // POLLERR/POLLHUP on the client: the next send() reports the error.
  }
  buffer_.clear();
  last_flush_ = std::chrono::steady_clock::now();
}

}  // namespace correo
