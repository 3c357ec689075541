// queue_admin.h - the daemon's AdminBackend: correoctl over the live spool and scheduler.
//
// Reads (list, show, stats) go straight to the spool from the admin server's thread:
// RocksDB reads are thread-safe and never block a worker. Mutations go to the scheduler
// (Scheduler::admin), which owns in-flight state and commits through the spool thread.
#pragma once

#include "relay/admin/admin_backend.h"

namespace correo {

class DaemonMetrics;
class Scheduler;
class Spool;

class QueueAdmin final : public AdminBackend {
 public:
  QueueAdmin(Spool& spool, Scheduler& scheduler, DaemonMetrics& metrics)
      : spool_(spool), scheduler_(scheduler), metrics_(metrics) {}

  void for_each(const QueueFilter& filter, const std::function<bool(const QueueEntry&)>& fn) override;
  std::optional<QueueEntry> find(uint64_t id) override;
  ActionReply act(AdminAction action, uint64_t id) override;
  ActionReply flush(std::string_view domain) override;
  std::vector<std::pair<std::string, double>> stats() override;

 private:
  Spool& spool_;
  Scheduler& scheduler_;
  DaemonMetrics& metrics_;
};

// queue_entry - what an operator sees of an envelope at `now_us` (state from the hold flag
// and the schedule stamp).
QueueEntry queue_entry(Envelope env, int64_t now_us);
// matches - does the entry pass every field the filter sets?
bool matches(const QueueFilter& filter, const QueueEntry& entry, int64_t now_us);

}  // namespace correo
