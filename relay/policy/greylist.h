// greylist.h - triplet greylisting like postgrey: a first delivery attempt for an unknown
// (client network, sender, recipient) is deferred with a 4xx; a real MTA retries after the
// delay and passes, most spam engines never retry.
//
// Parts:
//   - pure helpers (keys, record codec, decide(); greylist.cc) with no I/O and an explicit
//     `now`, so the state machine is tested without threads, sleeps or a database;
//   - GreylistService (greylist_service.cc): one thread that owns a private RocksDB (never
//     the spool's) and answers worker requests the way AuthService does: submit() never
//     blocks, the verdict comes back through the worker's SPSC result queue and its eventfd
//     is signalled.
//
// Thread rules: submit() from any worker; pop_result(w) only from worker w's thread; open(),
// start(), stop(), compact() and the destructor from the owning (main) thread; stats() anywhere.
//
// Durability: writes go to the WAL without fsync (WriteOptions::sync = false). A crashed
// process loses nothing (the WAL is in the page cache); a crashed kernel or a power cut loses
// the last seconds of records, and the only cost is that those senders are deferred once more.
// That is not worth an fdatasync per RCPT.
//
// Expiry: a RocksDB compaction filter drops records that have expired (see expired()), also
// at memtable flush, and periodic compaction rewrites every file at least daily, so the
// filter sees old data even on a quiet server. A record that has expired but is not yet
// compacted away is treated as absent on read, so the answer never depends on compaction.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "relay/common/cidr.h"
#include "relay/common/result.h"
#include "relay/common/spsc_queue.h"

namespace rocksdb {
class DB;
}

namespace correo {

using GreylistTime = std::chrono::sys_seconds;  // wall clock: records outlive restarts

struct GreylistOptions {
  std::string dir;                                            // RocksDB dir, e.g. <state_dir>/greylist
  std::chrono::seconds delay{300};                            // minimum retry delay
  std::chrono::seconds retry_window{std::chrono::hours(48)};  // a retry after this since first seen starts over
  std::chrono::seconds pass_lifetime{std::chrono::days(35)};  // a passed triplet stays allowed this long since
                                                              // last seen
  // After this many passed triplets from one client network, the whole network is allowed for
  // pass_lifetime (0 = off).
  uint32_t auto_allow_clients = 5;
  uint32_t queue_capacity = 4096;  // pending requests in total; submit() false beyond
  // Clock for tests; empty = the system clock. Also called from RocksDB's compaction threads,
  // so it must be thread-safe.
  std::function<GreylistTime()> clock;
};

// greylist_now - options.clock() if set, else the system clock in whole seconds.
GreylistTime greylist_now(const GreylistOptions& options);

// client_network - the client's network as text: IPv4 /24 ("192.0.2.0/24"), IPv6 /64
// ("2001:db8:1:2::/64"). An IPv4-mapped IPv6 address counts as IPv4. Large senders retry from
// another host of the same pool, so keying on the host alone would defer them again.
std::string client_network(const IpAddress& client);

// greylist_key - the triplet "network \t sender \t recipient", addresses ASCII lower-cased.
// The empty sender (<>) is an empty field. Tab cannot occur in an address that parse_path()
// accepted (control characters are refused), so the key is unambiguous.
std::string greylist_key(const IpAddress& client, std::string_view sender, std::string_view rcpt);

// Database keys: one byte of kind, then the text key.
inline constexpr char kGreylistTripletKind = 't';
inline constexpr char kGreylistNetworkKind = 'n';
std::string triplet_db_key(std::string_view triplet_key);  // "t" + greylist_key()
std::string network_db_key(std::string_view network);      // "n" + client_network()

// TripletRecord - what is known about one triplet.
struct TripletRecord {
  GreylistTime first_seen{};  // first attempt of the current round
  GreylistTime last_seen{};   // last pass (passed) or the first attempt (not passed)
  bool passed = false;        // retried within the window at least once
  uint32_t passes = 0;        // attempts let through (for the operator, not used in decisions)
  bool operator==(const TripletRecord&) const = default;
};

// NetworkRecord - passed triplets of one client network, for auto-allow.
struct NetworkRecord {
  uint32_t passed_triplets = 0;  // triplets that passed greylisting since the record was created
  GreylistTime last_seen{};      // last pass from this network
  bool operator==(const NetworkRecord&) const = default;
};

// Value encoding (version 1, integers big-endian):
//   triplet: u8 version, u8 flags (bit 0 = passed), i64 first_seen, i64 last_seen, u32 passes
//   network: u8 version, u32 passed_triplets, i64 last_seen
// Times are seconds since the epoch, 0..2^40 (anything else is corrupt). A new layout gets a
// new version; readers treat versions they do not know as absent instead of guessing.
std::string encode_triplet(const TripletRecord& record);
std::string encode_network(const NetworkRecord& record);

enum class RecordStatus : uint8_t { kOk, kUnknownVersion, kCorrupt };
template <typename T>
struct Decoded {
  RecordStatus status = RecordStatus::kCorrupt;
  T record{};
};
Decoded<TripletRecord> decode_triplet(std::string_view value);
Decoded<NetworkRecord> decode_network(std::string_view value);

// expired - unpassed: now - first_seen > retry_window; passed: now - last_seen > pass_lifetime.
// An unpassed triplet dated in the future (the clock was stepped back) is expired too, so it
// starts over instead of deferring until the clock catches up.
bool expired(const TripletRecord& record, GreylistTime now, const GreylistOptions& options);
// expired - now - last_seen > pass_lifetime.
bool expired(const NetworkRecord& record, GreylistTime now, const GreylistOptions& options);

enum class GreylistVerdict : uint8_t { kPass, kDefer };

enum class GreylistReason : uint8_t {
  kNew,          // no record: first attempt, deferred
  kExpired,      // a record that expired or missed its retry window: starts over, deferred
  kTooEarly,     // retried before the delay passed, deferred (first_seen kept)
  kRetried,      // retried within the window: passes, now a passed triplet
  kKnown,        // passed before and still within pass_lifetime
  kAutoAllowed,  // the client network has auto_allow_clients passed triplets
};
const char* to_string(GreylistReason reason);

// GreylistDecision - the verdict and what to store; nullopt = leave that record unchanged.
struct GreylistDecision {
  GreylistVerdict verdict = GreylistVerdict::kDefer;
  GreylistReason reason = GreylistReason::kNew;
  std::chrono::seconds retry_after{0};  // kDefer: seconds until a retry can pass
  std::optional<TripletRecord> store_triplet;
  std::optional<NetworkRecord> store_network;  // only when auto_allow_clients > 0
};

// decide - the state machine. Records passed in may be expired (decide() checks); `network`
// is ignored when auto-allow is off.
GreylistDecision decide(const std::optional<TripletRecord>& triplet, const std::optional<NetworkRecord>& network,
                        GreylistTime now, const GreylistOptions& options);
inline GreylistDecision decide(const std::optional<TripletRecord>& triplet, GreylistTime now,
                               const GreylistOptions& options) {
  return decide(triplet, std::nullopt, now, options);
}

struct GreylistRequest {
  unsigned worker = 0;  // whose result queue and eventfd get the answer
  uint64_t cookie = 0;  // opaque to the service; identifies the session to the worker
  IpAddress client;
  std::string sender;     // without <>; "" = null sender
  std::string recipient;
};

struct GreylistResult {
  uint64_t cookie = 0;
  GreylistVerdict verdict = GreylistVerdict::kPass;
  std::chrono::seconds retry_after{0};  // kDefer: for "try again in N seconds"
  bool error = false;  // the database failed: verdict is kPass (greylisting fails open)
};

class GreylistService {
 public:
  // wake_fds[i]: an eventfd of worker i, signalled after a result for worker i is queued; a
  // negative fd is never signalled. Without open() there is no database: every request gets
  // an error result.
  GreylistService(GreylistOptions options, std::vector<int> wake_fds);
  ~GreylistService();  // stops, closes the database
  GreylistService(const GreylistService&) = delete;
  GreylistService& operator=(const GreylistService&) = delete;

  // open - create options.dir if needed and open (or create) the database there.
  static Result<std::unique_ptr<GreylistService>> open(GreylistOptions options, std::vector<int> wake_fds);

  void start();
  // stop - joins the thread. Requests still queued are discarded and get no result: stopping
  // happens at shutdown, when their sessions are closing anyway.
  void stop();

  // submit - from any worker thread, never blocks; the request is moved from when queued.
  // False when the queue is full, the service is stopped or request.worker has no result
  // queue: the caller answers 451 4.7.1 or lets the recipient through (the caller's policy).
  bool submit(GreylistRequest& request);
  // pop_result - only worker `worker`'s thread calls this.
  bool pop_result(unsigned worker, GreylistResult& out);

  // compact - compact the whole database now, dropping expired records (operator tools, tests).
  Status compact();

  struct Stats {
    uint64_t passed, deferred, errors, corrupt;  // corrupt: undecodable or unknown-version records read
  };
  Stats stats() const;

 private:
  Status open_db();
  void close_db();
  void run();
  GreylistResult check(const GreylistRequest& request);
  bool read(const std::string& key, std::string& value, bool& found);  // false = database error
  void note_db_error(const char* op, const std::string& error);
  void note_bad_record(RecordStatus status, const std::string& key);
  void deliver(unsigned worker, GreylistResult result);
  bool flush_held();  // true when nothing is held any more
  void discard_queued();

  const GreylistOptions options_;
  const std::vector<int> wake_fds_;
  std::vector<std::unique_ptr<SpscQueue<GreylistResult>>> results_;  // one per worker; producer: run()
  std::vector<std::deque<GreylistResult>> held_;  // results that did not fit; service thread only
  rocksdb::DB* db_ = nullptr;  // opened before start(), closed after stop(); used by run() and compact()
  bool db_failing_ = false;    // service thread only: the last operation failed (log transitions once)
  std::atomic<bool> logged_unknown_version_{false};
  std::atomic<bool> logged_corrupt_{false};
  std::thread thread_;  // started and joined by the owner's thread only

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<GreylistRequest> ring_;  // fixed-size ring of pending requests
  size_t head_ = 0;
  size_t count_ = 0;
  bool stopping_ = false;  // set by stop(); submit() refuses and run() returns

  std::atomic<uint64_t> passed_{0};
  std::atomic<uint64_t> deferred_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> corrupt_{0};
};

}  // namespace correo
