// answer_ttl_test.cc - min_answer_ttl on a real dnsmasq response and on broken ones, and the
// RFC 2181 §8 clamp.
#include "dns/answer_ttl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace correo {
namespace {

using std::chrono::seconds;

std::vector<unsigned char> from_hex(const std::string& hex) {
  std::vector<unsigned char> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// The MX answer for multi.test captured from the test dnsmasq (--local-ttl=60): header, question,
// three MX records (compressed names), three A records in the additional section.
const std::string kMultiMx =
    "123485800001000300000003"
    "056d756c7469047465737400000f0001"
    "c00c000f00010000003c00120014036d7833056d756c7469047465737400"
    "c00c000f00010000003c00120014036d7832056d756c7469047465737400"
    "c00c000f00010000003c0012000a036d7831056d756c7469047465737400"
    "c02a000100010000003c00047f00000d"
    "c048000100010000003c00047f00000c"
    "c066000100010000003c00047f00000b";

// Offset of the TTL of the n-th MX record in kMultiMx.
size_t mx_ttl_offset(int n) { return 12 + 16 + static_cast<size_t>(n) * 30 + 6; }

TEST(AnswerTtlTest, RealResponseGivesRecordTtl) {
  const auto msg = from_hex(kMultiMx);
  ASSERT_EQ(msg.size(), 166u);
  EXPECT_EQ(min_answer_ttl(msg.data(), msg.size()), seconds(60));
}

TEST(AnswerTtlTest, SmallestAnswerTtlWins) {
  auto msg = from_hex(kMultiMx);
  msg[mx_ttl_offset(1) + 3] = 30;  // second MX: TTL 30
  EXPECT_EQ(min_answer_ttl(msg.data(), msg.size()), seconds(30));
}

TEST(AnswerTtlTest, AdditionalSectionIgnored) {
  auto msg = from_hex(kMultiMx);
  const size_t ttl = msg.size() - 8;  // last A record (additional section): TTL 1
  msg[ttl] = msg[ttl + 1] = msg[ttl + 2] = 0;
  msg[ttl + 3] = 1;
  EXPECT_EQ(min_answer_ttl(msg.data(), msg.size()), seconds(60));
}

TEST(AnswerTtlTest, MsbSetTtlIsZero) {
  auto msg = from_hex(kMultiMx);
  msg[mx_ttl_offset(0)] = 0x80;  // RFC 2181 §8
  EXPECT_EQ(min_answer_ttl(msg.data(), msg.size()), seconds(0));
}

TEST(AnswerTtlTest, HugeTtlCapped) {
  auto msg = from_hex(kMultiMx);
  for (int n = 0; n < 3; ++n) msg[mx_ttl_offset(n)] = 0x7f;
  EXPECT_EQ(min_answer_ttl(msg.data(), msg.size()), kMaxDnsTtl);
}

TEST(AnswerTtlTest, TruncatedOrBrokenMessages) {
  const auto msg = from_hex(kMultiMx);
  for (size_t len : {size_t{0}, size_t{5}, size_t{12}, size_t{20}, size_t{40}, size_t{100}}) {
    EXPECT_EQ(min_answer_ttl(msg.data(), len), std::nullopt) << "len " << len;
  }
  EXPECT_EQ(min_answer_ttl(nullptr, 100), std::nullopt);
  auto bad_label = msg;
  bad_label[12] = 0x45;  // label type 01: not valid
  EXPECT_EQ(min_answer_ttl(bad_label.data(), bad_label.size()), std::nullopt);
}

TEST(AnswerTtlTest, NoAnswerRecords) {
  // NODATA for amx.test MX: header and question only.
  const auto msg = from_hex("12348580000100000000000003616d78047465737400000f0001");
  EXPECT_EQ(min_answer_ttl(msg.data(), msg.size()), std::nullopt);
}

TEST(AnswerTtlTest, Clamp) {
  EXPECT_EQ(clamp_dns_ttl(0), seconds(0));
  EXPECT_EQ(clamp_dns_ttl(300), seconds(300));
  EXPECT_EQ(clamp_dns_ttl(0x7fffffffu), kMaxDnsTtl);
  EXPECT_EQ(clamp_dns_ttl(0x80000000u), seconds(0));
  EXPECT_EQ(clamp_dns_ttl(0xffffffffu), seconds(0));
}

}  // namespace
}  // namespace correo
