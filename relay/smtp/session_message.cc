// session_message.cc - message content, the Received: trace header, the hand-off to the
// spool and the reply that follows it.
//
// Durability rule: "250 queued as ID" is written only from on_commit_result() with an ok
// completion, i.e. after the spool's WAL fsync returned. Anything else gets a 4xx/5xx and
// the client keeps responsibility for the message.
#include <ctime>

#include "queue/queue_id.h"
#include "relay/common/ascii.h"
#include "relay/common/clock.h"
#include "relay/common/log.h"
#include "relay/smtp/session.h"

namespace correo {
namespace {

// rfc5322_date - "Mon, 23 Nov 2026 16:54:00 +0000" (RFC 5322 §3.3), UTC.
void append_rfc5322_date(std::string& out, time_t t) {
  struct tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char buf[64];
  const size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm_utc);
  out.append(buf, n);
}

}  // namespace

void Session::start_message(DataReader::Mode mode) {
  txn_.id = host_.next_queue_id();
  txn_.body.clear();
  // Reserve for the declared SIZE (bounded by the limit) to avoid regrowth copies.
  txn_.body.reserve(static_cast<size_t>(std::min<uint64_t>(txn_.mail.size, config_.limits.message_size)) + 512);
  append_received_header();
  txn_.content_offset = txn_.body.size();
  reader_.begin(mode, &txn_.body, config_.limits.message_size, config_.limits.text_line);
}

// append_received_header - RFC 5321 §4.4 trace line; "for" only with a single recipient so
// a message to many does not reveal the others. The protocol name says whether TLS and AUTH
// were used (RFC 3848, RFC 6531 §3.7.3); the authenticated user is not named.
void Session::append_received_header() {
  std::string& b = txn_.body;
  b += "Received: from ";
  b += helo_;
  b += " (unknown [";
  b += client_ip_;
  b += "])\r\n\t";
  if (tls_) {
    b += "(using ";
    b += tls_->version;
    b += " with cipher ";
    b += tls_->cipher;
    b += " (";
    b += std::to_string(tls_->bits);
    b += " bits))\r\n\t";
  }
  b += "by ";
  b += config_.server.hostname;
  b += " (correo) with ";
  if (txn_.mail.smtputf8) {
    b += "UTF8SMTP";
  } else {
    b += extended_ ? "ESMTP" : "SMTP";
  }
  if (tls_ && (extended_ || txn_.mail.smtputf8)) b += "S";
  if (!auth_user_.empty()) b += "A";
  b += " id ";
  b += format_queue_id(txn_.id);
  if (txn_.recipients.size() == 1) {
    b += "\r\n\tfor <";
    b += txn_.recipients.front().address;
    b += ">";
  }
  b += ";\r\n\t";
  append_rfc5322_date(b, time(nullptr));
  b += "\r\n";
}

// add_submission_headers - RFC 6409 §8.2-8.3: a submission server may add Date: and
// Message-ID: when the user agent left them out; without them many receivers score the
// message as spam or refuse it. They go first in the client's header section.
void Session::add_submission_headers() {
  bool has_date = false;
  bool has_message_id = false;
  std::string_view h(txn_.body);
  h.remove_prefix(txn_.content_offset);
  while (!h.empty()) {
    const size_t eol = h.find("\r\n");
    const std::string_view line = h.substr(0, eol);
    if (line.empty()) break;  // end of the header section
    if (istarts_with(line, "date:")) has_date = true;
    if (istarts_with(line, "message-id:")) has_message_id = true;
    if (eol == std::string_view::npos) break;
    h.remove_prefix(eol + 2);
  }
  if (has_date && has_message_id) return;
  std::string added;
  if (!has_date) {
    added += "Date: ";
    append_rfc5322_date(added, time(nullptr));
    added += "\r\n";
  }
  if (!has_message_id) {
    added += "Message-ID: <";
    added += format_queue_id(txn_.id);
    added += "@";
    added += config_.server.hostname;
    added += ">\r\n";
  }
  txn_.body.insert(txn_.content_offset, added);
}

size_t Session::process_data(std::string_view in) {
  const size_t used = reader_.consume(in);
  if (reader_.done()) {
    phase_ = SessionPhase::kCommand;
    finish_message();
  }
  return used;
}

size_t Session::process_bdat(std::string_view in) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), bdat_remaining_));
  if (!bdat_discard_ && n) reader_.consume(in.substr(0, n));
  bdat_remaining_ -= n;
  if (bdat_remaining_ > 0) return n;
  phase_ = SessionPhase::kCommand;
  if (bdat_discard_) {
    bdat_discard_ = false;
    reply(bdat_refusal_);
    return n;
  }
  if (bdat_last_) {
    reader_.finish_chunked();
    finish_message();
  } else if (reader_.defect() != DataDefect::kNone && reader_.defect() != DataDefect::kTooBig) {
    finish_message();  // refuse now; later chunks of this transaction get 503
  } else {
    reply(250, "2.0.0", std::to_string(n) + " octets received");
  }
  return n;
}

void Session::fail_message(uint16_t code, std::string_view enhanced, std::string_view text, std::string_view check,
                           std::string_view detail) {
  LogLine line(LogLevel::kInfo, "reject");
  line.kv("client", client_ip_).kv("id", format_queue_id(txn_.id)).kv("check", check)
      .kv("reply", std::to_string(code) + " " + std::string(enhanced) + " " + std::string(text));
  if (!detail.empty()) line.kv("detail", detail);
  reset_transaction();
  reply_error(code, enhanced, text);
}

// count_hops - Received: fields in the client's header section (not our own).
uint32_t Session::count_hops() const {
  std::string_view h(txn_.body);
  h.remove_prefix(txn_.content_offset);
  uint32_t hops = 0;
  while (!h.empty()) {
    const size_t eol = h.find("\r\n");
    std::string_view line = h.substr(0, eol);
    if (line.empty()) break;  // end of the header section
    if (istarts_with(line, "received:")) ++hops;
    if (eol == std::string_view::npos) break;
    h.remove_prefix(eol + 2);
  }
  return hops;
}

void Session::finish_message() {
  metrics_.messages_received.add();
  const DataDefect defect = reader_.defect();
  if (defect != DataDefect::kNone) count_rejected(defect == DataDefect::kTooBig ? MessageReject::kSize : MessageReject::kSyntax);
  switch (defect) {
    case DataDefect::kNone:
      break;
    case DataDefect::kBareLf:
      return fail_message(550, "5.6.0", "Message refused: bare LF in message text; lines must end with CRLF (RFC 5321 section 2.3.8)");
    case DataDefect::kBareCr:
      return fail_message(550, "5.6.0", "Message refused: bare CR in message text; lines must end with CRLF (RFC 5321 section 2.3.8)");
    case DataDefect::kNul:
      return fail_message(550, "5.6.0", "Message refused: NUL character in message text");
    case DataDefect::kLineTooLong:
      return fail_message(552, "5.6.0", "Message refused: text line longer than " + std::to_string(config_.limits.text_line) +
                                            " octets (RFC 5321 section 4.5.3.1.6)");
    case DataDefect::kTooBig:
      return fail_message(552, "5.3.4", "Message size exceeds fixed maximum message size");
  }
  const uint32_t hops = count_hops();
  if (hops > config_.limits.max_hops) {
    count_rejected(MessageReject::kHops);
    return fail_message(554, "5.4.6", "Too many hops (" + std::to_string(hops) + " Received: headers): mail loop?");
  }
  if (policy_.mode != ListenerMode::kSmtp) add_submission_headers();
  if (!content_allowed()) return;
  if (call_milters()) return;  // queue_message() follows on_milter_result()
  queue_message();
}

// queue_message - hand the accepted message to the spool (or drop it on a policy DISCARD).
void Session::queue_message() {
  if (txn_.discard) {
    // Postfix's DISCARD: claim success and drop the message; the sender is not told.
    LogLine(LogLevel::kInfo, "discarded").kv("id", format_queue_id(txn_.id)).kv("client", client_ip_)
        .kv("from", "<" + txn_.mail.path.address + ">");
    const std::string id = format_queue_id(txn_.id);
    reset_transaction();
    return reply(250, "2.0.0", "Ok: queued as " + id);
  }
  CommitRequest req;
  Envelope& env = req.envelope;
  env.id = txn_.id;
  env.sender = txn_.mail.path.address;
  env.recipients = std::move(txn_.recipients);
  env.body = txn_.mail.body;
  env.smtputf8 = txn_.mail.smtputf8;
  env.ret = txn_.mail.ret;
  env.envid = txn_.mail.envid;
  env.arrival_us = unix_now_us();
  if (txn_.mail.by_mode != ByMode::kNone) {
    env.deliver_by_us = env.arrival_us + txn_.mail.by_seconds * 1'000'000;
    env.by_mode = txn_.mail.by_mode;
    env.by_trace = txn_.mail.by_trace;
  }
  env.client_address = client_ip_;
  env.helo = helo_;
  env.size = txn_.body.size();
  env.held = txn_.held;
  env.hold_reason = txn_.hold_reason;
  if (env.held) {
    LogLine(LogLevel::kInfo, "held").kv("id", format_queue_id(txn_.id)).kv("client", client_ip_).kv("reason", env.hold_reason);
  }
  txn_.queued_rcpts = env.recipients.size();
  txn_.queued_size = env.size;
  req.body = std::move(txn_.body);
  req.submitted = std::chrono::steady_clock::now();
  const uint64_t id = txn_.id;
  if (!host_.submit(req)) {
    // Back-pressure: the spool is behind. A server-side condition, so it does not count
    // against the client's error budget.
    LogLine(LogLevel::kWarn, "spool_busy").kv("client", client_ip_).kv("id", format_queue_id(id));
    count_rejected(MessageReject::kSpool);
    reset_transaction();
    return reply(451, "4.3.0", "Error: queue busy, try again later");
  }
  commit_started_ = req.submitted;
  phase_ = SessionPhase::kAwaitCommit;
}

void Session::on_commit_result(const CommitCompletion& c, std::chrono::steady_clock::time_point now) {
  if (phase_ != SessionPhase::kAwaitCommit) {
    // The client left while we were writing: the message is queued (if ok) but was never
    // acknowledged, so the client will send it again (at-least-once, RFC 5321 §6.1).
    LogLine(LogLevel::kInfo, "queued_unacknowledged").kv("id", format_queue_id(c.id)).kv("client", client_ip_)
        .kv("ok", c.status == CommitStatus::kOk);
    return;
  }
  phase_ = SessionPhase::kCommand;
  const std::string id = format_queue_id(c.id);
  if (c.status != CommitStatus::kOk) count_rejected(MessageReject::kSpool);
  switch (c.status) {
    case CommitStatus::kOk: {
      const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(now - commit_started_).count();
      ++accepted_;
      LogLine(LogLevel::kInfo, "queued").kv("id", id).kv("client", client_ip_)
          .kv("from", "<" + txn_.mail.path.address + ">").kv("rcpts", static_cast<uint64_t>(txn_.queued_rcpts))
          .kv("size", txn_.queued_size).kv("commit_us", static_cast<int64_t>(latency));
      host_.on_accepted(static_cast<uint64_t>(latency), txn_.queued_size);
      reply(250, "2.0.0", "Ok: queued as " + id);
      break;
    }
    case CommitStatus::kNoSpace:
      LogLine(LogLevel::kError, "spool_write_failed").kv("id", id).kv("client", client_ip_).kv("error", c.error);
      reply(452, "4.3.1", "Error: insufficient system storage");
      break;
    case CommitStatus::kIoError:
      LogLine(LogLevel::kError, "spool_write_failed").kv("id", id).kv("client", client_ip_).kv("error", c.error);
      reply(451, "4.3.0", "Error: local error in processing, message not queued");
      break;
    case CommitStatus::kShuttingDown:
      close_with(421, "4.3.2", config_.server.hostname + " Service shutting down, message not queued");
      break;
  }
  reset_transaction();
}

}  // namespace correo
