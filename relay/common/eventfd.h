// eventfd.h - the cross-thread wake-up used everywhere: add 1 to an eventfd counter.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace correo {

// signal_eventfd - never blocks (the counter saturates far beyond any backlog we allow).
inline void signal_eventfd(int fd) {
  const uint64_t one = 1;
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

}  // namespace correo
