// greylist_service.cc - the thread that keeps greylisting records in a private RocksDB.
//
// It follows AuthService: a request ring under a mutex, one thread, SPSC result queues per
// worker, results that do not fit held in order. Each request is one or two point reads and at
// most one WriteBatch (triplet and network record together, so they never disagree after a
// crash). Expired records are dropped by a compaction filter (see greylist.h).
#include "relay/policy/greylist.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "relay/common/eventfd.h"
#include "relay/common/log.h"

namespace correo {
namespace {

// How often the service thread retries results that did not fit a worker's queue. Only reached
// if a worker stops draining, since result queues are as large as the request queue.
constexpr std::chrono::milliseconds kHeldRetry(5);

// Every SST file goes through the expiry filter at least this often, even when the write rate
// is too low to trigger compactions of its own.
constexpr uint64_t kSweepSeconds = 24 * 3600;

// ExpiryFilter - drops expired records while RocksDB rewrites files. Called concurrently from
// RocksDB's background threads: it only reads its own copy of the options.
class ExpiryFilter : public rocksdb::CompactionFilter {
 public:
  explicit ExpiryFilter(const GreylistOptions& options) : options_(options) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    if (key.empty()) return false;
    const std::string_view v = value.ToStringView();
    if (key[0] == kGreylistTripletKind) return drop(decode_triplet(v));
    if (key[0] == kGreylistNetworkKind) return drop(decode_network(v));
    return false;  // not ours: leave it
  }
  const char* Name() const override { return "correo.GreylistExpiryFilter"; }

 private:
  // drop - expired or corrupt records go (corrupt ones can never be read back); records of an
  // unknown version stay, so running an older correo for a while does not wipe a newer one's state.
  template <typename T>
  bool drop(const Decoded<T>& d) const {
    if (d.status == RecordStatus::kCorrupt) return true;
    return d.status == RecordStatus::kOk && expired(d.record, greylist_now(options_), options_);
  }

  const GreylistOptions& options_;
};

// ExpiryFilterFactory - owns the options the filters read; also filters at memtable flush, so
// records that expired while still in memory never reach disk.
class ExpiryFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  explicit ExpiryFilterFactory(GreylistOptions options) : options_(std::move(options)) {}
  bool ShouldFilterTableFileCreation(rocksdb::TableFileCreationReason reason) const override {
    return reason == rocksdb::TableFileCreationReason::kCompaction ||
           reason == rocksdb::TableFileCreationReason::kFlush;
  }
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& /*context*/) override {
    return std::make_unique<ExpiryFilter>(options_);
  }
  const char* Name() const override { return "correo.GreylistExpiryFilterFactory"; }

 private:
  const GreylistOptions options_;
};

// greylist_db_options - a small point-lookup store: bloom filters because most lookups are for
// triplets never seen before, small buffers because records are 22 bytes.
rocksdb::Options greylist_db_options(const GreylistOptions& options) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.compaction_filter_factory = std::make_shared<ExpiryFilterFactory>(options);
  o.periodic_compaction_seconds = kSweepSeconds;
  o.write_buffer_size = 4u << 20;
  o.max_write_buffer_number = 2;
  o.keep_log_file_num = 3;
  o.max_log_file_size = 4u << 20;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

}  // namespace

GreylistService::GreylistService(GreylistOptions options, std::vector<int> wake_fds)
    : options_(std::move(options)),
      wake_fds_(std::move(wake_fds)),
      held_(wake_fds_.size()),
      ring_(std::max<uint32_t>(options_.queue_capacity, 1)) {
  // As in AuthService: a result queue as large as the request queue only overflows when its
  // worker stops popping, and held_ covers that without dropping anything.
  results_.reserve(wake_fds_.size());
  for (size_t i = 0; i < wake_fds_.size(); ++i) {
    results_.push_back(std::make_unique<SpscQueue<GreylistResult>>(ring_.size()));
  }
}

GreylistService::~GreylistService() {
  stop();
  close_db();
}

Result<std::unique_ptr<GreylistService>> GreylistService::open(GreylistOptions options, std::vector<int> wake_fds) {
  auto service = std::make_unique<GreylistService>(std::move(options), std::move(wake_fds));
  Status s = service->open_db();
  if (!s) return s.error();
  return service;
}

Status GreylistService::open_db() {
  if (options_.dir.empty()) return Error{"greylist: no database directory"};
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return Error{"greylist: cannot create " + options_.dir + ": " + ec.message()};
  rocksdb::Status s = rocksdb::DB::Open(greylist_db_options(options_), options_.dir, &db_);
  if (!s.ok()) {
    db_ = nullptr;
    return Error{"greylist: cannot open " + options_.dir + ": " + s.ToString()};
  }
  LogLine(LogLevel::kInfo, "greylist_opened").kv("dir", options_.dir);
  return Ok{};
}

void GreylistService::close_db() {
  if (db_ == nullptr) return;
  rocksdb::Status s = db_->Close();
  if (!s.ok()) LogLine(LogLevel::kWarn, "greylist_close_failed").kv("dir", options_.dir).kv("error", s.ToString());
  delete db_;
  db_ = nullptr;
}

void GreylistService::start() {
  if (thread_.joinable()) return;
  if (db_ == nullptr) LogLine(LogLevel::kWarn, "greylist_no_database").kv("effect", "every recipient passes");
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void GreylistService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  discard_queued();
  for (auto& held : held_) held.clear();
}

bool GreylistService::submit(GreylistRequest& request) {
  if (request.worker >= results_.size()) return false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || count_ >= ring_.size()) return false;
    ring_[(head_ + count_) % ring_.size()] = std::move(request);
    ++count_;
  }
  wake_.notify_one();
  return true;
}

bool GreylistService::pop_result(unsigned worker, GreylistResult& out) {
  if (worker >= results_.size()) return false;
  std::optional<GreylistResult> result = results_[worker]->try_pop();
  if (!result) return false;
  out = *result;
  return true;
}

Status GreylistService::compact() {
  if (db_ == nullptr) return Error{"greylist: no database"};
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;  // the filter must see every file
  rocksdb::Status s = db_->CompactRange(o, nullptr, nullptr);
  if (!s.ok()) return Error{"greylist: compaction failed: " + s.ToString()};
  return Ok{};
}

GreylistService::Stats GreylistService::stats() const {
  return Stats{passed_.load(std::memory_order_relaxed), deferred_.load(std::memory_order_relaxed),
               errors_.load(std::memory_order_relaxed), corrupt_.load(std::memory_order_relaxed)};
}

void GreylistService::run() {
  while (true) {
    const bool all_delivered = flush_held();
    GreylistRequest request;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return stopping_ || count_ > 0; };
      if (all_delivered) {
        wake_.wait(lock, ready);
      } else if (!wake_.wait_for(lock, kHeldRetry, ready)) {
        continue;  // nothing new: go and retry the held results
      }
      if (stopping_) return;
      request = std::move(ring_[head_]);
      head_ = (head_ + 1) % ring_.size();
      --count_;
    }
    const GreylistResult result = check(request);
    deliver(request.worker, result);
  }
}

// check - read the records, decide, write back. Any database failure fails open: the result
// says error (the worker lets the recipient through) rather than deferring mail we cannot track.
GreylistResult GreylistService::check(const GreylistRequest& request) {
  GreylistResult out;
  out.cookie = request.cookie;
  out.error = true;  // until the decision is stored
  if (db_ == nullptr) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  // After a failed write RocksDB may refuse writes until resumed; Resume() is cheap when healthy.
  if (db_failing_) (void)db_->Resume();

  const std::string key = greylist_key(request.client, request.sender, request.recipient);
  const std::string tkey = triplet_db_key(key);
  const std::string nkey = network_db_key(client_network(request.client));
  std::optional<TripletRecord> triplet;
  std::optional<NetworkRecord> network;
  std::string value;
  bool found = false;
  if (!read(tkey, value, found)) return out;
  if (found) {
    auto d = decode_triplet(value);
    if (d.status == RecordStatus::kOk) triplet = d.record;
    else note_bad_record(d.status, tkey);  // treated as absent; the decision overwrites it
  }
  if (options_.auto_allow_clients > 0) {
    if (!read(nkey, value, found)) return out;
    if (found) {
      auto d = decode_network(value);
      if (d.status == RecordStatus::kOk) network = d.record;
      else note_bad_record(d.status, nkey);
    }
  }

  const GreylistDecision decision = decide(triplet, network, greylist_now(options_), options_);
  if (decision.store_triplet || decision.store_network) {
    rocksdb::WriteBatch batch;
    if (decision.store_triplet) batch.Put(tkey, encode_triplet(*decision.store_triplet));
    if (decision.store_network) batch.Put(nkey, encode_network(*decision.store_network));
    rocksdb::WriteOptions wo;
    wo.sync = false;  // see greylist.h: a lost record costs one more deferral, not an fsync per RCPT
    rocksdb::Status s = db_->Write(wo, &batch);
    if (!s.ok()) {
      // A deferral we cannot remember would defer the retry too, forever: fail open instead.
      note_db_error("write", s.ToString());
      return out;
    }
  }
  if (db_failing_) {
    db_failing_ = false;
    LogLine(LogLevel::kInfo, "greylist_db_recovered").kv("dir", options_.dir);
  }
  out.error = false;
  out.verdict = decision.verdict;
  out.retry_after = decision.retry_after;
  (decision.verdict == GreylistVerdict::kPass ? passed_ : deferred_).fetch_add(1, std::memory_order_relaxed);
  LogLine(LogLevel::kDebug, "greylist")
      .kv("client", request.client.to_string())
      .kv("sender", request.sender)
      .kv("recipient", request.recipient)
      .kv("verdict", decision.verdict == GreylistVerdict::kPass ? "pass" : "defer")
      .kv("reason", to_string(decision.reason));
  return out;
}

// read - point lookup; false (logged, counted) on a database error, not on a missing key.
bool GreylistService::read(const std::string& key, std::string& value, bool& found) {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  found = s.ok();
  if (s.ok() || s.IsNotFound()) return true;
  note_db_error("read", s.ToString());
  return false;
}

// note_db_error - counts every failure, logs only the first of a run so that a broken disk
// does not turn each RCPT into a log line; recovery is logged by check().
void GreylistService::note_db_error(const char* op, const std::string& error) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  if (db_failing_) return;
  db_failing_ = true;
  LogLine(LogLevel::kError, "greylist_db_failed").kv("dir", options_.dir).kv("op", op).kv("error", error)
      .kv("effect", "recipients pass until it recovers");
}

// note_bad_record - a record we cannot read counts as absent. Logged once per kind per service
// lifetime: the count is in stats(), and one line is enough to start looking.
void GreylistService::note_bad_record(RecordStatus status, const std::string& key) {
  corrupt_.fetch_add(1, std::memory_order_relaxed);
  const bool unknown = status == RecordStatus::kUnknownVersion;
  std::atomic<bool>& logged = unknown ? logged_unknown_version_ : logged_corrupt_;
  if (logged.exchange(true)) return;
  LogLine(LogLevel::kWarn, unknown ? "greylist_unknown_record_version" : "greylist_corrupt_record")
      .kv("dir", options_.dir).kv("key", key).kv("effect", "treated as absent");
}

// deliver - queue the result for its worker and wake the worker. A result is never dropped (a
// session waits for it): if the queue is full it is held, and results already held go first.
void GreylistService::deliver(unsigned worker, GreylistResult result) {
  std::deque<GreylistResult>& held = held_[worker];
  if (!held.empty() || !results_[worker]->try_push(result)) held.push_back(result);
  if (wake_fds_[worker] >= 0) signal_eventfd(wake_fds_[worker]);
}

// flush_held - move held results into queues that have room again; true when none are left.
bool GreylistService::flush_held() {
  bool all_delivered = true;
  for (size_t worker = 0; worker < held_.size(); ++worker) {
    std::deque<GreylistResult>& held = held_[worker];
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

// discard_queued - at stop: drop requests nobody will answer any more.
void GreylistService::discard_queued() {
  std::lock_guard lock(mutex_);
  for (GreylistRequest& slot : ring_) slot = GreylistRequest{};
  head_ = 0;
  count_ = 0;
}

}  // namespace correo
