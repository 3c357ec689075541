// size_dist.h - the message sizes a run sends (--size): one size, a log-uniform range, or a
// weighted mix.
//
// Real mail is not one size: most messages are a few KiB and a few are MiBs. The sizes
// span orders of magnitude, so a range is drawn log-uniformly (as many messages between
// 1 and 10 KiB as between 10 and 100 KiB), and a mix reproduces a measured profile.
//   --size 1024                     every message 1024 bytes
//   --size 1k-1m                    log-uniform between 1 KiB and 1 MiB
//   --size 2k:70,20k:25,500k:5      70 % 2 KiB, 25 % 20 KiB, 5 % 500 KiB
// Suffixes k and m are KiB and MiB. Sizes count headers + body, as a server's SIZE does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/common/result.h"

namespace correo::blast {

class SizeDistribution {
 public:
  static constexpr size_t kMaxEntries = 32;

  SizeDistribution() = default;
  explicit SizeDistribution(size_t fixed) : kind_(Kind::kFixed), min_(fixed), max_(fixed) {}

  // parse - a size, MIN-MAX or SIZE:WEIGHT,...; every size in [1, max_size].
  static Result<SizeDistribution> parse(std::string_view text, size_t max_size);

  // sample - one size, drawn with `random` (64 uniformly random bits).
  size_t sample(uint64_t random) const;

  bool fixed() const { return kind_ == Kind::kFixed; }
  size_t max() const { return max_; }
  double mean() const;
  // describe - "1024 bytes", "1024-1048576 bytes log-uniform", "2048:70,20480:25 weighted".
  std::string describe() const;

 private:
  enum class Kind : uint8_t { kFixed, kLogUniform, kWeighted };
  struct Entry {
    size_t size;
    uint64_t weight;
  };

  Kind kind_ = Kind::kFixed;
  size_t min_ = 1024;
  size_t max_ = 1024;
  std::vector<Entry> entries_;  // kWeighted only
  uint64_t total_weight_ = 0;
};

// next_random - splitmix64: a fast, well-mixed generator for per-session draws; a session
// seeded from the run id and its index draws a sequence of its own.
inline uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace correo::blast
