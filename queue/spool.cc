// spool.cc - the durable queue: one spool thread owns RocksDB and group-commits every
// worker's requests.
//
// Thread rules:
//   - Worker w calls submit(w), pop_completion(w) and reads completion_fd(w), from its own
//     thread only. submit() pushes into w's SPSC request ring and writes 1 to the spool's
//     eventfd; it never touches RocksDB and never blocks (false = ring full = back-pressure).
//   - The spool thread (start()) is the only thread that writes RocksDB. It blocks on its
//     eventfd, then drains ALL request rings into ONE WriteBatch (bounded: kMaxBatchRequests
//     requests or kMaxBatchBytes of bodies), writes it (sync = SpoolOptions::sync: one WAL
//     fdatasync per batch), posts one CommitCompletion per request to the requesting worker's
//     SPSC completion ring and writes 1 to that worker's eventfd once per batch. It repeats
//     until every ring is empty, then blocks again. No exceptions are thrown on this thread;
//     RocksDB failures are Status values turned into completions (kNoSpace / kIoError for
//     every request of the failed batch). Before the next batch it calls DB::Resume(); if
//     that fails it closes and reopens the DB (see recover_after_failure()).
//   - open(), start(), stop(), the destructor, recovery() and stats_snapshot() belong to the
//     owning (control) thread. stop() closes the submit gate, waits for in-flight submit()
//     calls, lets the spool thread commit and answer everything already submitted, joins it;
//     from then on submit() returns false.
//   - A worker must keep draining its completions until stop() returns (the spool thread
//     never drops a completion: it waits for room), and must not have more than
//     queue_capacity requests outstanding (then the completion ring can never be full).
//   - read_envelopes()/read_message() open their own read-only RocksDB instance, so they
//     work from any process, including while correod holds the spool open.
//
// On-disk format (RocksDB column families; ids are 8-byte big-endian so key order == id
// order == time order):
//   msg   : be64(id)                 -> body bytes (blob files for values >= 4096 bytes)
//   env   : be64(id)                 -> encode_envelope() record (see envelope.cc), versioned
//   sched : be64(due_us) + be64(id)  -> "" ; due_us = commit time (due at once), microseconds
//                                        since the epoch, so a range scan yields due work
//   default: unused.
// An env record that fails to decode (or whose id differs from its key) is counted as
// corrupt, logged with its key and left in place; it never stops the daemon.
#include "queue/spool.h"

#include "relay/common/clock.h"
#include "relay/common/eventfd.h"

#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>

#include <mutex>
#include <shared_mutex>
#include <unistd.h>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "queue/queue_id.h"
#include "relay/common/log.h"
#include "relay/common/spsc_queue.h"

namespace correo {
namespace {

constexpr size_t kMaxBatchRequests = 1024;
constexpr size_t kMaxBatchBytes = 64u << 20;
constexpr int kReadOnlyAttempts = 5;

constexpr char kMsgCf[] = "msg";
constexpr char kEnvCf[] = "env";
constexpr char kSchedCf[] = "sched";

// put_be64 - append v as 8 big-endian bytes.
void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string be64(uint64_t v) {
  std::string out;
  out.reserve(8);
  put_be64(out, v);
  return out;
}

// get_be64 - inverse of put_be64 over the first 8 bytes of p.
uint64_t get_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// hex - printable form of a raw key for logs.
std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

int64_t now_us() { return unix_now_us(); }
void signal_fd(int fd) { signal_eventfd(fd); }

// classify - map a failed RocksDB write to the completion status workers act on.
CommitStatus classify(const rocksdb::Status& s) {
  if (s.ok()) return CommitStatus::kOk;
  if (s.IsNoSpace()) return CommitStatus::kNoSpace;
  if (s.IsIOError()) {
    const std::string text = s.ToString();
    if (text.find("No space left") != std::string::npos || text.find("ENOSPC") != std::string::npos) {
      return CommitStatus::kNoSpace;
    }
  }
  return CommitStatus::kIoError;
}

// NullLogger - RocksDB info log sink for read-only openers: they must not rotate or write
// the LOG file of a spool that the daemon owns.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// spool_db_options - DB-wide options for the daemon's read-write instance.
rocksdb::DBOptions spool_db_options() {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.use_fsync = false;  // fdatasync is enough for WAL durability
  o.IncreaseParallelism(2);            // 2 cores: one flush + one compaction at a time
  o.max_total_wal_size = 256u << 20;   // force flushes of the small CFs so old WALs can go
  o.keep_log_file_num = 5;
  o.max_log_file_size = 16u << 20;
  return o;
}

// spool_cf_options - per column family: small buffers for env/sched, blobs for bodies.
rocksdb::ColumnFamilyOptions spool_cf_options(const std::string& name, uint64_t body_memtable = 128u << 20) {
  rocksdb::ColumnFamilyOptions o;
  o.max_write_buffer_number = 3;
  if (name == kMsgCf) {
    o.write_buffer_size = body_memtable;
    o.enable_blob_files = true;  // bodies live in blob files: compactions move only keys
    o.min_blob_size = 4096;
    o.enable_blob_garbage_collection = true;  // reclaim space of delivered (deleted) bodies
  } else if (name == kEnvCf || name == kSchedCf) {
    o.write_buffer_size = 8u << 20;
  } else {
    o.write_buffer_size = 4u << 20;
  }
  return o;
}

// scan_envelopes - iterate the env CF in key order; on_good(env) for each decodable record,
// on_bad(key, reason) for each corrupt one. Returns the iterator's final status.
template <typename Good, typename Bad>
rocksdb::Status scan_envelopes(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* env_cf, Good on_good,
                               Bad on_bad) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, env_cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != 8) {
      on_bad(key.ToStringView(), "bad key length");
      continue;
    }
    const uint64_t id = get_be64(key.data());
    std::optional<Envelope> env = decode_envelope(it->value().ToStringView());
    if (!env) {
      on_bad(key.ToStringView(), "undecodable envelope");
    } else if (env->id != id) {
      on_bad(key.ToStringView(), "envelope id differs from key");
    } else {
      on_good(std::move(*env));
    }
  }
  return it->status();
}

// log_corrupt - one error line per corrupt env record, naming its key.
void log_corrupt(const std::string& dir, std::string_view key, const char* reason) {
  LogLine line(LogLevel::kError, "spool_corrupt_record");
  line.kv("dir", dir).kv("key", hex(key)).kv("reason", reason);
  if (key.size() == 8) line.kv("id", format_queue_id(get_be64(key.data())));
}

// WorkerChannel - one worker's two rings, its completion eventfd and its submit guard.
struct WorkerChannel {
  explicit WorkerChannel(size_t capacity) : requests(capacity), completions(capacity) {}
  ~WorkerChannel() {
    if (event_fd >= 0) ::close(event_fd);
  }
  SpscQueue<CommitRequest> requests;       // worker -> spool
  SpscQueue<CommitCompletion> completions;  // spool -> worker
  int event_fd = -1;
  alignas(64) std::atomic<uint32_t> in_submit{0};  // > 0 while the worker is inside submit()
};

// Pending - what the spool thread keeps of a request after its bytes went into the batch.
struct Pending {
  unsigned worker;
  uint64_t cookie;
  uint64_t id;
  CommitStatus status;  // kOk unless this request alone could not be added to the batch
};

}  // namespace

struct Spool::Impl {
  SpoolOptions options_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // every open CF, destroyed before the DB
  rocksdb::ColumnFamilyHandle* msg_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* env_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* sched_cf_ = nullptr;
  std::vector<std::unique_ptr<WorkerChannel>> workers_;
  int spool_fd_ = -1;
  RecoveryInfo recovery_;

  std::shared_mutex db_mu_;  // readers (scheduler) shared; close/reopen exclusive
  std::atomic<int> store_notify_fd_{-1};
  std::thread thread_;
  std::atomic<uint64_t> free_space_{UINT64_MAX};  // bytes free on the spool's filesystem
  bool low_space_logged_ = false;                 // spool thread only
  std::atomic<bool> closing_{false};  // submit gate: set first by stop()
  std::atomic<bool> exit_requested_{false};  // after in-flight submits: drain, exit
  bool stopped_ = false;              // control thread only

  // Spool thread only.
  bool need_resume_ = false;        // the last write failed: Resume() (or reopen) first
  unsigned failed_in_a_row_ = 0;    // consecutive failed batches
  std::atomic<bool> last_write_ok_{true};  // for readiness: any thread reads
  rocksdb::Status open_status_;     // why db_ is null after a failed reopen
  size_t next_worker_ = 0;
  std::vector<Pending> pending_;
  std::vector<char> touched_;

  mutable std::mutex stats_mu_;  // taken once per batch, never per message
  SpoolStats stats_;
  SpoolMetrics metrics_;         // written by the spool thread, read by scrapes

  ~Impl();
  rocksdb::Status open_db();
  void close_db();
  void recover_after_failure();
  Status recover();
  void run();
  bool commit_one_batch();
  void post(WorkerChannel& ch, CommitCompletion& c);
  uint64_t refresh_free_space();
  rocksdb::Status add_to_batch(rocksdb::WriteBatch& batch, CommitRequest& req, uint64_t now);
};

Spool::Impl::~Impl() {
  close_db();
  workers_.clear();
  if (spool_fd_ >= 0) ::close(spool_fd_);
}

// close_db - column family handles first, then the DB itself.
void Spool::Impl::close_db() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  msg_cf_ = env_cf_ = sched_cf_ = nullptr;
  rocksdb::Status s = db_->Close();
  if (!s.ok()) LogLine(LogLevel::kWarn, "spool_close_failed").kv("dir", options_.dir).kv("error", s.ToString());
  delete db_;
  db_ = nullptr;
}

// open_db - open or create the spool with its column families (plus any unknown ones found).
rocksdb::Status Spool::Impl::open_db() {
  const rocksdb::DBOptions db_opts = spool_db_options();
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, kMsgCf, kEnvCf, kSchedCf};
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_opts, options_.dir, &existing).ok()) {
    for (const std::string& n : existing) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : names) cfs.emplace_back(n, spool_cf_options(n, options_.body_memtable));
  rocksdb::Status s = rocksdb::DB::Open(db_opts, options_.dir, cfs, &handles_, &db_);
  if (!s.ok()) {
    db_ = nullptr;
    handles_.clear();
    return s;
  }
  msg_cf_ = handles_[1];
  env_cf_ = handles_[2];
  sched_cf_ = handles_[3];
  return s;
}

// recover_after_failure - before the batch after a failed write: Resume() as RocksDB
// intends; when that fails (RocksDB 7.8 keeps a WAL writer that hit an append error
// poisoned: Resume() returns the same error forever), or writes keep failing after a
// "successful" Resume(), close and reopen the DB, which replays the WAL up to its last whole
// record (the failed batch was never acknowledged, so losing or keeping it is both fine).
// If the reopen fails too (disk still full), db_ stays null and the next batch retries.
void Spool::Impl::recover_after_failure() {
  need_resume_ = false;
  if (db_ != nullptr) {
    rocksdb::Status r = db_->Resume();
    if (r.ok() && failed_in_a_row_ < 2) {
      LogLine(LogLevel::kInfo, "spool_resumed").kv("dir", options_.dir);
      return;
    }
    if (!r.ok()) LogLine(LogLevel::kWarn, "spool_resume_failed").kv("dir", options_.dir).kv("error", r.ToString());
  }
  std::unique_lock<std::shared_mutex> lock(db_mu_);  // no reader may hold the old handles
  close_db();
  open_status_ = open_db();
  if (open_status_.ok()) {
    LogLine(LogLevel::kInfo, "spool_reopened").kv("dir", options_.dir);
  } else {
    LogLine(LogLevel::kError, "spool_reopen_failed").kv("dir", options_.dir).kv("error", open_status_.ToString());
  }
}

// recover - scan env: count, max id, ids in order; corrupt records are counted and logged.
Status Spool::Impl::recover() {
  RecoveryInfo info;
  rocksdb::Status s = scan_envelopes(
      db_, env_cf_,
      [&](Envelope&& env) {
        ++info.messages;
        info.max_id = std::max(info.max_id, env.id);
        info.ids.push_back(env.id);
      },
      [&](std::string_view key, const char* reason) {
        ++info.corrupt;
        if (key.size() == 8) info.max_id = std::max(info.max_id, get_be64(key.data()));
        log_corrupt(options_.dir, key, reason);
      });
  if (!s.ok()) return Error{"spool recovery scan failed in " + options_.dir + ": " + s.ToString()};
  recovery_ = std::move(info);
  return Ok{};
}

// refresh_free_space - statvfs of the spool dir, published for has_room_for().
uint64_t Spool::Impl::refresh_free_space() {
  struct statvfs st;
  if (::statvfs(options_.dir.c_str(), &st) != 0) return free_space_.load(std::memory_order_relaxed);
  const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  free_space_.store(free, std::memory_order_relaxed);
  // One line per transition, wherever it is noticed (idle refresh or a batch).
  const bool low = free < options_.min_free_space;
  if (low != low_space_logged_) {
    if (low) {
      LogLine(LogLevel::kError, "spool_low_space").kv("dir", options_.dir).kv("free", free)
          .kv("min_free_space", options_.min_free_space);
    } else {
      LogLine(LogLevel::kInfo, "spool_space_ok").kv("dir", options_.dir).kv("free", free);
    }
    low_space_logged_ = low;
  }
  return free;
}

// run - the spool thread: sleep on the eventfd, then commit until every ring is empty.
// The sleep ends at least once a second to refresh the free-space figure, so sessions see
// the space come back even when no mail is being written.
void Spool::Impl::run() {
  for (;;) {
    pollfd pfd{spool_fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 1000);
    if (options_.min_free_space) refresh_free_space();
    if (ready > 0) {
      uint64_t count = 0;
      if (::read(spool_fd_, &count, sizeof count) < 0 && errno != EINTR) {
        LogLine(LogLevel::kError, "spool_eventfd_read_failed").kv("errno", errno);
      }
    }
    // Read before draining: every submit that finished before stop() set the flag is visible.
    const bool exiting = exit_requested_.load(std::memory_order_acquire);
    while (commit_one_batch()) {
    }
    if (exiting) break;
  }
}

// post - hand one completion to a worker; waits (never drops) if its ring is full.
void Spool::Impl::post(WorkerChannel& ch, CommitCompletion& c) {
  if (ch.completions.try_push(c)) return;
  LogLine(LogLevel::kWarn, "spool_completion_ring_full").kv("id", format_queue_id(c.id));
  for (unsigned spins = 0; !ch.completions.try_push(c); ++spins) {
    signal_fd(ch.event_fd);  // the worker may not know yet that completions wait
    if (spins < 1000) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

namespace {

// sched_key - big-endian due time then id: a range scan yields due work in order.
std::string sched_key(uint64_t due, uint64_t id) {
  std::string k;
  k.reserve(16);
  put_be64(k, due);
  put_be64(k, id);
  return k;
}

}  // namespace

// add_to_batch - the writes of one request (see CommitOp in spool.h).
// The envelope is stamped with its schedule entry's due time (next_attempt_us, 0 = none)
// so readers (correoctl, the scheduler's admin actions) find the entry without a scan.
rocksdb::Status Spool::Impl::add_to_batch(rocksdb::WriteBatch& batch, CommitRequest& req, uint64_t now) {
  const uint64_t id = req.envelope.id;
  const std::string key = be64(id);
  rocksdb::Status s;
  switch (req.op) {
    case CommitOp::kStore: {
      const uint64_t due = req.new_due_us > 0 ? static_cast<uint64_t>(req.new_due_us) : now;
      // A held message gets no schedule entry: the scheduler never sees it until released.
      const bool scheduled = !req.envelope.held;
      req.envelope.next_attempt_us = scheduled ? static_cast<int64_t>(due) : 0;
      s = batch.Put(msg_cf_, key, req.body);
      if (s.ok()) s = batch.Put(env_cf_, key, encode_envelope(req.envelope));
      if (s.ok() && scheduled) s = batch.Put(sched_cf_, sched_key(due, id), rocksdb::Slice());
      break;
    }
    case CommitOp::kUpdate:
      req.envelope.next_attempt_us = req.new_scheduled ? req.new_due_us : 0;
      s = batch.Put(env_cf_, key, encode_envelope(req.envelope));
      if (s.ok() && req.old_scheduled) s = batch.Delete(sched_cf_, sched_key(static_cast<uint64_t>(req.old_due_us), id));
      if (s.ok() && req.new_scheduled) {
        s = batch.Put(sched_cf_, sched_key(static_cast<uint64_t>(req.new_due_us), id), rocksdb::Slice());
      }
      break;
    case CommitOp::kRemove:
      s = batch.Delete(msg_cf_, key);
      if (s.ok()) s = batch.Delete(env_cf_, key);
      if (s.ok() && req.old_scheduled) s = batch.Delete(sched_cf_, sched_key(static_cast<uint64_t>(req.old_due_us), id));
      break;
  }
  for (StoredMessage& m : req.add) {
    if (!s.ok()) break;
    const std::string k = be64(m.envelope.id);
    m.envelope.next_attempt_us = static_cast<int64_t>(now);
    s = batch.Put(msg_cf_, k, m.body);
    if (s.ok()) s = batch.Put(env_cf_, k, encode_envelope(m.envelope));
    if (s.ok()) s = batch.Put(sched_cf_, sched_key(now, m.envelope.id), rocksdb::Slice());
  }
  return s;
}

// commit_one_batch - drain the rings into one WriteBatch, write it, answer every request.
// Returns false when there was nothing to commit.
bool Spool::Impl::commit_one_batch() {
  // First, so the batch below is built against the handles of the DB it is written to.
  if (need_resume_) recover_after_failure();
  rocksdb::WriteBatch batch;
  pending_.clear();
  size_t bytes = 0;
  const int64_t now = now_us();
  const uint64_t due = now > 0 ? static_cast<uint64_t>(now) : 0;
  const size_t n = workers_.size();
  for (size_t k = 0; k < n && pending_.size() < kMaxBatchRequests && bytes < kMaxBatchBytes; ++k) {
    const unsigned w = static_cast<unsigned>((next_worker_ + k) % n);
    WorkerChannel& ch = *workers_[w];
    while (pending_.size() < kMaxBatchRequests && bytes < kMaxBatchBytes) {
      std::optional<CommitRequest> req = ch.requests.try_pop();
      if (!req) break;
      const uint64_t id = req->envelope.id;
      batch.SetSavePoint();
      rocksdb::Status s = add_to_batch(batch, *req, due);
      for (const StoredMessage& m : req->add) bytes += m.body.size();
      CommitStatus status = CommitStatus::kOk;
      if (s.ok()) {
        batch.PopSavePoint();
      } else {
        batch.RollbackToSavePoint();  // this request alone fails (e.g. a value over 4 GiB)
        status = CommitStatus::kIoError;
        LogLine(LogLevel::kError, "spool_batch_put_failed").kv("id", format_queue_id(id)).kv("error", s.ToString());
      }
      bytes += req->body.size();
      pending_.push_back(Pending{w, req->cookie, id, status});
    }
  }
  next_worker_ = n ? (next_worker_ + 1) % n : 0;
  if (pending_.empty()) return false;

  rocksdb::Status s;
  uint64_t latency_us = 0;
  bool space_refused = false;
  if (options_.min_free_space && batch.Count() > 0) {
    // Twice the bytes: the WAL now, the memtable flush later.
    const uint64_t free = refresh_free_space();
    space_refused = free < options_.min_free_space + 2 * static_cast<uint64_t>(bytes);
  }
  if (space_refused) {
    // RocksDB is never asked to write into a full disk (its ENOSPC paths are fragile).
    s = rocksdb::Status::NoSpace("queue filesystem below queue.min_free_space");
  } else if (db_ == nullptr) {
    s = open_status_;  // closed after a failed reopen: fail this batch with that reason
  } else if (batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync;
    const auto t0 = std::chrono::steady_clock::now();
    s = db_->Write(wo, &batch);
    latency_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
  }
  const CommitStatus batch_status = classify(s);
  const std::string error = s.ok() ? std::string() : s.ToString();
  if (!space_refused) failed_in_a_row_ = s.ok() ? 0 : failed_in_a_row_ + 1;
  if (batch.Count() > 0) last_write_ok_.store(s.ok(), std::memory_order_relaxed);
  if (!s.ok()) {
    if (!space_refused) need_resume_ = true;
    LogLine(LogLevel::kError, "spool_write_failed")
        .kv("dir", options_.dir)
        .kv("messages", static_cast<uint64_t>(pending_.size()))
        .kv("error", error);
  }

  if (s.ok()) {
    const int notify = store_notify_fd_.load(std::memory_order_relaxed);
    if (notify >= 0) signal_fd(notify);
  }
  uint64_t ok = 0;
  touched_.assign(n, 0);
  for (const Pending& p : pending_) {
    CommitCompletion c;
    c.cookie = p.cookie;
    c.id = p.id;
    c.status = p.status != CommitStatus::kOk ? p.status : batch_status;
    if (c.status == CommitStatus::kOk) {
      ++ok;
    } else {
      c.error = p.status != CommitStatus::kOk ? "request too large for a write batch" : error;
    }
    post(*workers_[p.worker], c);
    touched_[p.worker] = 1;
  }
  for (size_t w = 0; w < n; ++w) {
    if (touched_[w]) signal_fd(workers_[w]->event_fd);
  }

  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.batches;
    stats_.messages += ok;
    stats_.failed += pending_.size() - ok;
    stats_.batch_size.record(pending_.size());
    if (batch.Count() > 0) stats_.write_latency_us.record(latency_us);
  }
  metrics_.batch_size.observe(static_cast<double>(pending_.size()));
  if (batch.Count() > 0) metrics_.fsync_duration.observe(static_cast<double>(latency_us) / 1e6);
  if (ok < pending_.size()) metrics_.commit_failures.add();
  return true;
}

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Spool::~Spool() {
  if (impl_) stop();
}

// open - validate options, open RocksDB, create rings and eventfds, run the recovery scan.
Result<std::unique_ptr<Spool>> Spool::open(const SpoolOptions& options) {
  if (options.dir.empty()) return Error{"spool dir is empty"};
  if (options.workers == 0 || options.workers > kMaxWorkers) {
    return Error{"spool workers must be 1.." + std::to_string(kMaxWorkers)};
  }
  if (options.queue_capacity == 0) return Error{"spool queue_capacity must be > 0"};

  auto impl = std::make_unique<Impl>();
  impl->options_ = options;
  impl->spool_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (impl->spool_fd_ < 0) return Error{std::string("eventfd: ") + strerror(errno)};
  // One channel per worker plus one for the delivery scheduler (the last).
  for (unsigned w = 0; w <= options.workers; ++w) {
    auto ch = std::make_unique<WorkerChannel>(options.queue_capacity);
    ch->event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ch->event_fd < 0) return Error{std::string("eventfd: ") + strerror(errno)};
    impl->workers_.push_back(std::move(ch));
  }
  impl->pending_.reserve(kMaxBatchRequests);

  rocksdb::Status rs = impl->open_db();
  if (!rs.ok()) return Error{"cannot open spool " + options.dir + ": " + rs.ToString()};
  Status s = impl->recover();
  if (!s) return s.error();
  if (options.min_free_space) impl->refresh_free_space();
  LogLine(LogLevel::kInfo, "spool_recovered")
      .kv("dir", options.dir)
      .kv("messages", impl->recovery_.messages)
      .kv("corrupt", impl->recovery_.corrupt)
      .kv("max_id", impl->recovery_.max_id ? format_queue_id(impl->recovery_.max_id) : std::string("-"));
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

// start - launch the spool thread (no-op when running or already stopped).
void Spool::start() {
  Impl& im = *impl_;
  if (im.stopped_ || im.thread_.joinable()) return;
  im.thread_ = std::thread([&im] { im.run(); });
}

// stop - close the gate, wait for in-flight submits, commit and answer the rest, join.
// Idempotent. When start() was never called, a spool thread is started just to commit
// what was submitted, so every accepted submit() still gets its completion.
void Spool::stop() {
  Impl& im = *impl_;
  if (im.stopped_) return;
  im.stopped_ = true;
  im.closing_.store(true, std::memory_order_seq_cst);
  for (auto& ch : im.workers_) {
    while (ch->in_submit.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  }
  im.exit_requested_.store(true, std::memory_order_release);
  if (!im.thread_.joinable()) im.thread_ = std::thread([&im] { im.run(); });
  signal_fd(im.spool_fd_);
  im.thread_.join();
  const SpoolStats st = stats_snapshot();
  LogLine(LogLevel::kInfo, "spool_stopped")
      .kv("dir", im.options_.dir)
      .kv("batches", st.batches)
      .kv("messages", st.messages)
      .kv("failed", st.failed);
}

// submit - worker w only: enqueue and wake the spool thread; false when full or stopping.
bool Spool::submit(unsigned w, CommitRequest& request) {
  Impl& im = *impl_;
  if (w >= im.workers_.size()) return false;
  WorkerChannel& ch = *im.workers_[w];
  ch.in_submit.fetch_add(1, std::memory_order_seq_cst);
  bool pushed = false;
  if (!im.closing_.load(std::memory_order_seq_cst)) {
    pushed = ch.requests.try_push(request);
    if (pushed) signal_fd(im.spool_fd_);
  }
  ch.in_submit.fetch_sub(1, std::memory_order_release);
  return pushed;
}

int Spool::completion_fd(unsigned w) const {
  return w < impl_->workers_.size() ? impl_->workers_[w]->event_fd : -1;
}

// pop_completion - worker w only; the caller reads completion_fd(w) to reset the wake-up.
bool Spool::pop_completion(unsigned w, CommitCompletion& out) {
  if (w >= impl_->workers_.size()) return false;
  std::optional<CommitCompletion> c = impl_->workers_[w]->completions.try_pop();
  if (!c) return false;
  out = std::move(*c);
  return true;
}

const RecoveryInfo& Spool::recovery() const { return impl_->recovery_; }

unsigned Spool::scheduler_channel() const { return static_cast<unsigned>(impl_->workers_.size() - 1); }

void Spool::set_store_notify_fd(int fd) { impl_->store_notify_fd_.store(fd); }

std::vector<DueEntry> Spool::due(int64_t now_us, size_t limit, const std::function<bool(uint64_t)>& skip) {
  Impl& im = *impl_;
  std::vector<DueEntry> out;
  std::shared_lock<std::shared_mutex> lock(im.db_mu_);
  if (im.db_ == nullptr || limit == 0) return out;
  std::unique_ptr<rocksdb::Iterator> it(im.db_->NewIterator(rocksdb::ReadOptions(), im.sched_cf_));
  for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() != 16) continue;  // not ours: ignore rather than crash
    const uint64_t due = get_be64(k.data());
    if (due > static_cast<uint64_t>(now_us)) break;  // keys are in due order
    const uint64_t id = get_be64(k.data() + 8);
    if (!skip(id)) out.push_back(DueEntry{static_cast<int64_t>(due), id});
  }
  return out;
}

bool Spool::load(uint64_t id, StoredMessage& out) {
  Impl& im = *impl_;
  std::shared_lock<std::shared_mutex> lock(im.db_mu_);
  if (im.db_ == nullptr) return false;
  const std::string key = be64(id);
  std::string env;
  if (!im.db_->Get(rocksdb::ReadOptions(), im.env_cf_, key, &env).ok()) return false;
  auto decoded = decode_envelope(env);
  if (!decoded || decoded->id != id) return false;
  if (!im.db_->Get(rocksdb::ReadOptions(), im.msg_cf_, key, &out.body).ok()) return false;
  out.envelope = std::move(*decoded);
  return true;
}

bool Spool::has_room_for(uint64_t bytes) const {
  const uint64_t min_free = impl_->options_.min_free_space;
  if (min_free == 0) return true;
  const uint64_t free = impl_->free_space_.load(std::memory_order_relaxed);
  return free >= min_free && free - min_free >= bytes;
}

const SpoolMetrics& Spool::metrics() const { return impl_->metrics_; }

bool Spool::writable() const {
  return impl_->last_write_ok_.load(std::memory_order_relaxed) && has_room_for(0);
}

// census - one pass over the schedule keys (active/deferred by due time) and the envelope
// keys (everything queued); held = queued without a schedule entry. Keys only are compared,
// so the cost is an iteration of two small column families.
QueueCensus Spool::census(int64_t now_us) {
  Impl& im = *impl_;
  QueueCensus out;
  std::shared_lock<std::shared_mutex> lock(im.db_mu_);
  if (im.db_ == nullptr) return out;
  uint64_t scheduled = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(im.db_->NewIterator(rocksdb::ReadOptions(), im.sched_cf_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 16) continue;
      ++scheduled;
      if (get_be64(it->key().data()) <= static_cast<uint64_t>(now_us)) {
        ++out.active;
      } else {
        ++out.deferred;
      }
    }
  }
  uint64_t queued = 0;
  std::unique_ptr<rocksdb::Iterator> it(im.db_->NewIterator(rocksdb::ReadOptions(), im.env_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8) continue;
    if (queued++ == 0) out.oldest_arrival_us = static_cast<int64_t>(queue_id_micros(get_be64(it->key().data())));
  }
  out.held = queued > scheduled ? queued - scheduled : 0;
  return out;
}

void Spool::for_each_envelope(const std::function<bool(const Envelope&)>& fn) {
  Impl& im = *impl_;
  std::shared_lock<std::shared_mutex> lock(im.db_mu_);
  if (im.db_ == nullptr) return;
  std::unique_ptr<rocksdb::Iterator> it(im.db_->NewIterator(rocksdb::ReadOptions(), im.env_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto env = decode_envelope(std::string_view(it->value().data(), it->value().size()));
    if (env && !fn(*env)) return;
  }
}

std::optional<Envelope> Spool::load_envelope(uint64_t id) {
  Impl& im = *impl_;
  std::shared_lock<std::shared_mutex> lock(im.db_mu_);
  if (im.db_ == nullptr) return std::nullopt;
  std::string bytes;
  if (!im.db_->Get(rocksdb::ReadOptions(), im.env_cf_, be64(id), &bytes).ok()) return std::nullopt;
  auto env = decode_envelope(bytes);
  if (!env || env->id != id) return std::nullopt;
  return env;
}

// find_due - the envelope's stamp names the entry; a record older than version 4 has no
// stamp, and then the schedule is scanned (rare: only messages queued before an upgrade).
std::optional<int64_t> Spool::find_due(const Envelope& env) {
  Impl& im = *impl_;
  std::shared_lock<std::shared_mutex> lock(im.db_mu_);
  if (im.db_ == nullptr) return std::nullopt;
  std::string ignored;
  if (env.next_attempt_us > 0 &&
      im.db_->Get(rocksdb::ReadOptions(), im.sched_cf_, sched_key(static_cast<uint64_t>(env.next_attempt_us), env.id),
                  &ignored).ok()) {
    return env.next_attempt_us;
  }
  std::unique_ptr<rocksdb::Iterator> it(im.db_->NewIterator(rocksdb::ReadOptions(), im.sched_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() == 16 && get_be64(it->key().data() + 8) == env.id) {
      return static_cast<int64_t>(get_be64(it->key().data()));
    }
  }
  return std::nullopt;
}

SpoolStats Spool::stats_snapshot() const {
  std::lock_guard<std::mutex> lock(impl_->stats_mu_);
  return impl_->stats_;
}

// ---- read-only access ----------------------------------------------------------------

namespace {

// Reader - a read-only (or secondary) instance opened on a spool another process may own.
struct Reader {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, env[, msg]
  std::string secondary_dir;                          // removed on close when used

  Reader() = default;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader() {
    if (db != nullptr) {
      for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
      delete db;
    }
    if (!secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir, ec);
    }
  }
  rocksdb::ColumnFamilyHandle* env_cf() const { return handles[1]; }
  rocksdb::ColumnFamilyHandle* msg_cf() const { return handles[2]; }
};

// open_reader - a read-only instance of the spool in dir. OpenForReadOnly first: it takes
// no lock and writes nothing into dir, so it works while correod owns the spool. Against a
// live primary it can fail transiently (a WAL or MANIFEST deleted while it was being read),
// so it is retried. If it still fails and the caller needs envelopes only, a secondary
// instance (private temporary directory, caught up with the primary) is the fallback. Bodies
// are never read through a secondary: RocksDB's integrated BlobDB does not support secondary
// instances (facebook/rocksdb#13371; reading a blob through one crashes 7.8.3), so the msg
// CF is opened read-only or not at all.
Result<std::unique_ptr<Reader>> open_reader(const std::string& dir, bool bodies) {
  rocksdb::DBOptions o;
  o.create_if_missing = false;
  o.max_open_files = -1;  // required by secondary mode; keeps files readable if the daemon deletes them
  o.info_log = std::make_shared<NullLogger>();
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(o, dir, &names);
  if (!s.ok()) return Error{"not a spool: " + dir + " (" + s.ToString() + ")"};
  for (const char* need : {kEnvCf, kMsgCf}) {
    if (std::find(names.begin(), names.end(), need) == names.end()) {
      return Error{"not a spool: " + dir + " (no '" + need + "' column family)"};
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, spool_cf_options(rocksdb::kDefaultColumnFamilyName)},
      {kEnvCf, spool_cf_options(kEnvCf)}};
  if (bodies) cfs.emplace_back(kMsgCf, spool_cf_options(kMsgCf));

  auto reader = std::make_unique<Reader>();
  for (int attempt = 0; attempt < kReadOnlyAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    s = rocksdb::DB::OpenForReadOnly(o, dir, cfs, &reader->handles, &reader->db);
    if (s.ok()) return reader;
    reader->db = nullptr;
    reader->handles.clear();
  }
  const std::string read_only_error = "cannot open spool " + dir + " read-only: " + s.ToString();
  if (bodies) return Error{read_only_error};

  std::string tmpl = (std::filesystem::temp_directory_path() / "correo-spool-reader-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Error{read_only_error};
  reader->secondary_dir = tmpl;
  s = rocksdb::DB::OpenAsSecondary(o, dir, tmpl, cfs, &reader->handles, &reader->db);
  if (!s.ok()) {
    reader->db = nullptr;
    reader->handles.clear();
    return Error{read_only_error + "; as secondary: " + s.ToString()};
  }
  s = reader->db->TryCatchUpWithPrimary();
  if (!s.ok()) return Error{"cannot catch up with spool " + dir + ": " + s.ToString()};
  return reader;
}

}  // namespace

// read_envelopes - every decodable envelope in id order; corrupt records are logged, skipped.
Result<std::vector<Envelope>> read_envelopes(const std::string& dir) {
  Result<std::unique_ptr<Reader>> r = open_reader(dir, /*bodies=*/false);
  if (!r) return r.error();
  std::vector<Envelope> out;
  rocksdb::Status s = scan_envelopes(
      (*r)->db, (*r)->env_cf(), [&](Envelope&& env) { out.push_back(std::move(env)); },
      [&](std::string_view key, const char* reason) { log_corrupt(dir, key, reason); });
  if (!s.ok()) return Error{"reading spool " + dir + ": " + s.ToString()};
  return out;
}

// read_message - one message's envelope and body; an error names a missing or corrupt id.
Result<StoredMessage> read_message(const std::string& dir, uint64_t id) {
  Result<std::unique_ptr<Reader>> r = open_reader(dir, /*bodies=*/true);
  if (!r) return r.error();
  Reader& rd = **r;
  const std::string key = be64(id);
  const std::string name = format_queue_id(id);
  std::string env_bytes;
  rocksdb::Status s = rd.db->Get(rocksdb::ReadOptions(), rd.env_cf(), key, &env_bytes);
  if (s.IsNotFound()) return Error{"no message " + name + " in " + dir};
  if (!s.ok()) return Error{"reading envelope " + name + ": " + s.ToString()};
  std::optional<Envelope> env = decode_envelope(env_bytes);
  if (!env || env->id != id) return Error{"corrupt envelope record for " + name};
  StoredMessage out;
  out.envelope = std::move(*env);
  s = rd.db->Get(rocksdb::ReadOptions(), rd.msg_cf(), key, &out.body);
  if (s.IsNotFound()) return Error{"message " + name + " has an envelope but no body"};
  if (!s.ok()) return Error{"reading body " + name + ": " + s.ToString()};
  return out;
}

}  // namespace correo
