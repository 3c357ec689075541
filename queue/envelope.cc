// envelope.cc - encode/decode the versioned binary envelope record (env column family).
//
// Thread rules: pure functions, callable from any thread.
//
// Record format, version 1 (all integers little-endian, fixed size; str = u32 length + bytes):
//   u8  version (= kEnvelopeVersion)
//   u64 id
//   str sender            ("" = null reverse-path)
//   u8  body              (BodyType: 0..2)
//   u8  smtputf8          (0 or 1)
//   u8  ret               (DsnRet: 0..2)
//   str envid
//   i64 arrival_us
//   str client_address
//   str helo
//   u64 size
//   u32 recipient count, then per recipient:
//     str address, str orcpt, u8 notify (NotifyBits, 0..15), u8 state (RecipientState: 0..2),
//     u32 attempts, str last_reply
// Version 2 appends: i64 deliver_by_us, u8 by_mode (ByMode: 0..2), u8 by_trace (0/1),
//   u8 delay_warned (0/1). Version 1 records still decode (those fields default).
// Version 3 appends: u8 held (0/1), str hold_reason. Older records decode as not held.
// Version 4 appends: i64 next_attempt_us (the schedule entry's due time, 0 = none). Older
// records decode with 0 (unknown).
// decode_envelope() accepts exactly this: unknown version, out-of-range enum or bool bytes,
// truncation and trailing bytes all give nullopt. Lengths and counts are checked against the
// bytes that remain before anything is allocated, so hostile input cannot over-allocate.
#include "queue/envelope.h"

namespace correo {
namespace {

// Smallest possible encoded recipient: 3 empty strings (4 each) + 2 x u8 + u32 + empty str.
constexpr size_t kMinRecipientBytes = 4 + 4 + 1 + 1 + 4 + 4;

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  // u32 - 4 bytes little-endian.
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  // u64 - 8 bytes little-endian.
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  size_t remaining() const { return in_.size() - pos_; }
  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  // u32 - 4 bytes little-endian; false when truncated.
  bool u32(uint32_t& v) {
    if (remaining() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return true;
  }
  // u64 - 8 bytes little-endian; false when truncated.
  bool u64(uint64_t& v) {
    if (remaining() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return true;
  }
  // str - u32 length then bytes; the length is checked before allocating.
  bool str(std::string& s) {
    uint32_t n = 0;
    if (!u32(n) || n > remaining()) return false;
    s.assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

// encode_envelope - the version-1 record described at the top of this file.
std::string encode_envelope(const Envelope& env) {
  std::string out;
  size_t estimate = 72 + env.hold_reason.size() + env.sender.size() + env.envid.size() + env.client_address.size() + env.helo.size();
  for (const Recipient& r : env.recipients) {
    estimate += kMinRecipientBytes + r.address.size() + r.orcpt.size() + r.last_reply.size();
  }
  out.reserve(estimate);
  Writer w(out);
  w.u8(kEnvelopeVersion);
  w.u64(env.id);
  w.str(env.sender);
  w.u8(static_cast<uint8_t>(env.body));
  w.u8(env.smtputf8 ? 1 : 0);
  w.u8(static_cast<uint8_t>(env.ret));
  w.str(env.envid);
  w.u64(static_cast<uint64_t>(env.arrival_us));
  w.str(env.client_address);
  w.str(env.helo);
  w.u64(env.size);
  w.u32(static_cast<uint32_t>(env.recipients.size()));
  for (const Recipient& r : env.recipients) {
    w.str(r.address);
    w.str(r.orcpt);
    w.u8(r.notify);
    w.u8(static_cast<uint8_t>(r.state));
    w.u32(r.attempts);
    w.str(r.last_reply);
  }
  w.u64(static_cast<uint64_t>(env.deliver_by_us));
  w.u8(static_cast<uint8_t>(env.by_mode));
  w.u8(env.by_trace ? 1 : 0);
  w.u8(env.delay_warned ? 1 : 0);
  w.u8(env.held ? 1 : 0);
  w.str(env.hold_reason);
  w.u64(static_cast<uint64_t>(env.next_attempt_us));
  return out;
}

// decode_envelope - strict inverse of encode_envelope; nullopt on anything unexpected.
std::optional<Envelope> decode_envelope(std::string_view bytes) {
  Reader r(bytes);
  Envelope env;
  uint8_t version = 0, body = 0, utf8 = 0, ret = 0;
  uint64_t arrival = 0;
  uint32_t count = 0;
  if (!r.u8(version) || version < 1 || version > kEnvelopeVersion) return std::nullopt;
  if (!r.u64(env.id) || !r.str(env.sender)) return std::nullopt;
  if (!r.u8(body) || body > static_cast<uint8_t>(BodyType::k8BitMime)) return std::nullopt;
  if (!r.u8(utf8) || utf8 > 1) return std::nullopt;
  if (!r.u8(ret) || ret > static_cast<uint8_t>(DsnRet::kHdrs)) return std::nullopt;
  if (!r.str(env.envid) || !r.u64(arrival)) return std::nullopt;
  if (!r.str(env.client_address) || !r.str(env.helo) || !r.u64(env.size)) return std::nullopt;
  if (!r.u32(count) || count > r.remaining() / kMinRecipientBytes) return std::nullopt;
  env.body = static_cast<BodyType>(body);
  env.smtputf8 = utf8 == 1;
  env.ret = static_cast<DsnRet>(ret);
  env.arrival_us = static_cast<int64_t>(arrival);
  env.recipients.resize(count);
  for (Recipient& rc : env.recipients) {
    uint8_t state = 0;
    if (!r.str(rc.address) || !r.str(rc.orcpt) || !r.u8(rc.notify)) return std::nullopt;
    if (rc.notify > (kNotifyNever | kNotifySuccess | kNotifyFailure | kNotifyDelay)) return std::nullopt;
    if (!r.u8(state) || state > static_cast<uint8_t>(RecipientState::kFailed)) return std::nullopt;
    if (!r.u32(rc.attempts) || !r.str(rc.last_reply)) return std::nullopt;
    rc.state = static_cast<RecipientState>(state);
  }
  if (version >= 2) {
    uint64_t by = 0;
    uint8_t mode = 0, trace = 0, warned = 0;
    if (!r.u64(by) || !r.u8(mode) || mode > static_cast<uint8_t>(ByMode::kNotify)) return std::nullopt;
    if (!r.u8(trace) || trace > 1 || !r.u8(warned) || warned > 1) return std::nullopt;
    env.deliver_by_us = static_cast<int64_t>(by);
    env.by_mode = static_cast<ByMode>(mode);
    env.by_trace = trace == 1;
    env.delay_warned = warned == 1;
  }
  if (version >= 3) {
    uint8_t held = 0;
    if (!r.u8(held) || held > 1 || !r.str(env.hold_reason)) return std::nullopt;
    env.held = held == 1;
  }
  if (version >= 4) {
    uint64_t next = 0;
    if (!r.u64(next)) return std::nullopt;
    env.next_attempt_us = static_cast<int64_t>(next);
  }
  if (r.remaining() != 0) return std::nullopt;
  return env;
}

}  // namespace correo
