// session.h - one inbound SMTP session as a state machine over bytes (RFC 5321 server).
//
// Input is bytes (feed), output is bytes (output()) plus requests to the host (a spool
// commit). No sockets, no clocks of its own, no globals: the worker drives it and the unit
// tests drive it the same way. One Session per connection, owned by one worker thread.
//
// Flow control, all bounded:
//   - unprocessed input is kept only while the session is paused (awaiting a commit, or
//     with more than limits.output_buffer bytes of replies unsent); the worker stops
//     reading the socket while paused, so at most one receive buffer waits here;
//   - a command line longer than limits.command_line is discarded up to its LF and answered
//     500 5.5.6;
//   - message content is bounded by limits.message_size (552 5.3.4 at the end).
// PIPELINING (RFC 2920): every complete command in the input is answered in order and the
// replies leave together when the worker flushes after feed(). Bytes after the end of DATA
// or a BDAT chunk are commands again, processed only after that message's reply.
//
// STARTTLS (RFC 3207): after "220 Ready to start TLS" the session pauses in kStartTls and
// drops every byte that came after the command (a client may not pipeline past STARTTLS;
// an attacker in the path would inject there: CVE-2011-0411). The worker runs the handshake
// and calls on_tls_established(), which forgets everything learnt before (EHLO).
// AUTH (RFC 4954): the session decodes PLAIN/LOGIN; the host verifies the password off the
// worker thread and answers with on_auth_result(); the session pauses in kAwaitAuth.
//
// STANDARDS: RFC 5321 (SMTP), RFC 1870 (SIZE), RFC 2034/3463 (enhanced codes), RFC 2920
// (PIPELINING), RFC 3030 (CHUNKING), RFC 3461 (DSN parameters), RFC 6152 (8BITMIME),
// RFC 6531 (SMTPUTF8), RFC 3207 (STARTTLS), RFC 4954 + 4616 (AUTH, PLAIN), RFC 3848
// (ESMTPSA), RFC 6409 (submission), RFC 2505 (anti-relay).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/envelope.h"
#include "metrics/daemon_cells.h"
#include "queue/spool.h"
#include "relay/common/cidr.h"
#include "relay/config/config.h"
#include "relay/policy/policy_types.h"
#include "relay/smtp/command.h"
#include "relay/smtp/data_reader.h"
#include "tls/tls_info.h"

namespace correo {

class Policy;
struct PolicyTables;

// SessionHost - what a session needs from its worker.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual uint64_t next_queue_id() = 0;
  // submit - hand a finished message to the spool; false = spool busy (back-pressure).
  // The host later calls Session::on_commit_result with the outcome.
  virtual bool submit(CommitRequest& request) = 0;
  // on_accepted - a message of `bytes` was acknowledged; latency from end of data to the 250.
  virtual void on_accepted(uint64_t latency_us, uint64_t bytes) {}
  // metrics - the cells this session counts in (its worker's; a private block by default).
  virtual SessionMetrics& metrics();
  // storage_available - would a message of `bytes` fit in the queue (queue.min_free_space)?
  virtual bool storage_available(uint64_t bytes) { return true; }
  // flush_domain - ETRN: make deferred mail for domain (and its subdomains) due now.
  virtual bool flush_domain(std::string_view domain, bool subdomains) { return false; }
  // verify_credentials - check a password off this thread; false = verifier busy. The
  // host answers later with Session::on_auth_result and wipes the password.
  virtual bool verify_credentials(std::string& user, std::string& password) { return false; }
  // sender_allowed - submission.enforce_sender: does `user` own `address`?
  virtual bool sender_allowed(std::string_view user, std::string_view address) { return false; }
  // policy - the shared anti-spam state (null = no policy: every check passes).
  virtual Policy* policy() { return nullptr; }
  // start_query - an asynchronous policy check. Either answers at once (cache hit: fills
  // `now`) or later through Session::on_policy_answer. False = it cannot be asked at all
  // (checker down or busy): the session answers with a temporary failure.
  virtual bool start_query(const PolicyQuery& query, std::optional<PolicyAnswer>& now) {
    now = PolicyAnswer{};
    return true;
  }
  // start_milters - run the listener's milters over a finished message; the host answers with
  // Session::on_milter_result. False = none could be started (the host applied nothing).
  virtual bool start_milters(const MilterRequest& request) { return false; }
  // policy_tables - the recipient, alias and header-check maps in force (null = none).
  virtual const PolicyTables* policy_tables() { return nullptr; }
};

enum class AuthVerdict : uint8_t { kOk, kBadCredentials, kRateLimited };

// Longest AUTH command or SASL response line, CRLF included (RFC 4954 §4).
constexpr size_t kAuthLineLimit = 12288;

enum class SessionPhase : uint8_t {
  kCommand,      // reading command lines
  kDiscardLine,  // skipping the rest of an overlong command line
  kData,         // reading DATA content
  kBdat,         // reading a BDAT chunk
  kAwaitCommit,  // message handed to the spool; input waits
  kStartTls,     // "220 Ready to start TLS" said; the worker runs the handshake
  kAuthResponse, // AUTH sent a 334 challenge; the next line is the client's answer
  kAwaitAuth,    // credentials handed to the verifier; input waits
  kAwaitPolicy,  // a MAIL/RCPT check (DNS, greylisting) is out; input waits
  kAwaitMilter,  // the finished message is with the milters; input waits
  kClosed,       // QUIT, 421 or fatal: nothing more is read
};
const char* to_string(SessionPhase phase);

class Session {
 public:
  // config: the snapshot this session runs with from greeting to close (a SIGHUP applies to
  // the sessions that start after it). policy: the listener's mode and requirements (null =
  // a plain smtp listener).
  Session(std::shared_ptr<const Config> config, SessionHost& host, std::string client_ip, std::string listener,
          const ListenerConfig* policy = nullptr);
  // Session over a Config the caller keeps alive (tests).
  Session(const Config& config, SessionHost& host, std::string client_ip, std::string listener,
          const ListenerConfig* policy = nullptr);

  // start - the greeting; refuse = send 421 instead (too many sessions) and close.
  void start(bool refuse = false);
  // start_refusing - a 554 greeting for a client connection screening refused (RFC 5321
  // §3.1): every command but QUIT gets 503 until it leaves or runs out of errors.
  void start_refusing(std::string_view enhanced, std::string_view text);
  // refuse - a 421 greeting (connection limits, rates) and close.
  void refuse(std::string_view enhanced, std::string_view text) { close_with(421, enhanced, text); }
  // reject_pregreet - the client talked before the greeting: 554 5.5.1 and close.
  void reject_pregreet();
  // set_allowlisted - policy.client_allow matched: skip the checks that judge strangers.
  void set_allowlisted() { allowlisted_ = true; }
  // feed - process newly received bytes.
  void feed(std::string_view bytes);
  // resume - continue after a pause (commit answered, output drained).
  void resume();
  void on_commit_result(const CommitCompletion& completion, std::chrono::steady_clock::time_point now);
  // on_timeout - the host saw no input for timeout(); says 421 and closes.
  void on_timeout();
  // on_shutdown - the daemon is stopping: 421 and close (between transactions only).
  void on_shutdown();
  // on_peer_closed - the client went away; an unfinished message is dropped, never queued.
  void on_peer_closed();
  // on_tls_established - the handshake finished (after STARTTLS, or before start() on an
  // implicit-TLS listener): back to the pre-EHLO state, now encrypted.
  void on_tls_established(const TlsInfo& info);
  void on_auth_result(AuthVerdict verdict);
  void on_policy_answer(const PolicyAnswer& answer);
  void on_milter_result(MilterOutcome outcome);
  // take_tarpit - after an error reply past policy.tarpit_after: the host holds the output
  // for tarpit_delay, then calls end_tarpit(); the session stays paused in between. True
  // once per request.
  bool take_tarpit();
  void end_tarpit() { tarpit_ = Tarpit::kNone; }

  std::string& output() { return out_; }
  bool closed() const { return phase_ == SessionPhase::kClosed; }
  // paused - the host must not read more input until resume() would make progress.
  bool paused() const;
  bool has_pending_input() const { return !inbuf_.empty(); }
  SessionPhase phase() const { return phase_; }
  std::chrono::milliseconds timeout() const;
  const std::string& client_ip() const { return client_ip_; }
  uint64_t messages_accepted() const { return accepted_; }
  bool starting_tls() const { return phase_ == SessionPhase::kStartTls; }
  bool tls_active() const { return tls_.has_value(); }
  const std::string& auth_user() const { return auth_user_; }

 private:
  struct Transaction {
    bool active = false;  // MAIL accepted
    MailCommand mail;
    std::vector<Recipient> recipients;
    uint32_t rejected_rcpts = 0;
    bool bdat = false;    // BDAT used: DATA no longer allowed
    uint64_t id = 0;
    std::string body;     // our Received: header, then content
    size_t content_offset = 0;
    size_t queued_rcpts = 0;  // kept for the log line after recipients moved to the spool
    uint64_t queued_size = 0;
    bool held = false;        // policy HOLD / milter quarantine: queued without a schedule
    std::string hold_reason;
    bool discard = false;     // policy DISCARD: acknowledged, never queued
  };
  // PendingCheck - a MAIL or RCPT waiting for asynchronous checks, one stage at a time.
  struct PendingCheck {
    enum class Stage : uint8_t { kNone, kSenderDomain, kRecipientDomain, kGreylist, kDone };
    Stage stage = Stage::kNone;
    bool rcpt = false;                 // RCPT (else MAIL)
    std::string address;               // as the client gave it, for replies
    std::vector<Recipient> recipients;  // RCPT: the recipients to add when every check passes
  };

  size_t process(std::string_view in);
  size_t process_command(std::string_view in);
  void dispatch(std::string_view line);
  void reply(uint16_t code, std::string_view enhanced, std::string_view text);
  void reply_error(uint16_t code, std::string_view enhanced, std::string_view text);
  void reply(const Reply& r) { reply_error(r.code, r.enhanced, r.text); }
  void close_with(uint16_t code, std::string_view enhanced, std::string_view text);
  void count_reply(uint16_t code) { metrics_.replies[code >= 200 && code < 600 ? code / 100 - 2 : 3].add(); }
  void count_rejected(MessageReject why) { metrics_.messages_rejected[static_cast<size_t>(why)].add(); }
  void reset_transaction();

  // Command handlers (session_commands.cc).
  void cmd_helo(const CommandLine& c, bool extended);
  void cmd_mail(const CommandLine& c);
  void cmd_rcpt(const CommandLine& c);
  void cmd_data(const CommandLine& c);
  void cmd_bdat(const CommandLine& c);
  void cmd_etrn(const CommandLine& c);
  bool relay_allowed(const RcptCommand& r) const;
  bool mail_allowed();  // the listener's TLS/AUTH requirements and the sender check

  // Anti-spam checks (session_policy.cc).
  bool check_on(Check c) const;
  void reject(size_t reason, uint16_t code, std::string_view enhanced, std::string_view text);
  bool helo_allowed(std::string_view name);
  bool mail_rate_allowed();
  bool expand_recipient(Recipient rcpt, bool relay_domain, std::vector<Recipient>& out);
  void begin_checks(PendingCheck pending);
  void run_checks();
  bool stage_wanted(PendingCheck::Stage stage) const;
  bool apply_answer(const PolicyAnswer& answer);
  void checks_passed();
  bool content_allowed();
  bool call_milters();
  void apply_milter_outcome(MilterOutcome& outcome);
  // STARTTLS and AUTH (session_auth.cc).
  enum class AuthMech : uint8_t { kNone, kPlain, kLogin };
  bool tls_offered() const;
  bool auth_offered() const;
  void cmd_starttls(const CommandLine& c);
  void cmd_auth(const CommandLine& c);
  size_t process_auth_response(std::string_view in);
  void auth_step(std::string_view response);
  void check_credentials(std::string user, std::string password);
  void end_auth(uint16_t code, std::string_view enhanced, std::string_view text);

  // Message content and hand-off (session_message.cc).
  void start_message(DataReader::Mode mode);
  size_t process_data(std::string_view in);
  size_t process_bdat(std::string_view in);
  void finish_message();
  void queue_message();
  // fail_message - refuse the finished message; logged as one "reject" line with check and detail.
  void fail_message(uint16_t code, std::string_view enhanced, std::string_view text, std::string_view check = "content",
                    std::string_view detail = {});
  uint32_t count_hops() const;
  void append_received_header();
  void add_submission_headers();

  std::shared_ptr<const Config> config_owner_;  // keeps config_ alive
  const Config& config_;
  SessionHost& host_;
  SessionMetrics& metrics_;
  std::string client_ip_;
  std::string listener_;
  ListenerConfig policy_;
  std::optional<TlsInfo> tls_;
  std::string auth_user_;          // "" = not authenticated
  AuthMech auth_mech_ = AuthMech::kNone;
  std::string auth_login_user_;    // LOGIN: the user name while the password is asked
  std::string auth_pending_user_;  // being verified
  std::string helo_;
  bool extended_ = false;  // EHLO seen
  bool relay_client_ = false;
  bool refusing_ = false;       // start_refusing(): only QUIT is served
  bool allowlisted_ = false;    // policy.client_allow: no DNS, greylisting or rate checks
  enum class Tarpit : uint8_t { kNone, kRequested, kHolding };
  Tarpit tarpit_ = Tarpit::kNone;
  PendingCheck pending_;
  SessionPhase phase_ = SessionPhase::kCommand;
  std::string inbuf_;
  std::string out_;
  uint32_t errors_ = 0;
  uint64_t accepted_ = 0;
  Transaction txn_;
  DataReader reader_;
  uint64_t bdat_remaining_ = 0;
  bool bdat_last_ = false;
  bool bdat_discard_ = false;  // consuming a chunk that will be refused
  Reply bdat_refusal_;
  std::chrono::steady_clock::time_point commit_started_;
};

}  // namespace correo
