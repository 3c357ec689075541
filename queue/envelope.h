// envelope.h - the envelope record stored beside each queued message.
//
// Stored in the `env` column family as a versioned binary record with explicit integer
// sizes (little-endian u8/u32/u64, strings as u32 length + bytes). decode() rejects
// unknown versions and truncated or trailing bytes instead of guessing, so a corrupt
// record can be quarantined rather than crash the daemon.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace correo {

// 2 adds DELIVERBY and the delay-warning flag; 3 the hold state; 4 the next attempt time.
constexpr uint8_t kEnvelopeVersion = 4;

// DSN NOTIFY bits (RFC 3461 §4.1); 0 = not given (default: FAILURE, and DELAY at our choice).
enum NotifyBits : uint8_t { kNotifyNever = 1, kNotifySuccess = 2, kNotifyFailure = 4, kNotifyDelay = 8 };
enum class BodyType : uint8_t { kUnspecified = 0, k7Bit = 1, k8BitMime = 2 };
enum class DsnRet : uint8_t { kUnspecified = 0, kFull = 1, kHdrs = 2 };
enum class RecipientState : uint8_t { kPending = 0, kDelivered = 1, kFailed = 2 };
// DELIVERBY (RFC 2852) by-mode: R = return the message when the deadline passes, N = notify.
enum class ByMode : uint8_t { kNone = 0, kReturn = 1, kNotify = 2 };

struct Recipient {
  std::string address;  // as given in RCPT TO, without < >
  std::string orcpt;    // ORCPT parameter as given (addr-type;xtext), "" if none
  uint8_t notify = 0;   // NotifyBits
  RecipientState state = RecipientState::kPending;
  uint32_t attempts = 0;
  std::string last_reply;  // last remote reply or error text
};

struct Envelope {
  uint64_t id = 0;             // queue id
  std::string sender;          // "" = null reverse-path <>
  std::vector<Recipient> recipients;
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;           // ENVID xtext as given
  int64_t arrival_us = 0;      // microseconds since the epoch
  std::string client_address;  // peer IP
  std::string helo;            // HELO/EHLO argument
  uint64_t size = 0;           // stored body bytes (including our Received: header)
  int64_t deliver_by_us = 0;   // DELIVERBY deadline (0 = none)
  ByMode by_mode = ByMode::kNone;
  bool by_trace = false;       // BY=...T: trace requested (passed on)
  bool delay_warned = false;   // a delay DSN was sent (queue.delay_warning or BY=;N)
  // Held by policy (header_checks HOLD, milter quarantine): stored without a schedule entry,
  // so it stays in the queue, undelivered, until an operator releases or deletes it.
  bool held = false;
  std::string hold_reason;
  // When the schedule entry says the next attempt is due (µs since the epoch); 0 = no entry
  // (held) or unknown (a record older than version 4). Written by the spool with the entry,
  // so correoctl can show a message's state without scanning the schedule.
  int64_t next_attempt_us = 0;
};

std::string encode_envelope(const Envelope& env);
std::optional<Envelope> decode_envelope(std::string_view bytes);

}  // namespace correo
