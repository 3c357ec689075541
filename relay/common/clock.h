// clock.h - wall-clock microseconds, the unit of every time stored in the queue.
#pragma once

#include <chrono>
#include <cstdint>

namespace correo {

// unix_now_us - microseconds since the epoch (arrival times, due times, deadlines).
inline int64_t unix_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace correo
