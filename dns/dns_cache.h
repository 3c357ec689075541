// dns_cache.h - a bounded LRU of DNS answers (MX and address answers together), expiring by TTL.
//
// Thread rules: none inside; each Resolver owns one and uses it on its worker's thread.
// Limits: never holds more than `capacity` entries (dns.cache_entries); capacity 0 disables it.
// An entry lives for the TTL given at insert (RFC 2181 §8: TTL 0 means "do not cache", so such
// answers are not stored). Expired entries are dropped when looked up, or evicted as least
// recently used. The clock is injectable so expiry can be tested without sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>
#include <variant>

#include "dns/resolver.h"

namespace correo {

class DnsCache {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;
  using Value = std::variant<MxAnswer, AddressAnswer>;

  explicit DnsCache(size_t capacity, NowFn now = &Clock::now);

  // find - the live entry for key (refreshed as most recently used), or nullptr. The pointer is
  // valid only until the next insert(): copy the value before running callbacks.
  const Value* find(const std::string& key);

  // insert - store or replace key for ttl; evicts the least recently used entry when full.
  void insert(const std::string& key, Value value, std::chrono::seconds ttl);

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::string key;
    Value value;
    Clock::time_point expires;
  };
  using List = std::list<Entry>;

  size_t capacity_;
  NowFn now_;
  List lru_;  // front = most recently used
  std::unordered_map<std::string, List::iterator> index_;
};

}  // namespace correo
