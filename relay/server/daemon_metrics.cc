// daemon_metrics.cc - summing the per-thread cells into Prometheus families at scrape time.
#include "relay/server/daemon_metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <limits>

#include "relay/common/clock.h"
#include "relay/delivery/scheduler.h"
#include "relay/policy/policy.h"

namespace correo {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

constexpr std::array<const char*, kCommandLabels> kCommandNames = {
    "helo", "ehlo", "mail", "rcpt", "data", "bdat", "rset", "noop", "quit", "starttls", "auth", "vrfy",
    "expn", "help", "etrn", "unknown"};
constexpr std::array<const char*, kMessageRejectLabels> kMessageRejectNames = {"size", "hops", "spool", "syntax",
                                                                                "other"};
constexpr std::array<const char*, kTlsFailureLabels> kTlsFailureNames = {"handshake", "verify", "unavailable"};
constexpr std::array<const char*, kDnsTypeLabels> kDnsTypeNames = {"mx", "a", "aaaa"};
constexpr std::array<const char*, kDeliveryResults> kDeliveryResultNames = {"delivered", "deferred", "bounced"};
constexpr std::array<const char*, 3> kDsnNames = {"failed", "delayed", "relayed"};
constexpr std::array<const char*, 4> kReplyClasses = {"2xx", "3xx", "4xx", "5xx"};
// correoctl commands counted by name; anything else is "other" (bounded labels).
constexpr std::array<std::string_view, 8> kAdminCommands = {"list", "show", "flush", "hold",
                                                            "release", "delete", "bounce", "stats"};

// Policy checks that act on a connection before or at the greeting; the rest refuse a
// transaction or a recipient.
bool connection_stage(size_t reason) {
  for (Check c : {Check::kClientAccess, Check::kConnectionLimit, Check::kConnectionRate, Check::kPregreet,
                  Check::kDnsbl}) {
    if (reason == reason_index(c)) return true;
  }
  return false;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_value(MetricFamily& f, double v, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  f.metric.push_back(std::move(m));
}

// add_histogram - the shards' buckets summed, made cumulative, with +Inf last.
void add_histogram(MetricFamily& f, const std::vector<const BucketHistogram*>& shards, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (shards.empty()) return;
  const auto bounds = shards.front()->bounds();
  uint64_t cumulative = 0;
  double sum = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    for (const BucketHistogram* h : shards) cumulative += h->bucket(i);
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  for (const BucketHistogram* h : shards) sum += h->sum();
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = sum;
  f.metric.push_back(std::move(m));
}

template <typename Fn>
uint64_t sum_workers(const std::vector<std::unique_ptr<WorkerMetrics>>& workers, Fn fn) {
  uint64_t total = 0;
  for (const auto& w : workers) total += fn(*w);
  return total;
}

}  // namespace

class DaemonMetrics::Collector : public prometheus::Collectable {
 public:
  explicit Collector(DaemonMetrics& d) : d_(d) {}
  std::vector<MetricFamily> Collect() const override;

 private:
  void inbound(std::vector<MetricFamily>& out) const;
  void queue_and_delivery(std::vector<MetricFamily>& out) const;
  void network(std::vector<MetricFamily>& out) const;
  DaemonMetrics& d_;
};

std::vector<MetricFamily> DaemonMetrics::Collector::Collect() const {
  std::vector<MetricFamily> out;
  MetricFamily ready = family("correo_ready", "1 when /readyz answers 200", MetricType::Gauge);
  add_value(ready, d_.ready() ? 1 : 0);
  out.push_back(std::move(ready));
  inbound(out);
  queue_and_delivery(out);
  network(out);
  return out;
}

void DaemonMetrics::Collector::inbound(std::vector<MetricFamily>& out) const {
  const auto& ws = d_.workers_;
  MetricFamily open = family("correo_connections_open", "Inbound SMTP connections now", MetricType::Gauge);
  MetricFamily accepted = family("correo_connections_accepted_total", "Inbound connections accepted", MetricType::Counter);
  MetricFamily msgs = family("correo_messages_accepted_total", "Messages acknowledged with 250 (durable)",
                             MetricType::Counter);
  for (size_t l = 0; l < d_.listener_names_.size(); ++l) {
    const Labels labels = {{"listener", d_.listener_names_[l]}};
    int64_t now_open = 0;
    for (const auto& w : ws) now_open += w->connections_open[l].value();
    add_value(open, static_cast<double>(now_open), labels);
    add_value(accepted, static_cast<double>(sum_workers(ws, [l](const WorkerMetrics& w) { return w.connections_accepted[l].value(); })), labels);
    add_value(msgs, static_cast<double>(sum_workers(ws, [l](const WorkerMetrics& w) { return w.messages_accepted[l].value(); })), labels);
  }
  out.push_back(std::move(open));
  out.push_back(std::move(accepted));

  MetricFamily conn_rejected = family("correo_connections_rejected_total",
                                      "Connections refused before or at the greeting", MetricType::Counter);
  MetricFamily msg_rejected = family("correo_messages_rejected_total", "Transactions or recipients refused",
                                     MetricType::Counter);
  if (d_.policy_) {
    for (size_t r = 0; r < kRejectReasonCount; ++r) {
      add_value(connection_stage(r) ? conn_rejected : msg_rejected, static_cast<double>(d_.policy_->rejected(r)),
                {{"reason", std::string(reason_name(r))}});
    }
  }
  add_value(conn_rejected, static_cast<double>(sum_workers(ws, [](const WorkerMetrics& w) { return w.refused_capacity.value(); })),
            {{"reason", "capacity"}});
  add_value(conn_rejected, static_cast<double>(sum_workers(ws, [](const WorkerMetrics& w) { return w.refused_shutdown.value(); })),
            {{"reason", "shutdown"}});
  for (size_t i = 0; i < kMessageRejectLabels; ++i) {
    add_value(msg_rejected, static_cast<double>(sum_workers(ws, [i](const WorkerMetrics& w) { return w.messages_rejected[i].value(); })),
              {{"reason", kMessageRejectNames[i]}});
  }
  out.push_back(std::move(conn_rejected));

  MetricFamily commands = family("correo_smtp_commands_total", "SMTP commands received", MetricType::Counter);
  for (size_t i = 0; i < kCommandLabels; ++i) {
    add_value(commands, static_cast<double>(sum_workers(ws, [i](const WorkerMetrics& w) { return w.commands[i].value(); })),
              {{"command", kCommandNames[i]}});
  }
  out.push_back(std::move(commands));
  MetricFamily replies = family("correo_smtp_replies_total", "SMTP replies sent, by class", MetricType::Counter);
  for (size_t i = 0; i < kReplyClasses.size(); ++i) {
    add_value(replies, static_cast<double>(sum_workers(ws, [i](const WorkerMetrics& w) { return w.replies[i].value(); })),
              {{"class", kReplyClasses[i]}});
  }
  out.push_back(std::move(replies));

  MetricFamily received = family("correo_messages_received_total",
                                 "Transactions that reached the end of DATA or BDAT LAST", MetricType::Counter);
  add_value(received, static_cast<double>(sum_workers(ws, [](const WorkerMetrics& w) { return w.messages_received.value(); })));
  out.push_back(std::move(received));
  out.push_back(std::move(msgs));
  out.push_back(std::move(msg_rejected));
  MetricFamily bytes = family("correo_received_bytes_total", "Message bytes acknowledged", MetricType::Counter);
  add_value(bytes, static_cast<double>(sum_workers(ws, [](const WorkerMetrics& w) { return w.received_bytes.value(); })));
  out.push_back(std::move(bytes));
  MetricFamily commit = family("correo_message_commit_duration_seconds",
                               "End of data to 250: the spool round trip", MetricType::Histogram);
  std::vector<const BucketHistogram*> shards;
  for (const auto& w : ws) shards.push_back(&w->commit_duration);
  add_histogram(commit, shards);
  out.push_back(std::move(commit));
  MetricFamily lag = family("correo_worker_loop_lag_seconds", "How late a worker's tick fired (event-loop lag)",
                            MetricType::Histogram);
  shards.clear();
  for (const auto& w : ws) shards.push_back(&w->loop_lag);
  add_histogram(lag, shards);
  out.push_back(std::move(lag));
}

void DaemonMetrics::Collector::queue_and_delivery(std::vector<MetricFamily>& out) const {
  if (d_.spool_) {
    const SpoolMetrics& sm = d_.spool_->metrics();
    MetricFamily batch = family("correo_spool_commit_batch_size", "Messages per group-commit batch", MetricType::Histogram);
    add_histogram(batch, {&sm.batch_size});
    out.push_back(std::move(batch));
    MetricFamily fsync = family("correo_spool_fsync_duration_seconds", "One synced RocksDB write (WAL fsync)",
                                MetricType::Histogram);
    add_histogram(fsync, {&sm.fsync_duration});
    out.push_back(std::move(fsync));
    MetricFamily failures = family("correo_spool_commit_failures_total", "Batches whose write failed", MetricType::Counter);
    add_value(failures, static_cast<double>(sm.commit_failures.value()));
    out.push_back(std::move(failures));

    const QueueCensus c = d_.census();
    MetricFamily depth = family("correo_queue_messages", "Messages in the queue by state", MetricType::Gauge);
    add_value(depth, static_cast<double>(c.active), {{"state", "active"}});
    add_value(depth, static_cast<double>(c.deferred), {{"state", "deferred"}});
    add_value(depth, static_cast<double>(c.held), {{"state", "held"}});
    out.push_back(std::move(depth));
    MetricFamily oldest = family("correo_queue_oldest_message_age_seconds", "Age of the oldest queued message",
                                 MetricType::Gauge);
    const int64_t now = unix_now_us();
    add_value(oldest, c.oldest_arrival_us > 0 && now > c.oldest_arrival_us ? (now - c.oldest_arrival_us) / 1e6 : 0.0);
    out.push_back(std::move(oldest));
  }
  if (d_.scheduler_) {
    const SchedulerMetrics& m = d_.scheduler_->metrics();
    const auto& domains = d_.scheduler_->domain_labels();
    MetricFamily deliveries = family("correo_deliveries_total", "Recipient delivery attempts by outcome",
                                     MetricType::Counter);
    for (size_t r = 0; r < kDeliveryResults; ++r) {
      for (size_t d = 0; d < domains.size(); ++d) {
        add_value(deliveries, static_cast<double>(m.delivery(static_cast<DeliveryResult>(r), d).value()),
                  {{"domain", domains[d]}, {"result", kDeliveryResultNames[r]}});
      }
    }
    out.push_back(std::move(deliveries));
    MetricFamily latency = family("correo_delivery_latency_seconds", "Arrival to delivered, per recipient",
                                  MetricType::Histogram);
    add_histogram(latency, {&m.latency});
    out.push_back(std::move(latency));
    MetricFamily dsn = family("correo_dsn_generated_total", "Delivery status notifications queued", MetricType::Counter);
    for (size_t i = 0; i < kDsnNames.size(); ++i) add_value(dsn, static_cast<double>(m.dsn[i].value()), {{"action", kDsnNames[i]}});
    out.push_back(std::move(dsn));
    MetricFamily in_flight = family("correo_delivery_in_flight_messages", "Messages being delivered now",
                                    MetricType::Gauge);
    add_value(in_flight, static_cast<double>(m.in_flight.value()));
    out.push_back(std::move(in_flight));
  }
}

void DaemonMetrics::Collector::network(std::vector<MetricFamily>& out) const {
  const auto& ws = d_.workers_;
  auto counter = [&](const char* name, const char* help, auto fn) {
    MetricFamily f = family(name, help, MetricType::Counter);
    add_value(f, static_cast<double>(sum_workers(ws, fn)));
    out.push_back(std::move(f));
  };
  counter("correo_outbound_connections_total", "Outbound SMTP connections opened",
          [](const WorkerMetrics& w) { return w.outbound_connections.value(); });
  counter("correo_outbound_connections_reused_total", "Transactions sent on an already open connection",
          [](const WorkerMetrics& w) { return w.outbound_reused.value(); });
  counter("correo_outbound_transactions_total", "Outbound transactions",
          [](const WorkerMetrics& w) { return w.outbound_transactions.value(); });

  MetricFamily lookups = family("correo_dns_lookups_total", "DNS queries sent to the resolver", MetricType::Counter);
  for (size_t t = 0; t < kDnsTypeLabels; ++t) {
    add_value(lookups, static_cast<double>(sum_workers(ws, [t](const WorkerMetrics& w) { return w.dns.lookups[t].value(); })),
              {{"type", kDnsTypeNames[t]}});
  }
  out.push_back(std::move(lookups));
  counter("correo_dns_cache_hits_total", "DNS lookups answered from the cache",
          [](const WorkerMetrics& w) { return w.dns.cache_hits.value(); });
  counter("correo_dns_failures_total", "DNS lookups that ended in a temporary failure",
          [](const WorkerMetrics& w) { return w.dns.failures.value(); });
  MetricFamily dns_latency = family("correo_dns_lookup_duration_seconds", "DNS query to answer", MetricType::Histogram);
  std::vector<const BucketHistogram*> shards;
  for (const auto& w : ws) shards.push_back(&w->dns.duration);
  add_histogram(dns_latency, shards);
  out.push_back(std::move(dns_latency));

  MetricFamily handshakes = family("correo_tls_handshakes_total", "Completed TLS handshakes", MetricType::Counter);
  add_value(handshakes, static_cast<double>(sum_workers(ws, [](const WorkerMetrics& w) { return w.tls_inbound_handshakes.value(); })),
            {{"direction", "inbound"}});
  add_value(handshakes, static_cast<double>(sum_workers(ws, [](const WorkerMetrics& w) { return w.tls_outbound_handshakes.value(); })),
            {{"direction", "outbound"}});
  out.push_back(std::move(handshakes));
  counter("correo_tls_resumed_total", "Inbound handshakes that resumed a session",
          [](const WorkerMetrics& w) { return w.tls_inbound_resumed.value(); });
  MetricFamily tls_failures = family("correo_tls_failures_total", "Failed TLS handshakes", MetricType::Counter);
  for (size_t i = 0; i < kTlsFailureLabels; ++i) {
    add_value(tls_failures, static_cast<double>(sum_workers(ws, [i](const WorkerMetrics& w) { return w.tls_inbound_failures[i].value(); })),
              {{"direction", "inbound"}, {"reason", kTlsFailureNames[i]}});
    add_value(tls_failures, static_cast<double>(sum_workers(ws, [i](const WorkerMetrics& w) { return w.tls_outbound_failures[i].value(); })),
              {{"direction", "outbound"}, {"reason", kTlsFailureNames[i]}});
  }
  out.push_back(std::move(tls_failures));
}

DaemonMetrics::DaemonMetrics(std::vector<std::string> listener_names, unsigned workers)
    : listener_names_(std::move(listener_names)),
      start_time_(static_cast<double>(unix_now_us()) / 1e6),
      registry_(std::make_shared<prometheus::Registry>()) {
  for (unsigned w = 0; w < workers; ++w) workers_.push_back(std::make_unique<WorkerMetrics>(listener_names_.size()));
  prometheus::BuildGauge().Name("correo_build_info").Help("Always 1; the version is a label").Register(*registry_)
      .Add({{"version", CORREO_VERSION}}).Set(1);
  prometheus::BuildGauge().Name("correo_start_time_seconds").Help("Process start, Unix time").Register(*registry_)
      .Add({}).Set(start_time_);
  reloads_ = &prometheus::BuildCounter().Name("correo_config_reloads_total").Help("SIGHUP reloads by result")
                  .Register(*registry_);
  reloads_->Add({{"result", "ok"}});
  reloads_->Add({{"result", "failed"}});
  admin_ = &prometheus::BuildCounter().Name("correo_admin_requests_total").Help("correoctl requests served")
                .Register(*registry_);
  for (std::string_view c : kAdminCommands) admin_->Add({{"command", std::string(c)}});  // exported at 0
  admin_->Add({{"command", "other"}});
  collector_ = std::make_shared<Collector>(*this);
}

DaemonMetrics::~DaemonMetrics() = default;

void DaemonMetrics::attach(Spool* spool, const Scheduler* scheduler, const Policy* policy) {
  spool_ = spool;
  scheduler_ = scheduler;
  policy_ = policy;
}

void DaemonMetrics::count_reload(bool ok) { reloads_->Add({{"result", ok ? "ok" : "failed"}}).Increment(); }

void DaemonMetrics::count_admin(std::string_view command) {
  if (command.substr(0, 6) == "queue ") command.remove_prefix(6);  // "queue hold" and "hold" alike
  std::string label = "other";
  for (std::string_view known : kAdminCommands) {
    if (command == known) label = std::string(known);
  }
  admin_->Add({{"command", label}}).Increment();
}

QueueCensus DaemonMetrics::census() {
  std::lock_guard<std::mutex> lock(census_mu_);
  const int64_t now = unix_now_us();
  if (spool_ && now - census_at_us_ >= 1000000) {
    census_ = spool_->census(now);
    census_at_us_ = now;
  }
  return census_;
}

std::string DaemonMetrics::render() {
  std::vector<MetricFamily> families = registry_->Collect();
  std::vector<MetricFamily> hot = collector_->Collect();
  families.insert(families.end(), std::make_move_iterator(hot.begin()), std::make_move_iterator(hot.end()));
  return prometheus::TextSerializer().Serialize(families);
}

DaemonTotals DaemonMetrics::totals() const {
  DaemonTotals t;
  for (const auto& w : workers_) {
    for (size_t l = 0; l < w->listeners; ++l) {
      t.connections += w->connections_accepted[l].value();
      t.messages_accepted += w->messages_accepted[l].value();
    }
    t.refused += w->refused_capacity.value() + w->refused_shutdown.value();
    t.messages_received += w->messages_received.value();
    t.received_bytes += w->received_bytes.value();
    t.tls_handshakes += w->tls_inbound_handshakes.value();
    t.tls_resumed += w->tls_inbound_resumed.value();
    for (const Counter& c : w->tls_inbound_failures) t.tls_failed += c.value();
    t.outbound_connections += w->outbound_connections.value();
    t.outbound_reused += w->outbound_reused.value();
    t.outbound_transactions += w->outbound_transactions.value();
  }
  if (scheduler_) {
    const SchedulerMetrics& m = scheduler_->metrics();
    for (size_t d = 0; d < m.domains; ++d) {
      t.delivered += m.delivery(DeliveryResult::kDelivered, d).value();
      t.deferred += m.delivery(DeliveryResult::kDeferred, d).value();
      t.bounced += m.delivery(DeliveryResult::kBounced, d).value();
    }
  }
  return t;
}

}  // namespace correo
