// admin_address.cc - parsing admin addresses, binding and connecting their sockets.
#include "relay/admin/admin_address.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace correo {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

bool is_loopback(const IpAddress& ip) {
  if (!ip.v6) return ip.bytes[0] == 127;
  for (size_t i = 0; i < 15; ++i) {
    if (ip.bytes[i] != 0) return false;
  }
  return ip.bytes[15] == 1;
}

// SockAddr - a sockaddr big enough for any of ours, and its length.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

Result<SockAddr> to_sockaddr(const AdminAddress& a) {
  SockAddr s;
  if (a.is_unix) {
    auto* un = reinterpret_cast<sockaddr_un*>(&s.storage);
    if (a.path.empty() || a.path.size() >= sizeof un->sun_path) {
      return Error{"unix socket path must be 1 to " + std::to_string(sizeof un->sun_path - 1) + " bytes: " + a.path};
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, a.path.data(), a.path.size());
    s.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + a.path.size() + 1);
  } else if (a.ip.v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(a.port);
    std::memcpy(&in6->sin6_addr, a.ip.bytes.data(), 16);
    s.len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&s.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(a.port);
    std::memcpy(&in->sin_addr, a.ip.bytes.data(), 4);
    s.len = sizeof(sockaddr_in);
  }
  return s;
}

// someone_listens - whether a process accepts connections on the unix socket at `path`.
bool someone_listens(const AdminAddress& a) {
  Result<SockAddr> sa = to_sockaddr(a);
  if (!sa) return false;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int rc = ::connect(fd, sa->get(), sa->len);
  const int err = errno;
  ::close(fd);
  // EAGAIN: the listener's backlog is full - it is alive all the same.
  return rc == 0 || err == EAGAIN || err == EINPROGRESS;
}

}  // namespace

std::string AdminAddress::to_string() const {
  if (is_unix) return "unix:" + path;
  if (ip.v6) return "[" + ip.to_string() + "]:" + std::to_string(port);
  return ip.to_string() + ":" + std::to_string(port);
}

Result<AdminAddress> parse_admin_address(std::string_view text) {
  AdminAddress a;
  if (text.starts_with("unix:")) {
    a.is_unix = true;
    a.path = std::string(text.substr(5));
    if (a.path.empty()) return Error{"admin address unix: needs a path"};
    if (a.path.find('\0') != std::string::npos) return Error{"admin socket path contains NUL"};
    return a;
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Error{"admin address must be unix:PATH or HOST:PORT, not \"" + std::string(text) + "\""};
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string_view::npos) return Error{"only IPv6 literals go in brackets: " + std::string(text)};
  } else if (host.find(':') != std::string_view::npos) {
    return Error{"write an IPv6 admin address as [::1]:PORT, not " + std::string(text)};
  }
  const std::optional<IpAddress> ip = IpAddress::parse(host);
  if (!ip) return Error{"admin host must be a loopback IP literal (127.0.0.1 or [::1]), not \"" + std::string(host) + "\""};
  if (!is_loopback(*ip)) {
    return Error{"admin address " + std::string(text) + " is not loopback: the admin server must never be reachable from the network"};
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    return Error{"bad admin port in " + std::string(text)};
  }
  a.ip = *ip;
  a.port = static_cast<uint16_t>(value);
  return a;
}

Result<AdminListener> listen_admin(const AdminAddress& address, int backlog) {
  Result<SockAddr> sa = to_sockaddr(address);
  if (!sa) return sa.error();
  AdminListener l;
  l.bound = address;
  if (address.is_unix) {
    struct stat st;
    if (::lstat(address.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return Error{address.path + " exists and is not a socket; not replacing it"};
      if (someone_listens(address)) return Error{"another process is serving " + address.path};
      if (::unlink(address.path.c_str()) != 0 && errno != ENOENT) {
        return Error{"cannot remove stale socket " + address.path + ": " + errno_text(errno)};
      }
    }
  }
  const int family = address.is_unix ? AF_UNIX : (address.ip.v6 ? AF_INET6 : AF_INET);
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{"admin socket: " + errno_text(errno)};
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    return Error{what + " " + address.to_string() + ": " + errno_text(err)};
  };
  if (!address.is_unix) {
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (::bind(fd, sa->get(), sa->len) != 0) return fail("cannot bind admin socket");
  if (address.is_unix) {
    // Before listen(): until then a connect is refused, so the umask's mode never matters.
    if (::chmod(address.path.c_str(), 0660) != 0) {
      Error e = fail("cannot chmod admin socket");
      ::unlink(address.path.c_str());
      return e;
    }
    struct stat st;
    if (::stat(address.path.c_str(), &st) == 0) {
      l.dev = st.st_dev;
      l.ino = st.st_ino;
    }
  }
  if (::listen(fd, backlog) != 0) {
    Error e = fail("cannot listen on admin socket");
    if (address.is_unix) ::unlink(address.path.c_str());
    return e;
  }
  if (!address.is_unix) {
    SockAddr got;
    got.len = sizeof got.storage;
    if (::getsockname(fd, got.get(), &got.len) == 0) {
      l.bound.port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&got.storage)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&got.storage)->sin_port);
    }
  }
  l.fd = fd;
  return l;
}

void unlink_admin_socket(const AdminListener& listener) {
  if (!listener.bound.is_unix) return;
  struct stat st;
  if (::lstat(listener.bound.path.c_str(), &st) != 0) return;
  if (st.st_dev == listener.dev && st.st_ino == listener.ino) ::unlink(listener.bound.path.c_str());
}

Result<int> connect_admin(const AdminAddress& address, int timeout_ms) {
  Result<SockAddr> sa = to_sockaddr(address);
  if (!sa) return sa.error();
  const int family = address.is_unix ? AF_UNIX : (address.ip.v6 ? AF_INET6 : AF_INET);
  // Unix: a blocking connect waits (up to SO_SNDTIMEO) while the listener's backlog is full,
  // where a non-blocking one would fail at once with EAGAIN. TCP: non-blocking plus poll.
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | (address.is_unix ? 0 : SOCK_NONBLOCK), 0);
  if (fd < 0) return Error{errno_text(errno)};
  if (address.is_unix) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  int rc;
  do {
    rc = ::connect(fd, sa->get(), sa->len);
  } while (rc != 0 && errno == EINTR && address.is_unix);
  int err = rc == 0 ? 0 : errno;
  if (address.is_unix && (err == EAGAIN || err == EINPROGRESS)) err = ETIMEDOUT;
  if (!address.is_unix && err == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    do {
      rc = ::poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      err = ETIMEDOUT;
    } else {
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
  }
  if (err != 0) {
    ::close(fd);
    return Error{errno_text(err)};
  }
  if (!address.is_unix) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // reads use poll timeouts
  return fd;
}

}  // namespace correo
