// size_dist_test.cc - correo-blast's --size: parsing, and what each distribution draws.
#include "bench/blast/size_dist.h"

#include <gtest/gtest.h>

#include <map>

namespace correo::blast {
namespace {

constexpr size_t kMax = 64ull << 20;

SizeDistribution parse_ok(const char* text) {
  Result<SizeDistribution> d = SizeDistribution::parse(text, kMax);
  EXPECT_TRUE(d) << text << ": " << (d ? "" : d.error().message);
  return d ? *d : SizeDistribution();
}

TEST(BlastSizeDistribution, FixedSizesWithSuffixes) {
  EXPECT_TRUE(parse_ok("1024").fixed());
  EXPECT_EQ(parse_ok("1024").sample(12345), 1024u);
  EXPECT_EQ(parse_ok("2k").max(), 2048u);
  EXPECT_EQ(parse_ok("1M").max(), 1048576u);
  EXPECT_EQ(parse_ok("4k-4k").describe(), "4096 bytes");  // an empty range is one size
}

TEST(BlastSizeDistribution, BadSpecsSayWhatIsWrong) {
  for (const char* bad : {"", "0", "k", "1g", "-5", "5-", "10k-1k", "1k:", ":5", "1k:0", "1k:5,", "1k:5,,2k:1",
                          "65m", "1k:5,2k"}) {
    Result<SizeDistribution> d = SizeDistribution::parse(bad, kMax);
    EXPECT_FALSE(d) << "accepted \"" << bad << "\"";
    if (!d) {
      EXPECT_FALSE(d.error().message.empty());
    }
  }
  std::string too_many;
  for (size_t i = 0; i <= SizeDistribution::kMaxEntries; ++i) {
    if (i > 0) too_many += ',';
    too_many += std::to_string(i + 1);
    too_many += ":1";
  }
  EXPECT_FALSE(SizeDistribution::parse(too_many, kMax));
}

TEST(BlastSizeDistribution, LogUniformCoversEachDecadeEqually) {
  const SizeDistribution d = parse_ok("100-1000000");
  EXPECT_FALSE(d.fixed());
  uint64_t state = 7;
  std::map<int, int> per_decade;  // 2: 100..999, 3: 1000..9999, ...
  size_t lowest = kMax, highest = 0;
  double sum = 0;
  constexpr int kDraws = 40000;
  for (int i = 0; i < kDraws; ++i) {
    const size_t s = d.sample(next_random(state));
    lowest = std::min(lowest, s);
    highest = std::max(highest, s);
    sum += static_cast<double>(s);
    int decade = 0;
    for (size_t v = s; v >= 10; v /= 10) ++decade;
    ++per_decade[decade];
  }
  EXPECT_GE(lowest, 100u);
  EXPECT_LE(highest, 1000000u);
  // Four decades, a quarter of the draws each (the single value 10^6 lands in decade 6).
  for (int decade = 2; decade <= 5; ++decade) {
    EXPECT_NEAR(per_decade[decade], kDraws / 4, kDraws / 40) << "decade " << decade;
  }
  EXPECT_LE(per_decade[6], 5);
  // The mean of a log-uniform on [a, b] is (b - a) / ln(b / a): about 108,600 here, and
  // what the draws average to.
  EXPECT_NEAR(d.mean(), 108563, 100);
  EXPECT_NEAR(sum / kDraws, d.mean(), d.mean() * 0.05);
}

TEST(BlastSizeDistribution, WeightedMixFollowsTheWeights) {
  const SizeDistribution d = parse_ok("2k:70,20k:25,500k:5");
  EXPECT_EQ(d.max(), 500u * 1024);
  EXPECT_EQ(d.describe(), "2048:70,20480:25,512000:5 bytes:weight");
  uint64_t state = 42;
  std::map<size_t, int> seen;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) ++seen[d.sample(next_random(state))];
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_NEAR(seen[2048], kDraws * 70 / 100, kDraws / 50);
  EXPECT_NEAR(seen[20480], kDraws * 25 / 100, kDraws / 50);
  EXPECT_NEAR(seen[512000], kDraws * 5 / 100, kDraws / 50);
  EXPECT_DOUBLE_EQ(d.mean(), (2048.0 * 70 + 20480.0 * 25 + 512000.0 * 5) / 100);
}

TEST(BlastSizeDistribution, ExtremeRandomBitsStayInRange) {
  const SizeDistribution range = parse_ok("1-64m");
  const SizeDistribution mix = parse_ok("1:1,3:1");
  for (uint64_t r : {uint64_t{0}, ~uint64_t{0}}) {
    EXPECT_GE(range.sample(r), 1u);
    EXPECT_LE(range.sample(r), kMax);
    const size_t m = mix.sample(r);
    EXPECT_TRUE(m == 1 || m == 3) << m;
  }
}

}  // namespace
}  // namespace correo::blast
