// dsn.h - RFC 3464 delivery status notifications (bounces, delay warnings), pure.
//
// build_dsn() returns a complete RFC 5322 message (CRLF line endings, lines <= 998 octets)
// to be queued with the null reverse-path <> to the original sender:
//   From: Mail Delivery System <MAILER-DAEMON@reporting_mta>, To: <original sender>,
//   Subject: "Undelivered Mail Returned to Sender" (failed) or "Delayed Mail (still being
//   retried)" (delayed) or "Successful Mail Delivery Report" (delivered), Date, Message-ID,
//   Auto-Submitted: auto-replied (RFC 3834), MIME-Version: 1.0,
//   Content-Type: multipart/report; report-type=delivery-status; boundary="..."
//   1. text/plain: a human explanation naming each recipient and the reason;
//   2. message/delivery-status (RFC 3464 §2): per-message fields (Reporting-MTA: dns; host,
//      Original-Envelope-Id if ENVID was given, Arrival-Date) then per-recipient fields
//      (Original-Recipient if ORCPT was given, Final-Recipient: rfc822; addr, Action, Status,
//      Remote-MTA: dns; host when known, Diagnostic-Code: smtp; <reply> when known,
//      Last-Attempt-Date, Will-Retry-Until for delayed);
//   3. the original: message/rfc822 with the whole message when RET=FULL (truncated to
//      max_returned_bytes -> then text/rfc822-headers instead), else text/rfc822-headers
//      with the original header section only (RET=HDRS or unspecified).
// With SMTPUTF8 originals (RFC 6533) the utf-8 variants are used: message/global-delivery-status
// and message/global / message/global-headers, and utf-8 address types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "queue/envelope.h"

namespace correo {

// kRelayed (RFC 3464 §2.3.3): handed to a server that does not offer DSN, so no later
// success notice will come; sent for NOTIFY=SUCCESS in that case (RFC 3461 §6.2.1).
enum class DsnAction : uint8_t { kFailed, kDelayed, kDelivered, kRelayed };

struct DsnRecipient {
  std::string final_recipient;     // the address we tried
  std::string original_recipient;  // ORCPT as stored ("rfc822;xtext"), "" if none
  DsnAction action = DsnAction::kFailed;
  std::string status;              // enhanced code "5.1.1"
  std::string remote_mta;          // host name of the server that answered, "" if none
  std::string diagnostic;          // the remote reply "550 5.1.1 <x>: unknown user", "" if none
  int64_t last_attempt_us = 0;
  int64_t retry_until_us = 0;      // delayed only
};

struct DsnInput {
  std::string reporting_mta;       // server.hostname
  std::string original_sender;     // where the DSN goes (never empty: no DSN for <>)
  std::string envid;               // ENVID xtext, "" if none
  int64_t arrival_us = 0;
  int64_t now_us = 0;              // Date: of the DSN
  DsnRet ret = DsnRet::kUnspecified;
  bool smtputf8 = false;
  std::vector<DsnRecipient> recipients;
  std::string_view original;       // the stored message (our Received: header first)
  uint64_t max_returned_bytes = 10 * 1024 * 1024;
  std::string boundary_seed;       // e.g. the queue id: makes the boundary unique and testable
};

std::string build_dsn(const DsnInput& input);

// xtext_decode - RFC 3461 §4 "+XX" escapes (for ORCPT / ENVID display); invalid -> as is.
std::string xtext_decode(std::string_view xtext);

}  // namespace correo
