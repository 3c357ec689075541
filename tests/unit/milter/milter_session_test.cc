// milter_session_test.cc - MilterSession against a scripted fake milter: the packets sent
// at each stage, every decision, edits, per-recipient refusals, negotiated NR/NO flags.
#include "relay/policy/milter/milter_session.h"

#include <gtest/gtest.h>

#include "tests/unit/milter/fake_milter.h"

namespace correo {
namespace {

using test_util::FakeMilter;
using test_util::header_reply;
using test_util::milter_reply;
using R = MilterReplyType;

constexpr std::string_view kContent =
    "From: Alice <alice@example.test>\r\n"
    "To: bob@example.org\r\n"
    "Subject: hello\r\n"
    "  world\r\n"
    "X-Tab:\tvalue\r\n"
    "\r\n"
    "body line 1\r\n"
    "body line 2\r\n";

MilterMessage message() {
  MilterMessage m;
  m.client_name = "client.example";
  m.client_ip = "192.0.2.7";
  m.client_port = 40001;
  m.helo = "client.example";
  m.mail_from = "alice@example.test";
  m.mail_args = {"SIZE=123", "BODY=8BITMIME"};
  m.rcpts = {"bob@example.org", "carol@example.org", "dave@example.org"};
  m.content = kContent;
  m.queue_id = "Q123";
  m.our_hostname = "mx.example.test";
  m.authenticated = true;
  m.auth_user = "alice";
  return m;
}

// script_on - answer `command` with `replies`, everything else by default.
FakeMilter::Script script_on(char command, std::vector<MilterReply> replies) {
  return [command, replies](const MilterCommandPacket& c) -> std::optional<std::vector<MilterReply>> {
    if (c.command == command) return replies;
    return std::nullopt;
  };
}

TEST(MilterSession, AcceptSendsEveryStageWithMacros) {
  FakeMilter milter;
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  ASSERT_TRUE(s.done());
  EXPECT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.verdict, MilterVerdict::kAccept);
  EXPECT_EQ(milter.commands(),
            "O DC C H DM M DR R DR R DR R DT T L L L L DN N B DE E Q");
  EXPECT_EQ(milter.macro('C', "j"), "mx.example.test");
  EXPECT_EQ(milter.macro('C', "{daemon_name}"), "correo");
  EXPECT_EQ(milter.macro('C', "_"), "client.example [192.0.2.7]");
  EXPECT_EQ(milter.macro('C', "{client_addr}"), "192.0.2.7");
  EXPECT_EQ(milter.macro('C', "{client_name}"), "client.example");
  EXPECT_EQ(milter.macro('M', "i"), "Q123");
  EXPECT_EQ(milter.macro('M', "{auth_authen}"), "alice");
  EXPECT_EQ(milter.macro('M', "{mail_addr}"), "alice@example.test");
  EXPECT_EQ(milter.macro('R', "{rcpt_addr}"), "dave@example.org");  // the last one
  EXPECT_EQ(milter.macro('E', "i"), "Q123");

  const auto* connect = milter.first('C');
  ASSERT_NE(connect, nullptr);
  EXPECT_EQ(connect->family, '4');
  EXPECT_EQ(connect->port, 40001);
  EXPECT_EQ(connect->strings, (std::vector<std::string>{"client.example", "192.0.2.7"}));
  EXPECT_EQ(milter.first('M')->strings, (std::vector<std::string>{"<alice@example.test>", "SIZE=123", "BODY=8BITMIME"}));
  EXPECT_EQ(milter.first('R')->strings, std::vector<std::string>{"<bob@example.org>"});
  EXPECT_EQ(milter.first('B')->body, "body line 1\r\nbody line 2\r\n");
  // The optneg offer: version 6, and the steps we support.
  const auto* optneg = milter.first('O');
  EXPECT_EQ(optneg->version, 6u);
  EXPECT_EQ(optneg->protocol & kSmfipNrBody, kSmfipNrBody);
  EXPECT_EQ(optneg->protocol & kSmfipRcptRej, 0u);
}

TEST(MilterSession, HeadersAreSentAsPostfixDoes) {
  for (bool leadspc : {false, true}) {
    FakeMilter milter;
    milter.protocol = leadspc ? kSmfipHeaderLeadingSpace : 0;
    MilterSession s(message(), {});
    milter.run(s);
    std::vector<std::vector<std::string>> headers;
    for (const auto& c : milter.received) {
      if (c.command == 'L') headers.push_back(c.strings);
    }
    ASSERT_EQ(headers.size(), 4u);
    EXPECT_EQ(headers[0], (std::vector<std::string>{"From", leadspc ? " Alice <alice@example.test>" : "Alice <alice@example.test>"}));
    // Folds stay, as "\n" (Sendmail and Postfix); only one space goes, a tab stays.
    EXPECT_EQ(headers[2], (std::vector<std::string>{"Subject", leadspc ? " hello\n  world" : "hello\n  world"}));
    EXPECT_EQ(headers[3], (std::vector<std::string>{"X-Tab", "\tvalue"}));
  }
}

TEST(MilterSession, RejectAtMailAbortsAndQuits) {
  FakeMilter milter;
  milter.script = script_on('M', {milter_reply(R::kReject)});
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_EQ(r.verdict, MilterVerdict::kReject);
  EXPECT_EQ(r.reply, "");
  EXPECT_EQ(milter.commands(), "O DC C H DM M A Q");
}

TEST(MilterSession, TempFailAtConnectQuitsWithoutAbort) {
  FakeMilter milter;
  milter.script = script_on('C', {milter_reply(R::kTempFail)});
  MilterSession s(message(), {});
  EXPECT_EQ(milter.run(s).verdict, MilterVerdict::kTempFail);
  EXPECT_EQ(milter.commands(), "O DC C Q");
}

TEST(MilterSession, DiscardAtEndOfBody) {
  FakeMilter milter;
  milter.actions = kSmfifAddHeaders;
  milter.script = script_on('E', {header_reply(R::kAddHeader, 0, "X-A", "1"), milter_reply(R::kDiscard)});
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_EQ(r.verdict, MilterVerdict::kDiscard);
  EXPECT_TRUE(r.header_edits.empty());  // edits mean nothing for a discarded message
}

TEST(MilterSession, DiscardAtConnectIsAProtocolFailure) {
  FakeMilter milter;
  milter.script = script_on('C', {milter_reply(R::kDiscard)});
  MilterSession s(message(), {});
  EXPECT_TRUE(milter.run(s).failed);
}

TEST(MilterSession, ReplyCodes) {
  struct Case {
    std::string text;
    MilterVerdict verdict;
    std::string reply;
  } cases[] = {
      {"550 5.7.1 Rejected by policy", MilterVerdict::kReject, "550 5.7.1 Rejected by policy"},
      {"451 4.7.1 Try later", MilterVerdict::kTempFail, "451 4.7.1 Try later"},
      {"550 5.7.1 100%% spam", MilterVerdict::kReject, "550 5.7.1 100% spam"},
      {"550-5.7.1 first\r\n550 5.7.1 second", MilterVerdict::kReject, "550-5.7.1 first\r\n550 5.7.1 second"},
      {"550-5.7.1 sloppy last line", MilterVerdict::kReject, "550 5.7.1 sloppy last line"},
  };
  for (const auto& c : cases) {
    FakeMilter milter;
    milter.script = script_on('T', {milter_reply(R::kReplyCode, c.text)});
    MilterSession s(message(), {});
    const auto& r = milter.run(s);
    EXPECT_FALSE(r.failed) << c.text;
    EXPECT_EQ(r.verdict, c.verdict) << c.text;
    EXPECT_EQ(r.reply, c.reply);
  }
  for (std::string bad : {"250 ok", "550 4.7.1 wrong class", "55x nope", "550-a\r\n451 b", "550 a\nInjected: x", "550"}) {
    FakeMilter milter;
    milter.script = script_on('T', {milter_reply(R::kReplyCode, bad)});
    MilterSession s(message(), {});
    EXPECT_TRUE(milter.run(s).failed) << bad;
  }
}

TEST(MilterSession, QuarantineAtEndOfBody) {
  FakeMilter milter;
  milter.actions = kSmfifQuarantine;
  milter.script = script_on('E', {milter_reply(R::kProgress), milter_reply(R::kQuarantine, "suspicious"),
                                  milter_reply(R::kContinue)});
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_EQ(r.verdict, MilterVerdict::kQuarantine);
  EXPECT_EQ(r.quarantine_reason, "suspicious");
}

TEST(MilterSession, EditsAtEndOfBody) {
  FakeMilter milter;
  milter.actions = kSmfifAddHeaders | kSmfifChangeHeaders | kSmfifAddRcpt | kSmfifDelRcpt | kSmfifChangeFrom |
                   kSmfifAddRcptWithArgs;
  milter.script = script_on('E', {
      header_reply(R::kAddHeader, 0, "X-Added", "yes"),
      header_reply(R::kInsertHeader, 0, "X-Top", "first"),
      header_reply(R::kChangeHeader, 0, "Subject", "changed"),
      milter_reply(R::kAddRcpt, "<new@example.org>"),
      [] { auto r = milter_reply(R::kAddRcptWithArgs, "<par@example.org>"); r.args = "NOTIFY=NEVER"; return r; }(),
      milter_reply(R::kDelRcpt, "<bob@example.org>"),
      [] { auto r = milter_reply(R::kChangeFrom, "<bounce@example.test>"); r.args = "SIZE=1"; return r; }(),
      milter_reply(R::kContinue),
  });
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  ASSERT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.verdict, MilterVerdict::kContinue);
  ASSERT_EQ(r.header_edits.size(), 3u);
  EXPECT_EQ(r.header_edits[0].kind, HeaderEdit::kAdd);
  EXPECT_EQ(r.header_edits[1].kind, HeaderEdit::kInsert);
  EXPECT_EQ(r.header_edits[2].kind, HeaderEdit::kChange);
  EXPECT_EQ(r.header_edits[2].index, 1u);  // index 0 means the first, as in Postfix
  EXPECT_EQ(r.added_rcpts, (std::vector<std::string>{"new@example.org", "par@example.org"}));
  EXPECT_EQ(r.removed_rcpts, std::vector<std::string>{"bob@example.org"});
  EXPECT_EQ(r.new_sender, "bounce@example.test");
  EXPECT_EQ(r.new_sender_args, "SIZE=1");
  auto applied = apply_milter_result(kContent, r);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied,
            "X-Top: first\r\nFrom: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: changed\r\n"
            "X-Tab:\tvalue\r\nX-Added: yes\r\n\r\nbody line 1\r\nbody line 2\r\n");
}

TEST(MilterSession, ReplacedBodyIsConcatenatedAndCapped) {
  FakeMilter milter;
  milter.actions = kSmfifChangeBody;
  milter.script = script_on('E', {milter_reply(R::kReplaceBody, "new "), milter_reply(R::kReplaceBody, "body\r\n"),
                                  milter_reply(R::kAccept)});
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_EQ(r.verdict, MilterVerdict::kContinue);
  EXPECT_EQ(r.new_body, "new body\r\n");

  FakeMilter greedy = milter;
  MilterLimits limits;
  limits.max_replaced_body_bytes = 8;
  MilterSession capped(message(), limits);
  const auto& c = greedy.run(capped);
  EXPECT_TRUE(c.failed);
  EXPECT_TRUE(capped.output().empty());
}

TEST(MilterSession, PerRecipientRejectContinues) {
  FakeMilter milter;
  int rcpt = 0;
  milter.script = [&](const MilterCommandPacket& c) -> std::optional<std::vector<MilterReply>> {
    if (c.command != 'R') return std::nullopt;
    if (rcpt++ == 1) return std::vector<MilterReply>{milter_reply(R::kReplyCode, "550 5.1.1 No such user")};
    return std::nullopt;
  };
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_EQ(r.verdict, MilterVerdict::kAccept);
  ASSERT_EQ(r.rejected_rcpts.size(), 1u);
  EXPECT_EQ(r.rejected_rcpts[0].address, "carol@example.org");
  EXPECT_EQ(r.rejected_rcpts[0].reply, "550 5.1.1 No such user");
  EXPECT_NE(milter.first('E'), nullptr);
}

TEST(MilterSession, AllRecipientsRejectedRejectsTheMessage) {
  for (bool one_temp : {false, true}) {
    FakeMilter milter;
    int rcpt = 0;
    milter.script = [&](const MilterCommandPacket& c) -> std::optional<std::vector<MilterReply>> {
      if (c.command != 'R') return std::nullopt;
      return std::vector<MilterReply>{milter_reply(one_temp && rcpt++ == 0 ? R::kTempFail : R::kReject)};
    };
    MilterSession s(message(), {});
    const auto& r = milter.run(s);
    EXPECT_EQ(r.verdict, one_temp ? MilterVerdict::kTempFail : MilterVerdict::kReject);
    ASSERT_EQ(r.rejected_rcpts.size(), 3u);
    EXPECT_EQ(r.rejected_rcpts[0].reply, one_temp ? "451 4.7.1 Service unavailable - try again later"
                                                   : "550 5.7.1 Command rejected");
    EXPECT_EQ(milter.commands(), "O DC C H DM M DR R DR R DR R A Q");
  }
}

TEST(MilterSession, AcceptAtRecipientEndsFiltering) {
  FakeMilter milter;
  milter.script = script_on('R', {milter_reply(R::kAccept)});
  MilterSession s(message(), {});
  EXPECT_EQ(milter.run(s).verdict, MilterVerdict::kAccept);
  EXPECT_EQ(milter.commands(), "O DC C H DM M DR R A Q");
}

TEST(MilterSession, NoReplyStagesArePipelined) {
  FakeMilter milter;
  milter.protocol = kSmfipNrConnect | kSmfipNrHelo | kSmfipNrMail | kSmfipNrRcpt | kSmfipNrData | kSmfipNrHeader |
                    kSmfipNrEoh | kSmfipNrBody;
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_FALSE(r.failed) << r.error;
  EXPECT_EQ(r.verdict, MilterVerdict::kAccept);
  // OPTNEG, then everything through EOB in one write, then QUIT.
  ASSERT_EQ(milter.writes.size(), 3u);
  EXPECT_EQ(milter.commands(), "O DC C H DM M DR R DR R DR R DT T L L L L DN N B DE E Q");
}

TEST(MilterSession, SkippedStagesStillGetTheirMacros) {
  FakeMilter milter;
  milter.protocol = kSmfipNoConnect | kSmfipNoHelo | kSmfipNoMail | kSmfipNoRcpt | kSmfipNoData | kSmfipNoHeaders |
                    kSmfipNoEoh | kSmfipNoBody;
  MilterSession s(message(), {});
  EXPECT_EQ(milter.run(s).verdict, MilterVerdict::kAccept);
  EXPECT_EQ(milter.commands(), "O DC DM DR DR DR DT DN DE E Q");
}

TEST(MilterSession, SkipEndsTheBodyEarly) {
  std::string content = "Subject: big\r\n\r\n" + std::string(3 * kMilterChunkSize, 'x') + "\r\n";
  MilterMessage m = message();
  m.content = content;
  for (bool negotiated : {true, false}) {
    FakeMilter milter;
    milter.protocol = negotiated ? kSmfipSkip : 0;
    milter.script = script_on('B', {milter_reply(R::kSkip)});
    MilterSession s(m, {});
    const auto& r = milter.run(s);
    EXPECT_EQ(r.failed, !negotiated);
    if (negotiated) {
      EXPECT_EQ(milter.commands(), "O DC C H DM M DR R DR R DR R DT T L DN N B DE E Q");
    }
  }
  FakeMilter all;
  MilterSession s(m, {});
  all.run(s);
  size_t chunks = 0;
  for (const auto& c : all.received) chunks += c.command == 'B';
  EXPECT_EQ(chunks, 4u);  // 3 * 65535 + 2 bytes
}

// libmilter refuses packets over 64 KiB - 1: a giant folded header goes out truncated.
TEST(MilterSession, GiantHeaderIsTruncatedToOnePacket) {
  const std::string content = "X-Big: " + std::string(40000, 'a') + "\r\n " + std::string(40000, 'b') + "\r\n\r\nbody\r\n";
  MilterMessage m = message();
  m.content = content;
  FakeMilter milter;
  MilterSession s(m, {});
  EXPECT_EQ(milter.run(s).verdict, MilterVerdict::kAccept);
  const auto* h = milter.first('L');
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->strings[0].size() + h->strings[1].size() + 2, kMilterChunkSize);
}

TEST(MilterSession, RepliesFedOneByteAtATime) {
  FakeMilter milter;
  milter.feed_step = 1;
  milter.actions = kSmfifAddHeaders;
  milter.script = script_on('E', {header_reply(R::kAddHeader, 0, "X-A", "1"), milter_reply(R::kContinue)});
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_EQ(r.verdict, MilterVerdict::kContinue);
  EXPECT_EQ(r.header_edits.size(), 1u);
}

TEST(MilterSession, ShutdownIsATempFail) {
  FakeMilter milter;
  milter.script = script_on('H', {milter_reply(R::kShutdown)});
  MilterSession s(message(), {});
  const auto& r = milter.run(s);
  EXPECT_EQ(r.verdict, MilterVerdict::kTempFail);
  EXPECT_EQ(r.reply.substr(0, 3), "421");
}

// ---- A broken or hostile milter: failed = true, output cleared. ----

MilterResult run_failing(FakeMilter milter, MilterLimits limits = {}) {
  MilterSession s(message(), limits);
  MilterResult r = milter.run(s);
  EXPECT_TRUE(s.done());
  EXPECT_TRUE(r.failed);
  EXPECT_FALSE(r.error.empty());
  return r;
}

TEST(MilterSession, RefusesBadNegotiation) {
  FakeMilter newer;
  newer.version = 7;
  run_failing(newer);
  FakeMilter rcpt_rej;
  rcpt_rej.protocol = kSmfipRcptRej;
  run_failing(rcpt_rej);
  FakeMilter actions;
  actions.actions = 0x200;
  run_failing(actions);
  FakeMilter wrong;
  wrong.script = script_on('O', {milter_reply(R::kContinue)});
  run_failing(wrong);
}

TEST(MilterSession, RefusesEditsNotNegotiatedOrMisplaced) {
  FakeMilter unnegotiated;
  unnegotiated.script = script_on('E', {header_reply(R::kAddHeader, 0, "X-A", "1"), milter_reply(R::kContinue)});
  run_failing(unnegotiated);
  FakeMilter early;
  early.actions = kSmfifAddHeaders;
  early.script = script_on('C', {header_reply(R::kAddHeader, 0, "X-A", "1")});
  run_failing(early);
  FakeMilter bad_name;
  bad_name.actions = kSmfifAddHeaders;
  bad_name.script = script_on('E', {header_reply(R::kAddHeader, 0, "Bad Name", "1"), milter_reply(R::kContinue)});
  run_failing(bad_name);
  FakeMilter skip_at_eob;
  skip_at_eob.protocol = kSmfipSkip;
  skip_at_eob.script = script_on('E', {milter_reply(R::kSkip)});
  run_failing(skip_at_eob);
}

TEST(MilterSession, RefusesTooManyEdits) {
  FakeMilter milter;
  milter.actions = kSmfifAddHeaders;
  milter.script = script_on('E', std::vector<MilterReply>(5, header_reply(R::kAddHeader, 0, "X-A", "1")));
  MilterLimits limits;
  limits.max_edits = 4;
  run_failing(milter, limits);
  limits = {};
  limits.max_edit_bytes = 7;
  run_failing(milter, limits);
}

TEST(MilterSession, RefusesMalformedAndOversizedPackets) {
  using namespace std::string_literals;
  for (std::string garbage : {"\0\0\0\0"s, "\x7f\xff\xff\xff"s, "\0\0\0\x02" "cX"s, "\0\0\0\x01Z"s,
                              "\0\0\0\x05y550 "s}) {
    MilterSession s(message(), {});
    s.start();
    s.on_bytes(garbage);
    EXPECT_TRUE(s.done());
    EXPECT_TRUE(s.result().failed);
    EXPECT_TRUE(s.output().empty());
  }
  MilterLimits small;
  small.max_packet_bytes = 16;
  MilterSession s(message(), small);
  s.start();
  std::string big;
  encode_milter_packet(big, 'O', std::string(17, '\0'));
  s.on_bytes(std::string_view(big).substr(0, 4));  // refused from the length alone
  EXPECT_TRUE(s.result().failed);
}

TEST(MilterSession, ClosedBeforeTheVerdictFails) {
  MilterSession s(message(), {});
  s.start();
  s.on_closed();
  EXPECT_TRUE(s.done());
  EXPECT_TRUE(s.result().failed);

  FakeMilter milter;
  MilterSession ok(message(), {});
  milter.run(ok);
  ok.on_closed();  // after the verdict: nothing changes
  EXPECT_FALSE(ok.result().failed);
}

TEST(MilterSession, UnknownClientAndNoHelo) {
  MilterMessage m = message();
  m.client_ip.clear();
  m.client_name = "[unknown]";
  m.helo.clear();
  m.authenticated = false;
  FakeMilter milter;
  MilterSession s(m, {});
  milter.run(s);
  EXPECT_EQ(milter.first('C')->family, 'U');
  EXPECT_EQ(milter.first('H'), nullptr);
  EXPECT_EQ(milter.macro('M', "{auth_authen}"), "<none>");
}

}  // namespace
}  // namespace correo
