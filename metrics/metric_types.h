// metric_types.h - the cells metrics are kept in: counters, gauges and fixed-bucket
// histograms that one thread writes and any thread reads.
//
// House rule: hot-path updates never take a lock or contend for a cache line. Each worker
// (and the spool and scheduler threads) owns its own cells, so an update is a relaxed load
// and store by the only writer - no lock prefix, no sharing. The metrics endpoint sums the
// shards when it is scraped. Cells shared by several writers (rare events) use fetch_add.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace correo {

// Counter - monotonic, single writer.
class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// SharedCounter - monotonic, any number of writers (rare events only).
class SharedCounter {
 public:
  void add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Gauge - a level (connections open, messages in flight), single writer.
class Gauge {
 public:
  void set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) { v_.store(v_.load(std::memory_order_relaxed) + d, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Bucket bounds (upper bounds, ascending, in the unit Prometheus expects: seconds or a
// count). +Inf is implicit. Chosen for what each measures; see metrics/CATALOGUE.md.
inline constexpr double kFastLatencyBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
inline constexpr double kDeliveryLatencyBounds[] = {0.05, 0.1,  0.25, 0.5,  1,     2.5,   5,    10,    30,
                                                    60,   300,  900,  1800, 3600,  14400, 43200, 86400, 432000};
inline constexpr double kBatchSizeBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
constexpr size_t kMaxBuckets = 20;

// BucketHistogram - Prometheus-style cumulative buckets over fixed bounds, single writer.
// observe() is a short linear scan (<= 20 compares) and three relaxed stores.
class BucketHistogram {
 public:
  explicit BucketHistogram(std::span<const double> bounds) : bounds_(bounds) {}
  void observe(double v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    counts_[i].store(counts_[i].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  std::span<const double> bounds() const { return bounds_; }
  uint64_t bucket(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }  // i == bounds().size(): +Inf
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;
  std::atomic<uint64_t> counts_[kMaxBuckets + 1]{};
  std::atomic<double> sum_{0};
};

}  // namespace correo
