// greylist.cc - the greylisting state machine: keys, the record format and decide().
//
// Everything here is pure (no I/O, `now` passed in), so the rules are tested without a clock
// or a database; greylist_service.cc keeps the records.
#include "relay/policy/greylist.h"

#include <algorithm>
#include <limits>

#include "relay/common/ascii.h"

namespace correo {
namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr size_t kTripletSize = 1 + 1 + 8 + 8 + 4;
constexpr size_t kNetworkSize = 1 + 4 + 8;
constexpr uint8_t kPassedFlag = 1;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Stored times are checked against this bound on decode, so that a damaged record can never
// make `now - first_seen` overflow (2^40 s is some 34,000 years).
constexpr uint64_t kMaxStoredTime = uint64_t{1} << 40;

void put_time(std::string& out, GreylistTime t) { put_be(out, static_cast<uint64_t>(t.time_since_epoch().count()), 8); }

// get_time - false when the stored value is negative or beyond kMaxStoredTime.
bool get_time(const char* p, GreylistTime& out) {
  const uint64_t v = get_be(p, 8);
  if (v > kMaxStoredTime) return false;
  out = GreylistTime(std::chrono::seconds(static_cast<int64_t>(v)));
  return true;
}

uint32_t saturating_inc(uint32_t v) { return v == std::numeric_limits<uint32_t>::max() ? v : v + 1; }

// is_v4_mapped - ::ffff:a.b.c.d, which a dual-stack listener reports for IPv4 clients.
bool is_v4_mapped(const IpAddress& a) {
  if (!a.v6) return false;
  for (int i = 0; i < 10; ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

void append_lower(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(ascii_lower(c));
}

}  // namespace

GreylistTime greylist_now(const GreylistOptions& options) {
  if (options.clock) return options.clock();
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string client_network(const IpAddress& client) {
  Cidr net;
  if (!client.v6 || is_v4_mapped(client)) {
    const size_t from = client.v6 ? 12 : 0;
    std::copy_n(client.bytes.begin() + from, 3, net.network.bytes.begin());
    net.prefix = 24;
  } else {
    net.network.v6 = true;
    std::copy_n(client.bytes.begin(), 8, net.network.bytes.begin());
    net.prefix = 64;
  }
  return net.to_string();
}

std::string greylist_key(const IpAddress& client, std::string_view sender, std::string_view rcpt) {
  std::string key = client_network(client);
  key.reserve(key.size() + sender.size() + rcpt.size() + 2);
  key.push_back('\t');
  append_lower(key, sender);
  key.push_back('\t');
  append_lower(key, rcpt);
  return key;
}

std::string triplet_db_key(std::string_view triplet_key) { return kGreylistTripletKind + std::string(triplet_key); }
std::string network_db_key(std::string_view network) { return kGreylistNetworkKind + std::string(network); }

std::string encode_triplet(const TripletRecord& record) {
  std::string out;
  out.reserve(kTripletSize);
  out.push_back(static_cast<char>(kRecordVersion));
  out.push_back(static_cast<char>(record.passed ? kPassedFlag : 0));
  put_time(out, record.first_seen);
  put_time(out, record.last_seen);
  put_be(out, record.passes, 4);
  return out;
}

std::string encode_network(const NetworkRecord& record) {
  std::string out;
  out.reserve(kNetworkSize);
  out.push_back(static_cast<char>(kRecordVersion));
  put_be(out, record.passed_triplets, 4);
  put_time(out, record.last_seen);
  return out;
}

Decoded<TripletRecord> decode_triplet(std::string_view value) {
  Decoded<TripletRecord> d;
  if (value.empty()) return d;
  if (static_cast<uint8_t>(value[0]) != kRecordVersion) {
    d.status = RecordStatus::kUnknownVersion;
    return d;
  }
  const uint8_t flags = static_cast<uint8_t>(value.size() > 1 ? value[1] : 0);
  if (value.size() != kTripletSize || (flags & ~kPassedFlag) != 0) return d;
  d.record.passed = (flags & kPassedFlag) != 0;
  if (!get_time(value.data() + 2, d.record.first_seen) || !get_time(value.data() + 10, d.record.last_seen)) return d;
  d.record.passes = static_cast<uint32_t>(get_be(value.data() + 18, 4));
  d.status = RecordStatus::kOk;
  return d;
}

Decoded<NetworkRecord> decode_network(std::string_view value) {
  Decoded<NetworkRecord> d;
  if (value.empty()) return d;
  if (static_cast<uint8_t>(value[0]) != kRecordVersion) {
    d.status = RecordStatus::kUnknownVersion;
    return d;
  }
  if (value.size() != kNetworkSize) return d;
  d.record.passed_triplets = static_cast<uint32_t>(get_be(value.data() + 1, 4));
  if (!get_time(value.data() + 5, d.record.last_seen)) return d;
  d.status = RecordStatus::kOk;
  return d;
}

bool expired(const TripletRecord& record, GreylistTime now, const GreylistOptions& options) {
  if (record.passed) return now - record.last_seen > options.pass_lifetime;
  return record.first_seen > now || now - record.first_seen > options.retry_window;
}

bool expired(const NetworkRecord& record, GreylistTime now, const GreylistOptions& options) {
  return now - record.last_seen > options.pass_lifetime;
}

const char* to_string(GreylistReason reason) {
  switch (reason) {
    case GreylistReason::kNew: return "new";
    case GreylistReason::kExpired: return "expired";
    case GreylistReason::kTooEarly: return "too_early";
    case GreylistReason::kRetried: return "retried";
    case GreylistReason::kKnown: return "known";
    case GreylistReason::kAutoAllowed: return "auto_allowed";
  }
  return "unknown";
}

GreylistDecision decide(const std::optional<TripletRecord>& triplet, const std::optional<NetworkRecord>& network,
                        GreylistTime now, const GreylistOptions& options) {
  GreylistDecision d;
  std::optional<NetworkRecord> net;  // the live network record, if auto-allow is on
  if (options.auto_allow_clients > 0 && network && !expired(*network, now, options)) net = network;

  // A network that has proved itself passes whatever the triplet; its record is refreshed so
  // it stays allowed while it keeps sending.
  if (net && net->passed_triplets >= options.auto_allow_clients) {
    d.verdict = GreylistVerdict::kPass;
    d.reason = GreylistReason::kAutoAllowed;
    d.store_network = NetworkRecord{net->passed_triplets, now};
    return d;
  }
  if (!triplet || expired(*triplet, now, options)) {
    d.verdict = GreylistVerdict::kDefer;
    d.reason = triplet ? GreylistReason::kExpired : GreylistReason::kNew;
    d.retry_after = options.delay;
    d.store_triplet = TripletRecord{now, now, false, 0};
    return d;
  }
  TripletRecord t = *triplet;
  if (t.passed) {
    d.verdict = GreylistVerdict::kPass;
    d.reason = GreylistReason::kKnown;
    t.last_seen = now;
    t.passes = saturating_inc(t.passes);
    d.store_triplet = t;
    if (net) d.store_network = NetworkRecord{net->passed_triplets, now};  // keeps the count alive
    return d;
  }
  const auto elapsed = now - t.first_seen;  // >= 0: a future first_seen is expired()
  if (elapsed < options.delay) {
    // Early retries neither reset first_seen (that would punish eager MTAs forever) nor write:
    // a spam engine hammering the same triplet costs reads only.
    d.verdict = GreylistVerdict::kDefer;
    d.reason = GreylistReason::kTooEarly;
    d.retry_after = std::chrono::duration_cast<std::chrono::seconds>(options.delay - elapsed);
    return d;
  }
  // delay <= elapsed <= retry_window (later is expired()): the sender retried like an MTA.
  d.verdict = GreylistVerdict::kPass;
  d.reason = GreylistReason::kRetried;
  t.passed = true;
  t.last_seen = now;
  t.passes = saturating_inc(t.passes);
  d.store_triplet = t;
  if (options.auto_allow_clients > 0) {
    NetworkRecord n = net.value_or(NetworkRecord{});
    n.passed_triplets = saturating_inc(n.passed_triplets);
    n.last_seen = now;
    d.store_network = n;
  }
  return d;
}

}  // namespace correo
