// daemon_cells.h - the metric cells each thread of correod owns (see metric_types.h for why
// per-thread). One block per worker, one for the spool thread, one for the scheduler; the
// scrape (relay/server/daemon_metrics.cc) sums them and names them (metrics/CATALOGUE.md).
#pragma once

#include <cstddef>
#include <memory>

#include "metrics/metric_types.h"

namespace correo {

// Label index sets. The names live beside the exposition code; these are only sizes and
// positions, so the hot path indexes an array.
enum class CommandLabel : uint8_t {
  kHelo, kEhlo, kMail, kRcpt, kData, kBdat, kRset, kNoop, kQuit, kStarttls, kAuth, kVrfy, kExpn, kHelp, kEtrn,
  kUnknown, kCount
};
constexpr size_t kCommandLabels = static_cast<size_t>(CommandLabel::kCount);

// Message rejections the session decides itself (policy rejections are counted by Policy).
enum class MessageReject : uint8_t { kSize, kHops, kSpool, kSyntax, kOther, kCount };
constexpr size_t kMessageRejectLabels = static_cast<size_t>(MessageReject::kCount);

enum class TlsFailure : uint8_t { kHandshake, kVerify, kUnavailable, kCount };
constexpr size_t kTlsFailureLabels = static_cast<size_t>(TlsFailure::kCount);

enum class DnsType : uint8_t { kMx, kA, kAaaa, kCount };
constexpr size_t kDnsTypeLabels = static_cast<size_t>(DnsType::kCount);

// DnsMetrics - one resolver's (each worker has its own c-ares channel).
struct DnsMetrics {
  Counter lookups[kDnsTypeLabels];
  Counter cache_hits;
  Counter failures;
  BucketHistogram duration{kFastLatencyBounds};
};

// WorkerMetrics - everything one worker thread counts: inbound SMTP, TLS, outbound, DNS.
struct WorkerMetrics {
  explicit WorkerMetrics(size_t listener_count)
      : listeners(listener_count),
        connections_open(std::make_unique<Gauge[]>(listener_count)),
        connections_accepted(std::make_unique<Counter[]>(listener_count)),
        messages_accepted(std::make_unique<Counter[]>(listener_count)) {}

  const size_t listeners;
  std::unique_ptr<Gauge[]> connections_open;        // per listener
  std::unique_ptr<Counter[]> connections_accepted;  // per listener
  std::unique_ptr<Counter[]> messages_accepted;     // per listener
  Counter refused_capacity;  // limits.sessions_per_worker
  Counter refused_shutdown;  // arrived while draining

  Counter commands[kCommandLabels];
  Counter replies[4];  // 2xx 3xx 4xx 5xx
  Counter messages_received;
  Counter messages_rejected[kMessageRejectLabels];
  Counter received_bytes;
  BucketHistogram commit_duration{kFastLatencyBounds};

  Counter tls_inbound_handshakes;
  Counter tls_inbound_resumed;
  Counter tls_inbound_failures[kTlsFailureLabels];
  Counter tls_outbound_handshakes;
  Counter tls_outbound_failures[kTlsFailureLabels];

  Counter outbound_connections;
  Counter outbound_reused;
  Counter outbound_transactions;

  DnsMetrics dns;
  BucketHistogram loop_lag{kFastLatencyBounds};
};

// SessionMetrics - the part a Session writes (its worker's block; tests use a private one).
using SessionMetrics = WorkerMetrics;

struct SpoolMetrics {
  BucketHistogram batch_size{kBatchSizeBounds};
  BucketHistogram fsync_duration{kFastLatencyBounds};
  Counter commit_failures;
};

enum class DeliveryResult : uint8_t { kDelivered, kDeferred, kBounced, kCount };
constexpr size_t kDeliveryResults = static_cast<size_t>(DeliveryResult::kCount);
enum class DsnLabel : uint8_t { kFailed, kDelayed, kRelayed, kCount };

struct SchedulerMetrics {
  explicit SchedulerMetrics(size_t domain_labels)
      : domains(domain_labels), deliveries(std::make_unique<Counter[]>(domain_labels * kDeliveryResults)) {}
  Counter& delivery(DeliveryResult r, size_t domain) { return deliveries[static_cast<size_t>(r) * domains + domain]; }
  const Counter& delivery(DeliveryResult r, size_t domain) const {
    return deliveries[static_cast<size_t>(r) * domains + domain];
  }

  const size_t domains;  // configured domains + "other" (the last)
  std::unique_ptr<Counter[]> deliveries;
  BucketHistogram latency{kDeliveryLatencyBounds};
  Counter dsn[static_cast<size_t>(DsnLabel::kCount)];
  Gauge in_flight;
};

}  // namespace correo
