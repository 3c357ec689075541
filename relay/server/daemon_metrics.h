// daemon_metrics.h - correod's metrics: the per-thread cells, summed and named at scrape.
//
// Workers, the spool and the scheduler each write their own cells (metrics/daemon_cells.h)
// with no lock. A scrape (the HTTP server's thread) reads them all, adds the queue census
// and the policy counters, and renders Prometheus text through prometheus-cpp: the rare,
// multi-writer metrics (build info, reloads, admin requests) live in a prometheus::Registry,
// the hot ones are turned into MetricFamily values by a Collectable. Names and labels are
// listed in metrics/CATALOGUE.md.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/daemon_cells.h"
#include "queue/spool.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace correo {

class Policy;
class Scheduler;

// DaemonTotals - sums over workers, for the shutdown log line and `correoctl stats`.
struct DaemonTotals {
  uint64_t connections = 0;
  uint64_t refused = 0;
  uint64_t messages_received = 0;
  uint64_t messages_accepted = 0;
  uint64_t received_bytes = 0;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumed = 0;
  uint64_t tls_failed = 0;
  uint64_t outbound_connections = 0;
  uint64_t outbound_reused = 0;
  uint64_t outbound_transactions = 0;
  uint64_t delivered = 0;
  uint64_t deferred = 0;
  uint64_t bounced = 0;
};

class DaemonMetrics {
 public:
  DaemonMetrics(std::vector<std::string> listener_names, unsigned workers);
  ~DaemonMetrics();

  WorkerMetrics& worker(unsigned w) { return *workers_[w]; }
  // attach - the sources read at scrape time; all outlive every scrape (the HTTP server
  // stops before they are destroyed).
  void attach(Spool* spool, const Scheduler* scheduler, const Policy* policy);

  void set_ready(bool ready) { ready_.store(ready, std::memory_order_relaxed); }
  bool ready() const { return ready_.load(std::memory_order_relaxed); }
  void count_reload(bool ok);
  void count_admin(std::string_view command);

  // render - the /metrics body (Prometheus text format 0.0.4).
  std::string render();
  // census - the queue by state, at most one spool pass per second however many callers.
  QueueCensus census();
  DaemonTotals totals() const;

  DaemonMetrics(const DaemonMetrics&) = delete;
  DaemonMetrics& operator=(const DaemonMetrics&) = delete;

 private:
  class Collector;

  const std::vector<std::string> listener_names_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  Spool* spool_ = nullptr;
  const Scheduler* scheduler_ = nullptr;
  const Policy* policy_ = nullptr;
  std::atomic<bool> ready_{false};
  const double start_time_;

  std::mutex census_mu_;
  QueueCensus census_;
  int64_t census_at_us_ = 0;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* reloads_ = nullptr;
  prometheus::Family<prometheus::Counter>* admin_ = nullptr;
  std::shared_ptr<Collector> collector_;
};

}  // namespace correo
