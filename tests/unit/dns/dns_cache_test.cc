// dns_cache_test.cc - DnsCache with a hand-driven clock: TTL expiry, LRU order, the size bound.
#include "dns/dns_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace correo {
namespace {

using std::chrono::seconds;

class DnsCacheTest : public ::testing::Test {
 protected:
  DnsCache make(size_t capacity) {
    return DnsCache(capacity, [this] { return now_; });
  }
  static DnsCache::Value mx(const std::string& host) {
    MxAnswer a;
    a.status = DnsStatus::kOk;
    a.hosts.push_back(MxHost{host, 10});
    return a;
  }
  static std::string host_of(const DnsCache::Value* v) {
    if (v == nullptr) return "<miss>";
    const auto* a = std::get_if<MxAnswer>(v);
    return a != nullptr && !a->hosts.empty() ? a->hosts[0].name : "<other>";
  }

  DnsCache::Clock::time_point now_{seconds(1000)};
};

TEST_F(DnsCacheTest, HitUntilTtlExpires) {
  DnsCache cache = make(10);
  cache.insert("MX:a.test", mx("mx.a.test"), seconds(60));
  EXPECT_EQ(host_of(cache.find("MX:a.test")), "mx.a.test");
  now_ += seconds(59);
  EXPECT_EQ(host_of(cache.find("MX:a.test")), "mx.a.test");
  now_ += seconds(1);  // exactly at expiry: gone
  EXPECT_EQ(cache.find("MX:a.test"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(DnsCacheTest, KindsAreSeparateEntries) {
  DnsCache cache = make(10);
  cache.insert("MX:a.test", mx("mx.a.test"), seconds(60));
  AddressAnswer addr;
  addr.status = DnsStatus::kNoData;
  cache.insert("HOST:a.test", addr, seconds(60));
  EXPECT_NE(std::get_if<MxAnswer>(cache.find("MX:a.test")), nullptr);
  EXPECT_NE(std::get_if<AddressAnswer>(cache.find("HOST:a.test")), nullptr);
  EXPECT_EQ(cache.size(), 2u);
}

TEST_F(DnsCacheTest, LeastRecentlyUsedEvicted) {
  DnsCache cache = make(2);
  cache.insert("a", mx("a"), seconds(60));
  cache.insert("b", mx("b"), seconds(60));
  ASSERT_NE(cache.find("a"), nullptr);  // a is now more recent than b
  cache.insert("c", mx("c"), seconds(60));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_EQ(host_of(cache.find("a")), "a");
  EXPECT_EQ(host_of(cache.find("c")), "c");
}

TEST_F(DnsCacheTest, NeverGrowsPastBound) {
  DnsCache cache = make(5);
  for (int i = 0; i < 100; ++i) {
    cache.insert("k" + std::to_string(i), mx("h" + std::to_string(i)), seconds(60 + i));
    EXPECT_LE(cache.size(), 5u);
  }
  for (int i = 95; i < 100; ++i) EXPECT_EQ(host_of(cache.find("k" + std::to_string(i))), "h" + std::to_string(i));
  EXPECT_EQ(cache.find("k94"), nullptr);
}

TEST_F(DnsCacheTest, ReplaceKeepsOneEntryAndNewTtl) {
  DnsCache cache = make(2);
  cache.insert("a", mx("old"), seconds(10));
  cache.insert("a", mx("new"), seconds(100));
  EXPECT_EQ(cache.size(), 1u);
  now_ += seconds(50);
  EXPECT_EQ(host_of(cache.find("a")), "new");
}

TEST_F(DnsCacheTest, ZeroCapacityAndZeroTtlStoreNothing) {
  DnsCache off = make(0);
  off.insert("a", mx("a"), seconds(60));
  EXPECT_EQ(off.size(), 0u);
  EXPECT_EQ(off.find("a"), nullptr);

  DnsCache cache = make(4);
  cache.insert("a", mx("a"), seconds(0));  // RFC 2181 §8: TTL 0 = do not cache
  EXPECT_EQ(cache.find("a"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace correo
