// rate_table.cc - sharded token buckets with per-shard LRU eviction, and sharded counters.
#include "relay/policy/rate_table.h"

#include <algorithm>

namespace correo {
namespace {

// shard_index - the map inside a shard hashes the same key with the same std::hash, so mix
// the bits before choosing the shard; otherwise a shard would hold only keys whose low bits
// agree, and its buckets would crowd.
size_t shard_index(std::string_view key, size_t shards) {
  uint64_t h = std::hash<std::string_view>{}(key);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;  // the MurmurHash3 finalizer
  h ^= h >> 33;
  return static_cast<size_t>(h % shards);
}

}  // namespace

// ---- RateTable ----

RateTable::RateTable(size_t max_entries, double rate_per_second, double burst)
    : max_entries_(std::max<size_t>(max_entries, 1)), rate_(rate_per_second), burst_(burst) {
  // Fewer shards than kShards for a tiny table, so no shard has room for nothing.
  shard_count_ = std::min(kShards, max_entries_);
  for (size_t i = 0; i < shard_count_; ++i) {
    shards_[i].capacity = max_entries_ / shard_count_ + (i < max_entries_ % shard_count_ ? 1 : 0);
  }
}

void RateTable::set_rate(double rate_per_second, double burst) {
  rate_.store(rate_per_second, std::memory_order_relaxed);
  burst_.store(burst, std::memory_order_relaxed);
}

RateTable::Shard& RateTable::shard_for(std::string_view key) { return shards_[shard_index(key, shard_count_)]; }

bool RateTable::take(std::string_view key, Clock::time_point now, double tokens) {
  if (!(tokens >= 0)) return false;  // a negative (or NaN) request would mint tokens
  Shard& shard = shard_for(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  const double rate = rate_.load(std::memory_order_relaxed);
  const double burst = burst_.load(std::memory_order_relaxed);
  Bucket* bucket = nullptr;
  if (auto it = shard.index.find(key); it != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);  // now most recent; iterators stay valid
    bucket = &*it->second;
    if (now > bucket->last) {
      if (rate > 0) {
        const double elapsed = std::chrono::duration<double>(now - bucket->last).count();
        bucket->tokens = std::min(burst, bucket->tokens + elapsed * rate);
      }
      bucket->last = now;
    }
  } else {
    if (shard.lru.size() >= shard.capacity) {
      // Full: recycle the least recently used node for the new key (no allocation for the node;
      // the index entry goes first, since it views the string about to be overwritten).
      auto oldest = std::prev(shard.lru.end());
      shard.index.erase(std::string_view(oldest->key));
      oldest->key.assign(key.data(), key.size());
      shard.lru.splice(shard.lru.begin(), shard.lru, oldest);
    } else {
      shard.lru.emplace_front();
      shard.lru.front().key.assign(key.data(), key.size());
    }
    bucket = &shard.lru.front();
    bucket->tokens = burst;
    bucket->last = now;
    shard.index.emplace(std::string_view(bucket->key), shard.lru.begin());
  }
  if (bucket->tokens < tokens) return false;
  bucket->tokens -= tokens;
  return true;
}

size_t RateTable::size() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard<std::mutex> lock(shard.mu);
    total += shard.lru.size();
  }
  return total;
}

// ---- ConnectionCounter ----

ConnectionCounter::ConnectionCounter(size_t max_entries) : max_entries_(std::max<size_t>(max_entries, 1)) {}

ConnectionCounter::Shard& ConnectionCounter::shard_for(std::string_view key) {
  return shards_[shard_index(key, kShards)];
}

const ConnectionCounter::Shard& ConnectionCounter::shard_for(std::string_view key) const {
  return shards_[shard_index(key, kShards)];
}

bool ConnectionCounter::acquire(std::string_view key, uint32_t limit) {
  Shard& shard = shard_for(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (auto it = shard.counts.find(key); it != shard.counts.end()) {
    if (it->second >= limit) return false;
    ++it->second;
    return true;
  }
  if (limit == 0) return false;
  // Reserve a slot in the global count before inserting, so concurrent inserts in different
  // shards cannot together pass max_entries.
  size_t keys = keys_.load(std::memory_order_relaxed);
  do {
    if (keys >= max_entries_) return false;
  } while (!keys_.compare_exchange_weak(keys, keys + 1, std::memory_order_relaxed));
  shard.counts.emplace(std::string(key), 1);
  return true;
}

void ConnectionCounter::release(std::string_view key) {
  Shard& shard = shard_for(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.counts.find(key);
  if (it == shard.counts.end()) return;
  if (--it->second == 0) {
    shard.counts.erase(it);
    keys_.fetch_sub(1, std::memory_order_relaxed);
  }
}

uint32_t ConnectionCounter::count(std::string_view key) const {
  const Shard& shard = shard_for(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.counts.find(key);
  return it == shard.counts.end() ? 0 : it->second;
}

}  // namespace correo
