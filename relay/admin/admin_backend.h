// admin_backend.h - what correoctl can see and do, as the admin server asks the daemon.
//
// The admin server (admin_server.h) parses requests and formats replies; an AdminBackend
// answers them. The daemon's backend (queue_admin.h) reads the spool directly (RocksDB
// reads are thread-safe) and routes every mutation through the delivery scheduler, which
// owns the in-flight state and commits through the spool thread: every mutation is durable
// when act() returns kDone. Tests may implement this interface over a fixed list.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "queue/envelope.h"

namespace correo {

// QueueState - what an operator sees: held (policy or correoctl hold), active (due now or
// being delivered), deferred (waiting for its next attempt).
enum class QueueState : uint8_t { kActive, kDeferred, kHeld };
std::string_view to_string(QueueState s);                  // "active" | "deferred" | "held"
std::optional<QueueState> parse_queue_state(std::string_view s);

struct QueueEntry {
  Envelope envelope;         // id, sender, recipients (state, attempts, last reply), arrival, size...
  QueueState state = QueueState::kActive;
  int64_t next_attempt_us = 0;  // µs since the epoch; 0 when held or unknown
};

// QueueFilter - every set field must match (empty / nullopt / 0 = any).
struct QueueFilter {
  std::string domain;                // a PENDING recipient's domain equals it (case-insensitive)
  std::string sender;                // sender address equals it (case-insensitive); "<>" = null sender
  std::optional<QueueState> state;
  int64_t min_age_s = 0;             // arrived at least this many seconds ago
};

enum class AdminAction : uint8_t { kHold, kRelease, kDelete, kBounce };
std::string_view to_string(AdminAction a);                  // "hold" | "release" | "delete" | "bounce"

enum class ActionResult : uint8_t {
  kDone,           // committed (durable)
  kPending,        // the message is being delivered now; applied when this attempt ends
  kNotFound,       // no such message
  kNotApplicable,  // e.g. release of a message that is not held, hold of a held one
  kBusy,           // too many admin requests waiting; try again
  kFailed,         // the spool write failed (detail says why)
};
std::string_view to_string(ActionResult r);  // "done" | "pending" | "not_found" | ...

struct ActionReply {
  ActionResult result = ActionResult::kFailed;
  std::string detail;  // human-readable, one line
};

class AdminBackend {
 public:
  virtual ~AdminBackend() = default;
  // for_each - every queued message matching `filter`, in queue-id (arrival) order; stops
  // early when fn returns false. Streams: memory does not grow with the queue.
  virtual void for_each(const QueueFilter& filter, const std::function<bool(const QueueEntry&)>& fn) = 0;
  virtual std::optional<QueueEntry> find(uint64_t id) = 0;
  // act - hold/release/delete/bounce one message; blocks until durable (bounded wait).
  virtual ActionReply act(AdminAction action, uint64_t id) = 0;
  // flush - deferred mail becomes due now: all of it (domain "") or that recipient domain's.
  virtual ActionReply flush(std::string_view domain) = 0;
  // stats - name/value pairs for `correoctl stats`, in display order (queue census, totals).
  virtual std::vector<std::pair<std::string, double>> stats() = 0;
};

}  // namespace correo
