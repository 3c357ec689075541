// fake_admin_backend.h - an AdminBackend over a fixed vector of QueueEntry, for tests of
// the command interpreter, the admin server and correoctl. Not thread-safe: the server
// calls it from its one thread, the test only after the calls it waits for.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "relay/admin/admin_backend.h"
#include "relay/admin/admin_commands.h"
#include "relay/common/ascii.h"

namespace correo::test {

// 2024-05-01T12:34:56Z
inline constexpr int64_t kBaseUs = 1714566896000000;
inline constexpr int64_t kHourUs = 3600LL * 1000000;

inline uint64_t make_id(int64_t us, unsigned worker) { return (static_cast<uint64_t>(us) << 6) | worker; }

inline Recipient rcpt(std::string address, RecipientState state = RecipientState::kPending, uint32_t attempts = 0,
                      std::string last_reply = "") {
  Recipient r;
  r.address = std::move(address);
  r.state = state;
  r.attempts = attempts;
  r.last_reply = std::move(last_reply);
  return r;
}

class FakeAdminBackend : public AdminBackend {
 public:
  std::vector<QueueEntry> entries;
  int64_t now_us = kBaseUs + 72 * kHourUs;  // for --min-age
  // synthetic - after `entries`, for_each yields this many made-up messages (big queues).
  uint64_t synthetic = 0;
  std::map<uint64_t, ActionReply> scripted;  // act() answers these ids with this reply
  std::vector<std::pair<AdminAction, uint64_t>> acted;
  std::vector<std::string> flushed;
  ActionReply flush_reply{ActionResult::kDone, "3 messages due now"};
  std::vector<std::pair<std::string, double>> stat_values = {
      {"queue_active", 2}, {"queue_deferred", 1}, {"queue_held", 1}, {"delivered_total", 12345}, {"load", 0.25}};

  static bool matches(const QueueFilter& f, const QueueEntry& e, int64_t now_us) {
    if (!f.domain.empty()) {
      bool any = false;
      for (const Recipient& r : e.envelope.recipients) {
        const size_t at = r.address.rfind('@');
        if (r.state == RecipientState::kPending && at != std::string::npos &&
            iequals(std::string_view(r.address).substr(at + 1), f.domain)) {
          any = true;
        }
      }
      if (!any) return false;
    }
    if (!f.sender.empty()) {
      const std::string want = f.sender == "<>" ? "" : f.sender;
      if (!iequals(e.envelope.sender, want)) return false;
    }
    if (f.state && *f.state != e.state) return false;
    if (f.min_age_s > 0 && now_us - e.envelope.arrival_us < f.min_age_s * 1000000) return false;
    return true;
  }

  void for_each(const QueueFilter& filter, const std::function<bool(const QueueEntry&)>& fn) override {
    for (const QueueEntry& e : entries) {
      if (matches(filter, e, now_us) && !fn(e)) return;
    }
    QueueEntry s;
    s.envelope.sender = "bulk@example.org";
    s.envelope.recipients.push_back(rcpt("someone@example.net"));
    s.envelope.size = 1000;
    for (uint64_t i = 0; i < synthetic; ++i) {
      s.envelope.arrival_us = kBaseUs + static_cast<int64_t>(i);
      s.envelope.id = make_id(s.envelope.arrival_us, 7);
      if (matches(filter, s, now_us) && !fn(s)) return;
    }
  }

  std::optional<QueueEntry> find(uint64_t id) override {
    for (const QueueEntry& e : entries) {
      if (e.envelope.id == id) return e;
    }
    return std::nullopt;
  }

  ActionReply act(AdminAction action, uint64_t id) override {
    acted.emplace_back(action, id);
    if (auto it = scripted.find(id); it != scripted.end()) return it->second;
    for (size_t i = 0; i < entries.size(); ++i) {
      QueueEntry& e = entries[i];
      if (e.envelope.id != id) continue;
      switch (action) {
        case AdminAction::kHold:
          if (e.envelope.held) return {ActionResult::kNotApplicable, "already held"};
          e.envelope.held = true;
          e.state = QueueState::kHeld;
          return {ActionResult::kDone, "held"};
        case AdminAction::kRelease:
          if (!e.envelope.held) return {ActionResult::kNotApplicable, "not held"};
          e.envelope.held = false;
          e.state = QueueState::kActive;
          return {ActionResult::kDone, "released"};
        case AdminAction::kDelete:
        case AdminAction::kBounce:
          entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
          return {ActionResult::kDone, action == AdminAction::kDelete ? "deleted" : "bounced"};
      }
    }
    return {ActionResult::kNotFound, "no such message"};
  }

  ActionReply flush(std::string_view domain) override {
    flushed.emplace_back(domain);
    return flush_reply;
  }

  std::vector<std::pair<std::string, double>> stats() override { return stat_values; }
};

// sample_queue - four messages covering the interesting cases (ids in arrival order):
//   [0] deferred, 2 rcpts (one delivered), 2 hours old   [1] active, null sender, 10 min old
//   [2] held by policy, 3 days old                       [3] active, hostile/UTF-8 text, 30 s old
inline std::vector<QueueEntry> sample_queue(int64_t now_us) {
  std::vector<QueueEntry> q(4);
  const int64_t arrivals[4] = {now_us - 2 * kHourUs, now_us - 600LL * 1000000, now_us - 72 * kHourUs,
                               now_us - 30LL * 1000000};
  for (int i = 0; i < 4; ++i) {
    q[i].envelope.arrival_us = arrivals[i];
    q[i].envelope.id = make_id(arrivals[i], static_cast<unsigned>(i));
  }
  Envelope& a = q[0].envelope;
  a.sender = "alice@example.org";
  a.recipients = {rcpt("bob@example.net", RecipientState::kPending, 3, "451 4.7.1 try later"),
                  rcpt("carol@example.com", RecipientState::kDelivered, 1, "250 2.0.0 ok")};
  a.recipients[0].notify = kNotifyFailure | kNotifyDelay;
  a.recipients[0].orcpt = "rfc822;bob@example.net";
  a.size = 12345;
  a.client_address = "192.0.2.7";
  a.helo = "mx.example.org";
  a.body = BodyType::k8BitMime;
  a.envid = "abc123";
  a.ret = DsnRet::kHdrs;
  q[0].state = QueueState::kDeferred;
  q[0].next_attempt_us = now_us + 600LL * 1000000;

  Envelope& b = q[1].envelope;
  b.recipients = {rcpt("postmaster@Example.NET")};
  b.size = 800;

  Envelope& c = q[2].envelope;
  c.sender = "mallory@evil.test";
  c.recipients = {rcpt("dave@example.com")};
  c.size = 4096;
  c.held = true;
  c.hold_reason = "header_checks: spam";
  q[2].state = QueueState::kHeld;

  Envelope& d = q[3].envelope;
  d.sender = "evil\x1b[31m\"x\"@bad.test";
  d.recipients = {rcpt("jos\xc3\xa9@ex\xc3\xa4mple.de"), rcpt("x@y.test\n"), rcpt("z@y.test")};
  d.smtputf8 = true;
  d.size = 10;
  return q;
}

// VectorReplyWriter - collects a reply; `data_budget` makes data() report a vanished client.
class VectorReplyWriter : public ReplyWriter {
 public:
  std::vector<std::string> lines;
  bool finished = false;
  bool ok_result = false;
  AdminError code = AdminError::kFailed;
  std::string final_text;
  int finals = 0;
  int64_t data_budget = -1;  // < 0: unlimited

  bool data(std::string_view text) override {
    lines.emplace_back(text);
    if (data_budget >= 0 && --data_budget < 0) return false;
    return true;
  }
  void ok(std::string_view text) override {
    ++finals;
    finished = true;
    ok_result = true;
    final_text = std::string(text);
  }
  void error(AdminError c, std::string_view text) override {
    ++finals;
    finished = true;
    ok_result = false;
    code = c;
    final_text = std::string(text);
  }
};

}  // namespace correo::test
