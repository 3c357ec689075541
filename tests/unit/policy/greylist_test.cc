// greylist_test.cc - greylisting in two layers: the pure state machine, keys and record codec
// with an explicit `now` (no threads, no sleeps), then the service end to end on a real
// RocksDB in a temp dir with an injected clock: eventfd wake-up, persistence across reopen,
// corrupt records, expiry by compaction, back-pressure and failing open without a database.
#include "relay/policy/greylist.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace correo {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;

constexpr int kWaitMs = 5000;
const GreylistTime kT0{seconds(1'700'000'000)};

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

// ---- keys -----------------------------------------------------------------------------------

TEST(GreylistKey, NetworkIsIpv4Slash24AndIpv6Slash64) {
  EXPECT_EQ(client_network(ip("192.0.2.55")), "192.0.2.0/24");
  EXPECT_EQ(client_network(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network(ip("::ffff:192.0.2.7")), "192.0.2.0/24");  // v4-mapped counts as IPv4
  EXPECT_EQ(client_network(ip("::1")), "::/64");
}

TEST(GreylistKey, LowerCasesAddressesAndKeepsTheNullSender) {
  EXPECT_EQ(greylist_key(ip("192.0.2.55"), "Alice@Example.COM", "Bob@EXAMPLE.net"),
            "192.0.2.0/24\talice@example.com\tbob@example.net");
  EXPECT_EQ(greylist_key(ip("192.0.2.1"), "", "postmaster@example.net"), "192.0.2.0/24\t\tpostmaster@example.net");
  // The same pool, another host: the same triplet. Another /24: another triplet.
  EXPECT_EQ(greylist_key(ip("192.0.2.1"), "a@x", "b@y"), greylist_key(ip("192.0.2.254"), "A@X", "B@Y"));
  EXPECT_NE(greylist_key(ip("192.0.2.1"), "a@x", "b@y"), greylist_key(ip("192.0.3.1"), "a@x", "b@y"));
  EXPECT_EQ(greylist_key(ip("2001:db8::1"), "a@x", "b@y"), greylist_key(ip("2001:db8::ffff:1"), "a@x", "b@y"));
  EXPECT_NE(greylist_key(ip("2001:db8::1"), "a@x", "b@y"), greylist_key(ip("2001:db8:0:1::1"), "a@x", "b@y"));
  // UTF-8 (SMTPUTF8) is kept byte for byte; only ASCII folds.
  EXPECT_EQ(greylist_key(ip("192.0.2.1"), "J\xC3\xBCRGEN@x", "b@y"), "192.0.2.0/24\tj\xC3\xBCrgen@x\tb@y");
}

// ---- record codec -----------------------------------------------------------------------------

TEST(GreylistRecord, RoundTripsAndRefusesWhatItDoesNotKnow) {
  const TripletRecord t{kT0, kT0 + seconds(400), true, 7};
  const auto dt = decode_triplet(encode_triplet(t));
  ASSERT_EQ(dt.status, RecordStatus::kOk);
  EXPECT_EQ(dt.record, t);
  const NetworkRecord n{3, kT0 + seconds(9)};
  const auto dn = decode_network(encode_network(n));
  ASSERT_EQ(dn.status, RecordStatus::kOk);
  EXPECT_EQ(dn.record, n);

  std::string future = encode_triplet(t);
  future[0] = 2;
  EXPECT_EQ(decode_triplet(future).status, RecordStatus::kUnknownVersion);
  EXPECT_EQ(decode_triplet("").status, RecordStatus::kCorrupt);
  EXPECT_EQ(decode_triplet(encode_triplet(t) + "x").status, RecordStatus::kCorrupt);
  EXPECT_EQ(decode_triplet(encode_triplet(t).substr(0, 10)).status, RecordStatus::kCorrupt);
  std::string flags = encode_triplet(t);
  flags[1] = 0x02;  // no such flag in version 1
  EXPECT_EQ(decode_triplet(flags).status, RecordStatus::kCorrupt);
  std::string negative = encode_triplet(t);
  negative[2] = static_cast<char>(0xff);  // first_seen < 0: would overflow now - first_seen
  EXPECT_EQ(decode_triplet(negative).status, RecordStatus::kCorrupt);
  EXPECT_EQ(decode_network(encode_network(n).substr(0, 12)).status, RecordStatus::kCorrupt);
}

// ---- the state machine ------------------------------------------------------------------------

TEST(GreylistDecide, UnknownTripletIsDeferredAndRecorded) {
  const GreylistOptions o;
  const auto d = decide(std::nullopt, kT0, o);
  EXPECT_EQ(d.verdict, GreylistVerdict::kDefer);
  EXPECT_EQ(d.reason, GreylistReason::kNew);
  EXPECT_EQ(d.retry_after, seconds(300));
  ASSERT_TRUE(d.store_triplet.has_value());
  EXPECT_EQ(*d.store_triplet, (TripletRecord{kT0, kT0, false, 0}));
}

TEST(GreylistDecide, TooEarlyRetryIsDeferredWithoutResettingFirstSeen) {
  const GreylistOptions o;
  const TripletRecord seen{kT0, kT0, false, 0};
  const auto d = decide(seen, kT0 + seconds(100), o);
  EXPECT_EQ(d.verdict, GreylistVerdict::kDefer);
  EXPECT_EQ(d.reason, GreylistReason::kTooEarly);
  EXPECT_EQ(d.retry_after, seconds(200));
  EXPECT_FALSE(d.store_triplet.has_value());  // first_seen stays kT0
  EXPECT_EQ(decide(seen, kT0 + seconds(299), o).retry_after, seconds(1));
}

TEST(GreylistDecide, RetryBetweenDelayAndWindowPasses) {
  const GreylistOptions o;
  const TripletRecord seen{kT0, kT0, false, 0};
  for (GreylistTime now : {kT0 + seconds(300), kT0 + hours(20), kT0 + hours(48)}) {
    const auto d = decide(seen, now, o);
    EXPECT_EQ(d.verdict, GreylistVerdict::kPass);
    EXPECT_EQ(d.reason, GreylistReason::kRetried);
    ASSERT_TRUE(d.store_triplet.has_value());
    EXPECT_EQ(*d.store_triplet, (TripletRecord{kT0, now, true, 1}));
  }
}

TEST(GreylistDecide, RetryAfterTheWindowStartsOver) {
  const GreylistOptions o;
  const GreylistTime now = kT0 + hours(48) + seconds(1);
  const auto d = decide(TripletRecord{kT0, kT0, false, 0}, now, o);
  EXPECT_EQ(d.verdict, GreylistVerdict::kDefer);
  EXPECT_EQ(d.reason, GreylistReason::kExpired);
  EXPECT_EQ(d.retry_after, seconds(300));
  EXPECT_EQ(*d.store_triplet, (TripletRecord{now, now, false, 0}));
}

TEST(GreylistDecide, PassedTripletPassesForItsLifetimeSinceLastSeen) {
  const GreylistOptions o;
  const TripletRecord passed{kT0, kT0 + days(30), true, 4};
  const auto d = decide(passed, kT0 + days(60), o);  // 90 days after first seen, 30 after last
  EXPECT_EQ(d.verdict, GreylistVerdict::kPass);
  EXPECT_EQ(d.reason, GreylistReason::kKnown);
  EXPECT_EQ(*d.store_triplet, (TripletRecord{kT0, kT0 + days(60), true, 5}));

  const auto late = decide(passed, kT0 + days(65) + seconds(1), o);
  EXPECT_EQ(late.verdict, GreylistVerdict::kDefer);
  EXPECT_EQ(late.reason, GreylistReason::kExpired);
  EXPECT_FALSE(late.store_triplet->passed);
}

TEST(GreylistDecide, ClockSteppedBackStartsAnUnpassedTripletOver) {
  const GreylistOptions o;
  const auto d = decide(TripletRecord{kT0 + hours(1), kT0 + hours(1), false, 0}, kT0, o);
  EXPECT_EQ(d.reason, GreylistReason::kExpired);
  EXPECT_EQ(d.store_triplet->first_seen, kT0);
  // A passed triplet keeps passing: the step back must not re-greylist known senders.
  EXPECT_EQ(decide(TripletRecord{kT0, kT0 + hours(1), true, 1}, kT0, o).verdict, GreylistVerdict::kPass);
}

// MemoryGreylist - decide() over a map, storing records the way the service does (through the
// codec), so multi-step scenarios such as auto-allow run without a database.
struct MemoryGreylist {
  GreylistOptions options;
  std::map<std::string, std::string> db;

  GreylistDecision check(const char* client, const std::string& sender, const std::string& rcpt, GreylistTime now) {
    const IpAddress a = ip(client);
    const std::string tkey = triplet_db_key(greylist_key(a, sender, rcpt));
    const std::string nkey = network_db_key(client_network(a));
    std::optional<TripletRecord> t;
    std::optional<NetworkRecord> n;
    if (auto it = db.find(tkey); it != db.end()) t = decode_triplet(it->second).record;
    if (auto it = db.find(nkey); it != db.end()) n = decode_network(it->second).record;
    GreylistDecision d = decide(t, n, now, options);
    if (d.store_triplet) db[tkey] = encode_triplet(*d.store_triplet);
    if (d.store_network) db[nkey] = encode_network(*d.store_network);
    return d;
  }
  // pass_one - a new triplet, deferred, then retried after the delay; returns the retry's decision.
  GreylistDecision pass_one(const char* client, const std::string& sender, GreylistTime& now) {
    EXPECT_EQ(check(client, sender, "rcpt@example.net", now).verdict, GreylistVerdict::kDefer);
    now += options.delay;
    return check(client, sender, "rcpt@example.net", now);
  }
};

TEST(GreylistDecide, AutoAllowsAnIpv4NetworkAfterEnoughPassedTriplets) {
  MemoryGreylist g;
  g.options.auto_allow_clients = 3;
  GreylistTime now = kT0;
  EXPECT_EQ(g.pass_one("192.0.2.20", "s0@x", now).reason, GreylistReason::kRetried);
  EXPECT_EQ(g.pass_one("192.0.2.10", "s1@x", now).reason, GreylistReason::kRetried);
  // Passing the same triplet again does not count towards the network.
  EXPECT_EQ(g.check("192.0.2.20", "s0@x", "rcpt@example.net", now).reason, GreylistReason::kKnown);
  EXPECT_EQ(decode_network(g.db.at(network_db_key("192.0.2.0/24"))).record.passed_triplets, 2u);
  EXPECT_EQ(g.pass_one("192.0.2.30", "s2@x", now).reason, GreylistReason::kRetried);
  EXPECT_EQ(decode_network(g.db.at(network_db_key("192.0.2.0/24"))).record.passed_triplets, 3u);

  const auto d = g.check("192.0.2.99", "new@elsewhere", "other@example.net", now);
  EXPECT_EQ(d.verdict, GreylistVerdict::kPass);
  EXPECT_EQ(d.reason, GreylistReason::kAutoAllowed);
  EXPECT_FALSE(d.store_triplet.has_value());
  EXPECT_EQ(g.check("192.0.3.1", "new@elsewhere", "other@example.net", now).verdict, GreylistVerdict::kDefer);

  // Allowed for pass_lifetime since the network was last seen, then it has to prove itself again.
  now += g.options.pass_lifetime;
  EXPECT_EQ(g.check("192.0.2.1", "a@b", "c@d", now).reason, GreylistReason::kAutoAllowed);  // refreshes
  now += g.options.pass_lifetime + seconds(1);
  EXPECT_EQ(g.check("192.0.2.1", "e@f", "g@h", now).reason, GreylistReason::kNew);
}

TEST(GreylistDecide, AutoAllowsAnIpv6Slash64) {
  MemoryGreylist g;
  g.options.auto_allow_clients = 2;
  GreylistTime now = kT0;
  g.pass_one("2001:db8:0:1::a", "one@x", now);
  g.pass_one("2001:db8:0:1:ffff::b", "two@x", now);
  EXPECT_EQ(g.check("2001:db8:0:1:1:2:3:4", "three@x", "r@y", now).reason, GreylistReason::kAutoAllowed);
  EXPECT_EQ(g.check("2001:db8:0:2::a", "three@x", "r@y", now).verdict, GreylistVerdict::kDefer);
}

TEST(GreylistDecide, AutoAllowZeroIsOff) {
  MemoryGreylist g;
  g.options.auto_allow_clients = 0;
  GreylistTime now = kT0;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(g.pass_one("192.0.2.1", "s" + std::to_string(i) + "@x", now).verdict,
                                         GreylistVerdict::kPass);
  EXPECT_EQ(g.db.count(network_db_key("192.0.2.0/24")), 0u);
  EXPECT_EQ(g.check("192.0.2.1", "fresh@x", "r@y", now).verdict, GreylistVerdict::kDefer);
}

// ---- the service ------------------------------------------------------------------------------

// TestClock - shared by the test and the service (and RocksDB's compaction threads).
struct TestClock {
  std::shared_ptr<std::atomic<int64_t>> t = std::make_shared<std::atomic<int64_t>>(kT0.time_since_epoch().count());
  std::function<GreylistTime()> fn() const {
    return [t = t] { return GreylistTime(seconds(t->load())); };
  }
  void advance(seconds s) { t->fetch_add(s.count()); }
};

class GreylistServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "correo-greylist-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    for (int i = 0; i < 2; ++i) {
      const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      ASSERT_GE(fd, 0);
      fds_.push_back(fd);
    }
  }
  void TearDown() override {
    service_.reset();  // stop the thread before its eventfds go away
    for (int fd : fds_) close(fd);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  GreylistOptions options() {
    GreylistOptions o;
    o.dir = dir_ + "/greylist";
    o.clock = clock_.fn();
    return o;
  }
  void open(GreylistOptions o) {
    auto s = GreylistService::open(std::move(o), fds_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    service_ = std::move(s.value());
    service_->start();
  }

  // wait_result - the next result for worker, waiting on its eventfd at most kWaitMs in total.
  std::optional<GreylistResult> wait_result(unsigned worker) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
    GreylistResult out;
    while (!service_->pop_result(worker, out)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fds_[worker], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      uint64_t count;
      (void)read(fds_[worker], &count, sizeof count);
    }
    return out;
  }

  GreylistResult check(const char* client, const char* sender, const char* rcpt, unsigned worker = 0) {
    const uint64_t cookie = next_cookie_++;
    GreylistRequest r{worker, cookie, ip(client), sender, rcpt};
    EXPECT_TRUE(service_->submit(r));
    auto result = wait_result(worker);
    EXPECT_TRUE(result.has_value()) << "no result within " << kWaitMs << " ms";
    if (!result) return GreylistResult{};
    EXPECT_EQ(result->cookie, cookie);
    return *result;
  }

  // raw_keys - every key in the closed database, read with plain RocksDB.
  std::vector<std::string> raw_keys() {
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir_ + "/greylist", &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> keys;
    if (!s.ok()) return keys;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    it.reset();
    delete db;
    return keys;
  }

  std::string dir_;
  std::vector<int> fds_;
  TestClock clock_;
  std::unique_ptr<GreylistService> service_;
  uint64_t next_cookie_ = 1;
};

TEST_F(GreylistServiceTest, DefersThenPassesAfterTheDelayThroughTheEventfd) {
  open(options());
  GreylistRequest r{0, 42, ip("192.0.2.1"), "a@x", "b@y"};
  ASSERT_TRUE(service_->submit(r));
  pollfd p{fds_[0], POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, kWaitMs), 1) << "eventfd never became readable";
  GreylistResult out;
  ASSERT_TRUE(service_->pop_result(0, out));
  EXPECT_EQ(out.cookie, 42u);
  EXPECT_EQ(out.verdict, GreylistVerdict::kDefer);
  EXPECT_EQ(out.retry_after, seconds(300));
  EXPECT_FALSE(out.error);

  clock_.advance(seconds(120));
  EXPECT_EQ(check("192.0.2.9", "A@X", "B@Y").retry_after, seconds(180));  // same triplet, too early
  clock_.advance(seconds(180));
  const auto passed = check("192.0.2.1", "a@x", "b@y");
  EXPECT_EQ(passed.verdict, GreylistVerdict::kPass);
  EXPECT_EQ(passed.retry_after, seconds(0));
  const auto stats = service_->stats();
  EXPECT_EQ(stats.deferred, 2u);
  EXPECT_EQ(stats.passed, 1u);
  EXPECT_EQ(stats.errors, 0u);
}

TEST_F(GreylistServiceTest, RoutesResultsToTheSubmittingWorker) {
  open(options());
  EXPECT_EQ(check("192.0.2.1", "a@x", "b@y", 1).verdict, GreylistVerdict::kDefer);
  GreylistResult out;
  EXPECT_FALSE(service_->pop_result(0, out));
  EXPECT_FALSE(service_->pop_result(7, out));
}

TEST_F(GreylistServiceTest, StatePersistsAcrossCloseAndReopen) {
  open(options());
  EXPECT_EQ(check("192.0.2.1", "a@x", "b@y").verdict, GreylistVerdict::kDefer);
  service_.reset();
  clock_.advance(seconds(300));
  open(options());
  EXPECT_EQ(check("192.0.2.1", "a@x", "b@y").verdict, GreylistVerdict::kPass);
  service_.reset();
  clock_.advance(days(10));
  open(options());
  EXPECT_EQ(check("192.0.2.1", "a@x", "b@y").verdict, GreylistVerdict::kPass);  // passed, still known
}

TEST_F(GreylistServiceTest, CorruptAndUnknownVersionRecordsCountAsAbsent) {
  open(options());
  EXPECT_EQ(check("192.0.2.1", "a@x", "b@y").verdict, GreylistVerdict::kDefer);
  service_.reset();
  {
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_ + "/greylist", &db).ok());
    const std::string k1 = triplet_db_key(greylist_key(ip("192.0.2.1"), "a@x", "b@y"));
    const std::string k2 = triplet_db_key(greylist_key(ip("192.0.2.1"), "c@x", "b@y"));
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), k1, "\x01garbage").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), k2, std::string("\x63" "future record", 14)).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), network_db_key("192.0.2.0/24"), "").ok());
    delete db;
  }
  clock_.advance(seconds(300));  // would pass, had the record survived
  open(options());
  for (const char* sender : {"a@x", "c@x"}) {
    const auto r = check("192.0.2.1", sender, "b@y");
    EXPECT_EQ(r.verdict, GreylistVerdict::kDefer) << sender;
    EXPECT_EQ(r.retry_after, seconds(300)) << sender;
    EXPECT_FALSE(r.error) << sender;
  }
  EXPECT_EQ(service_->stats().corrupt, 4u);  // 2 triplets + the network record read twice
  clock_.advance(seconds(300));
  EXPECT_EQ(check("192.0.2.1", "a@x", "b@y").verdict, GreylistVerdict::kPass);  // rewritten cleanly
}

TEST_F(GreylistServiceTest, CompactionDropsExpiredRecords) {
  open(options());
  check("192.0.2.1", "a@x", "b@y");
  check("192.0.2.1", "c@x", "b@y");
  clock_.advance(seconds(300));
  EXPECT_EQ(check("192.0.2.1", "c@x", "b@y").verdict, GreylistVerdict::kPass);  // c passes: lives 35 days
  ASSERT_TRUE(service_->compact().ok());
  service_.reset();
  EXPECT_EQ(raw_keys().size(), 3u);  // a, c and the network

  clock_.advance(hours(49));  // a missed its window
  open(options());
  ASSERT_TRUE(service_->compact().ok());
  service_.reset();
  const auto keys = raw_keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], network_db_key("192.0.2.0/24"));
  EXPECT_EQ(keys[1], triplet_db_key(greylist_key(ip("192.0.2.1"), "c@x", "b@y")));

  clock_.advance(days(35));
  open(options());
  ASSERT_TRUE(service_->compact().ok());
  service_.reset();
  EXPECT_TRUE(raw_keys().empty());
}

TEST_F(GreylistServiceTest, ManySubmittersConcurrently) {
  GreylistOptions o = options();
  o.queue_capacity = 64;
  open(o);
  constexpr int kPerWorker = 300;
  std::vector<std::thread> workers;
  std::atomic<int> answered{0};
  for (unsigned w = 0; w < 2; ++w) {
    workers.emplace_back([&, w] {
      int sent = 0;
      int got = 0;
      GreylistResult out;
      while (got < kPerWorker) {
        if (sent < kPerWorker) {
          GreylistRequest r{w, static_cast<uint64_t>(sent), ip(w ? "192.0.2.1" : "2001:db8::1"),
                            "s" + std::to_string(sent) + "@x", "r@y"};
          if (service_->submit(r)) ++sent;  // false = back-pressure: drain, then try again
        }
        while (service_->pop_result(w, out)) {
          EXPECT_EQ(out.cookie, static_cast<uint64_t>(got));  // in order, none lost
          EXPECT_EQ(out.verdict, GreylistVerdict::kDefer);
          ++got;
        }
      }
      answered += got;
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(answered.load(), 2 * kPerWorker);
  EXPECT_EQ(service_->stats().deferred, 2u * kPerWorker);
}

TEST_F(GreylistServiceTest, FullQueueRefusesWithoutBlocking) {
  GreylistOptions o = options();
  o.queue_capacity = 2;
  auto s = GreylistService::open(o, fds_);
  ASSERT_TRUE(s.ok()) << s.error().message;
  service_ = std::move(s.value());  // not started: nothing drains the queue
  GreylistRequest r1{0, 1, ip("192.0.2.1"), "a@x", "b@y"};
  GreylistRequest r2{1, 2, ip("192.0.2.1"), "a@x", "c@y"};
  GreylistRequest r3{0, 3, ip("192.0.2.1"), "a@x", "d@y"};
  GreylistRequest unknown_worker{2, 4, ip("192.0.2.1"), "a@x", "e@y"};
  EXPECT_FALSE(service_->submit(unknown_worker));
  EXPECT_TRUE(service_->submit(r1));
  EXPECT_TRUE(service_->submit(r2));
  EXPECT_FALSE(service_->submit(r3));
  EXPECT_EQ(r3.recipient, "d@y");  // a refused request is left intact
  service_->start();
  EXPECT_EQ(wait_result(0).value_or(GreylistResult{}).cookie, 1u);
  EXPECT_EQ(wait_result(1).value_or(GreylistResult{}).cookie, 2u);
  service_->stop();
  EXPECT_FALSE(service_->submit(r3));  // stopped: refused
}

TEST_F(GreylistServiceTest, WithoutADatabaseEveryRequestFailsOpen) {
  service_ = std::make_unique<GreylistService>(options(), fds_);
  service_->start();
  const auto r = check("192.0.2.1", "a@x", "b@y");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.verdict, GreylistVerdict::kPass);
  EXPECT_EQ(service_->stats().errors, 1u);
  EXPECT_FALSE(service_->compact().ok());
}

TEST_F(GreylistServiceTest, OpenFailsOnAnUnusableDirectory) {
  GreylistOptions o = options();
  o.dir = "";
  EXPECT_FALSE(GreylistService::open(o, fds_).ok());
  ASSERT_TRUE(std::filesystem::create_directories(dir_ + "/file-parent"));
  { FILE* f = fopen((dir_ + "/file-parent/x").c_str(), "w"); ASSERT_NE(f, nullptr); fclose(f); }
  o.dir = dir_ + "/file-parent/x/greylist";  // a path through a regular file
  EXPECT_FALSE(GreylistService::open(o, fds_).ok());
}

}  // namespace
}  // namespace correo
