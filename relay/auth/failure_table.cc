// failure_table.cc - a map for lookup plus a list in window order for expiry and eviction.
#include "relay/auth/failure_table.h"

#include <algorithm>

namespace correo {

FailureTable::FailureTable(uint32_t max_failures, std::chrono::milliseconds window, uint32_t capacity)
    : max_failures_(std::max<uint32_t>(max_failures, 1)), window_(window), capacity_(std::max<uint32_t>(capacity, 1)) {}

bool FailureTable::limited(std::string_view client, Clock::time_point now) {
  drop_expired(now);
  const auto it = by_client_.find(client);
  return it != by_client_.end() && it->second->failures >= max_failures_;
}

void FailureTable::record_failure(std::string_view client, Clock::time_point now) {
  drop_expired(now);
  if (const auto it = by_client_.find(client); it != by_client_.end()) {
    ++it->second->failures;
    return;
  }
  if (by_client_.size() >= capacity_) {
    by_client_.erase(by_age_.front().client);
    by_age_.pop_front();
  }
  by_age_.push_back(Entry{std::string(client), now, 1});
  by_client_.emplace(by_age_.back().client, std::prev(by_age_.end()));
}

void FailureTable::forget(std::string_view client) {
  const auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  by_age_.erase(it->second);
  by_client_.erase(it);
}

void FailureTable::drop_expired(Clock::time_point now) {
  while (!by_age_.empty() && expired(by_age_.front(), now)) {
    by_client_.erase(by_age_.front().client);
    by_age_.pop_front();
  }
}

}  // namespace correo
