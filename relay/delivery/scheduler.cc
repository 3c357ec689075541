// scheduler.cc - the scheduler loop, job dispatch and the per-message verdict.
#include "relay/delivery/scheduler.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "relay/common/clock.h"
#include "relay/common/eventfd.h"
#include "relay/common/log.h"
#include "relay/delivery/dsn.h"
#include "relay/smtp/address.h"

namespace correo {
namespace {

constexpr size_t kQueueCapacity = 8192;  // per worker and direction
constexpr int kTickMs = 100;             // due scan cadence when idle
constexpr int64_t kScanIntervalUs = 5000;  // at most one due scan per 5 ms

int64_t now_us() { return unix_now_us(); }

int64_t to_us(Duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }

void signal_fd(int fd) { signal_eventfd(fd); }

// domain_of - the part after the last '@' (an address literal keeps its brackets).
std::string_view domain_of(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

// notify_failure - RFC 3461 §4.1: without NOTIFY, failures are reported; NEVER reports none.
bool notify_failure(uint8_t notify) { return notify == 0 || (notify & kNotifyFailure); }

// status_of - the enhanced status for a DSN: the server's, else one from the reply class.
std::string status_of(const ServerReply& r) {
  if (!r.enhanced.empty()) return r.enhanced;
  if (r.code >= 500) return "5.0.0";
  if (r.code >= 400) return "4.0.0";
  return r.code >= 200 && r.code < 300 ? "2.0.0" : "4.4.1";
}

// delivery_domain_labels - the domains an operator configured (relay.domains, transport),
// lowercased, then "other": a fixed label set whatever the traffic.
std::vector<std::string> delivery_domain_labels(const Config& config) {
  std::vector<std::string> out;
  auto add = [&](const std::string& d) {
    std::string l = lowercase_ascii(d);
    if (!l.empty() && l != "other" && std::find(out.begin(), out.end(), l) == out.end()) out.push_back(std::move(l));
  };
  for (const auto& [domain, hop] : config.relay.domains) add(domain);
  for (const auto& [domain, hop] : config.transport.routes) add(domain);
  out.push_back("other");
  return out;
}

}  // namespace

Scheduler::Scheduler(const Snapshot<Config>& config, Spool& spool, unsigned workers, uint64_t id_floor)
    : config_(config),
      spool_(spool),
      workers_(workers),
      bounce_ids_(workers, id_floor),  // a generator index no worker uses
      rng_(std::random_device{}()),
      domain_labels_(delivery_domain_labels(*config_)),
      metrics_(domain_labels_.size()) {
  for (size_t i = 0; i + 1 < domain_labels_.size(); ++i) domain_index_.emplace(domain_labels_[i], i);
  for (unsigned w = 0; w < workers; ++w) {
    queues_.push_back(std::make_unique<WorkerQueues>(kQueueCapacity));
    worker_wake_fds_.push_back(spool.completion_fd(w));  // the worker already reads it
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  spool.set_store_notify_fd(wake_fd_);
}

Scheduler::~Scheduler() {
  stop();
  spool_.set_store_notify_fd(-1);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Scheduler::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Scheduler::stop() {
  stop_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::wake() {
  if (wake_fd_ >= 0) signal_fd(wake_fd_);
}

unsigned Scheduler::worker_for(const NextHop& hop) const {
  return static_cast<unsigned>(std::hash<std::string>{}(hop.key()) % workers_);
}

bool Scheduler::pop_job(unsigned w, DeliveryJob& out) {
  std::optional<DeliveryJob> job = queues_[w]->jobs.try_pop();
  if (!job) return false;
  out = std::move(*job);
  return true;
}

// push_outcome - never fails: a worker holds at most kQueueCapacity jobs of ours, and the
// outcome queue has the same capacity.
// Once the scheduler has stopped an outcome may be dropped: its message is still due in the
// spool and is simply tried again after the restart (at-least-once).
void Scheduler::push_outcome(unsigned w, DeliveryOutcome&& outcome) {
  while (!queues_[w]->outcomes.try_push(outcome)) {
    if (stop_.load()) return;
    wake();
    std::this_thread::yield();
  }
  wake();
}

SchedulerStats Scheduler::stats() const { return stats_; }

bool Scheduler::request_flush_domain(std::string_view domain, bool subdomains) {
  {
    std::lock_guard<std::mutex> lock(flush_mu_);
    if (flush_domains_.size() >= 64) return false;  // bounded: an ETRN flood cannot grow it
    flush_domains_.emplace_back(std::string(domain), subdomains);
  }
  wake();
  return true;
}

// flush_domains - ETRN: dispatch deferred messages that have a pending recipient in one of
// the requested domains, whatever their due time (bounded scan per request batch).
void Scheduler::flush_domains() {
  std::vector<std::pair<std::string, bool>> requests;
  {
    std::lock_guard<std::mutex> lock(flush_mu_);
    requests.swap(flush_domains_);
  }
  if (requests.empty() || config_->delivery.queue_only) return;
  auto matches = [&](std::string_view address) {
    const std::string domain = lowercase_ascii(domain_of(address));
    for (const auto& [d, sub] : requests) {
      if (domain == d) return true;
      if (sub && domain.size() > d.size() && domain.compare(domain.size() - d.size(), d.size(), d) == 0 &&
          domain[domain.size() - d.size() - 1] == '.')
        return true;
    }
    return false;
  };
  constexpr size_t kFlushScan = 100000;
  std::vector<DueEntry> all = spool_.due(INT64_MAX, kFlushScan, [this](uint64_t id) { return in_flight_.count(id) > 0; });
  for (const DueEntry& e : all) {
    if (in_flight_.size() >= config_->delivery.in_flight_messages) break;
    StoredMessage stored;
    if (!spool_.load(e.id, stored)) continue;
    const bool wanted = std::any_of(stored.envelope.recipients.begin(), stored.envelope.recipients.end(),
                                    [&](const Recipient& r) { return r.state == RecipientState::kPending && matches(r.address); });
    if (wanted) dispatch(e.id, e.due_us, std::move(stored));
  }
}

void Scheduler::run() {
  const unsigned sched_channel = spool_.scheduler_channel();
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {spool_.completion_fd(sched_channel), POLLIN, 0}};
  while (!stop_.load()) {
    // Sleep until woken or the next tick; when a scan was skipped for the rate limit, only
    // until the next scan is allowed.
    int timeout_ms = kTickMs;
    if (scan_wanted_) {
      const int64_t wait_us = last_scan_us_ + kScanIntervalUs - now_us();
      timeout_ms = wait_us <= 0 ? 0 : static_cast<int>(std::min<int64_t>(kTickMs, wait_us / 1000 + 1));
    }
    if (::poll(fds, 2, timeout_ms) > 0) scan_wanted_ = true;
    // A SIGHUP's configuration: rescan, since queue_only, limits or routes may have changed.
    if (config_.refresh()) scan_wanted_ = true;
    uint64_t drained;
    for (const pollfd& p : fds) {
      if (p.revents & POLLIN) {
        ssize_t n = ::read(p.fd, &drained, sizeof drained);
        (void)n;
      }
    }
    drain_spool_completions();
    take_admin_requests();
    flush_domains();
    for (unsigned w = 0; w < workers_; ++w) {
      while (auto o = queues_[w]->outcomes.try_pop()) apply(std::move(*o));
      // Jobs that did not fit earlier.
      auto& q = *queues_[w];
      while (!q.overflow.empty() && q.jobs.try_push(q.overflow.front())) q.overflow.pop_front();
    }
    int64_t now = now_us();
    const bool flush = flush_.exchange(false);
    // A scan skips every in-flight entry at the front of the schedule: under load, wake-ups
    // come thousands of times a second, so scan at most every kScanIntervalUs.
    if (config_->delivery.queue_only) {
      scan_wanted_ = false;  // nothing is ever dispatched: sleep until the next wake-up
    } else if (flush || now - last_scan_us_ >= kScanIntervalUs) {
      last_scan_us_ = now;
      scan_wanted_ = false;
      dispatch_due(flush ? INT64_MAX : now);  // a flush makes everything due now
    }
    metrics_.in_flight.set(static_cast<int64_t>(in_flight_.size()));
  }
  // Admin requests still waiting get an answer; their messages are untouched or committed.
  std::lock_guard<std::mutex> lock(admin_mu_);
  for (auto& r : admin_requests_) r->reply.set_value({ActionResult::kBusy, "the daemon is stopping"});
  admin_requests_.clear();
  for (auto& [id, r] : admin_waiting_) r->reply.set_value({ActionResult::kBusy, "the daemon is stopping"});
  admin_waiting_.clear();
}

// dispatch_due - hand out due messages while there is room in flight.
void Scheduler::dispatch_due(int64_t now) {
  const size_t room = config_->delivery.in_flight_messages > in_flight_.size()
                          ? config_->delivery.in_flight_messages - in_flight_.size() : 0;
  if (room == 0) return;
  std::vector<DueEntry> due = spool_.due(now, room, [this](uint64_t id) { return in_flight_.count(id) > 0; });
  for (const DueEntry& e : due) {
    StoredMessage stored;
    if (!spool_.load(e.id, stored)) {
      // Sched entry without a readable message: leave it; the spool's recovery logs corrupt
      // records. Mark it in flight so it is not retried every 100 ms.
      LogLine(LogLevel::kError, "schedule_orphan").kv("id", format_queue_id(e.id));
      in_flight_[e.id].due_us = e.due_us;
      in_flight_[e.id].committing = true;
      continue;
    }
    dispatch(e.id, e.due_us, std::move(stored));
  }
}

// dispatch - group the pending recipients by next hop, one job per next hop.
void Scheduler::dispatch(uint64_t id, int64_t due_us, StoredMessage&& stored) {
  auto message = std::make_shared<MessageForDelivery>();
  message->envelope = std::move(stored.envelope);
  message->body = std::move(stored.body);
  InFlight& f = in_flight_[id];
  f.due_us = due_us;
  f.message = message;
  const size_t n = message->envelope.recipients.size();
  f.replies.assign(n, ServerReply{});
  f.remotes.assign(n, std::string());
  f.tls.assign(n, std::string());
  f.peer_dsn.assign(n, false);
  f.dsn_status.assign(n, std::string());
  std::vector<DeliveryJob> jobs;
  for (uint32_t i = 0; i < n; ++i) {
    const Recipient& r = message->envelope.recipients[i];
    if (r.state != RecipientState::kPending) continue;
    NextHop hop = RouteTable(*config_).route(domain_of(r.address));
    auto it = std::find_if(jobs.begin(), jobs.end(), [&](const DeliveryJob& j) { return j.hop == hop; });
    if (it == jobs.end()) {
      DeliveryJob j;
      j.id = id;
      j.job = static_cast<uint32_t>(jobs.size());
      j.hop = std::move(hop);
      j.message = message;
      jobs.push_back(std::move(j));
      it = jobs.end() - 1;
    }
    it->rcpts.push_back(i);
  }
  ++stats_.dispatched;
  f.jobs_total = static_cast<uint32_t>(jobs.size());
  for (const DeliveryJob& j : jobs) f.job_rcpts.push_back(j.rcpts);
  if (jobs.empty()) {  // nothing pending (e.g. after a crash between verdict and removal)
    decide(id, f, now_us());
    return;
  }
  for (DeliveryJob& j : jobs) send_job(std::move(j));
}

void Scheduler::send_job(DeliveryJob&& job) {
  const unsigned w = worker_for(job.hop);
  auto& q = *queues_[w];
  if (!q.overflow.empty() || !q.jobs.try_push(job)) q.overflow.push_back(std::move(job));
  signal_fd(worker_wake_fds_[w]);
}

void Scheduler::apply(DeliveryOutcome&& o) {
  auto it = in_flight_.find(o.id);
  if (it == in_flight_.end() || o.job >= it->second.job_rcpts.size()) return;
  InFlight& f = it->second;
  const std::vector<uint32_t>& rcpts = f.job_rcpts[o.job];
  for (size_t k = 0; k < rcpts.size() && k < o.replies.size(); ++k) {
    f.replies[rcpts[k]] = o.replies[k];
    f.remotes[rcpts[k]] = o.remote;
    f.tls[rcpts[k]] = o.tls;
    f.peer_dsn[rcpts[k]] = o.peer_dsn;
  }
  if (++f.jobs_done == f.jobs_total) decide(o.id, f, now_us());
}

int64_t Scheduler::next_attempt(const Envelope& env, int64_t now) {
  uint32_t attempts = 1;
  for (const Recipient& r : env.recipients) {
    if (r.state == RecipientState::kPending) attempts = std::max(attempts, r.attempts);
  }
  const int64_t initial = to_us(config_->queue.retry_initial);
  const int64_t cap = to_us(config_->queue.retry_max);
  int64_t delay = initial;
  for (uint32_t i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  // Jitter (x0.8 .. x1.2) so mail deferred together does not come back together.
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  delay = static_cast<int64_t>(static_cast<double>(delay) * jitter(rng_));
  int64_t deadline = env.arrival_us + to_us(config_->queue.max_lifetime);
  // A DELIVERBY deadline is acted on when it passes (return or notify), not an attempt later.
  if (env.by_mode != ByMode::kNone && env.deliver_by_us > now &&
      (env.by_mode == ByMode::kReturn || !env.delay_warned)) {
    deadline = std::min(deadline, env.deliver_by_us);
  }
  return std::min(now + std::max<int64_t>(delay, 1000), std::max(deadline, now + 1000));
}

// decide - every job answered: record the results, then remove or reschedule, with DSNs.
void Scheduler::decide(uint64_t id, InFlight& f, int64_t now) {
  Envelope env = f.message->envelope;
  if (auto p = pending_admin_.find(id); p != pending_admin_.end()) {
    f.admin = p->second;
    pending_admin_.erase(p);
  }
  std::vector<uint32_t> failed_now;
  const bool expired = now >= env.arrival_us + to_us(config_->queue.max_lifetime);
  // DELIVERBY with R: what is not delivered by the deadline is returned (RFC 2852 §4.1.4.1).
  const bool by_returned = env.by_mode == ByMode::kReturn && now >= env.deliver_by_us;
  for (uint32_t i = 0; i < env.recipients.size(); ++i) {
    Recipient& r = env.recipients[i];
    if (r.state != RecipientState::kPending) continue;
    const ServerReply& reply = f.replies[i];
    const bool tried = reply.code != 0 || !reply.enhanced.empty() || !reply.text.empty();
    if (tried) {
      ++r.attempts;
      r.last_reply = reply.code ? reply.to_string() : (reply.enhanced + " " + reply.text);
    }
    const char* verdict = "deferred";
    if (tried && reply_is_success(reply)) {
      r.state = RecipientState::kDelivered;
      ++stats_.delivered;
      verdict = "delivered";
      count_delivery(DeliveryResult::kDelivered, env, r, now);
    } else if (tried && reply_is_permanent(reply)) {
      r.state = RecipientState::kFailed;
      failed_now.push_back(i);
      ++stats_.failed;
      verdict = "bounced";
      count_delivery(DeliveryResult::kBounced, env, r, now);
    } else if (f.admin == AdminAction::kBounce) {
      // correoctl bounce: returned to the sender now, with the last reply as the diagnostic.
      r.state = RecipientState::kFailed;
      f.dsn_status[i] = "5.0.0";
      r.last_reply = "5.0.0 returned to the sender by the postmaster" +
                     (r.last_reply.empty() ? std::string() : "; last error: " + r.last_reply);
      failed_now.push_back(i);
      ++stats_.failed;
      verdict = "bounced";
      count_delivery(DeliveryResult::kBounced, env, r, now);
    } else if (expired || by_returned) {
      r.state = RecipientState::kFailed;
      // The DSN says 4.4.7 (or 5.4.7 for DELIVERBY) and keeps the last server reply as
      // the diagnostic, so the sender learns why delivery kept failing.
      f.dsn_status[i] = by_returned ? "5.4.7" : "4.4.7";
      r.last_reply = (by_returned ? std::string("5.4.7 delivery time (DELIVERBY) expired") :
                                    "4.4.7 message expired after " +
                                        std::to_string(to_us(config_->queue.max_lifetime) / 1000000) + " s in the queue") +
                     (r.last_reply.empty() ? std::string() : "; last error: " + r.last_reply);
      failed_now.push_back(i);
      ++stats_.failed;
      verdict = "expired";
      count_delivery(DeliveryResult::kBounced, env, r, now);
    } else {
      ++stats_.deferred;
      if (tried) count_delivery(DeliveryResult::kDeferred, env, r, now);
    }
    if (tried || expired || by_returned || f.admin == AdminAction::kBounce) {
      LogLine(LogLevel::kInfo, "delivery").kv("id", format_queue_id(id)).kv("rcpt", r.address)
          .kv("relay", f.remotes[i].empty() ? std::string("none") : f.remotes[i])
          .kv("tls", f.tls[i].empty() ? std::string("none") : f.tls[i])
          .kv("delay_s", static_cast<double>(now - env.arrival_us) / 1e6)
          .kv("dsn", f.dsn_status[i].empty() ? status_of(f.replies[i]) : f.dsn_status[i])
          .kv("status", verdict).kv("reply", r.last_reply);
    }
  }
  std::vector<uint32_t> pending;
  for (uint32_t i = 0; i < env.recipients.size(); ++i) {
    if (env.recipients[i].state == RecipientState::kPending) pending.push_back(i);
  }
  CommitRequest req;
  req.op = pending.empty() || f.admin == AdminAction::kDelete ? CommitOp::kRemove : CommitOp::kUpdate;
  req.cookie = id;
  req.old_due_us = f.due_us;
  req.old_scheduled = f.scheduled;
  req.new_due_us = pending.empty() ? 0 : next_attempt(env, now);
  if (f.admin == AdminAction::kHold && req.op == CommitOp::kUpdate) {  // correoctl hold: off the schedule
    env.held = true;
    env.hold_reason = "correoctl hold";
    req.new_scheduled = false;
  }
  req.submitted = std::chrono::steady_clock::now();
  // Failure DSN: never for the null sender (RFC 5321 §4.5.5), only where NOTIFY asks.
  std::vector<uint32_t> to_report;
  for (uint32_t i : failed_now) {
    if (notify_failure(env.recipients[i].notify)) to_report.push_back(i);
  }
  if (!env.sender.empty() && !to_report.empty()) {
    req.add.push_back(make_dsn(f, env, to_report, DsnAction::kFailed, now));
    metrics_.dsn[static_cast<size_t>(DsnLabel::kFailed)].add();
    LogLine(LogLevel::kInfo, "bounce").kv("id", format_queue_id(id)).kv("bounce_id", format_queue_id(req.add.back().envelope.id))
        .kv("to", env.sender).kv("rcpts", static_cast<uint64_t>(to_report.size()));
    ++stats_.bounces;
  }
  // Success notice (RFC 3461 §6.2.1): for NOTIFY=SUCCESS recipients handed to a server that
  // does not offer DSN; one that does received NOTIFY and reports delivery itself.
  std::vector<uint32_t> relayed;
  for (uint32_t i = 0; i < env.recipients.size(); ++i) {
    const Recipient& r = env.recipients[i];
    if (r.state == RecipientState::kDelivered && f.message->envelope.recipients[i].state == RecipientState::kPending &&
        (r.notify & kNotifySuccess) && !f.peer_dsn[i]) {
      relayed.push_back(i);
    }
  }
  if (!env.sender.empty() && !relayed.empty()) {
    req.add.push_back(make_dsn(f, env, relayed, DsnAction::kRelayed, now));
    metrics_.dsn[static_cast<size_t>(DsnLabel::kRelayed)].add();
    LogLine(LogLevel::kInfo, "success_notice").kv("id", format_queue_id(id))
        .kv("notice_id", format_queue_id(req.add.back().envelope.id)).kv("to", env.sender);
  }
  // Delay notice, once: after queue.delay_warning, or when a BY=;N deadline passed.
  const bool warn_time = config_->queue.delay_warning.count() > 0 &&
                         now - env.arrival_us >= to_us(config_->queue.delay_warning);
  const bool by_notify = env.by_mode == ByMode::kNotify && now >= env.deliver_by_us;
  if (req.op == CommitOp::kUpdate && !env.delay_warned && (warn_time || by_notify) && !env.sender.empty()) {
    std::vector<uint32_t> to_warn;
    for (uint32_t i : pending) {
      const uint8_t n = env.recipients[i].notify;
      // RFC 3461 §4.1: without NOTIFY, delay notices are at the MTA's discretion (we send them).
      if (n == 0 || (n & kNotifyDelay)) to_warn.push_back(i);
    }
    if (!to_warn.empty()) {
      req.add.push_back(make_dsn(f, env, to_warn, DsnAction::kDelayed, now));
      metrics_.dsn[static_cast<size_t>(DsnLabel::kDelayed)].add();
      LogLine(LogLevel::kInfo, "delay_notice").kv("id", format_queue_id(id))
          .kv("notice_id", format_queue_id(req.add.back().envelope.id)).kv("to", env.sender);
    }
    env.delay_warned = true;
  }
  if (req.op == CommitOp::kRemove) {
    LogLine line(LogLevel::kInfo, "removed");
    line.kv("id", format_queue_id(id));
    if (f.admin) line.kv("by", "correoctl " + std::string(to_string(*f.admin)));
  } else if (f.admin == AdminAction::kHold) {
    LogLine(LogLevel::kInfo, "held").kv("id", format_queue_id(id)).kv("reason", env.hold_reason);
  }
  req.envelope = std::move(env);
  f.committing = true;
  if (!spool_.submit(spool_.scheduler_channel(), req)) {
    // Spool busy or stopping: forget the in-flight state; the message is still due and is
    // simply tried again (at-least-once).
    LogLine(LogLevel::kWarn, "verdict_not_committed").kv("id", format_queue_id(id));
    in_flight_.erase(id);
  }
}

// make_dsn - an RFC 3464 notice about `rcpts` of env, as a new message from <> to the sender.
StoredMessage Scheduler::make_dsn(const InFlight& f, const Envelope& env, const std::vector<uint32_t>& rcpts,
                                  DsnAction action, int64_t now) {
  DsnInput in;
  in.reporting_mta = config_->server.hostname;
  in.original_sender = env.sender;
  in.envid = env.envid;
  in.arrival_us = env.arrival_us;
  in.now_us = now;
  in.ret = env.ret;
  in.smtputf8 = env.smtputf8;
  in.original = f.message->body;
  in.boundary_seed = format_queue_id(env.id);
  for (uint32_t i : rcpts) {
    const Recipient& r = env.recipients[i];
    const ServerReply& reply = f.replies[i];
    DsnRecipient d;
    d.final_recipient = r.address;
    d.original_recipient = r.orcpt;
    d.action = action;
    d.status = f.dsn_status[i].empty() ? status_of(reply) : f.dsn_status[i];
    if (action == DsnAction::kDelayed && (d.status.empty() || d.status[0] != '4')) d.status = "4.4.7";
    const std::string& remote = f.remotes[i];
    d.remote_mta = remote.substr(0, remote.find('['));
    d.diagnostic = reply.code ? reply.to_string() : std::string();
    d.last_attempt_us = now;
    if (action == DsnAction::kDelayed) d.retry_until_us = env.arrival_us + to_us(config_->queue.max_lifetime);
    in.recipients.push_back(std::move(d));
  }
  StoredMessage out;
  out.body = build_dsn(in);
  Envelope& b = out.envelope;
  b.id = bounce_ids_.next();
  b.sender = "";
  Recipient to;
  to.address = env.sender;
  to.notify = kNotifyNever;  // no DSN about a DSN
  b.recipients.push_back(std::move(to));
  b.body = BodyType::k8BitMime;
  b.smtputf8 = env.smtputf8;
  b.arrival_us = now;
  b.client_address = "127.0.0.1";
  b.helo = config_->server.hostname;
  b.size = out.body.size();
  return out;
}

void Scheduler::drain_spool_completions() {
  CommitCompletion c;
  const unsigned channel = spool_.scheduler_channel();
  while (spool_.pop_completion(channel, c)) {
    // Whatever the outcome, the message leaves "in flight": on success its schedule moved
    // or it is gone; on failure it is still due at its old time and will be tried again.
    if (c.status != CommitStatus::kOk) {
      LogLine(LogLevel::kError, "verdict_commit_failed").kv("id", format_queue_id(c.cookie)).kv("error", c.error);
    }
    in_flight_.erase(c.cookie);
    if (auto w = admin_waiting_.find(c.cookie); w != admin_waiting_.end()) {
      w->second->reply.set_value(c.status == CommitStatus::kOk ? ActionReply{ActionResult::kDone, "committed"}
                                                               : ActionReply{ActionResult::kFailed, c.error});
      admin_waiting_.erase(w);
    }
  }
}

}  // namespace correo
