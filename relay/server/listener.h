// listener.h - listening sockets. Each worker gets its own socket per configured listener
// (SO_REUSEPORT), so the kernel spreads new connections across workers and a session
// stays on the worker that accepted it. Sockets are opened by the main thread before the
// workers start, so a port in use stops the start with a clear message.
#pragma once

#include <string>
#include <vector>

#include "relay/common/result.h"
#include "relay/config/config.h"

namespace correo {

struct ListenSocket {
  int fd = -1;
  size_t listener_index = 0;  // into Config::listeners
  std::string name;           // "127.0.0.1:2525" for logs
};

// open_listen_socket - non-blocking, SO_REUSEADDR + SO_REUSEPORT, IPV6_V6ONLY for IPv6.
Result<int> open_listen_socket(const ListenerConfig& listener);

// listener_name - "address:port" with IPv6 in brackets.
std::string listener_name(const ListenerConfig& listener);

}  // namespace correo
