// snapshot.h - a value the main thread replaces on SIGHUP (certificates, the users table)
// and worker threads read on their hot path without taking a lock.
//
// The writer swaps a shared_ptr under a mutex and bumps a generation. A reader keeps its own
// SnapshotCache: one atomic load per use, and the mutex only when the generation moved (once
// per reload). Values are immutable once published; whoever still holds the old one (an open
// TLS session, a verification in flight) keeps it alive until done.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace correo {

template <typename T>
class Snapshot {
 public:
  void set(std::shared_ptr<const T> value) {
    std::lock_guard<std::mutex> lock(mu_);
    value_ = std::move(value);
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const T> get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;
  std::atomic<uint64_t> generation_{0};
};

// SnapshotCache - one thread's view of a Snapshot (null snapshot = always empty).
template <typename T>
class SnapshotCache {
 public:
  explicit SnapshotCache(const Snapshot<T>* source) : source_(source) {}
  const std::shared_ptr<const T>& current() {
    if (source_) {
      const uint64_t gen = source_->generation();
      if (gen != seen_) {
        value_ = source_->get();
        seen_ = gen;
      }
    }
    return value_;
  }

 private:
  const Snapshot<T>* source_;
  uint64_t seen_ = 0;
  std::shared_ptr<const T> value_;
};

}  // namespace correo
