// admin_address.h - where the admin server listens and correoctl connects.
//
// `unix:PATH` or `HOST:PORT` with HOST a loopback literal (127.0.0.0/8, ::1 written
// `[::1]:PORT`). Anything else is refused on both sides: the admin protocol has no
// authentication of its own (the socket's file mode is the access control), so it must
// never be reachable from the network. Names like "localhost" are refused too: a resolver
// answer is not a promise of loopback.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/common/cidr.h"
#include "relay/common/result.h"

namespace correo {

struct AdminAddress {
  bool is_unix = false;
  std::string path;  // unix
  IpAddress ip;      // tcp
  uint16_t port = 0;  // tcp; 0 = any free port (listen only)

  std::string to_string() const;  // "unix:PATH", "127.0.0.1:9466", "[::1]:9466"
};

Result<AdminAddress> parse_admin_address(std::string_view text);

// AdminListener - a listening, non-blocking, close-on-exec socket.
struct AdminListener {
  int fd = -1;
  AdminAddress bound;  // with the real port when 0 was asked
  // Unix socket only: the node we created, so shutdown unlinks it only if it is still ours.
  dev_t dev = 0;
  ino_t ino = 0;
};

// listen_admin - for unix: refuses a PATH that exists and is not a socket, or a socket some
// process still accepts on; unlinks a stale one; the new socket gets mode 0660 before
// listen(), so no client can connect while it has the umask's mode.
Result<AdminListener> listen_admin(const AdminAddress& address, int backlog);

// unlink_admin_socket - removes the listener's socket file if it is still the one created.
void unlink_admin_socket(const AdminListener& listener);

// connect_admin - a connected, blocking, close-on-exec socket, or why not (errno text).
// timeout_ms bounds the connect itself.
Result<int> connect_admin(const AdminAddress& address, int timeout_ms);

}  // namespace correo
