// auth_service.cc - request ring under a mutex, one verification thread, SPSC result queues.
#include "relay/auth/auth_service.h"

#include <algorithm>

#include "relay/auth/password.h"
#include "relay/common/eventfd.h"
#include "relay/common/log.h"

namespace correo {
namespace {

// How often the service thread retries results that did not fit a worker's queue. Only reached
// if a worker stops draining, since result queues are as large as the request queue.
constexpr std::chrono::milliseconds kHeldRetry(5);

// make_dummy_hash - a real yescrypt hash of a password nobody knows, so that checking an unknown
// user costs the same as checking a known one. SHA-512-crypt if this libxcrypt lacks yescrypt.
std::string make_dummy_hash() {
  for (const char* prefix : {"$y$", "$6$"}) {
    if (auto hash = hash_password("correo dummy password for unknown users", prefix)) return *hash;
  }
  // Unknown users are still refused (an empty hash never verifies), only faster.
  LogLine(LogLevel::kError, "auth_dummy_hash_failed");
  return std::string();
}

}  // namespace

AuthService::AuthService(AuthOptions options, std::shared_ptr<const UserTable> users, std::vector<int> wake_fds)
    : options_(options),
      wake_fds_(std::move(wake_fds)),
      held_(wake_fds_.size()),
      failures_(options.max_failures, options.failure_window, options.tracked_clients),
      dummy_hash_(make_dummy_hash()),
      ring_(std::max<uint32_t>(options.queue_capacity, 1)),
      users_(std::move(users)) {
  // A result queue as large as the whole request queue cannot overflow unless its worker stops
  // popping; held_ covers that case without dropping anything.
  results_.reserve(wake_fds_.size());
  for (size_t i = 0; i < wake_fds_.size(); ++i) {
    results_.push_back(std::make_unique<SpscQueue<AuthResult>>(ring_.size()));
  }
}

AuthService::~AuthService() { stop(); }

void AuthService::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void AuthService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  discard_queued();
  for (auto& held : held_) held.clear();
}

bool AuthService::submit(AuthRequest& request) {
  bool queued = false;
  if (request.worker < results_.size()) {
    std::lock_guard lock(mutex_);
    if (!stopping_ && count_ < ring_.size()) {
      ring_[(head_ + count_) % ring_.size()] = std::move(request);
      ++count_;
      queued = true;
    }
  }
  // A short password lives inside the string object, so moving it copied the bytes and left
  // them behind; a long one left nothing. Wiping covers both, and the refused case.
  wipe(request.password);
  if (queued) wake_.notify_one();
  return queued;
}

bool AuthService::pop_result(unsigned worker, AuthResult& out) {
  if (worker >= results_.size()) return false;
  std::optional<AuthResult> result = results_[worker]->try_pop();
  if (!result) return false;
  out = std::move(*result);
  return true;
}

void AuthService::set_users(std::shared_ptr<const UserTable> users) {
  std::lock_guard lock(mutex_);
  users_ = std::move(users);
}

AuthService::Stats AuthService::stats() const {
  return Stats{ok_.load(std::memory_order_relaxed), failed_.load(std::memory_order_relaxed),
               rate_limited_.load(std::memory_order_relaxed)};
}

void AuthService::run() {
  while (true) {
    const bool all_delivered = flush_held();
    AuthRequest request;
    std::shared_ptr<const UserTable> users;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return stopping_ || count_ > 0; };
      if (all_delivered) {
        wake_.wait(lock, ready);
      } else if (!wake_.wait_for(lock, kHeldRetry, ready)) {
        continue;  // nothing new: go and retry the held results
      }
      if (stopping_) return;
      AuthRequest& slot = ring_[head_];
      request = std::move(slot);
      wipe(slot.password);  // see submit(): a moved short string leaves its bytes behind
      head_ = (head_ + 1) % ring_.size();
      --count_;
      users = users_;  // keeps this table alive through the check even if set_users() swaps it
    }
    const AuthOutcome outcome = check(request, users.get());
    deliver(request.worker, AuthResult{request.cookie, outcome, std::move(request.user)});
  }
}

// check - the verdict for one request; the password is wiped on every path.
AuthOutcome AuthService::check(AuthRequest& request, const UserTable* users) {
  // A limited address gets no crypt at all: guessing must not cost us CPU.
  // (Logged once, when the limit is reached, not per refused attempt: a guessing flood
  // must not become a log flood. The count is in stats().)
  if (failures_.limited(request.client_ip, FailureTable::Clock::now())) {
    wipe(request.password);
    rate_limited_.fetch_add(1, std::memory_order_relaxed);
    return AuthOutcome::kRateLimited;
  }
  const std::string* hash = users != nullptr ? users->hash_of(request.user) : nullptr;
  // Unknown users are checked against a real user's hash (same scheme and cost), so the
  // reply takes as long as for a known user with a wrong password and does not reveal which
  // names exist; the dummy only serves an empty table.
  const std::string* reference = hash != nullptr ? hash : (users != nullptr ? users->any_hash() : nullptr);
  const bool matches = verify_password(reference != nullptr ? *reference : dummy_hash_, request.password);
  wipe(request.password);
  if (hash != nullptr && matches) {
    failures_.forget(request.client_ip);
    ok_.fetch_add(1, std::memory_order_relaxed);
    return AuthOutcome::kOk;
  }
  const auto now = FailureTable::Clock::now();
  failures_.record_failure(request.client_ip, now);
  failed_.fetch_add(1, std::memory_order_relaxed);
  LogLine(LogLevel::kWarn, "auth_failed").kv("client", request.client_ip).kv("user", request.user);
  if (failures_.limited(request.client_ip, now)) {
    LogLine(LogLevel::kWarn, "auth_rate_limited").kv("client", request.client_ip)
        .kv("failures", static_cast<uint64_t>(options_.max_failures))
        .kv("window_s", static_cast<int64_t>(options_.failure_window.count() / 1000));
  }
  return AuthOutcome::kBadCredentials;
}

// deliver - queue the result for its worker and wake the worker. A result is never dropped (a
// session waits for it): if the queue is full it is held, and results already held go first.
void AuthService::deliver(unsigned worker, AuthResult result) {
  std::deque<AuthResult>& held = held_[worker];
  if (!held.empty() || !results_[worker]->try_push(result)) held.push_back(std::move(result));
  if (wake_fds_[worker] >= 0) signal_eventfd(wake_fds_[worker]);
}

// flush_held - move held results into queues that have room again; true when none are left.
bool AuthService::flush_held() {
  bool all_delivered = true;
  for (size_t worker = 0; worker < held_.size(); ++worker) {
    std::deque<AuthResult>& held = held_[worker];
    bool pushed = false;
    while (!held.empty() && results_[worker]->try_push(held.front())) {
      held.pop_front();
      pushed = true;
    }
    if (pushed && wake_fds_[worker] >= 0) signal_eventfd(wake_fds_[worker]);
    if (!held.empty()) all_delivered = false;
  }
  return all_delivered;
}

// discard_queued - at stop: drop requests nobody will check any more, scrubbing their passwords.
void AuthService::discard_queued() {
  std::lock_guard lock(mutex_);
  for (AuthRequest& slot : ring_) wipe(slot.password);
  head_ = 0;
  count_ = 0;
}

}  // namespace correo
