// config_reload.cc - keep the start-bound settings, and say which ones the new file changed.
#include "relay/config/config_reload.h"

namespace correo {
namespace {

// keep - the running value stays; a different value in the new file is reported.
template <typename T>
void keep(T& next, const T& running, const char* key, std::vector<std::string>& restart_needed) {
  if (!(next == running)) {
    restart_needed.emplace_back(key);
    next = running;
  }
}

}  // namespace

ReloadPlan plan_reload(const Config& running, Config next) {
  ReloadPlan plan;
  auto& r = plan.restart_needed;
  // Sockets, the number of worker threads, the queue directory and the host name the
  // workers greet with.
  keep(next.server, running.server, "server", r);
  keep(next.listeners, running.listeners, "listener", r);
  // One c-ares channel per worker, made at start.
  keep(next.dns, running.dns, "dns", r);
  // The RocksDB options and the free-space floor are set when the queue opens.
  keep(next.queue.min_free_space, running.queue.min_free_space, "queue.min_free_space", r);
  keep(next.queue.body_memtable, running.queue.body_memtable, "queue.body_memtable", r);
  // Outbound splits connections_total among workers and builds its TLS client context at start.
  keep(next.delivery.connections_total, running.delivery.connections_total, "delivery.connections_total", r);
  keep(next.delivery.tls, running.delivery.tls, "delivery.tls", r);
  // The AUTH verifier's failure table is sized and timed at start.
  keep(next.auth.max_failures, running.auth.max_failures, "auth.max_failures", r);
  keep(next.auth.failure_window, running.auth.failure_window, "auth.failure_window", r);
  // Per-client tables are sized at start; DNSBL zones are grouped per worker; greylisting
  // and milters own threads and connections.
  keep(next.policy.tracked_clients, running.policy.tracked_clients, "policy.tracked_clients", r);
  keep(next.policy.dnsbl.sites, running.policy.dnsbl.sites, "policy.dnsbl.sites", r);
  keep(next.policy.greylist, running.policy.greylist, "policy.greylist", r);
  keep(next.policy.milters, running.policy.milters, "policy.milter", r);
  // The HTTP and admin servers are bound at start.
  keep(next.metrics, running.metrics, "metrics", r);
  keep(next.admin, running.admin, "admin", r);
  plan.config = std::move(next);
  return plan;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out;
}

}  // namespace correo
