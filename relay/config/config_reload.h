// config_reload.h - what a SIGHUP may change in a running correod.
//
// Most settings are read per use from the current configuration snapshot (limits, relay,
// transport, delivery timeouts and reuse, queue retry and lifetime, submission, policy rates,
// checks and maps, log, shutdown) and so apply at once: to new sessions, and to deliveries
// scheduled after the reload. A few are bound when the daemon starts - sockets, threads, the
// queue's database, the resolver channels, the milter and greylist connections - and a reload
// cannot move them without a restart. plan_reload keeps the running values of exactly those,
// so every thread can read the whole snapshot without meeting a half-applied change, and
// names each one that the new file changed.
#pragma once

#include <string>
#include <vector>

#include "relay/config/config.h"

namespace correo {

struct ReloadPlan {
  Config config;                           // what to run: `next` with the start-bound settings kept
  std::vector<std::string> restart_needed;  // changed but kept, by config key ("server", "queue.min_free_space")
};

// plan_reload - the configuration to publish after a SIGHUP that loaded `next` without errors.
ReloadPlan plan_reload(const Config& running, Config next);

// join_names - "a,b,c" for a log line.
std::string join_names(const std::vector<std::string>& names);

}  // namespace correo
