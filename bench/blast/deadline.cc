// deadline.cc - waiting on a socket until an absolute deadline (see deadline.h).
#include "bench/blast/deadline.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace correo::blast {

Status wait_fd(int fd, short events, Deadline deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Error{"timeout"};
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left > 60000 ? 60000 : left));
    if (n > 0) return Ok{};
    if (n < 0 && errno != EINTR) return Error{std::string("poll: ") + std::strerror(errno)};
    // n == 0 with time left happens only for waits over a minute (clamped); loop re-checks.
  }
}

}  // namespace correo::blast
