// command_test.cc - verbs and MAIL/RCPT/BDAT argument parsing.
#include "relay/smtp/command.h"

#include <gtest/gtest.h>

namespace correo {
namespace {

TEST(SplitCommand, VerbsAreCaseInsensitive) {
  EXPECT_EQ(split_command("ehlo client.test").verb, Verb::kEhlo);
  EXPECT_EQ(split_command("EhLo client.test").arg, "client.test");
  EXPECT_EQ(split_command("QUIT").verb, Verb::kQuit);
  EXPECT_EQ(split_command("bdat 10 LAST").verb, Verb::kBdat);
  EXPECT_EQ(split_command("MAILFROM:<a@b>").verb, Verb::kUnknown);
  EXPECT_EQ(split_command("").verb, Verb::kUnknown);
  EXPECT_EQ(split_command("NOOP   ").arg, "");
}

MailCommand mail_ok(std::string_view arg, uint64_t limit = 1000000) {
  auto r = parse_mail(arg, limit);
  EXPECT_TRUE(std::holds_alternative<MailCommand>(r)) << arg << ": " << std::get<Reply>(r).text;
  return std::holds_alternative<MailCommand>(r) ? std::get<MailCommand>(r) : MailCommand{};
}

Reply mail_err(std::string_view arg, uint64_t limit = 1000000) {
  auto r = parse_mail(arg, limit);
  EXPECT_TRUE(std::holds_alternative<Reply>(r)) << arg;
  return std::holds_alternative<Reply>(r) ? std::get<Reply>(r) : Reply{};
}

TEST(ParseMail, Parameters) {
  MailCommand m = mail_ok("FROM:<a@example.test> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef SMTPUTF8");
  EXPECT_EQ(m.path.address, "a@example.test");
  EXPECT_EQ(m.size, 1000u);
  EXPECT_EQ(m.body, BodyType::k8BitMime);
  EXPECT_EQ(m.ret, DsnRet::kHdrs);
  EXPECT_EQ(m.envid, "abc+2Bdef");
  EXPECT_TRUE(m.smtputf8);
  EXPECT_TRUE(mail_ok("from:<>").path.null);
  EXPECT_EQ(mail_ok("FROM: <a@example.test>").path.address, "a@example.test");  // tolerated space
  EXPECT_EQ(mail_ok("FROM:<a@example.test> body=7bit").body, BodyType::k7Bit);
}

TEST(ParseMail, Errors) {
  struct Case {
    const char* arg;
    uint16_t code;
    const char* enhanced;
  } cases[] = {
      {"TO:<a@b.test>", 501, "5.5.4"},
      {"FROM:a@b.test", 501, "5.1.7"},
      {"FROM:<a@b.test> SIZE=2000000", 552, "5.3.4"},
      {"FROM:<a@b.test> SIZE=abc", 501, "5.5.4"},
      {"FROM:<a@b.test> SIZE=1 SIZE=2", 501, "5.5.4"},
      {"FROM:<a@b.test> BODY=BINARYMIME", 555, "5.5.4"},
      {"FROM:<a@b.test> RET=ALL", 501, "5.5.4"},
      {"FROM:<a@b.test> ENVID=a=b", 501, "5.5.4"},
      {"FROM:<a@b.test> ENVID=+zz", 501, "5.5.4"},
      {"FROM:<a@b.test> FOO=bar", 555, "5.5.4"},
      {"FROM:<a@b.test>SIZE=1", 501, "5.5.4"},
      {"FROM:<üser@b.test>", 553, "5.6.7"},
  };
  for (const auto& c : cases) {
    Reply r = mail_err(c.arg);
    EXPECT_EQ(r.code, c.code) << c.arg;
    EXPECT_EQ(r.enhanced, c.enhanced) << c.arg;
  }
}

TEST(ParseMail, DeliverBy) {
  MailCommand m = mail_ok("FROM:<a@b.test> BY=120;R");
  EXPECT_EQ(m.by_mode, ByMode::kReturn);
  EXPECT_EQ(m.by_seconds, 120);
  EXPECT_FALSE(m.by_trace);
  m = mail_ok("FROM:<a@b.test> BY=-30;NT");
  EXPECT_EQ(m.by_mode, ByMode::kNotify);
  EXPECT_EQ(m.by_seconds, -30);
  EXPECT_TRUE(m.by_trace);
  for (const char* bad : {"FROM:<a@b.test> BY=0;R", "FROM:<a@b.test> BY=-5;R", "FROM:<a@b.test> BY=10",
                          "FROM:<a@b.test> BY=10;X", "FROM:<a@b.test> BY=1234567890;N", "FROM:<a@b.test> BY=;N",
                          "FROM:<a@b.test> BY=10;RX", "FROM:<a@b.test> BY=1;R BY=2;R"}) {
    EXPECT_EQ(mail_err(bad).code, 501) << bad;
  }
}

TEST(ParseRcpt, ParametersAndPostmaster) {
  auto r = parse_rcpt("TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40example.test", false);
  ASSERT_TRUE(std::holds_alternative<RcptCommand>(r));
  const auto& rc = std::get<RcptCommand>(r);
  EXPECT_EQ(rc.notify, kNotifySuccess | kNotifyFailure);
  EXPECT_EQ(rc.orcpt, "rfc822;b+40example.test");
  auto pm = parse_rcpt("TO:<Postmaster>", false);
  ASSERT_TRUE(std::holds_alternative<RcptCommand>(pm));
  EXPECT_TRUE(std::get<RcptCommand>(pm).postmaster);
  auto utf = parse_rcpt("TO:<ü@example.test>", true);
  EXPECT_TRUE(std::holds_alternative<RcptCommand>(utf));
}

TEST(ParseRcpt, Errors) {
  const char* bad[] = {"TO:<>", "FROM:<a@b.test>", "TO:<a@b.test> NOTIFY=NEVER,SUCCESS", "TO:<a@b.test> NOTIFY=SOMETIMES",
                       "TO:<a@b.test> ORCPT=noxtext", "TO:<a@b.test> XYZ", "TO:<ü@example.test>"};
  for (const char* arg : bad) {
    auto r = parse_rcpt(arg, false);
    EXPECT_TRUE(std::holds_alternative<Reply>(r)) << arg;
  }
  EXPECT_EQ(std::get<Reply>(parse_rcpt("TO:<a@>", false)).enhanced, "5.1.3");
}

TEST(ParseBdat, SizeAndLast) {
  auto b = parse_bdat("123 LAST");
  ASSERT_TRUE(std::holds_alternative<BdatCommand>(b));
  EXPECT_EQ(std::get<BdatCommand>(b).size, 123u);
  EXPECT_TRUE(std::get<BdatCommand>(b).last);
  EXPECT_FALSE(std::get<BdatCommand>(parse_bdat("0")).last);
  EXPECT_TRUE(std::holds_alternative<Reply>(parse_bdat("")));
  EXPECT_TRUE(std::holds_alternative<Reply>(parse_bdat("-1")));
  EXPECT_TRUE(std::holds_alternative<Reply>(parse_bdat("10 FIRST")));
  EXPECT_TRUE(std::holds_alternative<Reply>(parse_bdat("99999999999999999999")));
}

TEST(IsXtext, HexEscapes) {
  EXPECT_TRUE(is_xtext("abc+2B"));
  EXPECT_FALSE(is_xtext("abc+2"));
  EXPECT_FALSE(is_xtext("abc+2b"));  // hex must be upper case
  EXPECT_FALSE(is_xtext("a b"));
}

}  // namespace
}  // namespace correo
