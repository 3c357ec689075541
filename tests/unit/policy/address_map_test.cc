// address_map_test.cc - recipient verification (case, +extension, catch-all, which domains are
// verified) and alias expansion (recursion, self-reference, loops, bounds), plus the shared
// table-file reader.
#include "relay/policy/address_map.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace correo {
namespace {

using Strings = std::vector<std::string>;

std::shared_ptr<const RecipientMap> recipients(std::string_view text) {
  auto result = RecipientMap::parse(text, "rcpt");
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? result.value() : nullptr;
}

std::shared_ptr<const AliasMap> aliases(std::string_view text) {
  auto result = AliasMap::parse(text, "aliases");
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? result.value() : nullptr;
}

std::string recipients_error(std::string_view text) {
  auto result = RecipientMap::parse(text, "rcpt");
  return result.ok() ? "(parsed)" : result.error().message;
}

std::string aliases_error(std::string_view text) {
  auto result = AliasMap::parse(text, "aliases");
  return result.ok() ? "(parsed)" : result.error().message;
}

// ---- table_file::LogicalLines ----

TEST(TableFile, JoinsContinuationsSkipsCommentsAndKeepsLineNumbers) {
  table_file::LogicalLines lines("# c\n\na b\n  c\n# inside\n\td\r\ne\n");
  ASSERT_TRUE(lines.next());
  EXPECT_EQ(lines.text(), "a b  c\td");
  EXPECT_EQ(lines.line(), 3u);
  ASSERT_TRUE(lines.next());
  EXPECT_EQ(lines.text(), "e");
  EXPECT_EQ(lines.line(), 7u);
  EXPECT_FALSE(lines.next());
  EXPECT_TRUE(lines.problem().empty());
}

TEST(TableFile, ContinuationWithoutEntryIsAProblem) {
  table_file::LogicalLines lines("# c\n  orphan\n");
  EXPECT_FALSE(lines.next());
  EXPECT_EQ(lines.problem_line(), 2u);
  EXPECT_FALSE(lines.problem().empty());
}

TEST(TableFile, OverlongEntryIsAProblem) {
  const std::string text = "a\n" + std::string(table_file::kMaxEntryBytes + 1, 'x') + "\n";
  table_file::LogicalLines lines(text);
  ASSERT_TRUE(lines.next());
  EXPECT_FALSE(lines.next());
  EXPECT_EQ(lines.problem_line(), 2u);
}

// ---- RecipientMap ----

TEST(RecipientMap, KnownAddressesIgnoreCase) {
  auto map = recipients("# relay recipients\nalice@example.test\r\nBob@Example.TEST OK\n\n");
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->size(), 2u);
  EXPECT_TRUE(map->known("alice@example.test"));
  EXPECT_TRUE(map->known("ALICE@EXAMPLE.TEST"));
  EXPECT_TRUE(map->known("bob@example.test"));  // the Postfix value column is ignored
  EXPECT_FALSE(map->known("carol@example.test"));
  EXPECT_FALSE(map->known("alice@other.test"));
  EXPECT_FALSE(map->known("alice"));
  EXPECT_FALSE(map->known(""));
}

TEST(RecipientMap, ExtensionIsStrippedWhenTheFullAddressIsNotListed) {
  auto map = recipients("alice@example.test\nbob+lists@example.test\n");
  ASSERT_NE(map, nullptr);
  EXPECT_TRUE(map->known("alice+news@example.test"));
  EXPECT_TRUE(map->known("Alice+News+More@Example.test"));  // split at the first '+'
  EXPECT_TRUE(map->known("bob+lists@example.test"));        // the full address wins first
  EXPECT_FALSE(map->known("bob@example.test"));
  EXPECT_FALSE(map->known("bob+other@example.test"));
  EXPECT_FALSE(map->known("+news@example.test"));  // no user left after stripping
}

TEST(RecipientMap, CatchAllCoversEveryLocalPart) {
  auto map = recipients("@catchall.test\nalice@example.test\n");
  ASSERT_NE(map, nullptr);
  EXPECT_TRUE(map->known("anyone@catchall.test"));
  EXPECT_TRUE(map->known("Anyone+x@CATCHALL.test"));
  EXPECT_FALSE(map->known("anyone@example.test"));
  EXPECT_FALSE(map->known("anyone@sub.catchall.test"));  // no subdomain matching
}

TEST(RecipientMap, CoversOnlyDomainsItLists) {
  auto map = recipients("alice@example.test\n@catchall.test\n");
  ASSERT_NE(map, nullptr);
  EXPECT_TRUE(map->covers_domain("example.test"));
  EXPECT_TRUE(map->covers_domain("EXAMPLE.Test"));
  EXPECT_TRUE(map->covers_domain("catchall.test"));
  EXPECT_FALSE(map->covers_domain("other.test"));
  EXPECT_FALSE(map->covers_domain("sub.example.test"));
  EXPECT_FALSE(map->covers_domain(""));
}

TEST(RecipientMap, QuotedAndUtf8LocalPartsAreAccepted) {
  auto map = recipients("\"john..smith\"@example.test\nmüller@example.test\n");
  ASSERT_NE(map, nullptr);
  EXPECT_TRUE(map->known("\"John..Smith\"@example.test"));
  EXPECT_TRUE(map->known("müller@EXAMPLE.test"));
}

TEST(RecipientMap, ErrorsNameFileAndLine) {
  EXPECT_EQ(recipients_error("a@example.test\nnot-an-address\n"),
            "rcpt:2: invalid address 'not-an-address': missing '@domain'");
  EXPECT_EQ(recipients_error("\n\n@bad..domain\n"), "rcpt:3: invalid domain in '@bad..domain'");
  EXPECT_EQ(recipients_error("@\n"), "rcpt:1: invalid domain in '@'");
  EXPECT_EQ(recipients_error("a@@example.test\n").rfind("rcpt:1: invalid address 'a@@example.test': ", 0), 0u);
  EXPECT_EQ(recipients_error("@a.test:b@example.test\n").rfind("rcpt:1: invalid", 0), 0u);  // source route
  EXPECT_EQ(recipients_error("   b@example.test\n"), "rcpt:1: line starts with whitespace but continues no entry");
}

TEST(RecipientMap, SecondColumnIsAValueEvenOnAContinuationLine) {
  // Postfix's "key value" format: whatever follows the address is its value, never a second key.
  auto map = recipients("a@example.test\n  b@example.test\n");
  ASSERT_NE(map, nullptr);
  EXPECT_TRUE(map->known("a@example.test"));
  EXPECT_FALSE(map->known("b@example.test"));
}

TEST(RecipientMap, EmptyMapKnowsNothingAndCoversNothing) {
  auto map = recipients("");
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->size(), 0u);
  EXPECT_FALSE(map->known("a@example.test"));
  EXPECT_FALSE(map->covers_domain("example.test"));
}

TEST(RecipientMap, LoadsFromFile) {
  const char* tmpdir = getenv("TMPDIR");
  std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/correo_rcpt_XXXXXX";
  const int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  const std::string text = "alice@example.test\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto map = RecipientMap::load(path);
  ASSERT_TRUE(map.ok()) << map.error().message;
  EXPECT_TRUE(map.value()->known("alice@example.test"));
  unlink(path.c_str());
  auto missing = RecipientMap::load(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message.rfind(path + ": cannot open: ", 0), 0u);
}

// ---- AliasMap ----

TEST(AliasMap, ParsesColonAndWhitespaceFormsWithContinuations) {
  auto map = aliases(
      "# aliases\n"
      "sales@example.test: a@x.test, b@y.test\n"
      "support@example.test c@x.test,d@y.test\n"
      "team@example.test:e@x.test\n"
      "  f@x.test,\n"
      "\tg@x.test\r\n");
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->size(), 3u);
  EXPECT_EQ(map->expand("sales@example.test", 100).recipients, (Strings{"a@x.test", "b@y.test"}));
  EXPECT_EQ(map->expand("support@example.test", 100).recipients, (Strings{"c@x.test", "d@y.test"}));
  EXPECT_EQ(map->expand("team@example.test", 100).recipients, (Strings{"e@x.test", "f@x.test", "g@x.test"}));
}

TEST(AliasMap, AddressWithoutEntryExpandsToItself) {
  auto map = aliases("sales@example.test: a@x.test\n");
  ASSERT_NE(map, nullptr);
  const AliasExpansion e = map->expand("Other@Example.test", 100);
  EXPECT_FALSE(e.aliased);
  EXPECT_FALSE(e.loop);
  EXPECT_FALSE(e.too_many);
  EXPECT_EQ(e.recipients, Strings{"Other@Example.test"});  // as given, case kept
}

TEST(AliasMap, LookupIgnoresCaseAndFallsBackWithoutExtension) {
  auto map = aliases("sales@example.test: A@X.test\n");
  ASSERT_NE(map, nullptr);
  AliasExpansion e = map->expand("SALES@example.TEST", 100);
  EXPECT_TRUE(e.aliased);
  EXPECT_EQ(e.recipients, Strings{"A@X.test"});  // targets keep their case
  e = map->expand("sales+promo@example.test", 100);
  EXPECT_TRUE(e.aliased);
  EXPECT_EQ(e.recipients, Strings{"A@X.test"});  // the extension is not carried over
}

TEST(AliasMap, ExpandsRecursivelyAndRemovesDuplicatesKeepingFirstOrder) {
  auto map = aliases(
      "all@example.test: sales@example.test, dev@example.test, boss@x.test\n"
      "sales@example.test: ann@x.test, Boss@X.test\n"
      "dev@example.test: bob@x.test, ann@x.test, ops@example.test\n"
      "ops@example.test: carl@x.test\n");
  ASSERT_NE(map, nullptr);
  const AliasExpansion e = map->expand("all@example.test", 100);
  EXPECT_TRUE(e.aliased);
  EXPECT_FALSE(e.loop);
  EXPECT_FALSE(e.too_many);
  EXPECT_EQ(e.recipients, (Strings{"ann@x.test", "Boss@X.test", "bob@x.test", "carl@x.test"}));
}

TEST(AliasMap, SelfReferenceIsAFinalRecipient) {
  auto map = aliases(
      "alice@example.test: alice@example.test, archive@x.test\n"
      "list@example.test: alice@example.test, bob@x.test\n"
      "carol@example.test: carol+copy@example.test\n");
  ASSERT_NE(map, nullptr);
  AliasExpansion e = map->expand("alice@example.test", 100);
  EXPECT_FALSE(e.loop);
  EXPECT_EQ(e.recipients, (Strings{"alice@example.test", "archive@x.test"}));
  e = map->expand("list@example.test", 100);
  EXPECT_FALSE(e.loop);
  EXPECT_EQ(e.recipients, (Strings{"alice@example.test", "archive@x.test", "bob@x.test"}));
  // carol+copy falls back to carol's own entry: still a self-reference.
  e = map->expand("carol@example.test", 100);
  EXPECT_FALSE(e.loop);
  EXPECT_EQ(e.recipients, Strings{"carol+copy@example.test"});
}

TEST(AliasMap, LoopsAreDetected) {
  auto map = aliases(
      "a@example.test: b@example.test\n"
      "b@example.test: x@y.test, a@example.test\n"
      "c@example.test: d@example.test\n"
      "d@example.test: e@example.test\n"
      "e@example.test: c@example.test\n"
      "f@example.test: ok@y.test, c@example.test\n");
  ASSERT_NE(map, nullptr);
  for (const char* address : {"a@example.test", "b@example.test", "c@example.test", "f@example.test"}) {
    const AliasExpansion e = map->expand(address, 100);
    EXPECT_TRUE(e.loop) << address;
    EXPECT_TRUE(e.aliased) << address;
    EXPECT_TRUE(e.recipients.empty()) << address;
  }
}

TEST(AliasMap, SharedSubAliasesAreNotLoops) {
  // A diamond: two paths reach "shared"; that is not a cycle.
  auto map = aliases(
      "top@example.test: left@example.test, right@example.test\n"
      "left@example.test: shared@example.test, l@x.test\n"
      "right@example.test: shared@example.test, r@x.test\n"
      "shared@example.test: s@x.test\n");
  ASSERT_NE(map, nullptr);
  const AliasExpansion e = map->expand("top@example.test", 100);
  EXPECT_FALSE(e.loop);
  EXPECT_EQ(e.recipients, (Strings{"s@x.test", "l@x.test", "r@x.test"}));
}

TEST(AliasMap, TooManyResults) {
  auto map = aliases("big@example.test: a@x.test, b@x.test, c@x.test, a@x.test\n");
  ASSERT_NE(map, nullptr);
  EXPECT_FALSE(map->expand("big@example.test", 3).too_many);  // the duplicate does not count
  const AliasExpansion e = map->expand("big@example.test", 2);
  EXPECT_TRUE(e.too_many);
  EXPECT_TRUE(e.recipients.empty());
  EXPECT_FALSE(map->expand("big@example.test", 0).too_many);  // 0 = unbounded
}

TEST(AliasMap, DepthIsBounded) {
  // A chain of kMaxDepth aliases expands; one more is too deep.
  std::string text;
  const size_t n = AliasMap::kMaxDepth + 1;
  for (size_t i = 0; i < n; ++i) {
    text += "l" + std::to_string(i) + "@example.test: l" + std::to_string(i + 1) + "@example.test\n";
  }
  auto map = aliases(text);
  ASSERT_NE(map, nullptr);
  AliasExpansion e = map->expand("l1@example.test", 100);  // l1..l20: 20 aliases deep
  EXPECT_FALSE(e.too_many);
  EXPECT_EQ(e.recipients, Strings{"l" + std::to_string(n) + "@example.test"});
  e = map->expand("l0@example.test", 100);
  EXPECT_TRUE(e.too_many);
  EXPECT_FALSE(e.loop);
}

TEST(AliasMap, LayeredDiamondsExpandInLinearTime) {
  // 19 layers of two aliases, each naming both of the next layer: 2^19 paths but 38 aliases.
  // Without memoizing finished aliases this would take minutes.
  std::string text;
  for (int layer = 0; layer < 19; ++layer) {
    for (int k = 0; k < 2; ++k) {
      text += "n" + std::to_string(layer) + "_" + std::to_string(k) + "@example.test: n" + std::to_string(layer + 1) +
              "_0@example.test, n" + std::to_string(layer + 1) + "_1@example.test\n";
    }
  }
  auto map = aliases(text);
  ASSERT_NE(map, nullptr);
  const AliasExpansion e = map->expand("n0_0@example.test", 100);
  EXPECT_FALSE(e.loop);
  EXPECT_FALSE(e.too_many);
  EXPECT_EQ(e.recipients, (Strings{"n19_0@example.test", "n19_1@example.test"}));
}

TEST(AliasMap, ErrorsNameFileAndLine) {
  EXPECT_EQ(aliases_error("a@example.test: b@x.test\nempty@example.test:\n"),
            "aliases:2: alias 'empty@example.test' has no targets");
  EXPECT_EQ(aliases_error("a@example.test: b@x.test\nA@Example.test: c@x.test\n"),
            "aliases:2: duplicate alias 'A@Example.test'");
  EXPECT_EQ(aliases_error("postmaster: root@x.test\n"), "aliases:1: invalid alias 'postmaster': missing '@domain'");
  EXPECT_EQ(aliases_error("a@example.test: b@x.test, |/bin/sh\n").rfind("aliases:1: invalid target '|/bin/sh'", 0), 0u);
  EXPECT_EQ(aliases_error("@example.test: all@x.test\n"),
            "aliases:1: domain-wide alias '@example.test' is not supported; list each address");
  EXPECT_EQ(aliases_error(": b@x.test\n"), "aliases:1: missing alias address before ':'");
  EXPECT_EQ(aliases_error("\n\t b@x.test\n"), "aliases:2: line starts with whitespace but continues no entry");
}

}  // namespace
}  // namespace correo
