// report.h - the end-of-run report: one JSON object (--json) or a short human summary on
// stdout, and the first distinct error and rejection texts on stderr.
#pragma once

#include <cstddef>
#include <string>

#include "bench/blast/options.h"
#include "bench/blast/stats.h"

namespace correo::blast {

struct RunReport {
  SessionStats totals;
  double elapsed_s = 0;       // start to the last session thread joined
  std::string message_sizes;  // "1024-byte messages", "messages of 1024-1048576 bytes log-uniform"
  unsigned sessions_gave_up = 0;
};

// print_json - {"sent", "accepted", "rejected", "errors", "elapsed_s", "msgs_per_s",
// "bytes_per_s", "latency_ms": {"p50", "p90", "p99", "p999"}, then additions:
// "connections", "tls_resumed", "bytes"}. Rates and bytes count accepted messages (headers
// + body as sent, whatever sizes --size drew).
void print_json(const RunReport& report);
void print_summary(const Options& options, const RunReport& report);
void print_problems(const TextTally& errors, const TextTally& rejections, const RunReport& report);

}  // namespace correo::blast
