// envelope_test.cc - envelope record round trip, strict rejection of damaged records.
//
// Thread rules: single-threaded. On-disk format under test: the version-1 record described
// in queue/envelope.cc (u8 version, little-endian ints, u32-length strings).
#include "queue/envelope.h"

#include <gtest/gtest.h>

#include <random>

namespace correo {
namespace {

Envelope full_envelope() {
  Envelope e;
  e.id = 0x0123456789abcdefull;
  e.sender = "alice@example.org";
  e.body = BodyType::k8BitMime;
  e.smtputf8 = true;
  e.ret = DsnRet::kHdrs;
  e.envid = "QQ314159+2B";
  e.arrival_us = 1'700'000'000'123'456;
  e.client_address = "2001:db8::1";
  e.helo = "mail.example.org";
  e.size = 123456789012ull;
  Recipient a;
  a.address = "bob@example.net";
  a.orcpt = "rfc822;bob@example.net";
  a.notify = kNotifySuccess | kNotifyFailure | kNotifyDelay;
  a.state = RecipientState::kDelivered;
  a.attempts = 3;
  a.last_reply = "250 2.0.0 Ok";
  Recipient b;
  b.address = "j\xc3\xb8rn@eksempel.no";
  b.notify = kNotifyNever;
  b.state = RecipientState::kFailed;
  b.attempts = 0xffffffffu;
  b.last_reply = std::string("550 5.1.1 \0 binary", 18);
  Recipient c;
  c.address = "carol@example.com";  // defaults elsewhere
  e.recipients = {a, b, c};
  return e;
}

void expect_same(const Envelope& x, const Envelope& y) {
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.sender, y.sender);
  EXPECT_EQ(x.body, y.body);
  EXPECT_EQ(x.smtputf8, y.smtputf8);
  EXPECT_EQ(x.ret, y.ret);
  EXPECT_EQ(x.envid, y.envid);
  EXPECT_EQ(x.arrival_us, y.arrival_us);
  EXPECT_EQ(x.client_address, y.client_address);
  EXPECT_EQ(x.helo, y.helo);
  EXPECT_EQ(x.size, y.size);
  ASSERT_EQ(x.recipients.size(), y.recipients.size());
  for (size_t i = 0; i < x.recipients.size(); ++i) {
    const Recipient& r = x.recipients[i];
    const Recipient& s = y.recipients[i];
    EXPECT_EQ(r.address, s.address);
    EXPECT_EQ(r.orcpt, s.orcpt);
    EXPECT_EQ(r.notify, s.notify);
    EXPECT_EQ(r.state, s.state);
    EXPECT_EQ(r.attempts, s.attempts);
    EXPECT_EQ(r.last_reply, s.last_reply);
  }
}

TEST(Envelope, RoundTripEveryField) {
  const Envelope e = full_envelope();
  const std::string bytes = encode_envelope(e);
  ASSERT_EQ(static_cast<uint8_t>(bytes[0]), kEnvelopeVersion);
  std::optional<Envelope> d = decode_envelope(bytes);
  ASSERT_TRUE(d.has_value());
  expect_same(e, *d);
  EXPECT_EQ(encode_envelope(*d), bytes);
}

TEST(Envelope, RoundTripEmptyAndNegative) {
  Envelope e;  // null sender, no recipients, all defaults
  e.arrival_us = -5;
  std::optional<Envelope> d = decode_envelope(encode_envelope(e));
  ASSERT_TRUE(d.has_value());
  expect_same(e, *d);
  EXPECT_TRUE(d->sender.empty());
}

TEST(Envelope, LittleEndianLayout) {
  Envelope e;
  e.id = 0x0102030405060708ull;
  const std::string bytes = encode_envelope(e);
  EXPECT_EQ(bytes.substr(1, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_EQ(bytes.substr(9, 4), std::string("\0\0\0\0", 4));  // empty sender
}

TEST(Envelope, EveryTruncationRejected) {
  const std::string bytes = encode_envelope(full_envelope());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_envelope(std::string_view(bytes.data(), n)).has_value()) << "length " << n;
  }
}

TEST(Envelope, TrailingBytesRejected) {
  std::string bytes = encode_envelope(full_envelope());
  bytes.push_back('\0');
  EXPECT_FALSE(decode_envelope(bytes).has_value());
}

TEST(Envelope, VersionMismatchRejected) {
  std::string bytes = encode_envelope(full_envelope());
  for (int v : {0, static_cast<int>(kEnvelopeVersion) + 1, 255}) {
    bytes[0] = static_cast<char>(v);
    EXPECT_FALSE(decode_envelope(bytes).has_value()) << v;
  }
}

TEST(Envelope, Version2FieldsRoundTripAndVersion1StillDecodes) {
  Envelope e = full_envelope();
  e.deliver_by_us = 1'800'000'000'000'000;
  e.by_mode = ByMode::kNotify;
  e.by_trace = true;
  e.delay_warned = true;
  const std::string v2 = encode_envelope(e);
  auto d = decode_envelope(v2);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->deliver_by_us, e.deliver_by_us);
  EXPECT_EQ(d->by_mode, ByMode::kNotify);
  EXPECT_TRUE(d->by_trace);
  EXPECT_TRUE(d->delay_warned);
  // A version 1 record is the current layout without the 11-byte v2 trailer, the v3
  // hold fields (u8 + empty str = 5 bytes) and the v4 next attempt (8 bytes).
  std::string v1 = v2.substr(0, v2.size() - 11 - 5 - 8);
  v1[0] = 1;
  auto old = decode_envelope(v1);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->deliver_by_us, 0);
  EXPECT_EQ(old->by_mode, ByMode::kNone);
  EXPECT_FALSE(old->delay_warned);
  EXPECT_EQ(old->recipients.size(), e.recipients.size());
}

TEST(Envelope, HoldStateRoundTripsAndOlderRecordsAreNotHeld) {
  Envelope e;
  e.id = 42;
  e.held = true;
  e.hold_reason = "header_checks: /^Subject: hold me/";
  const std::string v4 = encode_envelope(e);
  auto d = decode_envelope(v4);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->held);
  EXPECT_EQ(d->hold_reason, e.hold_reason);
  const std::string v3 = v4.substr(0, v4.size() - 8);  // without the v4 next attempt
  // The same record as version 2: without the hold fields, and not held.
  std::string v2 = v3.substr(0, v3.size() - 1 - 4 - e.hold_reason.size());
  v2[0] = 2;
  auto old = decode_envelope(v2);
  ASSERT_TRUE(old.has_value());
  EXPECT_FALSE(old->held);
  // A hold byte other than 0/1 is corruption.
  std::string bad = v4;
  bad[v3.size() - 1 - 4 - e.hold_reason.size()] = 2;
  EXPECT_FALSE(decode_envelope(bad).has_value());
}

TEST(Envelope, NextAttemptRoundTripsAndVersion3DecodesAsUnknown) {
  Envelope e;
  e.id = 43;
  e.next_attempt_us = 1'790'000'000'123'456;
  const std::string v4 = encode_envelope(e);
  auto d = decode_envelope(v4);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->next_attempt_us, e.next_attempt_us);
  std::string v3 = v4.substr(0, v4.size() - 8);
  v3[0] = 3;
  auto old = decode_envelope(v3);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->next_attempt_us, 0);
  EXPECT_FALSE(decode_envelope(v4.substr(0, v4.size() - 3)).has_value());  // truncated stamp
}

TEST(Envelope, OutOfRangeFieldsRejected) {
  Envelope e;
  const std::string good = encode_envelope(e);
  // Offsets for an all-default envelope: version 0, id 1..8, sender len 9..12, body 13,
  // smtputf8 14, ret 15.
  for (size_t off : {13u, 14u, 15u}) {
    std::string bad = good;
    bad[off] = 7;
    EXPECT_FALSE(decode_envelope(bad).has_value()) << off;
  }
}

TEST(Envelope, AbsurdLengthsAndCountsRejected) {
  Envelope e;
  std::string bytes = encode_envelope(e);
  // Sender length 0xffffffff: must fail without trying to allocate 4 GiB.
  std::string bad = bytes;
  bad[9] = bad[10] = bad[11] = bad[12] = '\xff';
  EXPECT_FALSE(decode_envelope(bad).has_value());
  // The hold reason's length (the 4 bytes before the 8-byte next attempt) 0xffffffff.
  bad = bytes;
  for (size_t i = bad.size() - 12; i < bad.size() - 8; ++i) bad[i] = '\xff';
  EXPECT_FALSE(decode_envelope(bad).has_value());
}

TEST(Envelope, RandomGarbageNeverCrashes) {
  std::mt19937 rng(7);
  const std::string good = encode_envelope(full_envelope());
  for (int i = 0; i < 20000; ++i) {
    std::string s = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) s[rng() % s.size()] = static_cast<char>(rng());
    (void)decode_envelope(s);
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (!junk.empty()) junk[0] = static_cast<char>(kEnvelopeVersion);
    (void)decode_envelope(junk);
  }
}

}  // namespace
}  // namespace correo
