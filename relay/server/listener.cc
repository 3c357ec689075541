// listener.cc - socket(2)/bind(2)/listen(2) with the options correod relies on.
#include "relay/server/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace correo {

std::string listener_name(const ListenerConfig& l) {
  if (l.address.find(':') != std::string::npos) return "[" + l.address + "]:" + std::to_string(l.port);
  return l.address + ":" + std::to_string(l.port);
}

Result<int> open_listen_socket(const ListenerConfig& l) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (inet_pton(AF_INET, l.address.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(l.port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, l.address.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(l.port);
    family = AF_INET6;
    len = sizeof(sockaddr_in6);
  } else {
    return Error{"listener " + listener_name(l) + ": address is not an IP literal"};
  }
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{std::string("socket: ") + strerror(errno)};
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 4096) != 0) {
    const int e = errno;
    close(fd);
    return Error{"listener " + listener_name(l) + ": " + strerror(e)};
  }
  return fd;
}

}  // namespace correo
