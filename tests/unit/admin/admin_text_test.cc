// admin_text_test.cc - escaping, UTC times, durations and the JSON writer.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "relay/admin/admin_json.h"
#include "relay/admin/admin_text.h"

namespace correo {
namespace {

TEST(AdminText, PrintableEscapesControlsAndKeepsUtf8) {
  EXPECT_EQ(printable("alice@example.org"), "alice@example.org");
  EXPECT_EQ(printable("a\nb\x1b[31m\\"), "a\\x0ab\\x1b[31m\\x5c");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
  EXPECT_EQ(printable("jos\xc3\xa9"), "jos\xc3\xa9");          // é passes
  EXPECT_EQ(printable("\xc2\x9b" "2J"), "\\xc2\\x9b2J");         // C1 CSI is escaped
  EXPECT_EQ(printable("\xff\xc3"), "\\xff\\xc3");               // malformed / truncated
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");      // surrogate
  EXPECT_EQ(printable("\xf0\x9f\x93\xa7"), "\xf0\x9f\x93\xa7");  // 4-byte sequence passes
}

TEST(AdminText, Utf8SequenceLength) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xc3\xa9", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xc0\xaf", 0), 0u);          // overlong
  EXPECT_EQ(utf8_sequence_length("\xe0\x80\xaf", 0), 0u);      // overlong
  EXPECT_EQ(utf8_sequence_length("\xe2\x82\xac", 0), 3u);      // €
  EXPECT_EQ(utf8_sequence_length("\xf4\x90\x80\x80", 0), 0u);  // > U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xe2\x82", 0), 0u);          // truncated
  EXPECT_EQ(utf8_sequence_length("\x80", 0), 0u);              // lone continuation
}

TEST(AdminText, Iso8601) {
  EXPECT_EQ(iso8601(1714566896000000, false), "2024-05-01T12:34:56Z");
  EXPECT_EQ(iso8601(1714566896123456, true), "2024-05-01T12:34:56.123456Z");
  EXPECT_EQ(iso8601(0, true), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(iso8601(-1, true), "1969-12-31T23:59:59.999999Z");
}

TEST(AdminText, ParseAge) {
  EXPECT_EQ(parse_age("30s"), 30);
  EXPECT_EQ(parse_age("5m"), 300);
  EXPECT_EQ(parse_age("2h"), 7200);
  EXPECT_EQ(parse_age("1d"), 86400);
  EXPECT_EQ(parse_age("45"), 45);
  EXPECT_EQ(parse_age("0s"), 0);
  EXPECT_EQ(parse_age("3650d"), 3650LL * 86400);
  EXPECT_FALSE(parse_age("3651d"));
  EXPECT_FALSE(parse_age(""));
  EXPECT_FALSE(parse_age("s"));
  EXPECT_FALSE(parse_age("-5m"));
  EXPECT_FALSE(parse_age("5w"));
  EXPECT_FALSE(parse_age("1.5h"));
  EXPECT_FALSE(parse_age("99999999999999999999s"));
  EXPECT_EQ(parse_age("1500ms"), 1);  // whole seconds
}

TEST(AdminJson, ObjectsArraysAndCommas) {
  JsonWriter j;
  j.begin_object();
  j.key("a").value(1);
  j.key("b").begin_array().value("x").value(true).null().begin_object().end_object().end_array();
  j.key("c").begin_object().key("d").value(uint64_t{18446744073709551615ULL}).end_object();
  j.key("e").value(int64_t{-5});
  j.end_object();
  EXPECT_EQ(j.str(), R"({"a":1,"b":["x",true,null,{}],"c":{"d":18446744073709551615},"e":-5})");
}

TEST(AdminJson, EscapesStrings) {
  JsonWriter j;
  j.value(std::string_view("q\"b\\n\n\t\x01\x1f\x7f", 10));
  EXPECT_EQ(j.str(), R"("q\"b\\n\u000a\u0009\u0001\u001f\u007f")");
}

TEST(AdminJson, Utf8PassesMalformedBecomesReplacement) {
  JsonWriter j;
  j.begin_array().value("jos\xc3\xa9").value("bad\xff").value("cut\xe2\x82").end_array();
  EXPECT_EQ(j.str(), "[\"jos\xc3\xa9\",\"bad\xef\xbf\xbd\",\"cut\xef\xbf\xbd\xef\xbf\xbd\"]");
}

TEST(AdminJson, Doubles) {
  JsonWriter j;
  j.begin_array().value(3.0).value(0.25).value(std::nan("")).value(std::numeric_limits<double>::infinity()).end_array();
  EXPECT_EQ(j.str(), "[3,0.25,null,null]");
}

}  // namespace
}  // namespace correo
