// smtp_client.h - the outbound SMTP client as a state machine over bytes, pure.
//
// Like the server Session: input = bytes from the remote server (feed), output = bytes to
// send (output()), no sockets, no clocks. The worker connects, feeds replies, sends output
// and asks for results. One SmtpClient per outbound connection; a connection carries several
// transactions one after another (connection reuse), each started with start_transaction()
// once ready() says so.
//
// Protocol (RFC 5321 §3, §4): wait for the 220 greeting (4xx/5xx greeting -> failed(), try
// the next host); EHLO, and HELO if EHLO gets 5xx (500/502/504/550); parse the EHLO keywords
// (PIPELINING, SIZE n, 8BITMIME, SMTPUTF8, DSN, CHUNKING, STARTTLS, ENHANCEDSTATUSCODES).
// Transaction: MAIL FROM:<s> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8] [RET= ENVID=] (each only
// when the peer offered the extension), RCPT TO:<r> [NOTIFY= ORCPT=] (DSN only when offered),
// DATA; with PIPELINING all of MAIL, every RCPT and DATA go in ONE write (RFC 2920 §3.1),
// without it one command per reply. After 354 the body is sent dot-stuffed, then ".".
// Per-recipient results: a refused RCPT keeps its own reply; MAIL refused -> every recipient
// gets MAIL's reply; DATA refused or the final reply -> every accepted recipient gets it. If
// no RCPT was accepted and the server still says 354, an empty message "." is sent and its
// reply ignored (RFC 2920 §3.1). After a transaction, ready() again, or quit().
// STARTTLS (RFC 3207), when the policy asks for TLS and the peer offers it: after EHLO the
// client sends STARTTLS; on 220 it stops (starting_tls()) and the host runs the handshake,
// then calls on_tls_established() and the client says EHLO again (RFC 3207 §4.2: forget
// what the peer said in clear). Bytes after the 220 in the same read are dropped, never
// taken as replies. A refused STARTTLS goes on in clear when opportunistic; with kRequired
// it, or a peer without STARTTLS, fails the connection (4.7.4 / the peer's reply as 4xx).
// Replies are parsed strictly (3 digits, '-' or ' ', <= 512 octets per line, <= 100 lines per
// reply); anything else is a protocol error -> failed(). Output is bounded by the message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "queue/envelope.h"

namespace correo {

struct ServerReply {
  uint16_t code = 0;       // 0 = no reply (connection problem)
  std::string enhanced;    // "5.1.1" when the server sent one, else ""
  std::string text;        // all lines joined with "; ", without codes
  std::string to_string() const;  // "550 5.1.1 text" for logs and DSN Diagnostic-Code
};

struct PeerExtensions {
  bool pipelining = false, eightbitmime = false, smtputf8 = false, dsn = false, chunking = false,
       starttls = false, enhancedstatuscodes = false, deliverby = false;
  uint64_t size = 0;  // SIZE limit, 0 = none declared
};

struct OutboundRecipient {
  std::string address;
  uint8_t notify = 0;  // NotifyBits
  std::string orcpt;   // "rfc822;xtext" or ""
};

struct OutboundMessage {
  std::string sender;  // "" = <>
  std::vector<OutboundRecipient> recipients;
  std::string_view body;  // stored bytes, CRLF lines, NOT dot-stuffed; must outlive the transaction
  BodyType body_type = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;
  // DELIVERBY (RFC 2852): passed on only to peers that offer it, with the time that is left.
  ByMode by_mode = ByMode::kNone;
  int64_t by_seconds = 0;
  bool by_trace = false;
};

struct TransactionResult {
  std::vector<ServerReply> recipients;  // one per OutboundMessage::recipients, same order
};

enum class ClientPhase : uint8_t {
  kGreeting, kEhlo, kHelo, kStartTls, kTlsHandshake, kReady, kMail, kRcpt, kData, kBody, kDot, kQuit, kFailed, kClosed
};

// ClientTls - delivery.tls: none, opportunistic (STARTTLS when offered), required (verify).
enum class ClientTls : uint8_t { kNone, kOpportunistic, kRequired };

class SmtpClient {
 public:
  explicit SmtpClient(std::string helo_name, ClientTls tls = ClientTls::kNone);

  void feed(std::string_view bytes);
  std::string& output() { return out_; }

  bool ready() const { return phase_ == ClientPhase::kReady; }
  // start_transaction - only when ready(). Returns false (and does nothing) when the peer's
  // SIZE is smaller than the message (the caller fails the recipients with 552 5.3.4), or
  // when the message needs SMTPUTF8 and the peer lacks it (-> 553 5.6.7 / 5.6.11 per RFC 6531).
  bool start_transaction(const OutboundMessage& message, ServerReply* refusal);
  bool transaction_done() const { return done_; }
  TransactionResult take_result();  // once transaction_done(); then ready() again
  void quit();                      // sends QUIT; then closed() after the 221 (or at EOF)

  // starting_tls - the peer said 220 to STARTTLS: the host runs the handshake now.
  bool starting_tls() const { return phase_ == ClientPhase::kTlsHandshake; }
  void on_tls_established();
  bool tls_active() const { return tls_active_; }

  bool failed() const { return phase_ == ClientPhase::kFailed; }
  const ServerReply& failure() const { return failure_; }  // the reply or protocol problem
  bool closed() const { return phase_ == ClientPhase::kClosed; }
  ClientPhase phase() const { return phase_; }
  const PeerExtensions& extensions() const { return ext_; }

 private:
  // Implementation detail, owned by the helper that writes smtp_client.cc; adjust freely.
  enum class RcptState : uint8_t { kPending, kAccepted, kAnswered };

  void on_line(std::string_view line);
  void on_reply(const ServerReply& reply);
  void on_greeting(const ServerReply& reply);
  void on_ehlo(const ServerReply& reply);
  void on_helo(const ServerReply& reply);
  void on_starttls(const ServerReply& reply);
  void after_ehlo();
  void on_mail(const ServerReply& reply);
  void on_rcpt(const ServerReply& reply);
  void on_data(const ServerReply& reply);
  void on_dot(const ServerReply& reply);
  void parse_ehlo_keywords();
  void send_mail();
  void after_last_rcpt();
  void answer_pending(const ServerReply& reply, bool accepted_only);
  void finish_transaction();
  void fail(const ServerReply& reply, bool send_quit);
  void protocol_error(std::string_view what);
  bool awaiting_reply() const;

  ClientPhase phase_ = ClientPhase::kGreeting;
  std::string out_;
  std::string in_;                        // an incomplete reply line (< 512 octets)
  PeerExtensions ext_;
  ServerReply failure_;
  bool done_ = false;
  std::string helo_name_;
  ClientTls tls_ = ClientTls::kNone;
  bool tls_active_ = false;

  // The reply being assembled (bounded: 100 lines of at most 510 octets).
  uint16_t reply_code_ = 0;
  std::vector<std::string> reply_lines_;  // text after "CODE-" / "CODE "

  // The current transaction.
  bool size_offered_ = false;  // SIZE keyword seen, with or without a limit
  bool txn_active_ = false;
  bool pipelined_ = false;    // this transaction's commands went in one write
  bool needs_rset_ = false;   // a MAIL was accepted and never concluded by the final reply
  bool rset_pending_ = false; // awaiting the reply to our RSET (before MAIL's)
  bool mail_ok_ = false;
  bool ignore_dot_ = false;   // "." sent for a message without recipients: reply ignored
  std::string mail_cmd_;
  std::vector<std::string> rcpt_cmds_;  // kept only without PIPELINING
  size_t rcpt_replies_ = 0;
  size_t accepted_ = 0;
  std::string_view body_;
  std::vector<RcptState> rcpt_state_;
  std::vector<ServerReply> results_;
};

}  // namespace correo
