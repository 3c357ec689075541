// dns_cache.cc - LRU as a list (recency order) plus a hash index into it.
#include "dns/dns_cache.h"

#include <utility>

namespace correo {

DnsCache::DnsCache(size_t capacity, NowFn now) : capacity_(capacity), now_(std::move(now)) {}

const DnsCache::Value* DnsCache::find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if (now_() >= it->second->expires) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);  // iterators stay valid
  return &it->second->value;
}

void DnsCache::insert(const std::string& key, Value value, std::chrono::seconds ttl) {
  if (capacity_ == 0 || ttl <= std::chrono::seconds(0)) return;
  const Clock::time_point expires = now_() + ttl;
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->value = std::move(value);
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  while (index_.size() >= capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
  lru_.push_front(Entry{key, std::move(value), expires});
  index_.emplace(key, lru_.begin());
}

}  // namespace correo
