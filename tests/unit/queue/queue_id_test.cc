// queue_id_test.cc - QueueIdGenerator uniqueness/order/floor, text form round trip and order.
//
// Thread rules: the two-worker case runs one generator per thread, as the daemon does.
// On-disk format: none (ids become 8-byte big-endian keys in queue/spool.cc).
#include "queue/queue_id.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace correo {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

TEST(QueueId, StrictlyIncreasingPerWorker) {
  QueueIdGenerator gen(3, 0);
  uint64_t last = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t id = gen.next();
    ASSERT_GT(id, last);
    ASSERT_EQ(id & 63, 3u);
    last = id;
  }
}

TEST(QueueId, UniqueAcrossTwoWorkerThreads) {
  constexpr int kPerWorker = 50000;
  std::vector<uint64_t> a, b;
  std::thread ta([&] {
    QueueIdGenerator g(0, 0);
    for (int i = 0; i < kPerWorker; ++i) a.push_back(g.next());
  });
  std::thread tb([&] {
    QueueIdGenerator g(1, 0);
    for (int i = 0; i < kPerWorker; ++i) b.push_back(g.next());
  });
  ta.join();
  tb.join();
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  std::set<uint64_t> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2u * kPerWorker);
}

TEST(QueueId, CarriesTheCurrentTime) {
  const uint64_t before = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count());
  QueueIdGenerator gen(0, 0);
  const uint64_t us = queue_id_micros(gen.next());
  EXPECT_GE(us, before);
  EXPECT_LT(us, before + 10'000'000);  // within 10 s
}

TEST(QueueId, FloorRespectedEvenFromTheFuture) {
  // A floor one hour ahead: the clock "went backwards" across a restart.
  const uint64_t future_us = queue_id_micros(QueueIdGenerator(0, 0).next()) + 3'600'000'000ull;
  for (unsigned floor_worker : {0u, 5u, 63u}) {
    const uint64_t floor = (future_us << 6) | floor_worker;
    for (unsigned w : {0u, 5u, 63u}) {
      QueueIdGenerator gen(w, floor);
      uint64_t last = floor;
      for (int i = 0; i < 1000; ++i) {
        const uint64_t id = gen.next();
        ASSERT_GT(id, last);
        ASSERT_EQ(id & 63, w);
        last = id;
      }
    }
  }
}

TEST(QueueId, FormatIsFixedWidthCrockford) {
  EXPECT_EQ(format_queue_id(0), "0000000000000");
  EXPECT_EQ(format_queue_id(31), "000000000000Z");
  EXPECT_EQ(format_queue_id(32), "0000000000010");
  EXPECT_EQ(format_queue_id(~0ull), "FZZZZZZZZZZZZ");
  QueueIdGenerator gen(7, 0);
  const std::string text = format_queue_id(gen.next());
  ASSERT_EQ(text.size(), 13u);
  for (char c : text) EXPECT_NE(std::string_view(kAlphabet).find(c), std::string_view::npos) << c;
}

TEST(QueueId, RoundTripAndOrderPreserved) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> ids = {0, 1, 31, 32, 63, 64, ~0ull, ~0ull - 1, 1ull << 63};
  QueueIdGenerator gen(2, 0);
  for (int i = 0; i < 1000; ++i) ids.push_back(gen.next());
  for (int i = 0; i < 10000; ++i) ids.push_back(rng() >> (rng() % 64));
  for (uint64_t id : ids) {
    const std::string text = format_queue_id(id);
    const std::optional<uint64_t> back = parse_queue_id(text);
    ASSERT_TRUE(back.has_value()) << text;
    ASSERT_EQ(*back, id) << text;
    std::string lower = text;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_EQ(parse_queue_id(lower), id) << lower;
  }
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    const uint64_t x = ids[i], y = ids[i + 1];
    ASSERT_EQ(x < y, format_queue_id(x) < format_queue_id(y)) << x << " " << y;
  }
}

TEST(QueueId, BadTextRejected) {
  EXPECT_FALSE(parse_queue_id(""));
  EXPECT_FALSE(parse_queue_id("000000000000"));    // 12 chars
  EXPECT_FALSE(parse_queue_id("00000000000000"));  // 14 chars
  EXPECT_FALSE(parse_queue_id("000000000000U"));   // U is not in the alphabet
  EXPECT_FALSE(parse_queue_id("000000000000I"));   // no I/L/O aliases
  EXPECT_FALSE(parse_queue_id("000000000000L"));
  EXPECT_FALSE(parse_queue_id("000000000000O"));
  EXPECT_FALSE(parse_queue_id("00000000000-0"));
  EXPECT_FALSE(parse_queue_id("000000000000 "));
  EXPECT_FALSE(parse_queue_id(std::string_view("000000000000\0", 13)));
  EXPECT_FALSE(parse_queue_id("G000000000000"));  // top digit > 15 overflows 64 bits
  EXPECT_FALSE(parse_queue_id("Z000000000000"));
  EXPECT_TRUE(parse_queue_id("F000000000000"));
}

}  // namespace
}  // namespace correo
