// scheduler.h - the delivery scheduler thread: due messages out, verdicts back to the spool.
//
// Thread rules: one scheduler thread. It reads the spool directly (RocksDB reads are
// thread-safe: Spool::due / Spool::load) and writes ONLY through the spool thread's group
// commit (Spool::submit on the scheduler channel), so the spool thread stays the single
// writer. Workers receive DeliveryJobs over lock-free SPSC queues (woken through their spool
// completion eventfd) and return DeliveryOutcomes the same way (waking this thread's
// eventfd). Nothing here blocks a worker.
//
// Per message: load -> group pending recipients by next hop -> jobs -> (all outcomes back)
// -> verdict: every recipient final -> kRemove; else kUpdate with the next attempt after an
// exponential backoff with jitter (queue.retry_initial doubling to queue.retry_max), never
// later than arrival + queue.max_lifetime, when what is still pending fails (4.4.7). Failed
// recipients get an RFC 3464 bounce to the sender (never for <>, NOTIFY honoured), committed
// in the same batch as the verdict. A message stays "in flight" (not rescheduled) until its
// verdict is durable. At most delivery.in_flight_messages messages are in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <optional>
#include <mutex>
#include <string_view>
#include <memory>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "metrics/daemon_cells.h"
#include "queue/queue_id.h"
#include "relay/admin/admin_backend.h"
#include "queue/spool.h"
#include "relay/common/spsc_queue.h"
#include "relay/config/config.h"
#include "relay/delivery/delivery_types.h"
#include "relay/delivery/dsn.h"
#include "relay/config/live_config.h"
#include "relay/delivery/route.h"

namespace correo {

struct SchedulerStats {
  uint64_t dispatched = 0;  // messages handed out
  uint64_t delivered = 0;   // recipients
  uint64_t deferred = 0;    // recipient attempts that will be retried
  uint64_t failed = 0;      // recipients failed (bounced or not)
  uint64_t bounces = 0;     // DSNs queued
};

class Scheduler {
 public:
  // config: the running configuration; routes, retry times, lifetimes and limits follow each
  // SIGHUP from the next scheduling decision on. The `domain` labels of the delivery metrics
  // are fixed at start (a domain added later counts as "other" until a restart).
  Scheduler(const Snapshot<Config>& config, Spool& spool, unsigned workers, uint64_t id_floor);
  ~Scheduler();

  void start();
  void stop();  // outcomes of jobs still out are not waited for: their messages stay due

  // Worker side (worker w's own thread).
  bool pop_job(unsigned w, DeliveryJob& out);
  void push_outcome(unsigned w, DeliveryOutcome&& outcome);
  // worker_for - the worker owning a next hop's queue (stable hash of its key).
  unsigned worker_for(const NextHop& hop) const;

  // flush - make deferred mail due now (all, or one recipient domain's): correoctl/ETRN.
  void request_flush() { flush_.store(true, std::memory_order_relaxed); wake(); }
  // request_flush_domain - ETRN: deferred mail with a pending recipient in domain (and its
  // subdomains when asked) becomes due now. Any thread; false when too many are pending.
  bool request_flush_domain(std::string_view domain, bool subdomains);

  SchedulerStats stats() const;  // exact after stop()
  const SchedulerMetrics& metrics() const { return metrics_; }  // the scheduler thread's cells
  // domain_labels - the `domain` label values of correo_deliveries_total, "other" last.
  const std::vector<std::string>& domain_labels() const { return domain_labels_; }

  // admin - correoctl hold/release/delete/bounce (any thread). Done on the scheduler thread,
  // which owns the in-flight state: a message being delivered gets the action when its
  // attempt ends (kPending); otherwise this waits until the change is durable (bounded).
  ActionReply admin(AdminAction action, uint64_t id);

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

 private:
  struct InFlight {
    int64_t due_us = 0;
    std::shared_ptr<MessageForDelivery> message;
    uint32_t jobs_total = 0;
    uint32_t jobs_done = 0;
    std::vector<ServerReply> replies;  // per recipient index; code 0 + empty = not tried
    std::vector<std::string> remotes;  // per recipient index
    std::vector<std::string> tls;      // per recipient index: the connection's TLS, "" = clear
    std::vector<bool> peer_dsn;        // per recipient index
    std::vector<std::string> dsn_status;  // per recipient: a status that overrides the reply's
    std::vector<std::vector<uint32_t>> job_rcpts;  // per job: its recipient indices
    bool committing = false;           // verdict submitted to the spool
    std::optional<AdminAction> admin;  // correoctl action applied by the verdict
    bool scheduled = true;             // has a schedule entry (false: a held message bounced)
  };
  struct AdminRequest {
    AdminAction action;
    uint64_t id;
    std::promise<ActionReply> reply;
  };
  struct WorkerQueues {
    explicit WorkerQueues(size_t capacity) : jobs(capacity), outcomes(capacity) {}
    SpscQueue<DeliveryJob> jobs;          // scheduler -> worker
    SpscQueue<DeliveryOutcome> outcomes;  // worker -> scheduler
    std::deque<DeliveryJob> overflow;     // scheduler only: jobs that did not fit yet
  };

  void run();
  void wake();
  void dispatch_due(int64_t now_us);
  void flush_domains();
  void dispatch(uint64_t id, int64_t due_us, StoredMessage&& stored);
  void send_job(DeliveryJob&& job);
  void apply(DeliveryOutcome&& outcome);
  void decide(uint64_t id, InFlight& f, int64_t now_us);
  void drain_spool_completions();
  // scheduler_admin.cc
  void take_admin_requests();
  void run_admin(AdminRequest& request);
  void commit_admin(uint64_t id, CommitRequest& req, AdminRequest& request);
  size_t domain_label(std::string_view address) const;
  void count_delivery(DeliveryResult result, const Envelope& env, const Recipient& r, int64_t now);
  int64_t next_attempt(const Envelope& env, int64_t now_us);
  StoredMessage make_dsn(const InFlight& f, const Envelope& env, const std::vector<uint32_t>& rcpts,
                         DsnAction action, int64_t now_us);

  LiveConfig config_;  // the scheduler thread's view, refreshed each loop turn
  Spool& spool_;
  const unsigned workers_;
  QueueIdGenerator bounce_ids_;
  std::vector<std::unique_ptr<WorkerQueues>> queues_;
  std::unordered_map<uint64_t, InFlight> in_flight_;
  std::vector<int> worker_wake_fds_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> flush_{false};
  // ETRN requests: rare (an admin-rate command), so a mutex is fine here; bounded.
  std::mutex flush_mu_;
  std::vector<std::pair<std::string, bool>> flush_domains_;
  int64_t last_scan_us_ = 0;
  bool scan_wanted_ = false;  // woken since the last scan
  std::thread thread_;
  std::mt19937_64 rng_;
  SchedulerStats stats_;
  std::vector<std::string> domain_labels_;
  std::unordered_map<std::string, size_t> domain_index_;
  SchedulerMetrics metrics_;
  // correoctl requests: rare, so a mutex-guarded bounded queue (kBusy beyond kAdminQueue).
  std::mutex admin_mu_;
  std::deque<std::unique_ptr<AdminRequest>> admin_requests_;
  // Scheduler thread only: actions waiting for an in-flight message's verdict, and admin
  // commits waiting for their completion (keyed by queue id, the commit cookie).
  std::unordered_map<uint64_t, AdminAction> pending_admin_;
  std::unordered_map<uint64_t, std::unique_ptr<AdminRequest>> admin_waiting_;
};

}  // namespace correo
