// policy_config.h - the [policy] section: what an edge relay checks before it accepts mail.
//
// Modelled on Postfix's postscreen and smtpd_*_restrictions, so an administrator finds the
// usual knobs. Every check is off or harmless by default except the cheap syntax ones
// (HELO syntax, header size), and every check can be switched per listener with the
// listener's `checks` list (config.h), so submission clients are not screened like strangers.
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/common/cidr.h"

namespace correo {

// Check - one switchable policy check; the names are the config spelling.
enum class Check : uint8_t {
  kClientAccess,     // policy.client_allow / client_deny
  kConnectionLimit,  // policy.max_connections_per_client, max_connections
  kConnectionRate,   // policy.connection_rate
  kPregreet,         // policy.greet_delay: early talkers
  kDnsbl,            // [policy.dnsbl]
  kHelo,             // policy.helo_*: HELO/EHLO syntax
  kSenderDomain,     // policy.verify_sender_domain
  kRecipientDomain,  // policy.verify_recipient_domain
  kRecipients,       // policy.recipients_file + aliases_file
  kMessageRate,      // policy.message_rate, user_message_rate
  kTarpit,           // policy.tarpit_after
  kGreylist,         // [policy.greylist]
  kHeaderChecks,     // policy.header_checks, header_size, header_count
  kMilter,           // [[policy.milter]]
  kCount
};
constexpr size_t kCheckCount = static_cast<size_t>(Check::kCount);
using CheckSet = std::bitset<kCheckCount>;

std::string_view to_string(Check check);
std::optional<Check> check_from_string(std::string_view name);

// DnsblConfig - postscreen_dnsbl_sites / postscreen_dnsbl_threshold.
struct DnsblConfig {
  // "zone[=filter][*weight]", e.g. "zen.example", "bl.example=127.0.0.[2..11]*2",
  // "wl.example=127.0.[0..255].[0..255]*-2" (a negative weight is an allowlist).
  std::vector<std::string> sites;
  int32_t threshold = 1;  // a client whose summed weights reach this is rejected
  // Longest wait for the lookups at connect; an unanswered zone counts 0 (fail open: a DNSBL
  // outage must not stop mail).
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
};

// GreylistConfig - triplet greylisting like postgrey (off by default).
struct GreylistConfig {
  bool enabled = false;
  std::chrono::milliseconds delay = std::chrono::minutes(5);           // minimum retry delay
  std::chrono::milliseconds retry_window = std::chrono::hours(48);     // a later retry starts over
  std::chrono::milliseconds pass_lifetime = std::chrono::hours(24 * 35);  // a passed triplet stays allowed
  uint32_t auto_allow_clients = 5;  // passed triplets after which a client network is allowed (0 = off)
  bool operator==(const GreylistConfig&) const = default;
};

enum class MilterDefault : uint8_t { kAccept, kTempFail, kReject };

// MilterConfig - one [[policy.milter]] (Postfix's smtpd_milters + milter_default_action).
struct MilterConfig {
  std::string name;     // for listener.milters and logs
  std::string address;  // "inet:127.0.0.1:8891", "inet:[::1]:8891" or "unix:/path"
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
  std::chrono::milliseconds timeout = std::chrono::seconds(30);  // per reply
  MilterDefault default_action = MilterDefault::kTempFail;       // when the milter is down or broken
  bool operator==(const MilterConfig&) const = default;
};

struct PolicyConfig {
  // Connection screening.
  std::vector<Cidr> client_allow;  // skip screening, DNSBL, greylisting and rate limits
  std::vector<Cidr> client_deny;   // 554 5.7.1 greeting
  uint32_t max_connections_per_client = 0;  // concurrent, all workers together (0 = off)
  uint32_t max_connections = 0;             // concurrent in total (0 = only limits.sessions_per_worker)
  uint32_t connection_rate = 0;             // new connections per client per minute (0 = off)
  std::chrono::milliseconds greet_delay{0};  // pregreet test: wait this long before 220 (0 = off)

  // Session checks.
  bool reject_invalid_helo = true;  // HELO/EHLO must be a host name or an address literal
  bool require_fqdn_helo = false;   // ... with at least two labels
  bool verify_sender_domain = false;     // MAIL FROM domain must have MX or A (450 4.1.8 when DNS fails)
  bool verify_recipient_domain = false;  // RCPT TO domain must have MX or A (450 4.1.2 when DNS fails)
  std::string recipients_file;  // valid recipients of relay.domains; "" = accept any
  std::string aliases_file;     // alias: target, target...; expanded before queueing
  uint32_t max_alias_expansion = 1000;  // recipients one address may expand to
  uint32_t message_rate = 0;       // messages per client address per minute (0 = off)
  uint32_t user_message_rate = 0;  // messages per authenticated user per minute (0 = off)
  uint32_t tarpit_after = 0;       // errors before each further error reply is delayed (0 = off)
  std::chrono::milliseconds tarpit_delay = std::chrono::seconds(1);

  // Content checks at the end of DATA.
  std::string header_checks;      // file of /regex/ ACTION lines (RE2); "" = none
  uint32_t header_size = 102400;  // bytes of the header section (Postfix header_size_limit)
  uint32_t header_count = 1000;   // logical header lines

  // Bound of every per-client table (connections, rates): hostile address churn evicts.
  uint32_t tracked_clients = 100000;

  DnsblConfig dnsbl;
  GreylistConfig greylist;
  std::vector<MilterConfig> milters;
};

// default_checks - the checks a listener of a mode runs when its config has no `checks`:
// everything on port-25 style listeners; on submission and smtps (authenticated users)
// only access, limits, rates, tarpit and content checks.
CheckSet default_checks(bool submission_like);

}  // namespace correo
