// scheduler_admin.cc - correoctl's hold/release/delete/bounce, done on the scheduler thread,
// and the per-domain delivery counters.
//
// Why here: the scheduler owns the in-flight state and is the only writer of verdicts. An
// action on a message being delivered must not race its verdict, so it is parked in
// pending_admin_ and applied by decide() when the attempt ends. Any other message is
// rewritten through the spool's group commit (the scheduler channel), and the caller's
// reply waits for that commit: a "done" from correoctl is durable.
#include <chrono>

#include "relay/common/clock.h"
#include "relay/common/eventfd.h"
#include "relay/common/log.h"
#include "relay/delivery/scheduler.h"
#include "relay/smtp/address.h"

namespace correo {
namespace {

constexpr size_t kAdminQueue = 64;                  // requests waiting for the scheduler thread
constexpr auto kAdminWait = std::chrono::seconds(30);  // a commit takes milliseconds; this is a backstop

}  // namespace

ActionReply Scheduler::admin(AdminAction action, uint64_t id) {
  auto request = std::make_unique<AdminRequest>();
  request->action = action;
  request->id = id;
  std::future<ActionReply> reply = request->reply.get_future();
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    if (stop_.load()) return {ActionResult::kBusy, "the daemon is stopping"};
    if (admin_requests_.size() >= kAdminQueue) return {ActionResult::kBusy, "too many admin requests waiting"};
    admin_requests_.push_back(std::move(request));
  }
  wake();
  if (reply.wait_for(kAdminWait) != std::future_status::ready) {
    // The request stays owned by the scheduler, which answers it later (nobody listens then).
    return {ActionResult::kFailed, "no answer from the scheduler within 30 s; check `queue show`"};
  }
  return reply.get();
}

void Scheduler::take_admin_requests() {
  std::deque<std::unique_ptr<AdminRequest>> requests;
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    requests.swap(admin_requests_);
  }
  // run_admin answers each request now or moves it into admin_waiting_ until its commit.
  for (auto& r : requests) run_admin(*r);
}

void Scheduler::run_admin(AdminRequest& request) {
  const uint64_t id = request.id;
  const AdminAction action = request.action;
  if (in_flight_.count(id) > 0) {
    // Being delivered (or its verdict is being committed): act when the attempt ends.
    if (action == AdminAction::kRelease) {
      request.reply.set_value({ActionResult::kNotApplicable, "not held: it is being delivered now"});
      return;
    }
    if (in_flight_[id].committing) {
      request.reply.set_value({ActionResult::kBusy, "its delivery attempt is being recorded; try again"});
      return;
    }
    pending_admin_[id] = action;
    request.reply.set_value({ActionResult::kPending, "being delivered now; " + std::string(to_string(action)) +
                                                         " applies when this attempt ends"});
    return;
  }
  const int64_t now = unix_now_us();
  if (action == AdminAction::kBounce) {
    StoredMessage stored;
    if (!spool_.load(id, stored)) {
      request.reply.set_value({ActionResult::kNotFound, "no such message"});
      return;
    }
    const std::optional<int64_t> due = spool_.find_due(stored.envelope);
    // The verdict path builds the DSN and removes the message in one commit.
    auto message = std::make_shared<MessageForDelivery>();
    message->envelope = std::move(stored.envelope);
    message->body = std::move(stored.body);
    InFlight& f = in_flight_[id];
    f.due_us = due.value_or(0);
    f.scheduled = due.has_value();  // a held message has no schedule entry to delete
    f.message = message;
    const size_t n = message->envelope.recipients.size();
    f.replies.assign(n, ServerReply{});
    f.remotes.assign(n, std::string());
    f.tls.assign(n, std::string());
    f.peer_dsn.assign(n, false);
    f.dsn_status.assign(n, std::string());
    f.admin = AdminAction::kBounce;
    decide(id, f, now);
    if (in_flight_.count(id) == 0) {
      request.reply.set_value({ActionResult::kFailed, "the spool is busy; try again"});
      return;
    }
    admin_waiting_[id] = std::make_unique<AdminRequest>(std::move(request));
    return;
  }
  std::optional<Envelope> env = spool_.load_envelope(id);
  if (!env) {
    request.reply.set_value({ActionResult::kNotFound, "no such message"});
    return;
  }
  const std::optional<int64_t> due = spool_.find_due(*env);
  CommitRequest req;
  req.cookie = id;
  req.old_scheduled = due.has_value();
  req.old_due_us = due.value_or(0);
  switch (action) {
    case AdminAction::kHold:
      if (env->held) {
        request.reply.set_value({ActionResult::kNotApplicable, "already held"});
        return;
      }
      req.op = CommitOp::kUpdate;
      env->held = true;
      env->hold_reason = "correoctl hold";
      req.new_scheduled = false;
      break;
    case AdminAction::kRelease:
      if (!env->held) {
        request.reply.set_value({ActionResult::kNotApplicable, "not held"});
        return;
      }
      req.op = CommitOp::kUpdate;
      env->held = false;
      env->hold_reason.clear();
      req.new_scheduled = true;
      req.new_due_us = now;  // due at once
      break;
    case AdminAction::kDelete:
      req.op = CommitOp::kRemove;
      break;
    case AdminAction::kBounce:
      break;  // handled above
  }
  req.envelope = std::move(*env);
  commit_admin(id, req, request);
}

// commit_admin - submit on the scheduler channel; the message counts as in flight (so no
// due scan hands it out) until the completion arrives and answers the request.
void Scheduler::commit_admin(uint64_t id, CommitRequest& req, AdminRequest& request) {
  req.submitted = std::chrono::steady_clock::now();
  const AdminAction action = request.action;
  if (!spool_.submit(spool_.scheduler_channel(), req)) {
    request.reply.set_value({ActionResult::kFailed, "the spool is busy; try again"});
    return;
  }
  InFlight& f = in_flight_[id];
  f.committing = true;
  f.due_us = req.old_due_us;
  LogLine(LogLevel::kInfo, action == AdminAction::kDelete ? "removed" : action == AdminAction::kHold ? "held" : "released")
      .kv("id", format_queue_id(id)).kv("by", "correoctl " + std::string(to_string(action)));
  admin_waiting_[id] = std::make_unique<AdminRequest>(std::move(request));
}

size_t Scheduler::domain_label(std::string_view address) const {
  const size_t at = address.rfind('@');
  if (at != std::string_view::npos && !domain_index_.empty()) {
    auto it = domain_index_.find(lowercase_ascii(address.substr(at + 1)));
    if (it != domain_index_.end()) return it->second;
  }
  return domain_labels_.size() - 1;  // "other"
}

void Scheduler::count_delivery(DeliveryResult result, const Envelope& env, const Recipient& r, int64_t now) {
  metrics_.delivery(result, domain_label(r.address)).add();
  if (result == DeliveryResult::kDelivered && now > env.arrival_us) {
    metrics_.latency.observe(static_cast<double>(now - env.arrival_us) / 1e6);
  }
}

}  // namespace correo
