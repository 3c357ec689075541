// milter_apply_edits_test.cc - header section parsing and applying milter edits to content.
#include "relay/policy/milter/apply_edits.h"

#include <gtest/gtest.h>

namespace correo {
namespace {

constexpr std::string_view kContent =
    "Received: from a\r\n"
    "\tby b\r\n"
    "Subject: one\r\n"
    "subject: two\r\n"
    "To: x@example.org\r\n"
    "\r\n"
    "Body\r\n";

std::string apply(std::string_view content, std::vector<HeaderEdit> edits,
                  std::optional<std::string> body = std::nullopt) {
  auto r = apply_milter_edits(content, edits, body);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : "";
}

HeaderEdit edit(HeaderEdit::Kind kind, uint32_t index, std::string name, std::string value) {
  return HeaderEdit{kind, index, std::move(name), std::move(value)};
}

TEST(MilterApplyEdits, ParsesHeaderSection) {
  const HeaderSection hs = parse_header_section(kContent);
  ASSERT_EQ(hs.fields.size(), 4u);
  EXPECT_EQ(hs.fields[0].name, "Received");
  EXPECT_EQ(hs.fields[0].value, " from a\r\n\tby b");
  EXPECT_EQ(hs.fields[0].raw, "Received: from a\r\n\tby b\r\n");
  EXPECT_EQ(hs.fields[3].name, "To");
  EXPECT_TRUE(hs.has_separator);
  EXPECT_EQ(kContent.substr(hs.body_start), "Body\r\n");
}

TEST(MilterApplyEdits, ParsesOddSections) {
  // Obsolete white space before the colon; bare LF line ends.
  HeaderSection hs = parse_header_section("Subject  : x\nTo: y\n\nbody\n");
  ASSERT_EQ(hs.fields.size(), 2u);
  EXPECT_EQ(hs.fields[0].name, "Subject");
  EXPECT_EQ(hs.fields[0].value, " x");
  // No empty line: the first non-header line starts the body (Postfix mime_state).
  hs = parse_header_section("Subject: x\r\nnot a header\r\nmore\r\n");
  ASSERT_EQ(hs.fields.size(), 1u);
  EXPECT_FALSE(hs.has_separator);
  EXPECT_EQ(hs.body_start, 12u);
  // A leading continuation line is not a header.
  hs = parse_header_section(" folded: x\r\n\r\n");
  EXPECT_TRUE(hs.fields.empty());
  EXPECT_EQ(hs.body_start, 0u);
  // Headers only, the last without a line end.
  hs = parse_header_section("A: 1\r\nB: 2");
  ASSERT_EQ(hs.fields.size(), 2u);
  EXPECT_EQ(hs.fields[1].value, " 2");
}

TEST(MilterApplyEdits, MilterHeaderValue) {
  EXPECT_EQ(milter_header_value(" from a\r\n\tby b", false), "from a\n\tby b");
  EXPECT_EQ(milter_header_value(" from a\r\n\tby b", true), " from a\n\tby b");
  EXPECT_EQ(milter_header_value("\tx", false), "\tx");
  EXPECT_EQ(milter_header_value("  two", false), " two");
}

TEST(MilterApplyEdits, NoEditsKeepsContentByteForByte) {
  EXPECT_EQ(apply(kContent, {}), kContent);
}

TEST(MilterApplyEdits, AddAppendsAfterTheLastField) {
  EXPECT_EQ(apply(kContent, {edit(HeaderEdit::kAdd, 0, "X-Spam", "no")}),
            "Received: from a\r\n\tby b\r\nSubject: one\r\nsubject: two\r\nTo: x@example.org\r\nX-Spam: no\r\n\r\nBody\r\n");
  // A value that starts with white space keeps it (SMFIP_HDR_LEADSPC milters).
  EXPECT_EQ(apply("A: 1\r\n\r\n", {edit(HeaderEdit::kAdd, 0, "X", "\tv")}), "A: 1\r\nX:\tv\r\n\r\n");
}

TEST(MilterApplyEdits, InsertAtIndex) {
  const std::string c = "A: 1\r\nB: 2\r\n\r\nbody\r\n";
  EXPECT_EQ(apply(c, {edit(HeaderEdit::kInsert, 0, "X", "x")}), "X: x\r\nA: 1\r\nB: 2\r\n\r\nbody\r\n");
  EXPECT_EQ(apply(c, {edit(HeaderEdit::kInsert, 1, "X", "x")}), "A: 1\r\nX: x\r\nB: 2\r\n\r\nbody\r\n");
  EXPECT_EQ(apply(c, {edit(HeaderEdit::kInsert, 99, "X", "x")}), "A: 1\r\nB: 2\r\nX: x\r\n\r\nbody\r\n");
}

TEST(MilterApplyEdits, ChangeAndDeleteTheNthOccurrence) {
  // Case-insensitive; the second "Subject" is "subject: two"; the original spelling stays.
  EXPECT_EQ(apply(kContent, {edit(HeaderEdit::kChange, 2, "SUBJECT", "new")}),
            "Received: from a\r\n\tby b\r\nSubject: one\r\nsubject: new\r\nTo: x@example.org\r\n\r\nBody\r\n");
  EXPECT_EQ(apply(kContent, {edit(HeaderEdit::kChange, 1, "Received", "")}),
            "Subject: one\r\nsubject: two\r\nTo: x@example.org\r\n\r\nBody\r\n");
  // Index 0 is the first (Sendmail compatibility).
  EXPECT_EQ(apply("A: 1\r\n\r\n", {edit(HeaderEdit::kChange, 0, "a", "2")}), "A: 2\r\n\r\n");
  // Missing occurrence: a value adds the field, an empty value does nothing.
  EXPECT_EQ(apply("A: 1\r\n\r\n", {edit(HeaderEdit::kChange, 3, "A", "3")}), "A: 1\r\nA: 3\r\n\r\n");
  EXPECT_EQ(apply("A: 1\r\n\r\n", {edit(HeaderEdit::kChange, 3, "A", "")}), "A: 1\r\n\r\n");
}

TEST(MilterApplyEdits, EditsApplyInOrder) {
  EXPECT_EQ(apply("A: 1\r\n\r\n", {edit(HeaderEdit::kInsert, 0, "B", "2"), edit(HeaderEdit::kInsert, 1, "C", "3"),
                                   edit(HeaderEdit::kChange, 1, "A", "")}),
            "B: 2\r\nC: 3\r\n\r\n");
}

TEST(MilterApplyEdits, MultiLineValuesBecomeCrlfContinuations) {
  EXPECT_EQ(apply("A: 1\r\n\r\n", {edit(HeaderEdit::kAdd, 0, "DKIM-Signature", "v=1;\n\tb=abc\r\n\tdef")}),
            "A: 1\r\nDKIM-Signature: v=1;\r\n\tb=abc\r\n\tdef\r\n\r\n");
  // A line without leading white space cannot start a new field, blank lines cannot end the
  // header section, a stray CR is dropped.
  EXPECT_EQ(apply("A: 1\r\n\r\nbody\r\n", {edit(HeaderEdit::kAdd, 0, "X", "a\nInjected: y\n\n \nb\rc")}),
            "A: 1\r\nX: a\r\n\tInjected: y\r\n\tbc\r\n\r\nbody\r\n");
}

TEST(MilterApplyEdits, ReplacesBody) {
  EXPECT_EQ(apply(kContent, {}, std::string("new\nbody\r\nend")),
            "Received: from a\r\n\tby b\r\nSubject: one\r\nsubject: two\r\nTo: x@example.org\r\n\r\nnew\r\nbody\r\nend\r\n");
  // No empty line before: one is added.
  EXPECT_EQ(apply("A: 1\r\nnot a header\r\n", {}, std::string("b\r\n")), "A: 1\r\n\r\nb\r\n");
  EXPECT_EQ(apply("A: 1\r\n\r\nold\r\n", {}, std::string()), "A: 1\r\n\r\n");
}

TEST(MilterApplyEdits, HeadersWithoutFinalLineEnd) {
  EXPECT_EQ(apply("A: 1", {edit(HeaderEdit::kAdd, 0, "B", "2")}), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(apply("", {edit(HeaderEdit::kAdd, 0, "B", "2")}), "B: 2\r\n");
}

TEST(MilterApplyEdits, RefusesInvalidNames) {
  for (std::string name : {"", "Bad Name", "Colon:", "Ctl\x01"}) {
    EXPECT_FALSE(apply_milter_edits("A: 1\r\n\r\n", {edit(HeaderEdit::kAdd, 0, name, "v")}, std::nullopt).ok()) << name;
  }
  EXPECT_TRUE(valid_header_name("X-Ok_1.2"));
}

}  // namespace
}  // namespace correo
