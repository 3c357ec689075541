// milter_session.h - one milter conversation about ONE message, MTA side, as a pure state
// machine over bytes (no sockets, no clocks; the caller owns I/O and timeouts).
//
// The relay runs it at end of DATA, when the whole transaction is known, so every stage is
// replayed in one go as Postfix's smtpd would have sent it live: OPTNEG, then per stage its
// macros and command - CONNECT, HELO, MAIL, each RCPT, DATA, each header, EOH, body chunks
// (<= 64 KiB - 1), EOB - then the modification actions up to the final decision, then QUIT.
// Negotiation (mfdef.h): we offer every SMFIP_NO* / SMFIP_NR* step and SMFIP_SKIP and
// SMFIP_HDR_LEADSPC; a stage the milter opted out of is not sent (its macros still are, as
// Postfix does, because libmilter keeps macros of earlier stages visible later); a stage it
// will not answer is not waited for, and the following packets go out in the same write.
// A milter asking for an action or step we did not offer is a protocol failure.
//
// Decisions: ACCEPT before EOB accepts the message with no further filtering; REJECT,
// TEMPFAIL, REPLYCODE (4xx/5xx) and DISCARD end the conversation at any stage. At RCPT they
// concern that recipient only (rejected_rcpts) and the conversation goes on; when every
// recipient is rejected the message is (kReject, or kTempFail if any refusal was 4xx).
// DISCARD at CONNECT or HELO is a protocol failure (Postfix: "not allowed").
// At EOB the milter sends edits (only those actions it negotiated), optionally QUARANTINE,
// then CONTINUE or ACCEPT -> kContinue when it edited anything, kQuarantine when it asked
// for quarantine, else kAccept.
// Failures (failed = true): malformed or oversized packet, unexpected reply, closed stream,
// limits exceeded. Output is then cleared and the verdict is kTempFail with no edits: the
// caller closes the connection and applies its default action (Postfix
// milter_default_action).
// Limits: one packet <= MilterLimits::max_packet_bytes (checked from the length word); the
// sum of SMFIR_REPLBODY chunks <= max_replaced_body_bytes; header and recipient edits <=
// max_edits entries and max_edit_bytes in total. Bytes after the verdict are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/policy/milter/apply_edits.h"
#include "relay/policy/milter/milter_protocol.h"

namespace correo {

struct MilterMessage {
  std::string client_name;  // reverse name, or "[ip]" when unknown
  std::string client_ip;    // "" -> connect family SMFIA_UNKNOWN
  uint16_t client_port = 0;
  bool client_v6 = false;
  std::string helo;  // "" -> no HELO stage (the client never sent one)
  std::string mail_from;  // without <>; "" is the null sender
  std::vector<std::string> mail_args;  // ESMTP parameters of MAIL, "SIZE=123", ...
  std::vector<std::string> rcpts;      // without <>
  std::string_view content;  // header section, empty line, body; CRLF; outlives the session
  std::string queue_id;
  std::string our_hostname;
  bool authenticated = false;
  std::string auth_user;
};

struct MilterLimits {
  // A reply packet's data larger than this is a broken or hostile milter. libmilter sends at
  // most 64 KiB - 1 by default and 1 MiB - 1 with SMFIP_MDS_1M.
  size_t max_packet_bytes = 1 << 20;
  // The replacement body (all SMFIR_REPLBODY chunks) is held in memory until applied.
  size_t max_replaced_body_bytes = 64 << 20;
  // Header and recipient edits are held until applied: bound count and total size.
  size_t max_edits = 10000;
  size_t max_edit_bytes = 4 << 20;
};

enum class MilterVerdict : uint8_t { kAccept, kContinue /* accept with edits */, kReject, kTempFail, kDiscard, kQuarantine };
const char* to_string(MilterVerdict v);

struct RejectedRecipient {
  std::string address;
  std::string reply;  // always an SMTP reply: the milter's, or Postfix's default text
};

struct MilterResult {
  MilterVerdict verdict = MilterVerdict::kAccept;
  std::string reply;  // from SMFIR_REPLYCODE (may be multi-line, CRLF); "" = use the default
  std::string quarantine_reason;
  std::vector<RejectedRecipient> rejected_rcpts;  // per-recipient refusals at RCPT; any verdict
  // Edits, meaningful for kContinue and kQuarantine only (cleared for the other verdicts).
  std::vector<HeaderEdit> header_edits;
  std::optional<std::string> new_body;
  std::vector<std::string> added_rcpts;    // without <>; SMFIR_ADDRCPT_PAR parameters dropped
  std::vector<std::string> removed_rcpts;  // without <>
  std::optional<std::string> new_sender;   // without <>
  std::string new_sender_args;             // ESMTP parameters from SMFIR_CHGFROM
  bool failed = false;  // milter broken: bad packet, unexpected reply, closed, limit exceeded
  std::string error;    // what went wrong, for the log
};

// apply_milter_result - the message content after the result's header edits and new body.
inline Result<std::string> apply_milter_result(std::string_view content, const MilterResult& r) {
  return apply_milter_edits(content, r.header_edits, r.new_body);
}

class MilterSession {
 public:
  MilterSession(MilterMessage msg, MilterLimits limits);  // msg.content must outlive the session

  void start();                          // queues OPTNEG
  std::string& output() { return out_; }  // bytes to send; the caller drains it
  void on_bytes(std::string_view in);    // bytes from the milter
  void on_closed();                      // the milter closed the stream (EOF or error)
  bool done() const { return done_; }
  const MilterResult& result() const { return result_; }

  // What the milter negotiated, for logs and tests (valid after the OPTNEG reply).
  uint32_t milter_actions() const { return actions_; }
  uint32_t milter_protocol() const { return protocol_; }

 private:
  enum class Stage : uint8_t { kOptneg, kConnect, kHelo, kMail, kRcpt, kData, kHeaders, kEoh, kBody, kEob, kDone };

  void advance();
  bool begin_stage(char command, uint32_t skip_flag);
  void on_reply(const MilterReply& reply);
  void on_optneg(const MilterReply& reply);
  void on_stage_reply(Stage stage, const MilterReply& reply);
  void on_rcpt_reply(const MilterReply& reply);
  void on_eob_reply(const MilterReply& reply);
  bool record_edit(const MilterReply& reply);
  void finish(MilterVerdict verdict, std::string reply = {});
  void fail(std::string error);
  bool has(uint32_t protocol_flag) const { return (protocol_ & protocol_flag) != 0; }
  std::vector<MilterMacro> macros_for(char stage) const;

  const MilterMessage msg_;
  MilterLimits limits_;
  MilterPacketReader reader_;
  MilterResult result_;
  std::string out_;
  bool done_ = false;

  uint32_t actions_ = 0, protocol_ = 0;
  Stage stage_ = Stage::kOptneg;  // the next stage to send
  Stage awaiting_ = Stage::kDone;  // the stage whose reply we wait for; kDone = none
  bool in_transaction_ = false;    // MAIL sent: an early end sends ABORT before QUIT
  size_t rcpt_index_ = 0;          // next recipient to send
  size_t awaited_rcpt_ = 0;        // the recipient whose reply we wait for
  bool any_rcpt_tempfail_ = false;
  HeaderSection headers_;
  size_t header_index_ = 0;
  size_t body_offset_ = 0;  // into msg_.content
  bool quarantine_ = false;
  size_t edit_bytes_ = 0;
  size_t edit_count_ = 0;
};

}  // namespace correo
