// rate_table_test.cc - token bucket arithmetic with a controlled clock, the size bound under
// address churn, LRU eviction, and the per-key connection counts; plus smoke tests with four
// threads (under the sanitizer build these also catch memory errors in the shard code).
#include "relay/policy/rate_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace correo {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1000);

TEST(RateTable, BurstThenDenied) {
  RateTable table(100, 1.0, 3);
  EXPECT_TRUE(table.take("192.0.2.1", kT0));
  EXPECT_TRUE(table.take("192.0.2.1", kT0));
  EXPECT_TRUE(table.take("192.0.2.1", kT0));
  EXPECT_FALSE(table.take("192.0.2.1", kT0));
  EXPECT_FALSE(table.take("192.0.2.1", kT0));
  EXPECT_TRUE(table.take("192.0.2.2", kT0));  // keys are independent
  EXPECT_EQ(table.size(), 2u);
}

TEST(RateTable, RefillsWithTimeUpToTheBurst) {
  RateTable table(100, 2.0, 4);  // 2 tokens per second, at most 4
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(table.take("k", kT0));
  EXPECT_FALSE(table.take("k", kT0));
  EXPECT_FALSE(table.take("k", kT0 + milliseconds(400)));  // 0.8 tokens
  EXPECT_TRUE(table.take("k", kT0 + milliseconds(500)));   // 1.0 token
  EXPECT_FALSE(table.take("k", kT0 + milliseconds(500)));
  // A long pause fills the bucket to the burst, no more.
  const auto later = kT0 + seconds(3600);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(table.take("k", later));
  EXPECT_FALSE(table.take("k", later));
}

TEST(RateTable, SetRateAppliesToExistingAndNewKeys) {
  RateTable table(100, 0, 1);  // a reload from "off" (rate 0, burst 1) ...
  EXPECT_TRUE(table.take("old", kT0));
  EXPECT_FALSE(table.take("old", kT0 + seconds(10)));  // rate 0: never refills
  table.set_rate(1.0, 2);                               // ... to 1 per second, bursts of 2
  EXPECT_TRUE(table.take("old", kT0 + seconds(11)));    // refilled at the new rate
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(table.take("new", kT0));  // new keys start at the new burst
  EXPECT_FALSE(table.take("new", kT0));
  table.set_rate(1.0, 1);                               // a lower burst clips on the next refill
  EXPECT_TRUE(table.take("new", kT0 + seconds(100)));
  EXPECT_FALSE(table.take("new", kT0 + seconds(100)));
}

TEST(RateTable, TokensArgumentAndRequestsAboveBurst) {
  RateTable table(100, 1.0, 5);
  EXPECT_FALSE(table.take("k", kT0, 6));  // more than the bucket holds: never, and nothing taken
  EXPECT_TRUE(table.take("k", kT0, 2.5));
  EXPECT_TRUE(table.take("k", kT0, 2.5));
  EXPECT_FALSE(table.take("k", kT0, 0.5));
  EXPECT_TRUE(table.take("k", kT0 + milliseconds(500), 0.5));
  EXPECT_FALSE(table.take("k", kT0 + milliseconds(500), -10));  // cannot mint tokens
  EXPECT_FALSE(table.take("k", kT0 + milliseconds(500), 0.5));
}

TEST(RateTable, TimeGoingBackwardsRefillsNothing) {
  // Workers read the clock before taking their shard's lock, so times can arrive out of order.
  RateTable table(100, 1.0, 2);
  EXPECT_TRUE(table.take("k", kT0 + seconds(10)));
  EXPECT_TRUE(table.take("k", kT0 + seconds(10)));
  EXPECT_FALSE(table.take("k", kT0));
  EXPECT_FALSE(table.take("k", kT0 + seconds(10)));  // the earlier call did not move "last" back
  EXPECT_TRUE(table.take("k", kT0 + seconds(11)));
}

TEST(RateTable, ZeroRateNeverRefills) {
  RateTable table(100, 0.0, 1);
  EXPECT_TRUE(table.take("k", kT0));
  EXPECT_FALSE(table.take("k", kT0 + seconds(1'000'000)));
}

TEST(RateTable, SizeNeverExceedsMaxEntriesUnderChurn) {
  // An attacker cycling through source addresses must not grow memory.
  for (size_t max : {size_t{1}, size_t{3}, size_t{16}, size_t{17}, size_t{100}, size_t{1000}}) {
    RateTable table(max, 1.0, 1);
    for (int i = 0; i < 20000; ++i) {
      table.take("2001:db8::" + std::to_string(i), kT0);
      if (i % 997 == 0) {
        ASSERT_LE(table.size(), max);
      }
    }
    EXPECT_EQ(table.size(), max) << "20000 keys fill every shard";
  }
}

TEST(RateTable, ZeroMaxEntriesIsOne) {
  RateTable table(0, 1.0, 1);
  EXPECT_EQ(table.max_entries(), 1u);
  EXPECT_TRUE(table.take("a", kT0));
  EXPECT_TRUE(table.take("b", kT0));
  EXPECT_EQ(table.size(), 1u);
}

TEST(RateTable, EvictedKeyStartsAgainWithAFullBucket) {
  RateTable table(1, 1.0, 1);
  EXPECT_TRUE(table.take("a", kT0));
  EXPECT_FALSE(table.take("a", kT0));
  EXPECT_TRUE(table.take("b", kT0));  // evicts a
  EXPECT_TRUE(table.take("a", kT0));  // a is new again
}

TEST(RateTable, RecentlyUsedKeySurvivesChurn) {
  // LRU: a client that keeps coming back (even while refused) stays tracked and limited, no
  // matter how many other keys pass through.
  RateTable table(64, 0.0, 1);
  EXPECT_TRUE(table.take("abuser", kT0));
  for (int i = 0; i < 50000; ++i) {
    table.take("churn-" + std::to_string(i), kT0);
    ASSERT_FALSE(table.take("abuser", kT0)) << "evicted after " << i << " other keys";
  }
}

TEST(RateTable, ConcurrentTakesOnOneKeyGrantExactlyTheBurst) {
  RateTable table(1000, 0.0, 5000);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (table.take("shared", kT0)) granted.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), 5000);
}

TEST(RateTable, ConcurrentChurnStaysBounded) {
  RateTable table(500, 10.0, 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::string key = "10." + std::to_string(t) + "." + std::to_string(i % 3000);
        table.take(key, kT0 + milliseconds(i));
        if (i % 1000 == 0) {
          EXPECT_LE(table.size(), 500u);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(table.size(), 500u);
}

// ---- ConnectionCounter ----

TEST(ConnectionCounter, LimitsPerKey) {
  ConnectionCounter counter(100);
  EXPECT_TRUE(counter.acquire("a", 2));
  EXPECT_TRUE(counter.acquire("a", 2));
  EXPECT_FALSE(counter.acquire("a", 2));
  EXPECT_EQ(counter.count("a"), 2u);
  EXPECT_TRUE(counter.acquire("b", 2));
  counter.release("a");
  EXPECT_TRUE(counter.acquire("a", 2));
  EXPECT_FALSE(counter.acquire("a", 0));  // a limit of 0 admits nobody
  EXPECT_FALSE(counter.acquire("c", 0));
  EXPECT_EQ(counter.size(), 2u);
}

TEST(ConnectionCounter, KeysAtZeroAreForgotten) {
  ConnectionCounter counter(100);
  EXPECT_TRUE(counter.acquire("a", 5));
  EXPECT_TRUE(counter.acquire("a", 5));
  counter.release("a");
  EXPECT_EQ(counter.size(), 1u);
  counter.release("a");
  EXPECT_EQ(counter.size(), 0u);
  EXPECT_EQ(counter.count("a"), 0u);
  counter.release("a");        // unknown: ignored, no underflow
  counter.release("never");
  EXPECT_EQ(counter.size(), 0u);
  EXPECT_TRUE(counter.acquire("a", 1));
}

TEST(ConnectionCounter, FullTableRefusesNewKeysButNotKnownOnes) {
  ConnectionCounter counter(3);
  EXPECT_TRUE(counter.acquire("a", 10));
  EXPECT_TRUE(counter.acquire("b", 10));
  EXPECT_TRUE(counter.acquire("c", 10));
  EXPECT_FALSE(counter.acquire("d", 10));
  EXPECT_TRUE(counter.acquire("a", 10));  // more connections for a tracked key are fine
  EXPECT_EQ(counter.size(), 3u);
  counter.release("b");
  EXPECT_TRUE(counter.acquire("d", 10));
  EXPECT_EQ(counter.size(), 3u);
}

TEST(ConnectionCounter, ConcurrentAcquireReleaseKeepsCountsAndBound) {
  // Many keys through a small table from four threads: each thread holds at most one
  // connection per key at a time, so a limit of 4 is never refused; new keys may be.
  ConnectionCounter counter(64);
  std::atomic<int> over_limit{0};
  std::atomic<int> over_size{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::string key = "k" + std::to_string((i * 7 + t) % 200);
        if (counter.acquire(key, 4)) {
          if (counter.count(key) > 4) over_limit.fetch_add(1);
          if (counter.size() > 64) over_size.fetch_add(1);
          counter.release(key);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(over_limit.load(), 0);
  EXPECT_EQ(over_size.load(), 0);
  EXPECT_EQ(counter.size(), 0u);
}

TEST(ConnectionCounter, ConcurrentAcquiresOnOneKeyStopAtTheLimit) {
  ConnectionCounter counter(10);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (counter.acquire("shared", 100)) granted.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), 100);
  EXPECT_EQ(counter.count("shared"), 100u);
}

}  // namespace
}  // namespace correo
