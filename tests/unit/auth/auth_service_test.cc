// auth_service_test.cc - the verification thread end to end with real eventfds and real hashes:
// outcomes, rate limiting and its expiry, back-pressure, result routing, holding results when a
// worker's queue is full, and swapping the users table. Waits are bounded polls on the eventfd.
#include "relay/auth/auth_service.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/auth/crypt_test_util.h"

namespace correo {
namespace {

using std::chrono::milliseconds;
using test_util::make_crypt_hash;

constexpr int kWaitMs = 5000;

std::shared_ptr<const UserTable> users_from(const std::string& text) {
  auto result = UserTable::parse(text, "users");
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? result.value() : nullptr;
}

// Fixture - owns the workers' eventfds; the service is built per test with its options.
class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_hash_ = make_crypt_hash("$y$", "alice-pw");
    bob_hash_ = make_crypt_hash("$6$", "bob-pw");
    for (int i = 0; i < 2; ++i) {
      const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      ASSERT_GE(fd, 0);
      fds_.push_back(fd);
    }
  }
  void TearDown() override {
    service_.reset();  // stop the thread before its eventfds go away
    for (int fd : fds_) close(fd);
  }

  void make_service(AuthOptions options, std::shared_ptr<const UserTable> users) {
    service_ = std::make_unique<AuthService>(options, std::move(users), fds_);
  }
  std::shared_ptr<const UserTable> default_users() {
    return users_from("alice:" + alice_hash_ + "\nbob@example.test:" + bob_hash_ + "\n");
  }

  bool submit(unsigned worker, uint64_t cookie, const std::string& ip, const std::string& user,
              const std::string& password) {
    AuthRequest request{worker, cookie, ip, user, password};
    const bool queued = service_->submit(request);
    EXPECT_TRUE(request.password.empty()) << "password left in the request";
    return queued;
  }

  // wait_result - the next result for worker, waiting on its eventfd at most kWaitMs in total.
  std::optional<AuthResult> wait_result(unsigned worker) {
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(kWaitMs);
    AuthResult out;
    while (!service_->pop_result(worker, out)) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fds_[worker], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;  // timeout checked above
      uint64_t count;
      (void)read(fds_[worker], &count, sizeof count);  // reset the counter before popping again
    }
    return out;
  }

  AuthOutcome auth(const std::string& ip, const std::string& user, const std::string& password,
                   unsigned worker = 0) {
    static uint64_t next_cookie = 1;
    const uint64_t cookie = next_cookie++;
    EXPECT_TRUE(submit(worker, cookie, ip, user, password));
    auto result = wait_result(worker);
    EXPECT_TRUE(result.has_value()) << "no result within " << kWaitMs << " ms";
    if (!result) return AuthOutcome::kBadCredentials;
    EXPECT_EQ(result->cookie, cookie);
    EXPECT_EQ(result->user, user);
    return result->outcome;
  }

  std::string alice_hash_;
  std::string bob_hash_;
  std::vector<int> fds_;
  std::unique_ptr<AuthService> service_;
};

TEST_F(AuthServiceTest, GoodPasswordIsOk) {
  make_service(AuthOptions{}, default_users());
  service_->start();
  EXPECT_EQ(auth("192.0.2.1", "alice", "alice-pw"), AuthOutcome::kOk);
  EXPECT_EQ(auth("192.0.2.1", "bob@example.test", "bob-pw"), AuthOutcome::kOk);
  const auto stats = service_->stats();
  EXPECT_EQ(stats.ok, 2u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(stats.rate_limited, 0u);
}

TEST_F(AuthServiceTest, BadPasswordAndUnknownUserAreBadCredentials) {
  make_service(AuthOptions{}, default_users());
  service_->start();
  EXPECT_EQ(auth("192.0.2.1", "alice", "bob-pw"), AuthOutcome::kBadCredentials);
  EXPECT_EQ(auth("192.0.2.2", "mallory", "alice-pw"), AuthOutcome::kBadCredentials);
  EXPECT_EQ(auth("192.0.2.3", "Alice", "alice-pw"), AuthOutcome::kBadCredentials);  // names are exact
  EXPECT_EQ(service_->stats().failed, 3u);
  EXPECT_EQ(service_->stats().ok, 0u);
}

TEST_F(AuthServiceTest, NullUsersTableRefusesEveryone) {
  make_service(AuthOptions{}, nullptr);
  service_->start();
  EXPECT_EQ(auth("192.0.2.1", "alice", "alice-pw"), AuthOutcome::kBadCredentials);
}

TEST_F(AuthServiceTest, RateLimitsAfterMaxFailuresUntilWindowPasses) {
  AuthOptions options;
  options.max_failures = 2;
  options.failure_window = milliseconds(300);
  make_service(options, default_users());
  service_->start();
  // Everything between the first failure and the kRateLimited checks must fit in the window, so
  // that part costs one SHA-512-crypt (bob) rather than yescrypts; limited requests cost no crypt.
  const auto before_first_failure = std::chrono::steady_clock::now();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(auth("198.51.100.7", "bob@example.test", "guess"), AuthOutcome::kBadCredentials);
  }
  // Limited now - even the right password is not checked, for any user - but only this address.
  EXPECT_EQ(auth("198.51.100.7", "bob@example.test", "bob-pw"), AuthOutcome::kRateLimited);
  EXPECT_EQ(auth("198.51.100.7", "mallory", "x"), AuthOutcome::kRateLimited);
  const auto in_window = std::chrono::steady_clock::now() - before_first_failure;
  EXPECT_LT(in_window, options.failure_window) << "machine too slow for this test's window";
  EXPECT_EQ(auth("198.51.100.8", "alice", "alice-pw"), AuthOutcome::kOk);
  // The window started after before_first_failure, so once it has passed since then the window
  // has certainly expired: this sleep waits for a known deadline rather than hoping.
  std::this_thread::sleep_until(before_first_failure + options.failure_window + milliseconds(10));
  EXPECT_EQ(auth("198.51.100.7", "bob@example.test", "bob-pw"), AuthOutcome::kOk);
  const auto stats = service_->stats();
  EXPECT_EQ(stats.ok, 2u);
  EXPECT_EQ(stats.failed, 2u);
  EXPECT_EQ(stats.rate_limited, 2u);
}

TEST_F(AuthServiceTest, SuccessClearsThatAddressCount) {
  AuthOptions options;
  options.max_failures = 2;
  make_service(options, default_users());
  service_->start();
  EXPECT_EQ(auth("203.0.113.1", "alice", "guess"), AuthOutcome::kBadCredentials);
  EXPECT_EQ(auth("203.0.113.1", "alice", "alice-pw"), AuthOutcome::kOk);
  EXPECT_EQ(auth("203.0.113.1", "alice", "guess"), AuthOutcome::kBadCredentials);
  EXPECT_EQ(auth("203.0.113.1", "alice", "alice-pw"), AuthOutcome::kOk);  // not limited: count was reset
}

TEST_F(AuthServiceTest, FullQueueRefusesAndWipesPassword) {
  AuthOptions options;
  options.queue_capacity = 1;
  make_service(options, default_users());  // not started: nothing drains the queue
  EXPECT_TRUE(submit(0, 1, "192.0.2.1", "alice", "alice-pw"));
  EXPECT_FALSE(submit(0, 2, "192.0.2.1", "alice", "alice-pw"));
  AuthRequest long_password{0, 3, "192.0.2.1", "alice", std::string(200, 'p')};
  EXPECT_FALSE(service_->submit(long_password));
  EXPECT_TRUE(long_password.password.empty());
  // The queued one is answered once the thread runs.
  service_->start();
  auto result = wait_result(0);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->cookie, 1u);
  EXPECT_EQ(result->outcome, AuthOutcome::kOk);
  AuthResult extra;
  EXPECT_FALSE(service_->pop_result(0, extra));
}

TEST_F(AuthServiceTest, RefusesUnknownWorker) {
  make_service(AuthOptions{}, default_users());
  EXPECT_FALSE(submit(2, 1, "192.0.2.1", "alice", "alice-pw"));
  AuthResult out;
  EXPECT_FALSE(service_->pop_result(2, out));
}

TEST_F(AuthServiceTest, RoutesResultsToTheSubmittingWorker) {
  make_service(AuthOptions{}, default_users());
  service_->start();
  EXPECT_TRUE(submit(1, 11, "192.0.2.1", "alice", "alice-pw"));
  EXPECT_TRUE(submit(0, 10, "192.0.2.2", "alice", "wrong"));
  auto one = wait_result(1);
  auto zero = wait_result(0);
  ASSERT_TRUE(one.has_value());
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(one->cookie, 11u);
  EXPECT_EQ(one->outcome, AuthOutcome::kOk);
  EXPECT_EQ(zero->cookie, 10u);
  EXPECT_EQ(zero->outcome, AuthOutcome::kBadCredentials);
}

TEST_F(AuthServiceTest, HoldsResultsWhenWorkerQueueIsFullAndNeverDropsThem) {
  AuthOptions options;
  options.queue_capacity = 1;  // the result queue holds one result too
  make_service(options, default_users());
  service_->start();
  // Submit three, one at a time (the request queue holds one), without popping any result.
  uint64_t count;
  for (uint64_t cookie = 1; cookie <= 3; ++cookie) {
    // The service has taken the previous request once the eventfd fires for its result.
    pollfd p{fds_[0], POLLIN, 0};
    ASSERT_TRUE(submit(0, cookie, "192.0.2.1", "bob@example.test", "bob-pw"));
    ASSERT_EQ(poll(&p, 1, kWaitMs), 1) << "cookie " << cookie;
    ASSERT_EQ(read(fds_[0], &count, sizeof count), static_cast<ssize_t>(sizeof count));
  }
  for (uint64_t cookie = 1; cookie <= 3; ++cookie) {
    auto result = wait_result(0);
    ASSERT_TRUE(result.has_value()) << "cookie " << cookie;
    EXPECT_EQ(result->cookie, cookie);  // in order
    EXPECT_EQ(result->outcome, AuthOutcome::kOk);
  }
  EXPECT_EQ(service_->stats().ok, 3u);
}

TEST_F(AuthServiceTest, SetUsersSwapTakesEffect) {
  make_service(AuthOptions{}, default_users());
  service_->start();
  EXPECT_EQ(auth("192.0.2.1", "alice", "alice-pw"), AuthOutcome::kOk);
  EXPECT_EQ(auth("192.0.2.1", "carol", "carol-pw"), AuthOutcome::kBadCredentials);
  service_->set_users(users_from("carol:" + make_crypt_hash("$6$", "carol-pw") + "\n"));
  EXPECT_EQ(auth("192.0.2.1", "carol", "carol-pw"), AuthOutcome::kOk);
  EXPECT_EQ(auth("192.0.2.1", "alice", "alice-pw"), AuthOutcome::kBadCredentials);  // gone
}

TEST_F(AuthServiceTest, StopDiscardsQueuedAndRefusesNewRequests) {
  make_service(AuthOptions{}, default_users());
  EXPECT_TRUE(submit(0, 1, "192.0.2.1", "alice", "alice-pw"));
  service_->stop();
  EXPECT_FALSE(submit(0, 2, "192.0.2.1", "alice", "alice-pw"));
  // Restarting works, and the discarded request produced no result.
  service_->start();
  EXPECT_EQ(auth("192.0.2.1", "alice", "alice-pw"), AuthOutcome::kOk);
  AuthResult extra;
  EXPECT_FALSE(service_->pop_result(0, extra));
}

TEST_F(AuthServiceTest, ManySubmittersConcurrently) {
  AuthOptions options;
  options.queue_capacity = 64;
  make_service(options, default_users());
  service_->start();
  // Each worker thread submits and collects its own results, as io_uring workers do.
  constexpr int kPerWorker = 8;
  std::vector<std::thread> workers;
  std::vector<int> ok(2, 0);
  for (unsigned w = 0; w < 2; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < kPerWorker; ++i) {
        AuthRequest request{w, static_cast<uint64_t>(i), "192.0.2." + std::to_string(w), "bob@example.test", "bob-pw"};
        if (!service_->submit(request)) return;
      }
      for (int i = 0; i < kPerWorker; ++i) {
        auto result = wait_result(w);
        if (!result || result->cookie != static_cast<uint64_t>(i) || result->outcome != AuthOutcome::kOk) return;
        ++ok[w];
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(ok[0], kPerWorker);
  EXPECT_EQ(ok[1], kPerWorker);
}

}  // namespace
}  // namespace correo
