// queue_admin.cc - correoctl's view of the live queue.
#include "relay/admin/queue_admin.h"

#include "queue/spool.h"
#include "relay/smtp/address.h"
#include "relay/common/clock.h"
#include "relay/delivery/scheduler.h"
#include "relay/server/daemon_metrics.h"

namespace correo {
namespace {

std::string_view domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

}  // namespace

QueueEntry queue_entry(Envelope env, int64_t now_us) {
  QueueEntry e;
  e.next_attempt_us = env.held ? 0 : env.next_attempt_us;
  if (env.held) {
    e.state = QueueState::kHeld;
  } else {
    // A record older than envelope v4 has no stamp (0): it is due, so active.
    e.state = env.next_attempt_us > now_us ? QueueState::kDeferred : QueueState::kActive;
  }
  e.envelope = std::move(env);
  return e;
}

bool matches(const QueueFilter& filter, const QueueEntry& entry, int64_t now_us) {
  const Envelope& env = entry.envelope;
  if (filter.state && *filter.state != entry.state) return false;
  if (filter.min_age_s > 0 && now_us - env.arrival_us < filter.min_age_s * 1000000) return false;
  if (!filter.sender.empty()) {
    const std::string wanted = filter.sender == "<>" ? std::string() : lowercase_ascii(filter.sender);
    if (lowercase_ascii(env.sender) != wanted) return false;
  }
  if (!filter.domain.empty()) {
    const std::string wanted = lowercase_ascii(filter.domain);
    bool any = false;
    for (const Recipient& r : env.recipients) {
      if (r.state == RecipientState::kPending && lowercase_ascii(domain_of(r.address)) == wanted) any = true;
    }
    if (!any) return false;
  }
  return true;
}

void QueueAdmin::for_each(const QueueFilter& filter, const std::function<bool(const QueueEntry&)>& fn) {
  const int64_t now = unix_now_us();
  spool_.for_each_envelope([&](const Envelope& env) {
    QueueEntry e = queue_entry(env, now);
    return !matches(filter, e, now) || fn(e);
  });
}

std::optional<QueueEntry> QueueAdmin::find(uint64_t id) {
  std::optional<Envelope> env = spool_.load_envelope(id);
  if (!env) return std::nullopt;
  return queue_entry(std::move(*env), unix_now_us());
}

ActionReply QueueAdmin::act(AdminAction action, uint64_t id) { return scheduler_.admin(action, id); }

ActionReply QueueAdmin::flush(std::string_view domain) {
  if (domain.empty()) {
    scheduler_.request_flush();
    return {ActionResult::kDone, "deferred mail is due now"};
  }
  if (!scheduler_.request_flush_domain(lowercase_ascii(domain), false)) {
    return {ActionResult::kBusy, "too many flush requests waiting"};
  }
  return {ActionResult::kDone, "deferred mail for " + std::string(domain) + " is due now"};
}

std::vector<std::pair<std::string, double>> QueueAdmin::stats() {
  const QueueCensus c = metrics_.census();
  const DaemonTotals t = metrics_.totals();
  const int64_t now = unix_now_us();
  const double oldest = c.oldest_arrival_us > 0 && now > c.oldest_arrival_us ? (now - c.oldest_arrival_us) / 1e6 : 0;
  return {
      {"queue_active", static_cast<double>(c.active)},
      {"queue_deferred", static_cast<double>(c.deferred)},
      {"queue_held", static_cast<double>(c.held)},
      {"queue_oldest_age_seconds", oldest},
      {"connections", static_cast<double>(t.connections)},
      {"messages_received", static_cast<double>(t.messages_received)},
      {"messages_accepted", static_cast<double>(t.messages_accepted)},
      {"received_bytes", static_cast<double>(t.received_bytes)},
      {"delivered", static_cast<double>(t.delivered)},
      {"deferred", static_cast<double>(t.deferred)},
      {"bounced", static_cast<double>(t.bounced)},
      {"outbound_connections", static_cast<double>(t.outbound_connections)},
      {"outbound_reused", static_cast<double>(t.outbound_reused)},
  };
}

}  // namespace correo
