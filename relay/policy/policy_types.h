// policy_types.h - the questions a session asks its host for policy checks that cannot be
// answered on the spot (DNS, greylisting, milters), and the answers.
//
// The session stays free of sockets and threads: it describes the question, the worker asks
// c-ares, the greylisting service or the milters, and hands the answer back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace correo {

// PolicyQuery - one asynchronous check.
struct PolicyQuery {
  enum class Kind : uint8_t {
    kDomain,    // does `domain` accept mail: MX, or else A/AAAA (RFC 5321 §5.1)?
    kGreylist,  // triplet (client network, sender, recipient)
  };
  Kind kind = Kind::kDomain;
  std::string domain;
  std::string sender;     // kGreylist
  std::string recipient;  // kGreylist
};

// PolicyAnswer - kTempFail also covers "the checker is down": such checks fail open or
// temporarily, never permanently.
struct PolicyAnswer {
  enum class Verdict : uint8_t { kPass, kTempFail, kPermFail, kNullMx, kGreylisted };
  Verdict verdict = Verdict::kPass;
  std::string detail;        // for the log ("NXDOMAIN", "SERVFAIL looking up MX for x")
  uint32_t retry_after = 0;  // kGreylisted: seconds until a retry can pass
};

// MilterRequest - the finished message as the milters see it, at the end of DATA.
struct MilterRequest {
  std::vector<uint32_t> milters;  // indexes into policy.milters, called in order
  std::string client_ip;
  std::string helo;
  std::string sender;               // without <>; "" = null sender
  std::vector<std::string> mail_args;
  std::vector<std::string> recipients;
  std::string_view content;         // header section, blank line, body (CRLF); valid until the answer
  std::string queue_id;
  std::string auth_user;            // "" = not authenticated
};

// MilterOutcome - what the milters decided together: the first that rejects, tempfails,
// discards or quarantines ends the run; edits accumulate.
struct MilterOutcome {
  enum class Verdict : uint8_t { kAccept, kReject, kTempFail, kDiscard, kHold };
  Verdict verdict = Verdict::kAccept;
  std::string milter;                  // which milter decided (for the log)
  std::string reply;                   // "550 5.7.1 text" from SMFIR_REPLYCODE; "" = our default
  std::string reason;                  // quarantine reason, or why a milter failed
  std::optional<std::string> content;  // the message as edited (headers and/or body)
  std::vector<std::string> add_rcpts;
  std::vector<std::string> del_rcpts;
};

}  // namespace correo
