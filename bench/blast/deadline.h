// deadline.h - absolute deadlines on the monotonic clock, and waiting on a socket until one.
//
// Every blocking step of correo-blast (connect, TLS handshake, each reply, each write) runs
// against an absolute deadline rather than a relative timeout, so retries after EINTR or a
// TLS WANT_READ never stretch the time allowed, and the run's hard cap bounds them all.
#pragma once

#include <chrono>

#include "relay/common/result.h"

namespace correo::blast {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// wait_fd - poll(2) fd for events (POLLIN/POLLOUT) until the deadline. Readiness includes
// errors and hang-ups: the read or write that follows reports those precisely.
Status wait_fd(int fd, short events, Deadline deadline);

}  // namespace correo::blast
