// worker.h - one worker thread: its io_uring, its listening sockets, its sessions.
//
// Thread rules: everything here is touched only by the worker's own thread, except
// request_stop() (an atomic flag) and stats() after join(). The worker never blocks on
// disk, DNS or a lock: messages go to the spool through Spool::submit (lock-free SPSC) and
// come back as completions announced on an eventfd that the ring reads.
//
// Per connection at most one receive and one send are in flight. Receives use the
// provided-buffer ring (no memory held by idle connections); without it (old kernels) each
// connection gets its own receive buffer. A connection slot is freed only when none of its
// operations and no spool commit are outstanding; CQEs for reused slots are rejected by the
// generation in their tag (reactor/tag.h).
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "metrics/daemon_cells.h"
#include "queue/queue_id.h"
#include "queue/spool.h"
#include "relay/auth/auth_service.h"
#include "relay/auth/users.h"
#include "relay/common/histogram.h"
#include "relay/common/snapshot.h"
#include "relay/config/live_config.h"
#include "relay/policy/policy.h"
#include "relay/reactor/ring.h"
#include "relay/reactor/tag.h"
#include "relay/server/milter_runner.h"
#include "relay/server/outbound.h"
#include "relay/server/listener.h"
#include "relay/smtp/session.h"
#include "tls/tls_context.h"

namespace correo {

// WorkerServices - what workers share that SIGHUP may replace, and the AUTH verifier.
// Each may be null: no certificate = no TLS, no users = no AUTH.
struct WorkerServices {
  const TlsContextSlot* tls = nullptr;
  AuthService* auth = nullptr;
  const Snapshot<UserTable>* users = nullptr;  // for submission.enforce_sender
  Policy* policy = nullptr;                    // anti-spam checks (null = none)
};

// WorkerStats - the shutdown report's exact latency quantiles (the counters are in the
// worker's WorkerMetrics block, which the metrics endpoint reads while running).
struct WorkerStats {
  Histogram commit_latency_us;  // end of data -> 250 (spool round trip)
};

class Worker {
 public:
  // metrics: this worker's own cells (written only by its thread, read by scrapes).
  // config: the running configuration; new sessions and deliveries take each SIGHUP's.
  Worker(unsigned index, const Snapshot<Config>& config, Spool& spool, Scheduler& scheduler, std::vector<ListenSocket> sockets,
         uint64_t id_floor, WorkerMetrics& metrics, WorkerServices services = {});
  ~Worker();

  // start - launch the thread; returns once its ring is set up (or failed to be).
  Status start();
  void request_stop() { stop_.store(true, std::memory_order_relaxed); }
  void join();
  const WorkerStats& stats() const { return stats_; }  // valid after join()

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

 private:
  struct Conn;
  using Clock = std::chrono::steady_clock;

  void run(std::promise<Status>& ready);
  Status setup();
  void loop();
  void handle(io_uring_cqe* cqe);

  void arm_accept(size_t listener);
  void on_accept(size_t listener, int res, uint32_t flags);
  void arm_recv(Conn& c);
  void on_recv(Conn& c, int res, uint32_t flags);
  void on_tls_recv(Conn& c, std::string_view ciphertext);
  bool begin_tls(Conn& c);
  void flush(Conn& c);
  void on_send(Conn& c, int res);
  void service(Conn& c);
  void begin_close(Conn& c);
  void maybe_free(Conn& c);
  void arm_tick();
  void on_tick();
  void refresh_deadline(Conn& c, size_t bytes);
  void arm_spool_wake();
  void on_spool_wake();
  void take_auth_results();

  // Connection screening before the greeting (worker_screen.cc).
  void screen(Conn& c, const ListenerConfig& listener);
  void start_dnsbl(Conn& c, const IpAddress& ip);
  void on_dnsbl_answer(Tag tag, size_t zone, const AddressAnswer& answer);
  void screen_tick(Conn& c, Clock::time_point now);
  void finish_screening(Conn& c);
  void release_admission(Conn& c);
  // Policy queries, greylisting, milters and the tarpit (worker_policy.cc).
  void take_greylist_results();
  bool hold_for_tarpit(Conn& c);
  void tarpit_tick(Conn& c, Clock::time_point now);
  void begin_shutdown();
  Conn* lookup(Tag tag);
  Conn& allocate();

  const unsigned index_;
  LiveConfig config_;  // refreshed at the top of each loop turn
  Spool& spool_;
  Scheduler& scheduler_;
  std::vector<ListenSocket> sockets_;
  QueueIdGenerator ids_;
  WorkerServices services_;
  SnapshotCache<TlsContext> tls_ctx_;
  SnapshotCache<UserTable> users_;
  SnapshotCache<PolicyTables> policy_tables_;
  // DNSBL zones (distinct) and, per zone, the sites that use it (policy.dnsbl.sites).
  std::vector<std::string> dnsbl_zones_;
  std::vector<std::vector<const DnsblSite*>> dnsbl_sites_by_zone_;
  std::string tls_plain_;  // scratch: plaintext of one receive, handed to the session
  std::atomic<bool> stop_{false};
  bool shutting_down_ = false;
  Clock::time_point shutdown_deadline_;
  std::thread thread_;

  std::unique_ptr<Ring> ring_;
  std::unique_ptr<BufferRing> buffers_;  // null when the kernel lacks buffer rings
  std::unique_ptr<Outbound> outbound_;    // delivery: destinations, connections, DNS
  std::unique_ptr<MilterRunner> milters_;  // policy.milter conversations
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<uint32_t> free_slots_;
  std::vector<Tag> starved_;  // receives that hit -ENOBUFS, re-armed after the batch
  size_t active_ = 0;
  uint64_t spool_wake_value_ = 0;
  __kernel_timespec tick_{};
  Clock::time_point tick_armed_{};  // event-loop lag = how late the tick fires
  WorkerStats stats_;
  WorkerMetrics& metrics_;
};

}  // namespace correo
