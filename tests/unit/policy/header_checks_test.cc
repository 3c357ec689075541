// header_checks_test.cc - the header_checks file format, the matching rules (per-header first
// match, which actions stop the scan, unfolding), the header section boundary and the limits.
#include "relay/policy/header_checks.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace correo {
namespace {

std::shared_ptr<const HeaderChecks> parse_ok(std::string_view text) {
  auto result = HeaderChecks::parse(text, "hc");
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? result.value() : nullptr;
}

std::string parse_error(std::string_view text) {
  auto result = HeaderChecks::parse(text, "hc");
  EXPECT_FALSE(result.ok()) << text;
  return result.ok() ? std::string() : result.error().message;
}

HeaderVerdict check(std::string_view rules, std::string_view headers) {
  auto checks = parse_ok(rules);
  return checks ? checks->check(headers) : HeaderVerdict{};
}

TEST(HeaderChecks, ParsesCommentsBlankLinesContinuationsAndCrlf) {
  auto checks = parse_ok(
      "# header checks\r\n"
      "\r\n"
      "/^Subject: spam/ REJECT no spam\r\n"
      "   # an indented comment does not end the rule above or start one\n"
      "/^X-Bad:/\n"
      "  REJECT bad header\n"
      "/^X-Long:/ REJECT text that\n"
      "\tgoes on");
  ASSERT_NE(checks, nullptr);
  ASSERT_EQ(checks->size(), 3u);
  EXPECT_EQ(checks->rules()[0].line, 3u);
  EXPECT_EQ(checks->rules()[1].line, 5u);
  EXPECT_EQ(checks->rules()[1].text, "bad header");
  // Postfix joins continuations dropping only the newline: the tab stays.
  EXPECT_EQ(checks->rules()[2].text, "text that\tgoes on");
  EXPECT_EQ(checks->check("X-Bad: 1\r\n").action, HeaderAction::kReject);
}

TEST(HeaderChecks, EmptyFileHasNoRulesAndPassesEverything) {
  auto checks = parse_ok("# nothing\n\n");
  ASSERT_NE(checks, nullptr);
  EXPECT_EQ(checks->size(), 0u);
  EXPECT_EQ(checks->check("Subject: x\r\n").action, HeaderAction::kNone);
}

TEST(HeaderChecks, ReportsProblemsWithFileAndLine) {
  EXPECT_EQ(parse_error("# c\n/^A:/ REJECT\n/^B:/ FROB x\n"), "hc:3: unknown action FROB");
  EXPECT_EQ(parse_error("/^A:/ FILTER smtp:x\n"), "hc:1: unknown action FILTER");
  EXPECT_EQ(parse_error("/^A:/\n"), "hc:1: missing action after /regex/");
  EXPECT_EQ(parse_error("/^A: REJECT\n"), "hc:1: missing closing '/' after the regex");
  EXPECT_EQ(parse_error("^A:/ REJECT\n"), "hc:1: expected /regex/ at the start of the rule");
  EXPECT_EQ(parse_error("if /^A:/\n"), "hc:1: expected /regex/ at the start of the rule");
  EXPECT_NE(parse_error("/^A:/x REJECT\n").find("hc:1: unknown flag 'x'"), std::string::npos);
  EXPECT_EQ(parse_error("  /^A:/ REJECT\n"), "hc:1: line starts with whitespace but continues no entry");
  EXPECT_EQ(parse_error("/^A:/ OK thanks\n"), "hc:1: OK takes no text");
  EXPECT_EQ(parse_error("/^A:/ dunno x\n"), "hc:1: dunno takes no text");
  EXPECT_EQ(parse_error("/^A:/ PREPEND\n"), "hc:1: PREPEND needs a header: PREPEND Name: value");
  EXPECT_EQ(parse_error("/^A:/ PREPEND just text\n"), "hc:1: PREPEND text is not a header (Name: value): just text");
  EXPECT_EQ(parse_error("/^A:/ REJECT bad\x01text\n"), "hc:1: control character in the action's text");
  EXPECT_NE(parse_error("/^A:/ REJECT " + std::string(401, 'x') + "\n").find("text longer than 400"),
            std::string::npos);
}

TEST(HeaderChecks, InvalidRegexCarriesRe2Message) {
  const std::string error = parse_error("/^A:/ REJECT\n\n/^Subject: (unclosed/ REJECT\n");
  EXPECT_EQ(error.rfind("hc:3: invalid regex /^Subject: (unclosed/: ", 0), 0u) << error;
  EXPECT_NE(error.find("missing )"), std::string::npos) << error;
  // Perl features outside RE2 (backreferences, lookahead) are load errors, not runtime ones.
  EXPECT_NE(parse_error("/(a)\\1/ REJECT\n").find("invalid regex"), std::string::npos);
  EXPECT_NE(parse_error("/a(?=b)/ REJECT\n").find("invalid regex"), std::string::npos);
}

TEST(HeaderChecks, RejectTextDefaultsAndActionsAreCaseInsensitive) {
  HeaderVerdict v = check("/^Subject: buy/ reject\n", "From: a@b\r\nSubject: BUY now\r\n");
  EXPECT_EQ(v.action, HeaderAction::kReject);
  EXPECT_EQ(v.text, "5.7.1 Message content rejected");
  EXPECT_EQ(v.matched_header, "Subject: BUY now");
  v = check("/^Subject: buy/ REJECT 5.7.0 Go away now\n", "Subject: buy\r\n");
  EXPECT_EQ(v.text, "5.7.0 Go away now");
}

TEST(HeaderChecks, MatchingIsCaseInsensitiveUnlessFlagI) {
  EXPECT_EQ(check("/^subject: VIAGRA/ REJECT\n", "Subject: viagra\r\n").action, HeaderAction::kReject);
  EXPECT_EQ(check("/^subject: VIAGRA/i REJECT\n", "Subject: viagra\r\n").action, HeaderAction::kReject);
  EXPECT_EQ(check("/^subject: VIAGRA/I REJECT\n", "Subject: viagra\r\n").action, HeaderAction::kNone);
  EXPECT_EQ(check("/^Subject: VIAGRA/I REJECT\n", "Subject: VIAGRA\r\n").action, HeaderAction::kReject);
}

TEST(HeaderChecks, EscapedSlashAndUnanchoredSearch) {
  EXPECT_EQ(check("/^X-Path: a\\/b$/ HOLD\n", "X-Path: a/b\r\n").action, HeaderAction::kHold);
  EXPECT_EQ(check("/casino/ DISCARD\n", "Subject: best casino here\r\n").action, HeaderAction::kDiscard);
}

TEST(HeaderChecks, NegatedRuleFiresOnHeadersThatDoNotMatch) {
  // Per header, as in Postfix: "!/^Subject:/" fires on the first header that is not Subject.
  HeaderVerdict v = check("!/^Subject:/ HOLD not a subject\n", "Subject: a\r\nFrom: b\r\n");
  EXPECT_EQ(v.action, HeaderAction::kHold);
  EXPECT_EQ(v.matched_header, "From: b");
  EXPECT_EQ(v.text, "not a subject");
  EXPECT_EQ(check("!/^(Subject|From):/ HOLD\n", "Subject: a\r\nFrom: b\r\n").action, HeaderAction::kNone);
}

TEST(HeaderChecks, FoldedHeaderIsMatchedWithCrlfRemovedAndWhitespaceKept) {
  const std::string headers = "Subject: cheap\r\n  pills\r\n\there\r\nTo: x\r\n";
  HeaderVerdict v = check("/^Subject: cheap  pills\there$/ REJECT\n", headers);
  EXPECT_EQ(v.action, HeaderAction::kReject);
  EXPECT_EQ(v.matched_header, "Subject: cheap  pills\there");
  // The continuation is not a header of its own.
  EXPECT_EQ(check("/^\\s*pills/ REJECT\n", headers).action, HeaderAction::kNone);
  // Bare LF line ends unfold the same way.
  EXPECT_EQ(check("/^Subject: a b$/ REJECT\n", "Subject: a\n b\nTo: x\n").action, HeaderAction::kReject);
}

TEST(HeaderChecks, FirstMatchingRuleWinsPerHeader) {
  // WARN matches Subject first, so the REJECT below it is never tried for Subject.
  HeaderVerdict v = check("/^Subject:/ WARN seen\n/^Subject: spam/ REJECT\n", "Subject: spam\r\n");
  EXPECT_EQ(v.action, HeaderAction::kNone);
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_EQ(v.warnings[0], "Subject: spam; seen");
}

TEST(HeaderChecks, FirstTerminalActionEndsTheScan) {
  HeaderVerdict v = check("/^X-Spam: yes/ HOLD quarantine\n/^Subject:/ REJECT\n",
                          "X-Spam: yes\r\nSubject: hi\r\n");
  EXPECT_EQ(v.action, HeaderAction::kHold);
  EXPECT_EQ(v.text, "quarantine");
  EXPECT_EQ(v.matched_header, "X-Spam: yes");
  v = check("/^X-Spam: yes/ HOLD\n/^Subject:/ REJECT\n", "Subject: hi\r\nX-Spam: yes\r\n");
  EXPECT_EQ(v.action, HeaderAction::kReject);
}

TEST(HeaderChecks, WarnAndPrependAreCollectedAndScanningContinues) {
  HeaderVerdict v = check(
      "/^Subject:/ PREPEND X-Subject-Seen: yes\n"
      "/^From:/ WARN\n"
      "/^Received:/ PREPEND X-Hops: counted\n"
      "/^To: victim/ DISCARD bye\n",
      "Subject: a\r\nFrom: b\r\nReceived: one\r\nReceived: two\r\nTo: victim\r\nX-After: z\r\n");
  EXPECT_EQ(v.action, HeaderAction::kDiscard);
  EXPECT_EQ(v.text, "bye");
  ASSERT_EQ(v.prepend.size(), 3u);
  EXPECT_EQ(v.prepend[0], "X-Subject-Seen: yes");
  EXPECT_EQ(v.prepend[1], "X-Hops: counted");
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_EQ(v.warnings[0], "From: b");  // no text: just the header
}

TEST(HeaderChecks, OkStopsAllFurtherChecksDunnoOnlyThisHeader) {
  const std::string rules = "/^X-Trusted: yes/ OK\n/^X-Skip:/ DUNNO\n/spam/ REJECT\n/^X-/ WARN w\n";
  HeaderVerdict v = check(rules, "X-Trusted: yes\r\nSubject: spam\r\n");
  EXPECT_EQ(v.action, HeaderAction::kNone);
  EXPECT_TRUE(v.warnings.empty());
  // DUNNO: "X-Skip: spam" escapes REJECT and WARN, but the next header is still checked.
  v = check(rules, "X-Skip: spam\r\nSubject: spam\r\n");
  EXPECT_EQ(v.action, HeaderAction::kReject);
  EXPECT_EQ(v.matched_header, "Subject: spam");
  // What was collected before OK is kept.
  v = check(rules, "X-Other: 1\r\nX-Trusted: yes\r\nX-Other: 2\r\n");
  EXPECT_EQ(v.warnings.size(), 1u);
}

TEST(HeaderChecks, CollectedResultsAreBounded) {
  std::string headers;
  for (int i = 0; i < 500; ++i) headers += "X-N: " + std::to_string(i) + "\r\n";
  HeaderVerdict v = check("/^X-N:/ WARN many\n", headers);
  EXPECT_EQ(v.warnings.size(), HeaderChecks::kMaxCollected);
  v = check("/^X-N:/ PREPEND X-Copy: 1\n", headers);
  EXPECT_EQ(v.prepend.size(), HeaderChecks::kMaxCollected);
}

TEST(HeaderChecks, StopsAtTheEmptyLineWhenGivenAWholeMessage) {
  auto checks = parse_ok("/^Subject: bad/ REJECT\n!/:/ REJECT no colon\n");
  ASSERT_NE(checks, nullptr);
  EXPECT_EQ(checks->check("From: a\r\n\r\nSubject: bad\r\nbody\r\n").action, HeaderAction::kNone);
  EXPECT_EQ(checks->check("").action, HeaderAction::kNone);
}

TEST(HeaderChecks, MatchesBytesSoInvalidUtf8CannotHideText) {
  // '.' must cross any byte: were headers read as UTF-8, "\xff" would stop ".*" and let a
  // spammer slip "viagra" past /^Subject: .*viagra/.
  EXPECT_EQ(check("/^Subject: .*viagra/ REJECT\n", "Subject: a\xff\xfe viagra\r\n").action, HeaderAction::kReject);
  EXPECT_EQ(check("/^Subject: a.z$/ REJECT\n", "Subject: a\x80z\r\n").action, HeaderAction::kReject);
  // UTF-8 text in a pattern matches the same bytes in a header.
  EXPECT_EQ(check("/^Subject: .*ünïcode/ REJECT\n", "Subject: SOME ünïcode here\r\n").action,
            HeaderAction::kReject);
}

TEST(HeaderChecks, LoadsFromFileAndReportsMissingFile) {
  const char* tmpdir = getenv("TMPDIR");
  std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/correo_hc_XXXXXX";
  const int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  const std::string text = "/^Subject: x/ REJECT\n/^Subject: y/ FROB\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto bad = HeaderChecks::load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path + ":2: unknown action FROB");
  unlink(path.c_str());
  auto missing = HeaderChecks::load(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message.rfind(path + ": cannot open: ", 0), 0u) << missing.error().message;
}

// ---- header_section ----

TEST(HeaderSection, EndsBeforeTheEmptyLine) {
  EXPECT_EQ(header_section("A: 1\r\nB: 2\r\n\r\nbody\r\n"), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(header_section("A: 1\nB: 2\n\nbody\n"), "A: 1\nB: 2\n");
  EXPECT_EQ(header_section("\r\nbody\r\n"), "");
  EXPECT_EQ(header_section(""), "");
}

TEST(HeaderSection, IncludesContinuationsAndObsoleteSpaceBeforeColon) {
  EXPECT_EQ(header_section("A: 1\r\n 2\r\n\t3\r\nB : 4\r\n\r\nx"), "A: 1\r\n 2\r\n\t3\r\nB : 4\r\n");
}

TEST(HeaderSection, WholeContentWhenItIsAllHeaders) {
  EXPECT_EQ(header_section("A: 1\r\nB: 2\r\n"), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(header_section("A: 1\r\nB: 2"), "A: 1\r\nB: 2");  // no final line end
}

TEST(HeaderSection, ANonHeaderLineEndsIt) {
  // As Postfix's cleanup: a message that lacks the empty line is not read as all header.
  EXPECT_EQ(header_section("A: 1\r\nHello there\r\nB: 2\r\n"), "A: 1\r\n");
  EXPECT_EQ(header_section("Hello there\r\nA: 1\r\n"), "");
  EXPECT_EQ(header_section(" leading continuation\r\nA: 1\r\n"), "");
  EXPECT_EQ(header_section(": no name\r\n"), "");
  EXPECT_EQ(header_section("Bad\x01Name: x\r\n"), "");
}

// ---- check_header_limits ----

TEST(HeaderLimits, CountsLogicalHeadersAndSectionBytes) {
  const std::string content = "A: 1\r\n more\r\nB: 2\r\n\r\nbody that is long enough\r\n";
  HeaderLimitVerdict v = check_header_limits(content, 1000, 100);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.count, 2u);
  EXPECT_EQ(v.bytes, header_section(content).size());
}

TEST(HeaderLimits, ExactLimitsPassOneMoreFails) {
  const std::string content = "A: 1\r\nB: 2\r\nC: 3\r\n\r\n";  // 3 headers, 18 bytes
  EXPECT_TRUE(check_header_limits(content, 18, 3).ok());
  HeaderLimitVerdict v = check_header_limits(content, 18, 2);
  EXPECT_TRUE(v.too_many_headers);
  EXPECT_FALSE(v.too_big);
  EXPECT_EQ(v.count, 3u);
  v = check_header_limits(content, 17, 3);
  EXPECT_TRUE(v.too_big);
  EXPECT_FALSE(v.too_many_headers);
  EXPECT_FALSE(v.ok());
}

TEST(HeaderLimits, ZeroMeansNoLimit) {
  EXPECT_TRUE(check_header_limits("A: 1\r\nB: 2\r\n\r\n", 0, 0).ok());
}

TEST(HeaderLimits, StopsAtTheFirstViolation) {
  std::string content;
  for (int i = 0; i < 200000; ++i) content += "X: y\r\n";
  HeaderLimitVerdict v = check_header_limits(content, 0, 1000);
  EXPECT_TRUE(v.too_many_headers);
  EXPECT_EQ(v.count, 1001u);
  EXPECT_EQ(v.bytes, 1001u * 6);
  v = check_header_limits(content, 100, 0);
  EXPECT_TRUE(v.too_big);
  EXPECT_EQ(v.bytes, 102u);  // the line that crossed 100 bytes
}

TEST(HeaderLimits, OneHugeFoldedHeaderIsTooBigButOneHeader) {
  std::string content = "Subject: x\r\n";
  for (int i = 0; i < 1000; ++i) content += " more text\r\n";
  content += "\r\n";
  HeaderLimitVerdict v = check_header_limits(content, 0, 1);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.count, 1u);
  EXPECT_TRUE(check_header_limits(content, 4096, 1).too_big);
}

}  // namespace
}  // namespace correo
