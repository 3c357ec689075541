// stats.h - what a run counts: per-session counters merged at the end, and a tally of the
// distinct error and rejection texts for the report.
//
// Each session thread owns its SessionStats (no shared cache lines on the hot path) and
// main merges them after joining. Only errors and rejections touch shared state, the
// TextTally, under a mutex: they are the uncommon path.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relay/common/histogram.h"

namespace correo::blast {

struct SessionStats {
  uint64_t sent = 0;            // messages attempted (MAIL written), or handshake sessions
  uint64_t accepted = 0;        // 2xx after the data (or 221 after QUIT with --handshake-only)
  uint64_t bytes = 0;           // headers + body of the accepted messages
  uint64_t rejected = 0;        // 4xx/5xx to MAIL, RCPT, DATA or the data
  uint64_t errors = 0;          // failed connects, timeouts, TLS failures, protocol violations
  uint64_t connections = 0;     // TCP connections established
  uint64_t tls_resumed = 0;     // TLS handshakes that resumed a previous session
  correo::Histogram latency_us; // MAIL's first byte to the final 2xx, accepted messages only
  std::vector<std::string> acked_ids;  // Message-IDs of accepted messages, with --acked-log only

  void merge(const SessionStats& other) {
    sent += other.sent;
    accepted += other.accepted;
    bytes += other.bytes;
    rejected += other.rejected;
    errors += other.errors;
    connections += other.connections;
    tls_resumed += other.tls_resumed;
    latency_us.merge(other.latency_us);
    acked_ids.insert(acked_ids.end(), other.acked_ids.begin(), other.acked_ids.end());
  }
};

// TextTally - how often each distinct text occurred; the first kDistinct texts are kept,
// later new ones only counted, so a server that puts queue IDs in replies cannot grow it.
class TextTally {
 public:
  static constexpr size_t kDistinct = 8;

  void add(std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [seen, count] : entries_) {
      if (seen == text) {
        ++count;
        return;
      }
    }
    if (entries_.size() < kDistinct) entries_.emplace_back(std::string(text), 1);
    else ++others_;
  }
  // Read after the session threads are joined.
  const std::vector<std::pair<std::string, uint64_t>>& entries() const { return entries_; }
  uint64_t others() const { return others_; }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, uint64_t>> entries_;
  uint64_t others_ = 0;
};

}  // namespace correo::blast
