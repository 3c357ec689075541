// spool.h - the durable queue: RocksDB owned by one spool thread, group commit.
//
// Thread rules: workers never call RocksDB. A worker hands a CommitRequest to submit()
// (its own lock-free SPSC queue, then an eventfd wake-up); the spool thread drains every
// worker's queue into ONE WriteBatch, writes it with sync=true (one WAL fsync for the whole
// batch: group commit), and posts a CommitCompletion back to each worker's SPSC queue,
// waking it through that worker's eventfd. A worker sends "250 queued" only after its
// completion says ok: no acknowledgement without durability.
//
// Layout (column families): msg (id -> body), env (id -> Envelope record), sched (big-endian
// next-attempt µs + id -> empty, so a range scan yields due work in order). Keys are the
// 8-byte big-endian queue id. A failed write (disk full, I/O error) fails every request of
// that batch; the daemon keeps running. Before the next batch the spool calls RocksDB
// Resume(), and when that does not clear the error (RocksDB 7.8 keeps failing after a WAL
// append error) it closes and reopens the DB; a reopen that fails fails that batch too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "metrics/daemon_cells.h"
#include "queue/envelope.h"
#include "relay/common/histogram.h"
#include "relay/common/result.h"

namespace correo {

struct SpoolOptions {
  std::string dir;               // RocksDB directory, created when missing
  unsigned workers = 1;          // number of worker queues
  size_t queue_capacity = 4096;  // per worker, each direction: back-pressure beyond
  bool sync = true;              // false only for benchmarks of the ceiling; never in production
  // Free bytes the filesystem must keep (queue.min_free_space); a batch that would go below
  // it fails with kNoSpace without touching RocksDB. 0 = no check.
  uint64_t min_free_space = 0;
  // Size of one memtable of message bodies (queue.body_memtable). A body delivered and
  // deleted before its memtable is flushed never reaches a blob file; bigger memtables
  // make that the common case (bench/RESULTS.md). Up to 3 exist at once.
  uint64_t body_memtable = 128u << 20;
};

struct StoredMessage {
  Envelope envelope;
  std::string body;
};

// CommitOp - what a request does, all in one WriteBatch with the rest of its batch.
//   kStore:  a new message: msg + env + sched(due, id) (due = new_due_us, 0 = now); a held
//            envelope (policy HOLD) gets no sched entry.
//   kUpdate: the scheduler's verdict: env rewritten, sched(old_due_us) -> sched(new_due_us).
//   kRemove: the message is done: msg, env and sched(old_due_us) deleted.
// kUpdate/kRemove may carry new messages (bounces) stored atomically with them, so a crash
// can never lose a bounce whose original is already gone.
enum class CommitOp : uint8_t { kStore, kUpdate, kRemove };

struct CommitRequest {
  CommitOp op = CommitOp::kStore;
  uint64_t cookie = 0;  // opaque to the spool: the worker's session tag, echoed back
  Envelope envelope;    // envelope.id is the queue id
  std::string body;     // kStore: exactly the bytes to store (our Received: header + content)
  std::chrono::steady_clock::time_point submitted;
  int64_t old_due_us = 0;
  int64_t new_due_us = 0;
  // kUpdate/kRemove: whether the message has a schedule entry now (false: held) and whether
  // it keeps one (false: correoctl hold). kStore schedules unless envelope.held.
  bool old_scheduled = true;
  bool new_scheduled = true;
  std::vector<StoredMessage> add;
};

// QueueCensus - the queue by state: active = due now (or being delivered), deferred = due
// later, held = no schedule entry.
struct QueueCensus {
  uint64_t active = 0;
  uint64_t deferred = 0;
  uint64_t held = 0;
  int64_t oldest_arrival_us = 0;  // from the oldest queue id; 0 when empty
};

// DueEntry - one key of the sched column family.
struct DueEntry {
  int64_t due_us = 0;
  uint64_t id = 0;
};

enum class CommitStatus : uint8_t { kOk, kIoError, kNoSpace, kShuttingDown };

struct CommitCompletion {
  uint64_t cookie = 0;
  uint64_t id = 0;
  CommitStatus status = CommitStatus::kOk;
  std::string error;  // RocksDB's text, for the log; never sent to clients
};

struct RecoveryInfo {
  uint64_t messages = 0;
  uint64_t max_id = 0;           // floor for QueueIdGenerator
  uint64_t corrupt = 0;          // envelope records that failed to decode (left in place, logged)
  std::vector<uint64_t> ids;     // every recovered id, in order
};

// SpoolStats - written only by the spool thread; read after stop() or as a snapshot.
struct SpoolStats {
  uint64_t batches = 0;
  uint64_t messages = 0;
  uint64_t failed = 0;
  Histogram batch_size;        // messages per WriteBatch
  Histogram write_latency_us;  // DB::Write(sync) duration
};

class Spool {
 public:
  static Result<std::unique_ptr<Spool>> open(const SpoolOptions& options);
  ~Spool();  // stop() if running, then close the DB

  void start();  // launch the spool thread
  void stop();   // commit what was submitted, answer it, join

  // Scheduler side (the delivery scheduler thread; RocksDB reads are thread-safe, and a
  // shared lock keeps them off a DB being reopened after a write failure).
  unsigned scheduler_channel() const;  // the channel index for submit()/pop_completion()
  // set_store_notify_fd - an eventfd signalled after every batch that stored new messages
  // (the scheduler picks new mail up at once instead of on its next tick).
  void set_store_notify_fd(int fd);
  // due - up to `limit` sched entries with due_us <= now_us, in due order, skipping ids for
  // which skip(id) is true.
  std::vector<DueEntry> due(int64_t now_us, size_t limit, const std::function<bool(uint64_t)>& skip);
  // load - envelope and body of a queued message; false when missing or corrupt.
  bool load(uint64_t id, StoredMessage& out);

  // Worker side: call only from worker `w`'s own thread.
  bool submit(unsigned w, CommitRequest& request);  // false = queue full (request untouched)
  int completion_fd(unsigned w) const;              // eventfd: readable when completions wait
  bool pop_completion(unsigned w, CommitCompletion& out);

  // has_room_for - cheap (one atomic load), callable from any thread: would `bytes` more
  // keep the filesystem above min_free_space? Refreshed every batch and every second.
  bool has_room_for(uint64_t bytes) const;

  const RecoveryInfo& recovery() const;
  SpoolStats stats_snapshot() const;  // safe after stop(); approximate while running
  const SpoolMetrics& metrics() const;  // the spool thread's cells; any thread may read
  // writable - the last write succeeded and the filesystem is above min_free_space (readiness).
  bool writable() const;

  // Operator reads (metrics endpoint, correoctl): any thread, O(queue), never the hot path.
  QueueCensus census(int64_t now_us);
  void for_each_envelope(const std::function<bool(const Envelope&)>& fn);  // in id order; false stops
  std::optional<Envelope> load_envelope(uint64_t id);
  std::optional<int64_t> find_due(const Envelope& env);  // its schedule entry's due time; none = held

  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

 private:
  struct Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Read-only access for tools (correo-spool) and tests: works while correod runs.
Result<std::vector<Envelope>> read_envelopes(const std::string& dir);
Result<StoredMessage> read_message(const std::string& dir, uint64_t id);

}  // namespace correo
