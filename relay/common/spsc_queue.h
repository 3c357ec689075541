// spsc_queue.h - bounded single-producer single-consumer ring of values.
//
// Used for every cross-thread hand-off on the data path (worker -> spool commit requests,
// spool -> worker completions), so neither side ever takes a lock. Capacity is fixed at
// construction (a power of two); try_push() returning false is back-pressure that the
// producer turns into a 4xx reply, never a wait.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace correo {

template <typename T>
class SpscQueue {
 public:
  explicit SpscQueue(size_t capacity_pow2)
      : mask_(round_up(capacity_pow2) - 1), slots_(new std::optional<T>[mask_ + 1]) {}

  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // try_push - producer side; false when full (the value is left untouched).
  bool try_push(T& value) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_].emplace(std::move(value));
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // try_pop - consumer side; nullopt when empty.
  std::optional<T> try_pop() {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return std::nullopt;
    }
    std::optional<T> out(std::move(*slots_[head & mask_]));
    slots_[head & mask_].reset();
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  size_t capacity() const { return mask_ + 1; }

 private:
  static size_t round_up(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }

  const size_t mask_;
  std::unique_ptr<std::optional<T>[]> slots_;
  alignas(64) std::atomic<size_t> head_{0};
  size_t tail_cache_ = 0;  // consumer's view of tail_
  alignas(64) std::atomic<size_t> tail_{0};
  size_t head_cache_ = 0;  // producer's view of head_
};

}  // namespace correo
