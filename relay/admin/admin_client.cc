// admin_client.cc - see admin_client.h.
#include "relay/admin/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace correo {
namespace {

// FdCloser - closes the socket on every return path.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

// wait_for - poll one fd for `events`; false on timeout or error (errno set).
bool wait_for(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) errno = ETIMEDOUT;
  return rc > 0;
}

}  // namespace

Result<ReplyLine> admin_exchange(const AdminAddress& address, std::string_view request, int timeout_ms,
                                 const std::function<bool(std::string_view text)>& on_data) {
  Result<int> fd = connect_admin(address, timeout_ms);
  if (!fd) return Error{"cannot reach correod at " + address.to_string() + ": " + fd.error().message};
  FdCloser closer{*fd};
  size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_for(*fd, POLLOUT, timeout_ms)) return Error{"sending the request: " + std::string(std::strerror(errno))};
    const ssize_t n = ::send(*fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Error{"sending the request: " + std::string(std::strerror(errno))};
    }
    sent += static_cast<size_t>(n);
  }
  std::string buffer;
  size_t start = 0;    // first byte of buffer not yet consumed
  size_t scanned = 0;  // bytes of buffer known to hold no newline
  char chunk[65536];
  while (true) {
    const size_t nl = buffer.find('\n', std::max(start, scanned));
    if (nl != std::string::npos) {
      const std::string_view line(buffer.data() + start, nl - start);
      std::optional<ReplyLine> r = parse_reply_line(line);
      if (!r) return Error{"protocol error: unexpected reply line from the daemon"};
      if (r->kind != ReplyLine::Kind::kData) return std::move(*r);
      if (!on_data(r->text)) return Error{"output failed; reply abandoned"};
      start = nl + 1;
      continue;
    }
    buffer.erase(0, start);  // compact once per read, not once per line
    start = 0;
    scanned = buffer.size();
    if (buffer.size() > kMaxAdminReplyLine) return Error{"protocol error: reply line too long"};
    if (!wait_for(*fd, POLLIN, timeout_ms)) {
      return Error{errno == ETIMEDOUT ? "no reply from the daemon within the timeout"
                                      : "waiting for the reply: " + std::string(std::strerror(errno))};
    }
    const ssize_t n = ::recv(*fd, chunk, sizeof chunk, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Error{"reading the reply: " + std::string(std::strerror(errno))};
    }
    if (n == 0) return Error{"the daemon closed the connection before the reply was complete"};
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace correo
