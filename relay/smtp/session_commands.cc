// session_commands.cc - command dispatch and the envelope commands (HELO/EHLO, MAIL, RCPT,
// DATA, BDAT). Sequence errors are 503 5.5.1 (RFC 5321 §4.1.4); the reply texts say what
// the client should have sent instead.
#include "relay/common/log.h"
#include "relay/policy/policy.h"
#include "relay/smtp/session.h"

namespace correo {

namespace {

CommandLabel command_label(Verb verb) {
  switch (verb) {
    case Verb::kHelo: return CommandLabel::kHelo;
    case Verb::kEhlo: return CommandLabel::kEhlo;
    case Verb::kMail: return CommandLabel::kMail;
    case Verb::kRcpt: return CommandLabel::kRcpt;
    case Verb::kData: return CommandLabel::kData;
    case Verb::kBdat: return CommandLabel::kBdat;
    case Verb::kRset: return CommandLabel::kRset;
    case Verb::kNoop: return CommandLabel::kNoop;
    case Verb::kQuit: return CommandLabel::kQuit;
    case Verb::kStarttls: return CommandLabel::kStarttls;
    case Verb::kAuth: return CommandLabel::kAuth;
    case Verb::kVrfy: return CommandLabel::kVrfy;
    case Verb::kExpn: return CommandLabel::kExpn;
    case Verb::kHelp: return CommandLabel::kHelp;
    case Verb::kEtrn: return CommandLabel::kEtrn;
    default: return CommandLabel::kUnknown;  // TURN, SEND, SOML, SAML and unrecognized
  }
}

}  // namespace

void Session::dispatch(std::string_view line) {
  const CommandLine c = split_command(line);
  metrics_.commands[static_cast<size_t>(command_label(c.verb))].add();
  if (refusing_) {  // RFC 5321 §3.1: after a 554 greeting, only QUIT
    if (c.verb == Verb::kQuit) return close_with(221, "2.0.0", "Bye");
    return reply_error(503, "5.7.0", "Error: access denied, send QUIT");
  }
  switch (c.verb) {
    case Verb::kEhlo: return cmd_helo(c, true);
    case Verb::kHelo: return cmd_helo(c, false);
    case Verb::kMail: return cmd_mail(c);
    case Verb::kRcpt: return cmd_rcpt(c);
    case Verb::kData: return cmd_data(c);
    case Verb::kBdat: return cmd_bdat(c);
    case Verb::kRset:
      if (!c.arg.empty()) return reply_error(501, "5.5.4", "Syntax: RSET");
      reset_transaction();
      return reply(250, "2.0.0", "Ok");
    case Verb::kNoop:
      return reply(250, "2.0.0", "Ok");
    case Verb::kQuit:
      return close_with(221, "2.0.0", "Bye");
    case Verb::kHelp:
      return reply(214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY");
    case Verb::kVrfy:
      if (c.arg.empty()) return reply_error(501, "5.5.4", "Syntax: VRFY address");
      // RFC 5321 §3.5.3: 252 when we will not verify but will accept and try to deliver.
      return reply(252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery");
    case Verb::kExpn:
      return reply_error(502, "5.5.1", "Error: EXPN not supported");
    case Verb::kTurn:
    case Verb::kSend:
    case Verb::kSoml:
    case Verb::kSaml:
      // Obsolete (RFC 5321 §4.1.5 and Appendix F): never implemented.
      return reply_error(502, "5.5.1", "Error: command not implemented");
    case Verb::kEtrn:
      return cmd_etrn(c);
    case Verb::kStarttls:
      return cmd_starttls(c);
    case Verb::kAuth:
      return cmd_auth(c);
    case Verb::kUnknown:
      return reply_error(500, "5.5.2", "Error: command not recognized");
  }
}

void Session::cmd_helo(const CommandLine& c, bool extended) {
  if (c.arg.empty()) return reply_error(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  if (!helo_allowed(c.arg)) return;
  // RFC 5321 §4.1.4: EHLO/HELO resets the transaction as RSET does.
  reset_transaction();
  helo_.assign(c.arg);
  extended_ = extended;
  const std::string& host = config_.server.hostname;
  if (!extended) {
    out_ += "250 ";
    out_ += host;
    out_ += "\r\n";
    count_reply(250);
    return;
  }
  out_ += "250-";
  out_ += host;
  out_ += "\r\n250-PIPELINING\r\n250-SIZE ";
  out_ += std::to_string(config_.limits.message_size);
  out_ += "\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-DELIVERBY\r\n250-ETRN\r\n";
  if (tls_offered()) out_ += "250-STARTTLS\r\n";
  if (auth_offered()) out_ += "250-AUTH PLAIN LOGIN\r\n";
  out_ += "250 DSN\r\n";
  count_reply(250);
}

// mail_allowed - the listener's requirements (RFC 6409 §4.3, RFC 3207 §4) before a
// transaction, then submission.enforce_sender for authenticated sessions.
bool Session::mail_allowed() {
  if (policy_.require_tls && !tls_) {
    reply_error(530, "5.7.0", "Must issue a STARTTLS command first");
    return false;
  }
  if (policy_.require_auth && auth_user_.empty()) {
    reply_error(530, "5.7.0", "Authentication required");
    return false;
  }
  const ParsedPath& from = txn_.mail.path;
  if (config_.submission.enforce_sender && !auth_user_.empty() && !from.null &&
      !host_.sender_allowed(auth_user_, from.address)) {
    reject(reason_index(RejectReason::kSenderLogin), 553, "5.7.1",
           "<" + from.address + ">: Sender address rejected: not owned by user " + auth_user_);
    return false;
  }
  return true;
}

void Session::cmd_mail(const CommandLine& c) {
  if (helo_.empty()) return reply_error(503, "5.5.1", "Error: send HELO/EHLO first");
  if (txn_.active) return reply_error(503, "5.5.1", "Error: nested MAIL command");
  Parsed<MailCommand> parsed = parse_mail(c.arg, config_.limits.message_size);
  if (auto* r = std::get_if<Reply>(&parsed)) {
    if (r->code == 552) count_rejected(MessageReject::kSize);  // SIZE= above limits.message_size
    return reply(*r);
  }
  txn_.mail = std::move(std::get<MailCommand>(parsed));
  if (!mail_allowed()) {
    txn_ = Transaction{};
    return;
  }
  if (!extended_ && (txn_.mail.smtputf8 || txn_.mail.body != BodyType::kUnspecified || txn_.mail.size ||
                     txn_.mail.ret != DsnRet::kUnspecified || !txn_.mail.envid.empty() ||
                     txn_.mail.by_mode != ByMode::kNone)) {
    txn_ = Transaction{};
    return reply_error(555, "5.5.4", "Error: ESMTP parameters require EHLO");
  }
  // Refuse early when the queue's disk is short (RFC 1870 §6.1: 452 for a temporary lack of
  // storage); 1.5 x SIZE as Postfix does, since the stored copy is not the only one written.
  if (!host_.storage_available(txn_.mail.size + txn_.mail.size / 2)) {
    txn_ = Transaction{};
    count_rejected(MessageReject::kSpool);
    return reply(452, "4.3.1", "Error: insufficient system storage");
  }
  if (!mail_rate_allowed()) {
    txn_ = Transaction{};
    return;
  }
  PendingCheck pending;
  pending.address = txn_.mail.path.address;
  begin_checks(std::move(pending));  // 250 once the sender's checks pass
}

// relay_allowed - no open relay (RFC 2505, RFC 5321 §3.6): a relay client (relay.networks)
// or an authenticated one may send anywhere; anyone else only to relay.domains. Address
// literals are never a relay domain. Source routes were already dropped by the parser
// (RFC 5321 Appendix C), so "@local:user@foreign" is judged as user@foreign. A local part
// that still routes ("user%foreign@local", "foreign!user@local", "\"user@foreign\"@local")
// would be forwarded by the next system, so from strangers it is refused (Postfix's
// allow_untrusted_routing = no).
bool Session::relay_allowed(const RcptCommand& r) const {
  if (relay_client_ || !auth_user_.empty()) return true;
  if (r.path.address_literal) return false;
  if (r.path.local().find_first_of("%!@") != std::string_view::npos) return false;
  return config_.relay.domains.count(lowercase_ascii(r.path.domain())) > 0;
}

void Session::cmd_rcpt(const CommandLine& c) {
  if (!txn_.active) return reply_error(503, "5.5.1", "Error: need MAIL command");
  if (txn_.bdat) return reply_error(503, "5.5.1", "Error: RCPT after BDAT");
  Parsed<RcptCommand> parsed = parse_rcpt(c.arg, txn_.mail.smtputf8);
  if (auto* r = std::get_if<Reply>(&parsed)) {
    ++txn_.rejected_rcpts;
    return reply(*r);
  }
  RcptCommand& rc = std::get<RcptCommand>(parsed);
  if (!extended_ && (rc.notify || !rc.orcpt.empty())) {
    ++txn_.rejected_rcpts;
    return reply_error(555, "5.5.4", "Error: ESMTP parameters require EHLO");
  }
  if (txn_.recipients.size() >= config_.limits.recipients) {
    // RFC 5321 §4.5.3.1.10: 452 (not 5xx) so the client retries the rest later.
    ++txn_.rejected_rcpts;
    return reply(452, "4.5.3", "Error: too many recipients");
  }
  Recipient rcpt;
  if (rc.postmaster) {
    // RFC 5321 §4.5.1: always accepted, never greylisted or verified.
    rcpt.address = "postmaster@" + config_.server.hostname;
    rcpt.orcpt = std::move(rc.orcpt);
    rcpt.notify = rc.notify;
    txn_.recipients.push_back(std::move(rcpt));
    return reply(250, "2.1.5", "Ok");
  }
  if (!relay_allowed(rc)) {
    ++txn_.rejected_rcpts;
    return reject(reason_index(RejectReason::kRelay), 554, "5.7.1", "<" + rc.path.address + ">: Relay access denied");
  }
  const bool relay_domain = !rc.path.address_literal && config_.relay.domains.count(lowercase_ascii(rc.path.domain())) > 0;
  rcpt.address = std::move(rc.path.address);
  rcpt.orcpt = std::move(rc.orcpt);
  rcpt.notify = rc.notify;
  PendingCheck pending;
  pending.rcpt = true;
  pending.address = rcpt.address;
  if (!expand_recipient(std::move(rcpt), relay_domain, pending.recipients)) {
    ++txn_.rejected_rcpts;
    return;
  }
  if (txn_.recipients.size() + pending.recipients.size() > config_.limits.recipients) {
    ++txn_.rejected_rcpts;
    return reply(452, "4.5.3", "Error: too many recipients");
  }
  begin_checks(std::move(pending));  // 250 once the recipient's checks pass
}

void Session::cmd_data(const CommandLine& c) {
  if (!c.arg.empty()) return reply_error(501, "5.5.4", "Syntax: DATA");
  if (!txn_.active) return reply_error(503, "5.5.1", "Error: need MAIL command");
  if (txn_.bdat) return reply_error(503, "5.5.1", "Error: DATA not allowed after BDAT");
  if (txn_.recipients.empty()) {
    // RFC 2920 §3.1: with pipelining, DATA after only failed RCPTs gets 554 "no valid recipients".
    if (txn_.rejected_rcpts) return reply_error(554, "5.5.1", "Error: no valid recipients");
    return reply_error(503, "5.5.1", "Error: need RCPT command");
  }
  start_message(DataReader::Mode::kDot);
  phase_ = SessionPhase::kData;
  out_ += "354 End data with <CR><LF>.<CR><LF>\r\n";
  count_reply(354);
}

// cmd_etrn - RFC 1985: "ETRN domain" or "ETRN @domain" (and subdomains). Allowed for relay
// clients and, from anyone, for relay.domains (as Postfix limits it to its flush domains).
void Session::cmd_etrn(const CommandLine& c) {
  if (helo_.empty()) return reply_error(503, "5.5.1", "Error: send HELO/EHLO first");
  if (txn_.active) return reply_error(503, "5.5.1", "Error: ETRN not allowed inside a mail transaction");
  if (policy_.require_tls && !tls_) return reply_error(530, "5.7.0", "Must issue a STARTTLS command first");
  if (policy_.require_auth && auth_user_.empty()) return reply_error(530, "5.7.0", "Authentication required");
  std::string_view node = c.arg;
  if (node.empty()) return reply_error(501, "5.5.4", "Syntax: ETRN domain");
  if (node.front() == '#') return reply_error(458, "4.5.0", "Unable to queue messages for node " + std::string(node));
  const bool subdomains = node.front() == '@';
  if (subdomains) node.remove_prefix(1);
  const std::string domain = lowercase_ascii(node);
  if (!is_valid_domain(domain, false)) return reply_error(501, "5.5.4", "Syntax: ETRN domain");
  if (!relay_client_ && auth_user_.empty() && config_.relay.domains.count(domain) == 0) {
    return reply_error(459, "4.7.1", "Node " + domain + " not allowed: not a relay domain");
  }
  if (!host_.flush_domain(domain, subdomains)) {
    return reply(458, "4.3.0", "Unable to queue messages for node " + domain);
  }
  LogLine(LogLevel::kInfo, "etrn").kv("client", client_ip_).kv("domain", domain);
  reply(250, "2.0.0", "Queuing for node " + domain + " started");
}

void Session::cmd_bdat(const CommandLine& c) {
  Parsed<BdatCommand> parsed = parse_bdat(c.arg);
  if (auto* r = std::get_if<Reply>(&parsed)) return reply(*r);
  const BdatCommand b = std::get<BdatCommand>(parsed);
  // RFC 3030 §2: the chunk's octets follow the command whatever we answer, so a refused chunk
  // is still read (and dropped) to stay in step with the client.
  bdat_discard_ = false;
  if (!txn_.active) {
    bdat_discard_ = true;
    bdat_refusal_ = Reply{503, "5.5.1", "Error: need MAIL command"};
  } else if (txn_.recipients.empty()) {
    bdat_discard_ = true;
    bdat_refusal_ = txn_.rejected_rcpts ? Reply{554, "5.5.1", "Error: no valid recipients"}
                                        : Reply{503, "5.5.1", "Error: need RCPT command"};
  } else if (!txn_.bdat) {
    txn_.bdat = true;
    start_message(DataReader::Mode::kChunked);
  }
  bdat_remaining_ = b.size;
  bdat_last_ = b.last;
  phase_ = SessionPhase::kBdat;
  if (b.size == 0) process_bdat(std::string_view());
}

}  // namespace correo
