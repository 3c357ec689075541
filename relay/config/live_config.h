// live_config.h - one thread's view of the running configuration.
//
// main publishes each accepted SIGHUP's configuration in a Snapshot<Config> (see
// config_reload.h for what a reload may change). Each long-lived thread - a worker, the
// scheduler - reads it through its own LiveConfig and calls refresh() at the top of its event
// loop, a point where it holds no reference into the configuration. Between refreshes every
// read sees the same snapshot: one atomic load per loop turn, no lock on the hot path.
// Sessions keep the snapshot they started with (shared()), so one SMTP session never sees
// its limits change halfway.
#pragma once

#include <memory>

#include "relay/common/snapshot.h"
#include "relay/config/config.h"

namespace correo {

class LiveConfig {
 public:
  explicit LiveConfig(const Snapshot<Config>& source) : cache_(&source) { refresh(); }

  // refresh - pick up a newer snapshot; true when it moved.
  bool refresh() {
    const std::shared_ptr<const Config>& latest = cache_.current();
    if (latest == held_) return false;
    held_ = latest;
    return true;
  }

  const Config& operator*() const { return *held_; }
  const Config* operator->() const { return held_.get(); }
  // shared - the snapshot this thread reads now, kept alive for as long as the caller holds it.
  const std::shared_ptr<const Config>& shared() const { return held_; }

  LiveConfig(const LiveConfig&) = delete;
  LiveConfig& operator=(const LiveConfig&) = delete;

 private:
  SnapshotCache<Config> cache_;
  std::shared_ptr<const Config> held_;
};

}  // namespace correo
