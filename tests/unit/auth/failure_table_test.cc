// failure_table_test.cc - counting within a window, expiry, success clearing one address, and
// the bound on tracked addresses. Time is passed in, so nothing here sleeps.
#include "relay/auth/failure_table.h"

#include <gtest/gtest.h>

#include <string>

namespace correo {
namespace {

using std::chrono::milliseconds;
using Clock = FailureTable::Clock;

TEST(FailureTable, LimitsAtMaxFailuresWithinWindow) {
  FailureTable table(3, milliseconds(1000), 100);
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(table.limited("10.0.0.1", t0));
  table.record_failure("10.0.0.1", t0);
  table.record_failure("10.0.0.1", t0 + milliseconds(100));
  EXPECT_FALSE(table.limited("10.0.0.1", t0 + milliseconds(200)));
  table.record_failure("10.0.0.1", t0 + milliseconds(300));
  EXPECT_TRUE(table.limited("10.0.0.1", t0 + milliseconds(300)));
  EXPECT_TRUE(table.limited("10.0.0.1", t0 + milliseconds(999)));
  EXPECT_FALSE(table.limited("10.0.0.2", t0 + milliseconds(999)));  // other addresses unaffected
  // The window began at the first failure; once it has passed the address starts afresh.
  EXPECT_FALSE(table.limited("10.0.0.1", t0 + milliseconds(1000)));
  table.record_failure("10.0.0.1", t0 + milliseconds(1000));
  EXPECT_FALSE(table.limited("10.0.0.1", t0 + milliseconds(1001)));
}

TEST(FailureTable, ForgetClearsOnlyThatAddress) {
  FailureTable table(1, milliseconds(1000), 100);
  const Clock::time_point t0 = Clock::now();
  table.record_failure("a", t0);
  table.record_failure("b", t0);
  table.forget("a");
  table.forget("never-seen");
  EXPECT_FALSE(table.limited("a", t0));
  EXPECT_TRUE(table.limited("b", t0));
}

TEST(FailureTable, EvictsOldestWhenFull) {
  FailureTable table(1, milliseconds(60000), 3);
  const Clock::time_point t0 = Clock::now();
  table.record_failure("a", t0);
  table.record_failure("b", t0 + milliseconds(1));
  table.record_failure("c", t0 + milliseconds(2));
  table.record_failure("d", t0 + milliseconds(3));
  EXPECT_EQ(table.size(), 3u);
  EXPECT_FALSE(table.limited("a", t0 + milliseconds(4)));  // evicted
  EXPECT_TRUE(table.limited("b", t0 + milliseconds(4)));
  EXPECT_TRUE(table.limited("d", t0 + milliseconds(4)));
}

TEST(FailureTable, DropsExpiredEntries) {
  FailureTable table(5, milliseconds(100), 1000);
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 50; ++i) table.record_failure("10.0.0." + std::to_string(i), t0);
  EXPECT_EQ(table.size(), 50u);
  table.record_failure("late", t0 + milliseconds(100));
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace correo
