// auth_service.h - the thread that verifies SMTP AUTH passwords off the io_uring workers.
//
// Password hashes are slow on purpose (yescrypt costs milliseconds), so a worker never runs
// one: it submits a request, keeps serving other sessions, and picks the result up when its
// eventfd fires. One service thread is enough - logins are rare next to messages - and keeps
// the failure table single-threaded. Passwords are wiped as soon as they have been checked.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "relay/auth/failure_table.h"
#include "relay/auth/users.h"
#include "relay/common/spsc_queue.h"

namespace correo {

struct AuthOptions {
  uint32_t queue_capacity = 1024;  // pending requests in total; submit() false beyond
  uint32_t max_failures = 5;       // per client address within failure_window ...
  std::chrono::milliseconds failure_window = std::chrono::minutes(5);  // ... then kRateLimited until the window passes
  uint32_t tracked_clients = 10000;  // bound of the per-address failure table (evict oldest)
};

enum class AuthOutcome : uint8_t { kOk, kBadCredentials, kRateLimited };

struct AuthRequest {
  unsigned worker = 0;  // whose result queue and eventfd get the answer
  uint64_t cookie = 0;  // opaque to the service; identifies the session to the worker
  std::string client_ip;
  std::string user;
  std::string password;
};

struct AuthResult {
  uint64_t cookie = 0;
  AuthOutcome outcome = AuthOutcome::kBadCredentials;
  std::string user;
};

class AuthService {
 public:
  // wake_fds[i]: an eventfd of worker i, signalled (signal_eventfd) after a result for worker i
  // is queued. A negative fd is never signalled (the worker then has to poll).
  AuthService(AuthOptions options, std::shared_ptr<const UserTable> users, std::vector<int> wake_fds);
  ~AuthService();  // stops
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  void start();
  // stop - joins the thread. Requests still queued are discarded (passwords wiped) and get no
  // result: stopping happens at shutdown, when their sessions are closing anyway.
  void stop();

  // submit - from any worker thread, never blocks on a full queue. False when the queue is full
  // or request.worker has no result queue (the caller answers 454 4.7.0). The password is moved
  // out and wiped from `request` either way.
  bool submit(AuthRequest& request);
  // pop_result - only worker `worker`'s thread calls this.
  bool pop_result(unsigned worker, AuthResult& out);
  // set_users - the SIGHUP reload, from the main thread; requests in flight may use either table.
  void set_users(std::shared_ptr<const UserTable> users);

  struct Stats {
    uint64_t ok, failed, rate_limited;
  };
  Stats stats() const;

 private:
  void run();
  AuthOutcome check(AuthRequest& request, const UserTable* users);
  void deliver(unsigned worker, AuthResult result);
  bool flush_held();  // true when nothing is held any more
  void discard_queued();

  const AuthOptions options_;
  const std::vector<int> wake_fds_;
  std::vector<std::unique_ptr<SpscQueue<AuthResult>>> results_;  // one per worker; producer: run()
  // held_[i] - results for worker i that did not fit its queue, delivered in order before newer
  // ones. Only the service thread touches it.
  std::vector<std::deque<AuthResult>> held_;
  FailureTable failures_;  // service thread only
  const std::string dummy_hash_;  // verified against for unknown users, see check()
  std::thread thread_;            // started and joined by the owner's thread only

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<AuthRequest> ring_;  // fixed-size ring of pending requests, no allocation per submit
  size_t head_ = 0;
  size_t count_ = 0;
  std::shared_ptr<const UserTable> users_;
  bool stopping_ = false;  // set by stop(); submit() refuses and run() returns

  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> rate_limited_{0};
};

}  // namespace correo
