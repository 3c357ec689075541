// smtp_client_wire_test.cc - the outbound SMTP client on the wire: message content
// (dot-stuffing, smuggling-safe line ends), MAIL/RCPT parameters, reply parsing and limits,
// and fragmentation (byte-at-a-time input gives identical transcripts).
#include "relay/delivery/smtp_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/delivery/smtp_client_test_util.h"

namespace correo {
namespace {

using namespace client_test;

// ---- message content -------------------------------------------------------------------------

std::string sent_body(std::string_view body) {
  SmtpClient c("relay.example.org");
  c.feed(kGreeting);
  c.feed(kEhloPipeliningOnly);
  drain(c);
  ServerReply refusal;
  OutboundMessage m = message({"a@example.net"}, body);
  if (!c.start_transaction(m, &refusal)) return "<refused>";
  drain(c);
  c.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  return drain(c);
}

TEST(SmtpClientBody, DotStuffing) {
  EXPECT_EQ(sent_body(".leading\r\n"), "..leading\r\n.\r\n");
  EXPECT_EQ(sent_body("a\r\n..\r\nb\r\n"), "a\r\n...\r\nb\r\n.\r\n");
  EXPECT_EQ(sent_body("a\r\n.\r\nb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(sent_body("x.y\r\n a.\r\n"), "x.y\r\n a.\r\n.\r\n");  // only at line starts
  EXPECT_EQ(sent_body("one\r\n.\r\n"), "one\r\n..\r\n.\r\n");
  EXPECT_EQ(sent_body("."), "..\r\n.\r\n");
}

TEST(SmtpClientBody, FinalLineEndAdded) {
  EXPECT_EQ(sent_body("no final crlf"), "no final crlf\r\n.\r\n");
  EXPECT_EQ(sent_body("a\r\n.end"), "a\r\n..end\r\n.\r\n");
  EXPECT_EQ(sent_body("line\r\n"), "line\r\n.\r\n");
  EXPECT_EQ(sent_body(""), ".\r\n");
  EXPECT_EQ(sent_body("ends in bare lf\n"), "ends in bare lf\n\r\n.\r\n");
}

TEST(SmtpClientBody, BareLineEndsCannotSmuggleAnEnd) {
  // A lenient server might end lines at a bare LF/CR: "<LF>.<CRLF>" must not look like the end.
  EXPECT_EQ(sent_body("a\n.\r\nMAIL FROM:<x>\r\n"), "a\n..\r\nMAIL FROM:<x>\r\n.\r\n");
  EXPECT_EQ(sent_body("a\r.\rb\r\n"), "a\r..\rb\r\n.\r\n");
}

TEST(SmtpClientBody, LargeBodyIsSentOnce) {
  std::string body;
  for (int i = 0; i < 10000; ++i) body += (i % 7 == 0) ? ".dotted line\r\n" : "plain line of text\r\n";
  std::string expected;
  for (int i = 0; i < 10000; ++i) expected += (i % 7 == 0) ? "..dotted line\r\n" : "plain line of text\r\n";
  expected += ".\r\n";
  EXPECT_EQ(sent_body(body), expected);
}

// ---- parameters --------------------------------------------------------------------------------

TEST(SmtpClientParameters, AllParametersWhenOffered) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloFull);
  OutboundMessage m = message({"bob@example.net", "carol@example.net", "dave@example.net"}, "0123456789\r\n");
  m.body_type = BodyType::k8BitMime;
  m.smtputf8 = true;
  m.ret = DsnRet::kHdrs;
  m.envid = "QQ314159";
  m.recipients[0].notify = kNotifySuccess | kNotifyFailure | kNotifyDelay;
  m.recipients[0].orcpt = "rfc822;bob@example.net";
  m.recipients[1].notify = kNotifyNever;
  m.recipients[2].notify = kNotifyDelay | kNotifySuccess;
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c),
            "MAIL FROM:<alice@example.org> SIZE=12 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159\r\n"
            "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;bob@example.net\r\n"
            "RCPT TO:<carol@example.net> NOTIFY=NEVER\r\n"
            "RCPT TO:<dave@example.net> NOTIFY=SUCCESS,DELAY\r\n"
            "DATA\r\n");
}

TEST(SmtpClientParameters, RetFull) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloFull);
  OutboundMessage m = message({"bob@example.net"}, "x\r\n");
  m.ret = DsnRet::kFull;
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org> SIZE=3 RET=FULL\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
}

TEST(SmtpClientParameters, NothingWhenNotOffered) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  OutboundMessage m = message({"bob@example.net"});
  m.body_type = BodyType::k8BitMime;  // 8BITMIME missing: no BODY (conversion is done elsewhere)
  m.ret = DsnRet::kFull;
  m.envid = "QQ314159";
  m.recipients[0].notify = kNotifyFailure;
  m.recipients[0].orcpt = "rfc822;bob@example.net";
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
}

TEST(SmtpClientParameters, SevenBitGetsNoBodyParameter) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloFull);
  OutboundMessage m = message({"bob@example.net"}, "x\r\n");
  m.body_type = BodyType::k7Bit;
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org> SIZE=3\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
}

TEST(SmtpClientParameters, SizeRefusal) {
  SmtpClient c("relay.example.org");
  connect(c, "250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  ServerReply refusal;
  EXPECT_FALSE(c.start_transaction(message({"bob@example.net"}, "01234567890"), &refusal));
  EXPECT_EQ(refusal.code, 552);
  EXPECT_EQ(refusal.enhanced, "5.3.4");
  EXPECT_EQ(refusal.to_string(), "552 5.3.4 message size exceeds remote limit");
  EXPECT_EQ(c.output(), "");
  EXPECT_TRUE(c.ready());  // did nothing
  // Exactly the limit is fine.
  ASSERT_TRUE(c.start_transaction(message({"bob@example.net"}, "0123456789"), &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org> SIZE=10\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n");
}

TEST(SmtpClientParameters, SmtpUtf8Refusal) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  OutboundMessage m = message({"bob@example.net"});
  m.smtputf8 = true;
  ServerReply refusal;
  EXPECT_FALSE(c.start_transaction(m, &refusal));
  EXPECT_EQ(refusal.to_string(), "553 5.6.7 remote server does not support SMTPUTF8");
  EXPECT_EQ(c.output(), "");
  EXPECT_TRUE(c.ready());
}

TEST(SmtpClientParameters, ControlCharactersInEnvelopeRefused) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloFull);
  ServerReply refusal;
  OutboundMessage m = message({"bob@example.net\r\nRCPT TO:<evil@example.net>"});
  EXPECT_FALSE(c.start_transaction(m, &refusal));
  EXPECT_EQ(refusal.code, 553);
  OutboundMessage m2 = message({"bob@example.net"});
  m2.envid = "a NOTIFY=NEVER";
  EXPECT_FALSE(c.start_transaction(m2, &refusal));
  EXPECT_EQ(refusal.code, 501);
  EXPECT_EQ(c.output(), "");
  EXPECT_TRUE(c.ready());
}

// ---- reply parsing ---------------------------------------------------------------------------

TEST(SmtpClientReplies, MultiLineAndEnhancedCodes) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net", "b@example.net", "c@example.net", "d@example.net"}),
                                  &refusal));
  drain(c);
  c.feed(
      "250 2.1.0 ok\r\n"
      "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
      "550-5.1.1 Please try double-checking the recipient's email address.\r\n"
      "550 5.1.1 https://support.example/answer\r\n"
      "450 mailbox unavailable\r\n"
      "550 4.1.1 class mismatch is text\r\n"
      "250 2.1.5\r\n"
      "354 go\r\n");
  drain(c);
  c.feed("250-2.0.0 first\r\n250 2.0.0 second\r\n");
  TransactionResult r = c.take_result();
  ASSERT_EQ(r.recipients.size(), 4u);
  EXPECT_EQ(r.recipients[0].code, 550);
  EXPECT_EQ(r.recipients[0].enhanced, "5.1.1");
  EXPECT_EQ(r.recipients[0].text,
            "The email account that you tried to reach does not exist.; Please try double-checking the "
            "recipient's email address.; https://support.example/answer");
  EXPECT_EQ(r.recipients[1].code, 450);
  EXPECT_EQ(r.recipients[1].enhanced, "");
  EXPECT_EQ(r.recipients[1].to_string(), "450 mailbox unavailable");
  EXPECT_EQ(r.recipients[2].enhanced, "");
  EXPECT_EQ(r.recipients[2].text, "4.1.1 class mismatch is text");
  EXPECT_EQ(r.recipients[3].to_string(), "250 2.0.0 first; second");
}

TEST(SmtpClientReplies, ReplyFormsAccepted) {
  // Bare LF, a code with no text, "CODE-" with no text, long subject/detail numbers.
  SmtpClient c("relay.example.org");
  c.feed("220 hi\n");
  EXPECT_EQ(drain(c), "EHLO relay.example.org\r\n");
  c.feed("250-\n250-PIPELINING\r\n250\n");
  ASSERT_TRUE(c.ready());
  EXPECT_TRUE(c.extensions().pipelining);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  drain(c);
  c.feed("250 2.1.0\r\n250 2.123.456 odd but valid\r\n354\r\n");
  drain(c);
  c.feed("250 2.0.0 ok\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"250 2.0.0 ok"}));
}

TEST(SmtpClientReplies, ToString) {
  EXPECT_EQ((ServerReply{550, "5.1.1", "user unknown"}).to_string(), "550 5.1.1 user unknown");
  EXPECT_EQ((ServerReply{250, "", "ok"}).to_string(), "250 ok");
  EXPECT_EQ((ServerReply{250, "2.0.0", ""}).to_string(), "250 2.0.0");
  EXPECT_EQ((ServerReply{0, "", "protocol error: x"}).to_string(), "protocol error: x");
}

void expect_protocol_error(std::string_view bytes, std::string_view what) {
  SmtpClient c("relay.example.org");
  c.feed(bytes);
  EXPECT_TRUE(c.failed()) << what;
  EXPECT_EQ(c.failure().code, 0) << what;
  EXPECT_NE(c.failure().text.find("protocol error"), std::string::npos) << c.failure().text;
}

TEST(SmtpClientReplies, MalformedRepliesFail) {
  expect_protocol_error("22O hello\r\n", "non-digit code");
  expect_protocol_error("abc\r\n", "letters");
  expect_protocol_error("22\r\n", "short line");
  expect_protocol_error("\r\n", "empty line");
  expect_protocol_error("220hello\r\n", "no separator");
  expect_protocol_error("220_hello\r\n", "bad separator");
  expect_protocol_error("620 hello\r\n", "code out of range");
  expect_protocol_error("120 hello\r\n", "code out of range");
  expect_protocol_error("220-first\r\n250 second\r\n", "mixed codes");
  expect_protocol_error("220 a\rb\r\n", "bare CR");
  expect_protocol_error(std::string_view("220 a\0b\r\n", 9), "NUL");
  expect_protocol_error("220 " + std::string(507, 'x') + "\r\n", "513-octet line");
  expect_protocol_error("220 " + std::string(600, 'x'), "overlong line without its end");
  std::string many;
  for (int i = 0; i < 100; ++i) many += "220-line\r\n";
  expect_protocol_error(many + "220 last\r\n", "101 lines");
}

TEST(SmtpClientReplies, LimitsAreInclusive) {
  SmtpClient c("relay.example.org");
  c.feed("220-" + std::string(506, 'x') + "\r\n");  // exactly 512 octets with CRLF
  std::string lines;
  for (int i = 0; i < 98; ++i) lines += "220-line\r\n";
  c.feed(lines + "220 " + std::string(506, 'y') + "\r\n");  // 100 lines in all
  EXPECT_FALSE(c.failed()) << c.failure().text;
  EXPECT_EQ(drain(c), "EHLO relay.example.org\r\n");
}

TEST(SmtpClientReplies, UnexpectedReplyWhileIdleFails) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  c.feed("250 who asked\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().code, 0);
  EXPECT_NE(c.failure().text.find("unexpected"), std::string::npos);
}

TEST(SmtpClientReplies, UnexpectedCodeClassFails) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  drain(c);
  c.feed("250 ok\r\n354 what\r\n");  // 354 to RCPT
  EXPECT_TRUE(c.failed());
  ASSERT_TRUE(c.transaction_done());
  TransactionResult r = c.take_result();
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].code, 0);  // no reply: a connection problem, retried later
  EXPECT_NE(r.recipients[0].text.find("protocol error"), std::string::npos);
}

TEST(SmtpClientReplies, ProtocolErrorMidTransactionAnswersEveryone) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net", "b@example.net"}), &refusal));
  drain(c);
  c.feed("250 ok\r\n550 5.1.1 no a\r\nnonsense\r\n");
  ASSERT_TRUE(c.transaction_done());
  TransactionResult r = c.take_result();
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.recipients[0].to_string(), "550 5.1.1 no a");
  EXPECT_EQ(r.recipients[1].code, 0);
  EXPECT_TRUE(c.failed());
}

// ---- fragmentation -----------------------------------------------------------------------------

// Transcript of a whole session (two transactions, refusals, multi-line replies), fed either
// in the server's natural segments or one byte at a time.
std::string run_session(bool bytewise, bool pipelining) {
  SmtpClient c("relay.example.org");
  std::string log;
  auto feed = [&](std::string_view s) {
    if (bytewise) {
      for (char ch : s) c.feed(std::string_view(&ch, 1));
    } else {
      c.feed(s);
    }
    log += "[out]" + drain(c) + "[phase]" + std::to_string(static_cast<int>(c.phase()));
  };
  auto result = [&] {
    log += "[done]" + std::to_string(c.transaction_done());
    for (const ServerReply& r : c.take_result().recipients) log += "[r]" + r.to_string() + "|" + r.enhanced;
  };
  ServerReply refusal;
  feed("220-mx.example.test ESMTP\r\n220 welcome\r\n");
  feed(pipelining ? "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250 DSN\r\n"
                  : "250-mx.example.test\r\n250-SIZE 100000\r\n250 DSN\r\n");
  OutboundMessage m = message({"a@example.net", "b@example.net"}, ".hidden\r\nbody\r\n..\r\nend");
  m.recipients[1].notify = kNotifyFailure | kNotifyDelay;
  if (!c.start_transaction(m, &refusal)) return "refused";
  log += "[start]" + drain(c);
  if (pipelining) {
    feed("250 2.1.0 ok\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n250 2.1.5 ok\r\n354 go\r\n");
  } else {
    feed("250 2.1.0 ok\r\n");
    feed("550-5.1.1 no such\r\n550 5.1.1 user\r\n");
    feed("250 2.1.5 ok\r\n");
    feed("354 go\r\n");
  }
  feed("250 2.0.0 queued\r\n");
  result();
  OutboundMessage m2 = message({"c@example.net"}, "two\r\n");
  if (!c.start_transaction(m2, &refusal)) return "refused";
  log += "[start]" + drain(c);
  if (pipelining) {
    feed("250 ok\r\n550 5.1.1 no c\r\n554 5.5.1 no valid recipients\r\n");
  } else {
    feed("250 ok\r\n");
    feed("550 5.1.1 no c\r\n");
  }
  result();
  if (!c.start_transaction(m2, &refusal)) return "refused";
  log += "[start]" + drain(c);
  if (pipelining) {
    feed("250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  } else {
    feed("250 reset\r\n");
    feed("250 ok\r\n");
    feed("250 ok\r\n");
    feed("354 go\r\n");
  }
  feed("421 4.3.2 going down\r\n");
  result();
  log += "[failed]" + std::to_string(c.failed()) + c.failure().to_string();
  return log;
}

TEST(SmtpClientFragmentation, ByteAtATimeGivesIdenticalResults) {
  for (bool pipelining : {true, false}) {
    const std::string whole = run_session(false, pipelining);
    const std::string bytes = run_session(true, pipelining);
    EXPECT_EQ(whole, bytes);
    EXPECT_NE(whole.find("[r]550 5.1.1 no such; user|5.1.1[r]250 2.0.0 queued|2.0.0"), std::string::npos) << whole;
    EXPECT_NE(whole.find("..hidden\r\nbody\r\n...\r\nend\r\n.\r\n"), std::string::npos) << whole;
    EXPECT_NE(whole.find("[r]421 4.3.2 going down|4.3.2[failed]1421 4.3.2 going down"), std::string::npos) << whole;
    EXPECT_NE(whole.find("RCPT TO:<b@example.net> NOTIFY=FAILURE,DELAY\r\n"), std::string::npos) << whole;
    EXPECT_NE(whole.find("RSET\r\n"), std::string::npos) << whole;
  }
}

TEST(SmtpClientFragmentation, SplitCrLf) {
  SmtpClient c("relay.example.org");
  c.feed("220 hi\r");
  EXPECT_EQ(c.output(), "");
  c.feed("\n");
  EXPECT_EQ(drain(c), "EHLO relay.example.org\r\n");
}

}  // namespace
}  // namespace correo
