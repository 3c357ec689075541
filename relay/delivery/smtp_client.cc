// smtp_client.cc - the outbound SMTP client state machine (see smtp_client.h).
//
// Input is split into reply lines (CRLF, bare LF accepted), lines into replies (RFC 5321
// §4.2), and each complete reply drives the phase machine. Commands are appended to out_;
// nothing here blocks, reads a clock or touches a socket.
#include "relay/delivery/smtp_client.h"

#include "relay/common/ascii.h"

#include <charconv>
#include <cstring>

namespace correo {
namespace {

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the CRLF.
constexpr size_t kMaxReplyLine = 512;
// Our own bound on a multi-line reply (EHLO answers are the longest, ~10-20 lines).
constexpr size_t kMaxReplyLines = 100;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// digits - 1 to 3 digits at s[pos]; returns how many (0 = none).
size_t digits(std::string_view s, size_t pos) {
  size_t n = 0;
  while (pos + n < s.size() && n < 4 && is_digit(s[pos + n])) ++n;
  return n >= 1 && n <= 3 ? n : 0;
}

// enhanced_length - length of an RFC 3463 status code "class.subject.detail" at the start of
// `text`, followed by SP or the end; its class must be the reply code's first digit
// (RFC 2034 §4, RFC 3463 §2). 0 when there is none.
size_t enhanced_length(std::string_view text, char reply_class) {
  if (text.size() < 5 || text[0] != reply_class || text[1] != '.') return 0;
  size_t pos = 2;
  size_t n = digits(text, pos);
  if (n == 0) return 0;
  pos += n;
  if (pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  n = digits(text, pos);
  if (n == 0) return 0;
  pos += n;
  if (pos < text.size() && text[pos] != ' ') return 0;
  return pos;
}

ServerReply build_reply(uint16_t code, const std::vector<std::string>& lines) {
  ServerReply r;
  r.code = code;
  const char reply_class = static_cast<char>('0' + code / 100);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = lines[i];
    if (const size_t n = enhanced_length(t, reply_class)) {
      if (i == 0) r.enhanced.assign(t.substr(0, n));
      t.remove_prefix(n);
      if (!t.empty()) t.remove_prefix(1);  // the SP after the code
    }
    if (i > 0) r.text += "; ";
    r.text.append(t);
  }
  return r;
}

void append_code(std::string& out, uint16_t code) {
  const char digits3[3] = {static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10),
                           static_cast<char>('0' + code % 10)};
  out.append(digits3, 3);
}

// Envelope strings come from our own queue, but a CR or LF in one would let a stored value
// inject commands into the remote session; parameters (xtext) must not contain SP either.
bool safe_address(std::string_view s) {
  for (unsigned char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool safe_param(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

void append_notify(std::string& out, uint8_t notify) {
  out += " NOTIFY=";
  if (notify & kNotifyNever) {
    out += "NEVER";
    return;
  }
  bool first = true;
  auto item = [&](uint8_t bit, const char* name) {
    if (!(notify & bit)) return;
    if (!first) out += ',';
    out += name;
    first = false;
  };
  item(kNotifySuccess, "SUCCESS");
  item(kNotifyFailure, "FAILURE");
  item(kNotifyDelay, "DELAY");
}

// append_dot_stuffed - RFC 5321 §4.5.2 transparency, then the end-of-data line. A "." at the
// start of a line gets a second one. "Line start" also counts after a bare LF or bare CR:
// servers that end lines leniently would otherwise see "<LF>.<CRLF>" as the end of data
// (SMTP smuggling); a strict server then keeps one extra "." in an already malformed line.
void append_dot_stuffed(std::string& out, std::string_view body) {
  // Dots are rare: jump from '.' to '.' with memchr instead of looking at every byte (this
  // loop ran over every outbound byte and was the top entry of the 100 KiB relay profile).
  out.reserve(out.size() + body.size() + body.size() / 256 + 8);
  const char* const base = body.data();
  size_t start = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    const void* hit = memchr(base + pos, '.', body.size() - pos);
    if (hit == nullptr) break;
    const size_t i = static_cast<size_t>(static_cast<const char*>(hit) - base);
    if (i == 0 || base[i - 1] == '\n' || base[i - 1] == '\r') {
      out.append(base + start, i - start);
      out.push_back('.');
      start = i;  // the original "." follows with the rest
    }
    pos = i + 1;
  }
  out.append(base + start, body.size() - start);
  if (!body.empty() && !(body.size() >= 2 && body[body.size() - 2] == '\r' && body.back() == '\n')) {
    out.append("\r\n", 2);
  }
  out.append(".\r\n", 3);
}

}  // namespace

std::string ServerReply::to_string() const {
  std::string s;
  if (code != 0) append_code(s, code);
  if (!enhanced.empty()) {
    if (!s.empty()) s.push_back(' ');
    s += enhanced;
  }
  if (!text.empty()) {
    if (!s.empty()) s.push_back(' ');
    s += text;
  }
  return s;
}

SmtpClient::SmtpClient(std::string helo_name, ClientTls tls) : helo_name_(std::move(helo_name)), tls_(tls) {}

// ---- input: bytes -> lines -> replies ------------------------------------------------------

void SmtpClient::feed(std::string_view bytes) {
  // While the handshake is pending nothing is read as a reply: bytes sent after the 220 in
  // clear could only be injected (the mirror of CVE-2011-0411).
  while (!bytes.empty() && !failed() && !closed() && !starting_tls()) {
    const size_t lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      // Without its LF a valid line is at most 510 octets + CR.
      if (in_.size() + bytes.size() > kMaxReplyLine - 1) return protocol_error("reply line longer than 512 octets");
      in_.append(bytes);
      return;
    }
    if (in_.empty()) {
      on_line(bytes.substr(0, lf));
    } else {
      if (in_.size() + lf > kMaxReplyLine) return protocol_error("reply line longer than 512 octets");
      in_.append(bytes.substr(0, lf));
      const std::string line = std::move(in_);
      in_.clear();
      on_line(line);
    }
    bytes.remove_prefix(lf + 1);
  }
}

// on_line - one reply line without its LF: "CODE-text" (more follow) or "CODE[ text]" (last).
void SmtpClient::on_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() + 2 > kMaxReplyLine) return protocol_error("reply line longer than 512 octets");
  if (memchr(line.data(), '\0', line.size()) != nullptr) return protocol_error("NUL in reply");
  if (memchr(line.data(), '\r', line.size()) != nullptr) return protocol_error("bare CR in reply");
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    return protocol_error("reply does not start with a 3-digit code");
  }
  if (line[0] < '2' || line[0] > '5') return protocol_error("reply code out of range");
  if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return protocol_error("malformed reply line");
  const uint16_t code = static_cast<uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
  if (!reply_lines_.empty() && code != reply_code_) return protocol_error("mixed codes in a multi-line reply");
  if (reply_lines_.size() >= kMaxReplyLines) return protocol_error("reply longer than 100 lines");
  reply_code_ = code;
  reply_lines_.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
  if (line.size() > 3 && line[3] == '-') return;  // continued

  const ServerReply reply = build_reply(reply_code_, reply_lines_);
  if (phase_ == ClientPhase::kEhlo && reply.code / 100 == 2) parse_ehlo_keywords();
  reply_lines_.clear();
  on_reply(reply);
}

// awaiting_reply - is a reply due now? (Not while ready, nor once a transaction's results
// wait to be taken: every command sent has been answered then.)
bool SmtpClient::awaiting_reply() const {
  switch (phase_) {
    case ClientPhase::kGreeting:
    case ClientPhase::kEhlo:
    case ClientPhase::kHelo:
    case ClientPhase::kStartTls:
    case ClientPhase::kQuit:
      return true;
    case ClientPhase::kTlsHandshake:
      return false;
    case ClientPhase::kMail:
    case ClientPhase::kRcpt:
    case ClientPhase::kData:
    case ClientPhase::kBody:
    case ClientPhase::kDot:
      return !done_;
    case ClientPhase::kReady:
    case ClientPhase::kFailed:
    case ClientPhase::kClosed:
      return false;
  }
  return false;
}

void SmtpClient::on_reply(const ServerReply& reply) {
  if (!awaiting_reply()) {
    // RFC 5321 §3.8: a server shutting down may say 421 without being asked.
    if (reply.code == 421) return fail(reply, false);
    return protocol_error("unexpected reply " + reply.to_string());
  }
  if (phase_ == ClientPhase::kQuit) {
    phase_ = ClientPhase::kClosed;  // 221 or anything else: the session is over either way
    return;
  }
  // 421 at any point ends the connection (RFC 5321 §3.8, §4.2.2); the server closes next.
  if (reply.code == 421) return fail(reply, false);
  switch (phase_) {
    case ClientPhase::kGreeting: return on_greeting(reply);
    case ClientPhase::kEhlo: return on_ehlo(reply);
    case ClientPhase::kHelo: return on_helo(reply);
    case ClientPhase::kStartTls: return on_starttls(reply);
    case ClientPhase::kMail: return on_mail(reply);
    case ClientPhase::kRcpt: return on_rcpt(reply);
    case ClientPhase::kData: return on_data(reply);
    case ClientPhase::kDot: return on_dot(reply);
    default: return;
  }
}

// ---- connection setup -------------------------------------------------------------------------

void SmtpClient::on_greeting(const ServerReply& reply) {
  if (reply.code == 220) {
    out_ += "EHLO ";
    out_ += helo_name_;
    out_ += "\r\n";
    phase_ = ClientPhase::kEhlo;
    return;
  }
  // RFC 5321 §3.1: after a 554 greeting the client should still say QUIT.
  if (reply.code >= 400) return fail(reply, true);
  protocol_error("unexpected greeting " + reply.to_string());
}

void SmtpClient::on_ehlo(const ServerReply& reply) {
  const int cls = reply.code / 100;
  if (cls == 2) return after_ehlo();  // keywords were parsed from the lines in on_line
  if (cls == 5) {  // 500/501/502/504/550 and the like: an SMTP-only server (RFC 5321 §4.1.4)
    ext_ = PeerExtensions{};
    size_offered_ = false;
    out_ += "HELO ";
    out_ += helo_name_;
    out_ += "\r\n";
    phase_ = ClientPhase::kHelo;
    return;
  }
  if (cls == 4) return fail(reply, true);
  protocol_error("unexpected reply to EHLO " + reply.to_string());
}

void SmtpClient::on_helo(const ServerReply& reply) {
  if (reply.code / 100 == 2) {
    ext_ = PeerExtensions{};
    return after_ehlo();
  }
  if (reply.code >= 400) return fail(reply, true);
  protocol_error("unexpected reply to HELO " + reply.to_string());
}

// after_ehlo - STARTTLS first when the policy wants TLS and the peer offers it.
void SmtpClient::after_ehlo() {
  if (tls_ == ClientTls::kNone || tls_active_) {
    phase_ = ClientPhase::kReady;
    return;
  }
  if (ext_.starttls) {
    out_ += "STARTTLS\r\n";
    phase_ = ClientPhase::kStartTls;
    return;
  }
  if (tls_ == ClientTls::kRequired) {
    return fail(ServerReply{0, "4.7.4", "TLS is required, but was not offered by host"}, true);
  }
  phase_ = ClientPhase::kReady;
}

void SmtpClient::on_starttls(const ServerReply& reply) {
  if (reply.code == 220) {
    phase_ = ClientPhase::kTlsHandshake;
    in_.clear();
    return;
  }
  if (tls_ == ClientTls::kRequired) {
    ServerReply r = reply;
    r.text = "TLS is required, but STARTTLS was refused: " + reply.to_string();
    r.code = 0;
    r.enhanced = "4.7.4";
    return fail(r, true);
  }
  phase_ = ClientPhase::kReady;  // opportunistic: on in clear (RFC 3207 §4.1, RFC 7435)
}

void SmtpClient::on_tls_established() {
  tls_active_ = true;
  ext_ = PeerExtensions{};
  size_offered_ = false;
  out_ += "EHLO ";
  out_ += helo_name_;
  out_ += "\r\n";
  phase_ = ClientPhase::kEhlo;
}

// parse_ehlo_keywords - RFC 5321 §4.1.1.1: the first line is the domain, each further line
// "keyword [params]"; keywords are case-insensitive.
void SmtpClient::parse_ehlo_keywords() {
  ext_ = PeerExtensions{};
  size_offered_ = false;
  for (size_t i = 1; i < reply_lines_.size(); ++i) {
    std::string_view line = reply_lines_[i];
    const size_t sp = line.find(' ');
    const std::string_view keyword = line.substr(0, sp);
    std::string_view param = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
    if (iequals(keyword, "PIPELINING")) {
      ext_.pipelining = true;
    } else if (iequals(keyword, "SIZE")) {
      // RFC 1870 §4: an optional limit; none or 0 = no fixed maximum.
      uint64_t n = 0;
      const std::from_chars_result res = std::from_chars(param.data(), param.data() + param.size(), n);
      ext_.size = res.ec == std::errc() ? n : 0;  // unparsable or beyond 2^64: no usable limit
      size_offered_ = true;
    } else if (iequals(keyword, "8BITMIME")) {
      ext_.eightbitmime = true;
    } else if (iequals(keyword, "SMTPUTF8")) {
      ext_.smtputf8 = true;
    } else if (iequals(keyword, "DSN")) {
      ext_.dsn = true;
    } else if (iequals(keyword, "CHUNKING")) {
      ext_.chunking = true;
    } else if (iequals(keyword, "STARTTLS")) {
      ext_.starttls = true;
    } else if (iequals(keyword, "ENHANCEDSTATUSCODES")) {
      ext_.enhancedstatuscodes = true;
    } else if (iequals(keyword, "DELIVERBY")) {
      ext_.deliverby = true;
    }
  }
}

// ---- transactions -------------------------------------------------------------------------

bool SmtpClient::start_transaction(const OutboundMessage& message, ServerReply* refusal) {
  auto refuse = [&](uint16_t code, std::string_view enhanced, std::string_view text) {
    if (refusal != nullptr) *refusal = ServerReply{code, std::string(enhanced), std::string(text)};
    return false;
  };
  if (!ready()) return refuse(0, "", "client not ready for a transaction");
  if (message.recipients.empty()) return refuse(0, "", "no recipients");
  if (ext_.size != 0 && message.body.size() > ext_.size) {
    return refuse(552, "5.3.4", "message size exceeds remote limit");
  }
  if (message.smtputf8 && !ext_.smtputf8) {
    return refuse(553, "5.6.7", "remote server does not support SMTPUTF8");
  }
  if (!safe_address(message.sender)) return refuse(553, "5.1.7", "invalid character in sender address");
  if (!safe_param(message.envid)) return refuse(501, "5.5.4", "invalid character in ENVID");
  for (const OutboundRecipient& r : message.recipients) {
    if (!safe_address(r.address)) return refuse(553, "5.1.3", "invalid character in recipient address");
    if (!safe_param(r.orcpt)) return refuse(501, "5.5.4", "invalid character in ORCPT");
  }

  mail_cmd_ = "MAIL FROM:<";
  mail_cmd_ += message.sender;
  mail_cmd_ += '>';
  if (size_offered_) {  // RFC 1870 §6: the size in octets of the message as we store it
    mail_cmd_ += " SIZE=";
    mail_cmd_ += std::to_string(message.body.size());
  }
  // RFC 6152: BODY=8BITMIME only to a peer that offers it; conversion happens elsewhere.
  if (message.body_type == BodyType::k8BitMime && ext_.eightbitmime) mail_cmd_ += " BODY=8BITMIME";
  if (message.smtputf8) mail_cmd_ += " SMTPUTF8";  // RFC 6531 §3.4 (peer support checked above)
  if (ext_.dsn) {  // RFC 3461 §5.2: DSN parameters only to a peer that offers DSN
    if (message.ret == DsnRet::kFull) mail_cmd_ += " RET=FULL";
    if (message.ret == DsnRet::kHdrs) mail_cmd_ += " RET=HDRS";
    if (!message.envid.empty()) {
      mail_cmd_ += " ENVID=";
      mail_cmd_ += message.envid;
    }
  }
  if (message.by_mode != ByMode::kNone && ext_.deliverby) {  // RFC 2852 §4: BY=time;mode[T]
    mail_cmd_ += " BY=";
    mail_cmd_ += std::to_string(message.by_seconds);
    mail_cmd_ += message.by_mode == ByMode::kReturn ? ";R" : ";N";
    if (message.by_trace) mail_cmd_ += 'T';
  }
  mail_cmd_ += "\r\n";

  rcpt_cmds_.clear();
  rcpt_cmds_.reserve(message.recipients.size());
  for (const OutboundRecipient& r : message.recipients) {
    std::string cmd = "RCPT TO:<";
    cmd += r.address;
    cmd += '>';
    if (ext_.dsn) {
      if (r.notify != 0) append_notify(cmd, r.notify);
      if (!r.orcpt.empty()) {
        cmd += " ORCPT=";
        cmd += r.orcpt;
      }
    }
    cmd += "\r\n";
    rcpt_cmds_.push_back(std::move(cmd));
  }

  txn_active_ = true;
  done_ = false;
  pipelined_ = ext_.pipelining;
  mail_ok_ = false;
  ignore_dot_ = false;
  rcpt_replies_ = 0;
  accepted_ = 0;
  body_ = message.body;
  rcpt_state_.assign(message.recipients.size(), RcptState::kPending);
  results_.assign(message.recipients.size(), ServerReply{});
  phase_ = ClientPhase::kMail;
  rset_pending_ = needs_rset_;  // RFC 5321 §3.3: no MAIL while a transaction is still open
  needs_rset_ = false;

  if (pipelined_) {
    // RFC 2920 §3.1: RSET, MAIL and RCPT may appear anywhere in a group, DATA only last.
    std::string group;
    size_t total = mail_cmd_.size() + 6 + 8;
    for (const std::string& c : rcpt_cmds_) total += c.size();
    group.reserve(total);
    if (rset_pending_) group += "RSET\r\n";
    group += mail_cmd_;
    for (const std::string& c : rcpt_cmds_) group += c;
    group += "DATA\r\n";
    out_ += group;
    rcpt_cmds_.clear();
    mail_cmd_.clear();
  } else if (rset_pending_) {
    out_ += "RSET\r\n";
  } else {
    send_mail();
  }
  return true;
}

void SmtpClient::send_mail() {
  out_ += mail_cmd_;
  mail_cmd_.clear();
}

void SmtpClient::on_mail(const ServerReply& reply) {
  if (rset_pending_) {
    // Any answer to RSET will do: MAIL's own reply says whether the server is ready.
    rset_pending_ = false;
    if (!pipelined_) send_mail();
    return;
  }
  const int cls = reply.code / 100;
  if (cls == 3) return protocol_error("unexpected reply to MAIL " + reply.to_string());
  mail_ok_ = cls == 2;
  if (!mail_ok_) answer_pending(reply, false);  // every recipient gets MAIL's reply
  if (!pipelined_) {
    if (!mail_ok_) return finish_transaction();
    out_ += rcpt_cmds_[0];
    phase_ = ClientPhase::kRcpt;
    return;
  }
  phase_ = ClientPhase::kRcpt;  // consume the RCPT replies that follow (ignored if MAIL failed)
}

void SmtpClient::on_rcpt(const ServerReply& reply) {
  const int cls = reply.code / 100;
  if (cls == 3) return protocol_error("unexpected reply to RCPT " + reply.to_string());
  const size_t i = rcpt_replies_++;
  if (mail_ok_) {
    if (cls == 2) {
      rcpt_state_[i] = RcptState::kAccepted;
      ++accepted_;
    } else {
      rcpt_state_[i] = RcptState::kAnswered;
      results_[i] = reply;
    }
  }
  if (rcpt_replies_ < rcpt_state_.size()) {
    if (!pipelined_) out_ += rcpt_cmds_[rcpt_replies_];
    return;
  }
  after_last_rcpt();
}

void SmtpClient::after_last_rcpt() {
  if (pipelined_) {
    phase_ = ClientPhase::kData;  // DATA went with the group
    return;
  }
  rcpt_cmds_.clear();
  if (accepted_ == 0) {  // nobody to send to: no DATA; MAIL's transaction is still open
    needs_rset_ = true;
    return finish_transaction();
  }
  out_ += "DATA\r\n";
  phase_ = ClientPhase::kData;
}

void SmtpClient::on_data(const ServerReply& reply) {
  if (reply.code == 354) {
    phase_ = ClientPhase::kDot;
    if (!mail_ok_ || accepted_ == 0) {
      // RFC 2920 §3.1: the server accepted DATA although no recipient was accepted; end the
      // (empty) message and ignore its reply.
      ignore_dot_ = true;
      out_.append(".\r\n", 3);
      return;
    }
    append_dot_stuffed(out_, body_);
    body_ = {};
    return;
  }
  if (reply.code < 400) return protocol_error("unexpected reply to DATA " + reply.to_string());
  if (mail_ok_) {
    answer_pending(reply, true);  // DATA refused: every accepted recipient gets it
    needs_rset_ = true;           // MAIL's transaction is still open on the server
  }
  finish_transaction();
}

void SmtpClient::on_dot(const ServerReply& reply) {
  const int cls = reply.code / 100;
  if (cls == 3) return protocol_error("unexpected reply to end of data " + reply.to_string());
  if (!ignore_dot_) answer_pending(reply, true);  // the final reply, for every accepted recipient
  finish_transaction();
}

// answer_pending - give `reply` to every recipient without a final reply (only the accepted
// ones when accepted_only).
void SmtpClient::answer_pending(const ServerReply& reply, bool accepted_only) {
  for (size_t i = 0; i < rcpt_state_.size(); ++i) {
    if (rcpt_state_[i] == RcptState::kAnswered) continue;
    if (accepted_only && rcpt_state_[i] != RcptState::kAccepted) continue;
    rcpt_state_[i] = RcptState::kAnswered;
    results_[i] = reply;
  }
}

void SmtpClient::finish_transaction() {
  txn_active_ = false;
  done_ = true;
  body_ = {};
  mail_cmd_.clear();
  rcpt_cmds_.clear();
  rcpt_state_.clear();
}

TransactionResult SmtpClient::take_result() {
  TransactionResult result;
  if (!done_) return result;
  result.recipients = std::move(results_);
  results_.clear();
  done_ = false;
  switch (phase_) {
    case ClientPhase::kMail:
    case ClientPhase::kRcpt:
    case ClientPhase::kData:
    case ClientPhase::kBody:
    case ClientPhase::kDot:
      phase_ = ClientPhase::kReady;
      break;
    default:  // kFailed (421, protocol error), kQuit, kClosed: the connection is over
      break;
  }
  return result;
}

void SmtpClient::quit() {
  if (failed() || closed() || phase_ == ClientPhase::kQuit) return;
  if (!awaiting_reply()) {
    out_ += "QUIT\r\n";
    phase_ = ClientPhase::kQuit;
    return;
  }
  // Mid-dialogue a QUIT would break the command/reply order: the caller simply drops the
  // connection, and an unfinished transaction ends with no reply for its recipients.
  if (txn_active_) {
    answer_pending(ServerReply{0, "", "connection abandoned"}, false);
    finish_transaction();
  }
  phase_ = ClientPhase::kClosed;
}

// ---- failures -----------------------------------------------------------------------------

// fail - the connection is unusable: remember why; an open transaction ends here and every
// recipient without a final reply gets this one.
void SmtpClient::fail(const ServerReply& reply, bool send_quit) {
  failure_ = reply;
  if (txn_active_) {
    answer_pending(reply, false);
    finish_transaction();
  }
  phase_ = ClientPhase::kFailed;
  in_.clear();
  reply_lines_.clear();
  if (send_quit) out_ += "QUIT\r\n";
}

void SmtpClient::protocol_error(std::string_view what) {
  std::string text = "protocol error: ";
  text += what;
  fail(ServerReply{0, "", std::move(text)}, false);
}

}  // namespace correo
