// session_policy.cc - the anti-spam checks a session runs itself (HELO syntax, rates,
// recipient verification and aliases, header checks, tarpit) and the ones it asks its host
// for (sender/recipient domain in DNS, greylisting, milters), one stage at a time.
//
// Who is judged: relay clients (relay.networks), allowlisted clients (policy.client_allow)
// and authenticated users skip the checks that exist to judge strangers (HELO, greylisting,
// client rates), as Postfix's permit_mynetworks / permit_sasl_authenticated come first in
// its restriction lists. The DNS checks are about addresses and spare only allowlisted
// clients. Recipient verification, aliases and content checks apply to everyone. Every rejection is counted by reason and logged as one line.
#include <algorithm>

#include "queue/queue_id.h"
#include "relay/common/ascii.h"
#include "relay/common/log.h"
#include "relay/policy/helo_check.h"
#include "relay/policy/policy.h"
#include "relay/smtp/session.h"

namespace correo {
namespace {

// TextReply - a reply parsed from configured or milter text (Reply holds only literals).
struct TextReply {
  uint16_t code = 0;
  std::string enhanced;
  std::string text;
};

// parse_reply_text - "550 5.7.1 text" (a milter's SMFIR_REPLYCODE, a header_checks text with
// its own code) into a Reply of the expected class; anything else keeps the fallback.
TextReply parse_reply_text(std::string_view text, char klass, TextReply fallback) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.size() >= 4 && text[0] == klass && digit(text[1]) && digit(text[2]) && (text[3] == ' ' || text[3] == '-')) {
    TextReply r;
    r.code = static_cast<uint16_t>((text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
    std::string_view rest = text.substr(4);
    const size_t sp = rest.find(' ');
    const std::string_view first = rest.substr(0, sp);
    if (first.size() >= 5 && first[0] == klass && first[1] == '.') {
      r.enhanced = std::string(first);
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    } else {
      r.enhanced = fallback.enhanced;
    }
    r.text = rest.empty() ? fallback.text : std::string(rest);
    return r;
  }
  return fallback;
}

// split_enhanced - "5.7.1 text" -> (enhanced, text); a text without a code keeps `enhanced`.
std::pair<std::string, std::string> split_enhanced(std::string_view text, std::string_view enhanced) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  const size_t sp = text.find(' ');
  const std::string_view first = text.substr(0, sp);
  if (first.size() >= 5 && (first[0] == '4' || first[0] == '5') && first[1] == '.' && sp != std::string_view::npos) {
    return {std::string(first), std::string(text.substr(sp + 1))};
  }
  return {std::string(enhanced), std::string(text)};
}

}  // namespace

bool Session::check_on(Check c) const { return policy_.checks.test(static_cast<size_t>(c)) && host_.policy(); }

// reject - one policy rejection: counted, logged as one line, answered.
void Session::reject(size_t reason, uint16_t code, std::string_view enhanced, std::string_view text) {
  if (Policy* p = host_.policy()) p->count(reason);
  LogLine(LogLevel::kInfo, "reject").kv("client", client_ip_).kv("check", reason_name(reason))
      .kv("reply", std::to_string(code) + " " + std::string(enhanced) + " " + std::string(text));
  reply_error(code, enhanced, text);
}

// helo_allowed - reject_invalid_helo_hostname / reject_non_fqdn_helo_hostname.
bool Session::helo_allowed(std::string_view name) {
  if (!check_on(Check::kHelo) || relay_client_ || allowlisted_) return true;
  const PolicyConfig& pc = config_.policy;
  if (!pc.reject_invalid_helo && !pc.require_fqdn_helo) return true;
  const HeloProblem problem = check_helo(name, pc.require_fqdn_helo);
  const std::string shown = "<" + std::string(name.substr(0, 255)) + ">";
  switch (problem) {
    case HeloProblem::kOk:
      return true;
    case HeloProblem::kNotFqdn:
      reject(reason_index(Check::kHelo), 504, "5.5.2", shown + ": Helo command rejected: need fully-qualified hostname");
      return false;
    default:
      if (!pc.reject_invalid_helo) return true;
      reject(reason_index(Check::kHelo), 501, "5.5.2", shown + ": Helo command rejected: Invalid name");
      return false;
  }
}

// mail_rate_allowed - policy.message_rate per client, user_message_rate per login.
bool Session::mail_rate_allowed() {
  if (!check_on(Check::kMessageRate) || relay_client_ || allowlisted_) return true;
  if (host_.policy()->take_message(config_.policy, client_ip_, auth_user_, std::chrono::steady_clock::now())) return true;
  reject(reason_index(Check::kMessageRate), 450, "4.7.1",
         auth_user_.empty() ? "Error: too much mail from [" + client_ip_ + "], try again later"
                            : "Error: too much mail from user " + auth_user_ + ", try again later");
  return false;
}

// expand_recipient - recipient verification for relay domains, then alias expansion. The
// expanded recipients keep the original as ORCPT (RFC 3461 §4.2) so DSNs name what the
// sender wrote. False = rejected (the reply is written).
bool Session::expand_recipient(Recipient rcpt, bool relay_domain, std::vector<Recipient>& out) {
  const PolicyTables* tables = check_on(Check::kRecipients) ? host_.policy_tables() : nullptr;
  const std::string shown = "<" + rcpt.address + ">";
  if (tables && tables->aliases) {
    const AliasExpansion e = tables->aliases->expand(rcpt.address, config_.policy.max_alias_expansion);
    if (e.loop) {
      reject(reason_index(Check::kRecipients), 554, "5.4.6", shown + ": Recipient address rejected: alias loop");
      return false;
    }
    if (e.too_many) {
      reject(reason_index(Check::kRecipients), 451, "4.3.0",
             shown + ": Recipient address rejected: alias expands to too many recipients");
      return false;
    }
    if (e.aliased) {
      LogLine(LogLevel::kDebug, "alias").kv("client", client_ip_).kv("rcpt", rcpt.address)
          .kv("targets", static_cast<uint64_t>(e.recipients.size()));
      for (const std::string& target : e.recipients) {
        Recipient r;
        r.address = target;
        r.notify = rcpt.notify;
        r.orcpt = rcpt.orcpt.empty() ? "rfc822;" + rcpt.address : rcpt.orcpt;
        out.push_back(std::move(r));
      }
      return true;
    }
  }
  if (tables && tables->recipients && relay_domain) {
    const size_t at = rcpt.address.rfind('@');
    const std::string_view domain = at == std::string::npos ? std::string_view() : std::string_view(rcpt.address).substr(at + 1);
    if (tables->recipients->covers_domain(domain) && !tables->recipients->known(rcpt.address)) {
      reject(reason_index(Check::kRecipients), 550, "5.1.1",
             shown + ": Recipient address rejected: User unknown in relay recipient table");
      return false;
    }
  }
  out.push_back(std::move(rcpt));
  return true;
}

// stage_wanted - DNS checks are about addresses, so they apply to every client but an
// allowlisted one (a relay client's typo fails at RCPT instead of as a bounce); greylisting
// judges strangers only.
bool Session::stage_wanted(PendingCheck::Stage stage) const {
  using S = PendingCheck::Stage;
  const Policy* p = host_.policy();
  if (!p || allowlisted_) return false;
  const bool stranger = !relay_client_ && auth_user_.empty();
  switch (stage) {
    case S::kSenderDomain:
      return !pending_.rcpt && !pending_.address.empty() && config_.policy.verify_sender_domain &&
             check_on(Check::kSenderDomain);
    case S::kRecipientDomain:
      return pending_.rcpt && config_.policy.verify_recipient_domain && check_on(Check::kRecipientDomain) &&
             config_.relay.domains.count(lowercase_ascii(pending_.address.substr(pending_.address.rfind('@') + 1))) == 0;
    case S::kGreylist:
      return stranger && pending_.rcpt && config_.policy.greylist.enabled && check_on(Check::kGreylist);
    default:
      return false;
  }
}

void Session::begin_checks(PendingCheck pending) {
  pending_ = std::move(pending);
  pending_.stage = PendingCheck::Stage::kNone;
  run_checks();
}

// run_checks - walk the remaining stages; answers that come at once (cache hits) are applied
// here, others pause the session until on_policy_answer.
void Session::run_checks() {
  using S = PendingCheck::Stage;
  while (true) {
    S next = S::kDone;
    if (pending_.rcpt) {
      if (pending_.stage == S::kNone) next = S::kRecipientDomain;
      else if (pending_.stage == S::kRecipientDomain) next = S::kGreylist;
    } else if (pending_.stage == S::kNone) {
      next = S::kSenderDomain;
    }
    pending_.stage = next;
    if (next == S::kDone) return checks_passed();
    if (!stage_wanted(next)) continue;
    PolicyQuery q;
    const size_t at = pending_.address.rfind('@');
    if (next == S::kGreylist) {
      q.kind = PolicyQuery::Kind::kGreylist;
      q.sender = txn_.mail.path.address;
      q.recipient = pending_.address;
    } else {
      q.kind = PolicyQuery::Kind::kDomain;
      q.domain = lowercase_ascii(std::string_view(pending_.address).substr(at == std::string::npos ? 0 : at + 1));
    }
    std::optional<PolicyAnswer> now;
    if (!host_.start_query(q, now)) {
      PolicyAnswer down;
      // Greylisting fails open (mail flow beats a missing checker); DNS checks defer.
      down.verdict = next == S::kGreylist ? PolicyAnswer::Verdict::kPass : PolicyAnswer::Verdict::kTempFail;
      down.detail = "checker unavailable";
      now = down;
    }
    if (!now) {
      phase_ = SessionPhase::kAwaitPolicy;
      return;
    }
    if (!apply_answer(*now)) return;
  }
}

void Session::on_policy_answer(const PolicyAnswer& answer) {
  if (phase_ != SessionPhase::kAwaitPolicy) return;  // closed meanwhile
  phase_ = SessionPhase::kCommand;
  if (apply_answer(answer)) run_checks();
}

// apply_answer - true = this stage passed; otherwise the rejection is written and the MAIL
// or RCPT is forgotten.
bool Session::apply_answer(const PolicyAnswer& a) {
  using S = PendingCheck::Stage;
  using V = PolicyAnswer::Verdict;
  if (a.verdict == V::kPass) return true;
  const std::string shown = "<" + pending_.address + ">";
  const S stage = pending_.stage;
  const bool rcpt = pending_.rcpt;
  pending_ = PendingCheck{};
  if (rcpt) ++txn_.rejected_rcpts;
  else txn_ = Transaction{};
  if (stage == S::kGreylist) {
    reject(reason_index(Check::kGreylist), 450, "4.2.0",
           shown + ": Recipient address rejected: Greylisted, try again in " + std::to_string(a.retry_after) + " seconds");
    return false;
  }
  const bool sender = stage == S::kSenderDomain;
  const size_t reason = reason_index(sender ? Check::kSenderDomain : Check::kRecipientDomain);
  const std::string what = sender ? ": Sender address rejected: " : ": Recipient address rejected: ";
  LogLine(LogLevel::kDebug, "domain_check").kv("client", client_ip_).kv("address", shown).kv("detail", a.detail);
  switch (a.verdict) {
    case V::kNullMx:  // RFC 7505 §4.2-4.3
      if (sender) reject(reason, 550, "5.7.27", shown + what + "Domain does not accept mail (null MX)");
      else reject(reason, 556, "5.1.10", shown + what + "Domain does not accept mail (null MX)");
      break;
    case V::kPermFail:
      reject(reason, 550, sender ? "5.1.8" : "5.1.2", shown + what + "Domain not found");
      break;
    default:  // temporary DNS trouble: the client tries again later
      reject(reason, 450, sender ? "4.1.8" : "4.1.2", shown + what + "Domain not found (temporary DNS failure)");
      break;
  }
  return false;
}

void Session::checks_passed() {
  const bool rcpt = pending_.rcpt;
  std::vector<Recipient> add = std::move(pending_.recipients);
  pending_ = PendingCheck{};
  if (!rcpt) {
    txn_.active = true;
    return reply(250, "2.1.0", "Ok");
  }
  for (Recipient& r : add) txn_.recipients.push_back(std::move(r));
  reply(250, "2.1.5", "Ok");
}

// content_allowed - header size limits and header_checks at the end of DATA.
bool Session::content_allowed() {
  if (!check_on(Check::kHeaderChecks)) return true;
  const PolicyConfig& pc = config_.policy;
  const std::string_view content = std::string_view(txn_.body).substr(txn_.content_offset);
  const HeaderLimitVerdict limits = check_header_limits(content, pc.header_size, pc.header_count);
  if (!limits.ok()) {
    if (Policy* p = host_.policy()) p->count(reason_index(Check::kHeaderChecks));
    fail_message(552, "5.3.4",
                 limits.too_many_headers ? "Message header section has too many lines"
                                         : "Message header section exceeds fixed maximum size",
                 "header_size");
    return false;
  }
  const PolicyTables* tables = host_.policy_tables();
  if (!tables || !tables->header_checks) return true;
  const HeaderVerdict v = tables->header_checks->check(header_section(content));
  for (const std::string& w : v.warnings) {
    LogLine(LogLevel::kInfo, "header_warning").kv("client", client_ip_).kv("id", format_queue_id(txn_.id)).kv("text", w);
  }
  std::string prepend;
  for (const std::string& line : v.prepend) {
    prepend += line;
    prepend += "\r\n";
  }
  if (!prepend.empty()) txn_.body.insert(txn_.content_offset, prepend);
  const std::string matched = v.matched_header.substr(0, 200);
  switch (v.action) {
    case HeaderAction::kReject: {
      auto [enhanced, text] = split_enhanced(v.text, "5.7.1");
      if (Policy* p = host_.policy()) p->count(reason_index(Check::kHeaderChecks));
      fail_message(550, enhanced, text, "header_checks", matched);
      return false;
    }
    case HeaderAction::kDiscard:
      txn_.discard = true;
      LogLine(LogLevel::kInfo, "header_discard").kv("client", client_ip_).kv("id", format_queue_id(txn_.id))
          .kv("header", matched).kv("text", v.text);
      return true;
    case HeaderAction::kHold:
      txn_.held = true;
      txn_.hold_reason = "header_checks: " + (v.text.empty() ? matched : v.text);
      return true;
    default:
      return true;
  }
}

// call_milters - hand the finished message to the listener's milters; true = now waiting.
bool Session::call_milters() {
  if (!check_on(Check::kMilter) || policy_.milters.empty() || txn_.discard) return false;
  MilterRequest req;
  req.milters = policy_.milters;
  req.client_ip = client_ip_;
  req.helo = helo_;
  req.sender = txn_.mail.path.address;
  for (const Recipient& r : txn_.recipients) req.recipients.push_back(r.address);
  req.content = txn_.body;
  req.queue_id = format_queue_id(txn_.id);
  req.auth_user = auth_user_;
  // The phase is set first: the host may answer before start_milters returns.
  phase_ = SessionPhase::kAwaitMilter;
  if (host_.start_milters(req)) return true;
  phase_ = SessionPhase::kCommand;
  return false;
}

void Session::on_milter_result(MilterOutcome outcome) {
  if (phase_ != SessionPhase::kAwaitMilter) return;  // closed meanwhile
  phase_ = SessionPhase::kCommand;
  apply_milter_outcome(outcome);
}

// apply_milter_outcome - the milters' verdict and edits, then the message is queued (or not).
void Session::apply_milter_outcome(MilterOutcome& o) {
  using V = MilterOutcome::Verdict;
  const std::string id = format_queue_id(txn_.id);
  const size_t reason = reason_index(Check::kMilter);
  if (o.verdict == V::kReject || o.verdict == V::kTempFail) {
    const bool perm = o.verdict == V::kReject;
    const TextReply r = parse_reply_text(o.reply, perm ? '5' : '4',
                                         perm ? TextReply{550, "5.7.1", "Message content rejected"}
                                              : TextReply{451, "4.7.1", "Service unavailable - try again later"});
    if (Policy* p = host_.policy()) p->count(reason);
    return fail_message(r.code, r.enhanced, r.text, "milter", o.milter + (o.reason.empty() ? "" : ": " + o.reason));
  }
  if (o.content) {
    txn_.body = std::move(*o.content);
    // The milters saw (and may have edited) everything, our Received: header included.
    txn_.content_offset = 0;
  }
  for (const std::string& gone : o.del_rcpts) {
    const size_t dropped = std::erase_if(txn_.recipients, [&](const Recipient& r) { return iequals(r.address, gone); });
    if (dropped) {
      LogLine(LogLevel::kInfo, "milter_rcpt_removed").kv("client", client_ip_).kv("id", id).kv("milter", o.milter)
          .kv("rcpt", gone);
    }
  }
  for (std::string& added : o.add_rcpts) {
    if (txn_.recipients.size() >= config_.limits.recipients) break;
    Recipient r;
    r.address = std::move(added);
    txn_.recipients.push_back(std::move(r));
  }
  if (o.verdict == V::kDiscard || txn_.recipients.empty()) {
    txn_.discard = true;
    LogLine(LogLevel::kInfo, "milter_discard").kv("client", client_ip_).kv("id", id).kv("milter", o.milter);
  } else if (o.verdict == V::kHold) {
    txn_.held = true;
    txn_.hold_reason = "milter " + o.milter + ": " + o.reason;
  }
  queue_message();
}

bool Session::take_tarpit() {
  if (tarpit_ != Tarpit::kRequested) return false;
  tarpit_ = Tarpit::kHolding;
  return true;
}

}  // namespace correo
