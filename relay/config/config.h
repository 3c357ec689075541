// config.h - the typed, validated configuration of correod.
//
// Key names are fixed by shared/CONFIG.md (operators, docs, deploy files and tests speak
// them). Every key has a default, so a file names only what differs. The loader rejects
// unknown keys and bad values with "FILE:LINE: key: problem" so a typo never silently
// falls back to a default. A Config is immutable once loaded; reload swaps a new snapshot.
//
// Limits are declared here once, each with the threat it bounds (Postfix VAR_/DEF_ style).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/common/cidr.h"
#include "relay/common/log.h"
#include "relay/common/result.h"
#include "relay/config/policy_config.h"

namespace correo {

using Duration = std::chrono::milliseconds;

enum class ListenerMode { kSmtp, kSubmission, kSmtps };
const char* to_string(ListenerMode mode);

// ListenerConfig - one listening socket and its policy. The three policy flags default by
// mode (the loader fills them): smtp - none; submission - all three (RFC 6409 + RFC 8314
// advice: no credentials or mail before TLS); smtps - AUTH offered and required (TLS is
// implicit from the first byte).
struct ListenerConfig {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal
  uint16_t port = 2525;
  ListenerMode mode = ListenerMode::kSmtp;
  bool require_tls = false;   // MAIL (and AUTH) refused with 530 5.7.0 until STARTTLS
  bool auth = false;          // AUTH offered (after TLS unless auth.allow_plaintext)
  bool require_auth = false;  // MAIL refused with 530 5.7.0 until AUTH
  // Policy checks this listener runs (key `checks`, default by mode: default_checks()).
  // A check also needs its [policy] settings to do anything.
  CheckSet checks = default_checks(false);
  // Indexes into policy.milters this listener calls, in order (key `milters`: names;
  // default: every milter).
  std::vector<uint32_t> milters;
  bool operator==(const ListenerConfig&) const = default;
};

struct ServerConfig {
  std::string hostname;          // default: gethostname(); greeting, EHLO, Received:
  unsigned workers = 0;          // 0 = one per CPU (resolved by the loader to a real count)
  std::string state_dir = "var"; // queue lives in <state_dir>/queue
  bool operator==(const ServerConfig&) const = default;
};

struct LimitsConfig {
  // Message size advertised in SIZE and enforced during DATA/BDAT: bounds memory per message.
  uint64_t message_size = 52428800;
  // Recipients per transaction (RFC 5321 §4.5.3.1.8 minimum 100); beyond: 452 4.5.3.
  uint32_t recipients = 1000;
  // Received: headers before a message is taken for a loop: 554 5.4.6.
  uint32_t max_hops = 50;
  // Command-phase idle timeout (RFC 5321 §4.5.3.2.7: at least 5 minutes).
  Duration idle_timeout = std::chrono::minutes(5);
  // Silence allowed while receiving DATA/BDAT content (RFC 5321 §4.5.3.2.5-6 client side: 3m/10m).
  Duration data_timeout = std::chrono::minutes(10);
  // Slowloris defence (Postfix's smtpd_min_data_rate): each request (a command line, or
  // the message content) gets the whole timeout once; while it is incomplete, a read of N
  // bytes extends its deadline by N / min_data_rate seconds only, never past now + the
  // timeout. A client that trickles a byte at a time runs out of time as if silent.
  // 0 = every read restarts the timeout (no defence).
  uint32_t min_data_rate = 500;
  // Concurrent sessions one worker keeps; beyond: 421 4.3.2 at connect. Bounds memory per worker.
  uint32_t sessions_per_worker = 20000;
  // Error replies one session may earn before 421 4.7.0 and disconnect: stops dictionary probes.
  uint32_t errors_per_session = 20;
  // Command line length including CRLF (RFC 5321 §4.5.3.1.4 minimum 512): bounds the line buffer.
  uint32_t command_line = 512;
  // Text line length including CRLF (RFC 5321 §4.5.3.1.6: 1000): longer lines get 552.
  uint32_t text_line = 1000;
  // Bytes of replies a session may have queued before it stops reading commands: bounds the
  // output of one huge pipelined write (100,000 NOOPs cost at most this much memory).
  uint32_t output_buffer = 65536;
};

struct RelayConfig {
  // Domains accepted from anyone; value = next hop ("" = route by transport/MX).
  std::map<std::string, std::string> domains;
  // Clients allowed to relay to any domain.
  std::vector<Cidr> networks;
  // Smarthost for everything else: "[host]:port" or "host".
  std::string relayhost;
};

struct QueueConfig {
  Duration retry_initial = std::chrono::minutes(5);
  Duration retry_max = std::chrono::hours(1);
  Duration max_lifetime = std::chrono::hours(24 * 5);
  Duration delay_warning = Duration(0);  // 0 = off
  // Free bytes the queue's filesystem must keep: below it new mail gets 452 4.3.1 (like
  // Postfix's queue_minfree). RocksDB must never itself run out of space: its flushes need
  // room (memtables up to ~150 MiB) and its failure paths after ENOSPC are fragile (7.8).
  uint64_t min_free_space = 268435456;  // 0 = no check
  // One memtable of message bodies (up to 3 at once: bounds the spool's body memory). Mail
  // delivered before its memtable fills is never written to a blob file at all.
  uint64_t body_memtable = 134217728;
};

// TransportConfig - routing overrides: "domain" (exact) or ".parent" (any subdomain) ->
// next hop ("host", "host:port" with MX lookup; "[host]", "[host]:port" without). An exact
// entry wins over a suffix; among suffixes the longest (most specific) wins.
struct TransportConfig {
  std::map<std::string, std::string> routes;
};

struct DnsConfig {
  std::vector<std::string> servers;  // [] = /etc/resolv.conf; else "127.0.0.1:5353", ...
  // Cached MX/address answers per worker: bounds resolver memory.
  uint32_t cache_entries = 100000;
  Duration timeout = std::chrono::seconds(5);  // per DNS try (3 tries)
  bool operator==(const DnsConfig&) const = default;
};

enum class OutboundTls : uint8_t { kNone, kOpportunistic, kVerify };

struct DeliveryConfig {
  uint16_t port = 25;  // for MX/A-routed deliveries
  // Concurrent connections to one next hop: a slow or dead destination cannot take them all.
  uint32_t connections_per_destination = 20;
  // Concurrent outbound connections in total (split evenly across workers).
  uint32_t connections_total = 2000;
  OutboundTls tls = OutboundTls::kOpportunistic;
  Duration connect_timeout = std::chrono::seconds(30);
  // Waiting for any reply; RFC 5321 §4.5.3.2 asks 5 min for most, 10 min after the final dot.
  Duration reply_timeout = std::chrono::minutes(5);
  Duration data_done_timeout = std::chrono::minutes(10);
  // An idle connection is kept this long for the next message to the same next hop
  // (Postfix smtp_connection_cache_time_limit), and used for at most reuse_messages messages.
  Duration reuse_time = std::chrono::seconds(2);
  uint32_t reuse_messages = 100;
  // Messages handed to workers and not yet answered: bounds scheduler memory (bodies are loaded).
  uint32_t in_flight_messages = 4096;
  // Accept and queue, deliver nothing (Exim's queue_only): maintenance, inspection, ingest tests.
  bool queue_only = false;
};

// TlsConfig - the server certificate (STARTTLS and smtps). Empty = no TLS offered.
struct TlsConfig {
  std::string cert;  // PEM: certificate, then intermediates
  std::string key;   // PEM private key
};

// AuthConfig - SMTP AUTH (RFC 4954) PLAIN and LOGIN against a file of crypt(3) hashes.
struct AuthConfig {
  std::string users_file;        // lines user:hash[:owned,addresses]; empty = no AUTH
  bool allow_plaintext = false;  // offer AUTH before TLS (passwords in clear: off by default)
  // Failed AUTHs one client address may make within failure_window; beyond, 454 4.7.0
  // without checking (a password-guessing client costs no hashing).
  uint32_t max_failures = 5;
  Duration failure_window = std::chrono::minutes(5);
};

// SubmissionConfig - message submission (RFC 6409) on submission/smtps listeners.
struct SubmissionConfig {
  // MAIL FROM must be an address the authenticated user owns (553 5.7.1 otherwise).
  bool enforce_sender = false;
};

struct LogConfig {
  LogFormat format = LogFormat::kKv;
  LogLevel level = LogLevel::kInfo;
};

struct MetricsConfig {
  std::string listen = "127.0.0.1:9465";  // /metrics, /healthz, /readyz; "" = off
  bool operator==(const MetricsConfig&) const = default;
};

struct AdminConfig {
  std::string listen;       // "unix:PATH" or loopback "IP:PORT"; "" = off
  bool listen_set = false;  // unset: unix:<server.state_dir>/correo.sock
  bool operator==(const AdminConfig&) const = default;
};

struct ShutdownConfig {
  Duration grace = std::chrono::seconds(30);  // SIGTERM: how long transactions may finish
};

struct Config {
  std::string path;  // file it came from, for messages
  ServerConfig server;
  std::vector<ListenerConfig> listeners;  // default: one smtp listener on 127.0.0.1:2525
  LimitsConfig limits;
  RelayConfig relay;
  TransportConfig transport;
  DnsConfig dns;
  DeliveryConfig delivery;
  QueueConfig queue;
  TlsConfig tls;
  AuthConfig auth;
  SubmissionConfig submission;
  PolicyConfig policy;
  LogConfig log;
  MetricsConfig metrics;
  AdminConfig admin;
  ShutdownConfig shutdown;
};

// ConfigError - one problem, already formatted as "FILE:LINE: key: problem".
struct ConfigError {
  std::string text;
};

// load_config - parse and validate; on failure every problem found is returned.
struct ConfigLoad {
  Config config;
  std::vector<ConfigError> errors;  // empty = usable
};
ConfigLoad load_config(const std::string& path);

// parse_duration - "250ms", "30s", "5m", "4h", "5d"; nullopt on anything else.
std::optional<Duration> parse_duration(std::string_view text);

}  // namespace correo
