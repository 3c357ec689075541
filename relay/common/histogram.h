// histogram.h - log-linear histogram of non-negative integers (latencies in µs, batch sizes).
//
// 8 sub-buckets per power of two: quantiles within 12.5%, 64*8 counters, no allocation.
// Not thread-safe: each thread owns its own and they are merged after the fact (per-worker
// shards, house style); exact enough for p50/p99/p99.9 reports.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace correo {

class Histogram {
 public:
  static constexpr int kSub = 8;

  void record(uint64_t v) {
    ++counts_[index(v)];
    ++total_;
    sum_ += v;
    if (v > max_) max_ = v;
  }
  void merge(const Histogram& o) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    sum_ += o.sum_;
    if (o.max_ > max_) max_ = o.max_;
  }
  uint64_t count() const { return total_; }
  uint64_t sum() const { return sum_; }
  uint64_t max() const { return max_; }
  double mean() const { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }

  // quantile - upper bound of the bucket holding the q-th value (q in [0,1]).
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        uint64_t ub = upper_bound(i);
        return ub < max_ ? ub : max_;
      }
    }
    return max_;
  }

 private:
  static size_t index(uint64_t v) {
    if (v < kSub) return v;
    const int msb = 63 - std::countl_zero(v);           // v >= 8, so msb >= 3
    const uint64_t sub = (v >> (msb - 3)) & (kSub - 1);   // next 3 bits below the top one
    return static_cast<size_t>((msb - 2) * kSub + sub);
  }
  static uint64_t upper_bound(size_t i) {
    if (i < kSub) return i;
    const int msb = static_cast<int>(i / kSub) + 2;
    const uint64_t sub = i % kSub;
    return ((kSub + sub + 1) << (msb - 3)) - 1;
  }

  std::array<uint64_t, 64 * kSub> counts_{};
  uint64_t total_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace correo
