// dsn_test.cc - the RFC 3464 DSN builder: message structure, human text, delivery-status
// fields and the returned original (RET=FULL/HDRS, size limits).
#include "relay/delivery/dsn.h"

#include <gtest/gtest.h>

#include "tests/unit/delivery/dsn_test_util.h"

namespace correo {
namespace {

using namespace dsn_test;

// ---------------------------------------------------------------------------------------
// Top-level headers and MIME structure.

TEST(Dsn, TopLevelHeaders) {
  const std::string dsn = build_dsn(base_input());
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  EXPECT_EQ(field(m.headers, "From"), "Mail Delivery System <MAILER-DAEMON@mx.example.org>");
  EXPECT_EQ(field(m.headers, "To"), "<alice@example.org>");
  EXPECT_EQ(field(m.headers, "Subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(field(m.headers, "Date"), kNowDate);
  EXPECT_EQ(field(m.headers, "Message-ID"), "<00000000000004D2.1700003600000000@mx.example.org>");
  EXPECT_EQ(field(m.headers, "Auto-Submitted"), "auto-replied");
  EXPECT_EQ(field(m.headers, "MIME-Version"), "1.0");
  EXPECT_EQ(field(m.headers, "Content-Type"),
            "multipart/report; report-type=delivery-status;\tboundary=\"" + std::string(kBoundary) + "\"");
  EXPECT_EQ(field(m.headers, "Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(dsn.compare(0, 6, "From: "), 0);
}

TEST(Dsn, BoundaryLinesAndPartTypes) {
  const std::string dsn = build_dsn(base_input());
  const Mime m = split_mime(dsn);
  EXPECT_EQ(m.boundary, kBoundary);
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_TRUE(m.closed);
  EXPECT_TRUE(contains(dsn, "\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n--" + std::string(kBoundary) + "\r\n"));
  EXPECT_EQ(field(m.parts[0].headers, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(field(m.parts[0].headers, "Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(field(m.parts[1].headers, "Content-Type"), "message/delivery-status");
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  // Exactly 4 boundary lines: 3 delimiters and the close delimiter.
  int boundary_lines = 0;
  for (const std::string& line : lines_of(dsn)) {
    if (line.compare(0, 2 + kBoundary.size(), "--" + std::string(kBoundary)) == 0) ++boundary_lines;
  }
  EXPECT_EQ(boundary_lines, 4);
}

TEST(Dsn, DeterministicForTheSameInput) {
  const DsnInput in = base_input();
  EXPECT_EQ(build_dsn(in), build_dsn(in));
}

TEST(Dsn, DatesAreRfc5322Utc) {
  DsnInput in = base_input();
  in.now_us = 0;
  EXPECT_EQ(field(split_mime(build_dsn(in)).headers, "Date"), "Thu, 01 Jan 1970 00:00:00 +0000");
  in.now_us = 951'782'400'000'000 + 3'723'999'999;  // 2000-02-29 01:02:03.999999
  EXPECT_EQ(field(split_mime(build_dsn(in)).headers, "Date"), "Tue, 29 Feb 2000 01:02:03 +0000");
  in.now_us = 4'102'444'799'000'000;  // 2099-12-31 23:59:59
  EXPECT_EQ(field(split_mime(build_dsn(in)).headers, "Date"), "Thu, 31 Dec 2099 23:59:59 +0000");
}

// ---------------------------------------------------------------------------------------
// Subject and human text per action.

TEST(Dsn, SubjectAndTextPerAction) {
  struct Case {
    std::vector<DsnRecipient> rcpts;
    const char* subject;
    const char* wording;
  };
  const Case cases[] = {
      {{failed_rcpt()}, "Undelivered Mail Returned to Sender", "could not\r\nbe delivered to one or more recipients"},
      {{delayed_rcpt()}, "Delayed Mail (still being retried)", "THIS IS A WARNING ONLY"},
      {{delivered_rcpt()}, "Successful Mail Delivery Report", "successfully delivered"},
      {{delivered_rcpt(), delayed_rcpt(), failed_rcpt()}, "Undelivered Mail Returned to Sender", "could not\r\nbe"},
      {{delivered_rcpt(), delayed_rcpt()}, "Delayed Mail (still being retried)", "THIS IS A WARNING ONLY"},
  };
  for (const Case& c : cases) {
    DsnInput in = base_input();
    in.recipients = c.rcpts;
    const std::string dsn = build_dsn(in);
    expect_wire_format(dsn);
    const Mime m = split_mime(dsn);
    EXPECT_EQ(field(m.headers, "Subject"), c.subject);
    ASSERT_EQ(m.parts.size(), 3u);
    const std::string& human = m.parts[0].body;
    EXPECT_EQ(human.rfind("This is the mail system at host mx.example.org.\r\n", 0), 0u);
    EXPECT_TRUE(contains(human, c.wording)) << human;
  }
}

TEST(Dsn, RelayedAction) {
  DsnInput in = base_input();
  DsnRecipient r = delivered_rcpt();
  r.action = DsnAction::kRelayed;
  in.recipients = {r};
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  EXPECT_EQ(field(m.headers, "Subject"), "Successful Mail Delivery Report");
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_TRUE(contains(m.parts[1].body, "Action: relayed\r\n")) << m.parts[1].body;
  EXPECT_TRUE(contains(m.parts[0].body, "relayed to host mx.example.com, which does not")) << m.parts[0].body;
}

TEST(Dsn, HumanTextNamesEachRecipientWithItsReason) {
  DsnInput in = base_input();
  in.recipients = {failed_rcpt(), delayed_rcpt(), delivered_rcpt()};
  const std::string human = split_mime(build_dsn(in)).parts.at(0).body;
  // Wrapped at 76 columns, continuation lines indented.
  EXPECT_TRUE(contains(human, "\r\n<bob@example.net>: host mx.example.net said: 550 5.1.1 <bob@example.net>:\r\n"
                              "    unknown user\r\n"))
      << human;
  for (const std::string& line : lines_of(human)) EXPECT_LE(line.size(), 76u) << line;
  const std::string text = unwrap(human);
  EXPECT_TRUE(contains(text, "<carol@example.com>: delivery temporarily suspended: host mx.example.com said: "
                             "451 4.4.1 try again later (will be retried until Sun, 19 Nov 2023 22:13:20 +0000)\r\n"))
      << text;
  EXPECT_TRUE(contains(text, "<dave@example.com>: delivered to host mx.example.com: 250 2.0.0 Ok: queued as 4F2A\r\n"))
      << text;
  // Groups in the order failed, delayed, delivered, each with a heading.
  const size_t f = human.find("Delivery to these recipients failed:");
  const size_t d = human.find("Delivery to these recipients is delayed");
  const size_t s = human.find("Your message was delivered to these recipients:");
  EXPECT_TRUE(f != std::string::npos && d != std::string::npos && s != std::string::npos);
  EXPECT_LT(f, d);
  EXPECT_LT(d, s);
  EXPECT_LT(human.find("<bob@"), human.find("<carol@"));
  EXPECT_LT(human.find("<carol@"), human.find("<dave@"));
}

TEST(Dsn, HumanTextWithoutDiagnostic) {
  DsnInput in = base_input();
  in.recipients[0].diagnostic.clear();
  in.recipients[0].remote_mta.clear();
  const std::string human = split_mime(build_dsn(in)).parts.at(0).body;
  EXPECT_TRUE(contains(unwrap(human), "<bob@example.net>: delivery failed (status 5.1.1)\r\n")) << human;
}

// ---------------------------------------------------------------------------------------
// The delivery-status part.

TEST(Dsn, DeliveryStatusFieldsExactly) {
  const Mime m = split_mime(build_dsn(base_input()));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(m.parts[1].body,
            "Reporting-MTA: dns; mx.example.org\r\n"
            "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "\r\n"
            "Final-Recipient: rfc822; bob@example.net\r\n"
            "Action: failed\r\n"
            "Status: 5.1.1\r\n"
            "Remote-MTA: dns; mx.example.net\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: unknown user\r\n"
            "Last-Attempt-Date: Tue, 14 Nov 2023 23:13:20 +0000\r\n");
  EXPECT_EQ(field(m.parts[1].headers, "Content-Transfer-Encoding"), "7bit");
}

TEST(Dsn, MultipleRecipientsWithMixedActions) {
  DsnInput in = base_input();
  in.recipients = {failed_rcpt(), delayed_rcpt(), delivered_rcpt()};
  const Mime m = split_mime(build_dsn(in));
  const std::vector<std::string> g = blocks(m.parts.at(1).body);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(field(g[1], "Final-Recipient"), "rfc822; bob@example.net");
  EXPECT_EQ(field(g[1], "Action"), "failed");
  EXPECT_EQ(field(g[1], "Will-Retry-Until"), std::nullopt);
  EXPECT_EQ(g[2],
            "Final-Recipient: rfc822; carol@example.com\r\n"
            "Action: delayed\r\n"
            "Status: 4.4.1\r\n"
            "Remote-MTA: dns; mx.example.com\r\n"
            "Diagnostic-Code: smtp; 451 4.4.1 try again later\r\n"
            "Last-Attempt-Date: Tue, 14 Nov 2023 23:13:20 +0000\r\n"
            "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\r\n");
  EXPECT_EQ(g[3],
            "Final-Recipient: rfc822; dave@example.com\r\n"
            "Action: delivered\r\n"
            "Status: 2.0.0\r\n"
            "Remote-MTA: dns; mx.example.com\r\n"
            "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 4F2A\r\n");
}

TEST(Dsn, WillRetryUntilOnlyForDelayed) {
  DsnInput in = base_input();
  in.recipients[0].retry_until_us = kNow + 1'000'000;  // set, but the recipient failed
  EXPECT_FALSE(contains(build_dsn(in), "Will-Retry-Until"));
  in.recipients = {delayed_rcpt()};
  in.recipients[0].retry_until_us = 0;  // delayed, but not set
  EXPECT_FALSE(contains(build_dsn(in), "Will-Retry-Until"));
}

TEST(Dsn, OptionalRecipientFieldsOmittedWhenUnknown) {
  DsnInput in = base_input();
  in.recipients[0].remote_mta.clear();
  in.recipients[0].diagnostic.clear();
  in.recipients[0].last_attempt_us = 0;
  const std::string status = split_mime(build_dsn(in)).parts.at(1).body;
  EXPECT_FALSE(contains(status, "Remote-MTA"));
  EXPECT_FALSE(contains(status, "Diagnostic-Code"));
  EXPECT_FALSE(contains(status, "Last-Attempt-Date"));
  EXPECT_TRUE(contains(status, "\r\nFinal-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
}

TEST(Dsn, EnvidPresentAndAbsent) {
  DsnInput in = base_input();
  EXPECT_FALSE(contains(build_dsn(in), "Original-Envelope-Id"));
  in.envid = "QQ314159";
  std::string status = split_mime(build_dsn(in)).parts.at(1).body;
  EXPECT_EQ(status.rfind("Reporting-MTA: dns; mx.example.org\r\nOriginal-Envelope-Id: QQ314159\r\nArrival-Date: ", 0),
            0u)
      << status;
  in.envid = "QQ+2B314159";  // RFC 3461 §6.3: decoded from xtext
  EXPECT_EQ(field(blocks(split_mime(build_dsn(in)).parts.at(1).body).at(0), "Original-Envelope-Id"), "QQ+314159");
  in.envid = "QQ+0D+0AAction:+20delivered";  // would decode to a line break: kept encoded
  status = split_mime(build_dsn(in)).parts.at(1).body;
  EXPECT_EQ(field(blocks(status).at(0), "Original-Envelope-Id"), "QQ+0D+0AAction:+20delivered");
}

TEST(Dsn, OrcptPresentAndAbsent) {
  DsnInput in = base_input();
  EXPECT_FALSE(contains(build_dsn(in), "Original-Recipient"));
  in.recipients[0].original_recipient = "rfc822;bob+2Bnews@example.net";
  const Mime m = split_mime(build_dsn(in));
  // The stored form, before Final-Recipient (RFC 3464 §2.3 order).
  EXPECT_TRUE(contains(m.parts.at(1).body,
                       "\r\n\r\nOriginal-Recipient: rfc822;bob+2Bnews@example.net\r\nFinal-Recipient: rfc822; "
                       "bob@example.net\r\n"));
  // Decoded for people.
  EXPECT_TRUE(contains(unwrap(m.parts.at(0).body), "<bob@example.net> (original recipient <bob+news@example.net>):"));
  // Not repeated when it is the same address.
  in.recipients[0].original_recipient = "rfc822;bob@example.net";
  EXPECT_FALSE(contains(split_mime(build_dsn(in)).parts.at(0).body, "original recipient"));
}

TEST(Dsn, InvalidStatusReplacedByTheActionDefault) {
  DsnInput in = base_input();
  in.recipients = {failed_rcpt(), delayed_rcpt(), delivered_rcpt(), failed_rcpt()};
  in.recipients[0].status = "";
  in.recipients[1].status = "4.4";
  in.recipients[2].status = "2.0.0 ok";
  in.recipients[3].status = "5.1234.1";
  const std::vector<std::string> g = blocks(split_mime(build_dsn(in)).parts.at(1).body);
  ASSERT_EQ(g.size(), 5u);
  EXPECT_EQ(field(g[1], "Status"), "5.0.0");
  EXPECT_EQ(field(g[2], "Status"), "4.0.0");
  EXPECT_EQ(field(g[3], "Status"), "2.0.0");
  EXPECT_EQ(field(g[4], "Status"), "5.0.0");
}

TEST(Dsn, NonReplyDiagnosticGetsPrivateType) {
  DsnInput in = base_input();
  in.recipients[0].diagnostic = "connect to mx.example.net[192.0.2.9]:25: Connection refused";
  EXPECT_EQ(field(blocks(split_mime(build_dsn(in)).parts.at(1).body).at(1), "Diagnostic-Code"),
            "X-Correo; connect to mx.example.net[192.0.2.9]:25: Connection refused");
}

// ---------------------------------------------------------------------------------------
// RET variants.

TEST(Dsn, RetHdrsReturnsTheHeaderSectionOnly) {
  DsnInput in = base_input();
  in.ret = DsnRet::kHdrs;
  const Mime m = split_mime(build_dsn(in));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(m.parts[2].body, kHeaderSection);  // our Received: first, no body
}

TEST(Dsn, RetUnspecifiedReturnsTheHeaderSectionOnly) {
  DsnInput in = base_input();
  in.ret = DsnRet::kUnspecified;
  const Mime m = split_mime(build_dsn(in));
  EXPECT_EQ(field(m.parts.at(2).headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(m.parts.at(2).body, kHeaderSection);
}

TEST(Dsn, RetFullReturnsTheWholeMessage) {
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "message/rfc822");
  EXPECT_EQ(m.parts[2].body, kOriginal);  // byte for byte
  EXPECT_FALSE(contains(m.parts[0].body, "could not be returned in full"));
}

TEST(Dsn, RetFullWithoutFinalCrlf) {
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  const std::string original = std::string(kOriginal.substr(0, kOriginal.size() - 2));  // "...Alice"
  in.original = original;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  EXPECT_EQ(split_mime(dsn).parts.at(2).body, original);
}

TEST(Dsn, RetFullOverTheLimitFallsBackToHeaders) {
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  in.max_returned_bytes = kOriginal.size() - 1;
  const Mime m = split_mime(build_dsn(in));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(m.parts[2].body, kHeaderSection);
  EXPECT_TRUE(contains(m.parts[0].body, "could not be returned in full")) << m.parts[0].body;
  in.max_returned_bytes = kOriginal.size();  // exactly at the limit: whole
  EXPECT_EQ(field(split_mime(build_dsn(in)).parts.at(2).headers, "Content-Type"), "message/rfc822");
}

TEST(Dsn, HeaderSectionOverTheLimitIsCutAtAFieldBoundary) {
  DsnInput in = base_input();
  in.ret = DsnRet::kHdrs;
  in.max_returned_bytes = 150;  // inside the folded Received: field
  const std::string body = split_mime(build_dsn(in)).parts.at(2).body;
  EXPECT_LE(body.size(), 150u);
  EXPECT_EQ(kHeaderSection.substr(0, body.size()), body);
  ASSERT_LT(body.size(), kHeaderSection.size());
  const char next = kHeaderSection[body.size()];
  EXPECT_TRUE(next != ' ' && next != '\t') << "cut inside a folded field";
}

TEST(Dsn, RetFullWithLinesUnfitForReturnFallsBackToHeaders) {
  const std::string long_line = std::string(kHeaderSection) + "\r\n" + std::string(1200, 'a') + "\r\n";
  const std::string bare_lf = std::string(kHeaderSection) + "\r\nline one\nline two\r\n";
  for (const std::string& original : {long_line, bare_lf}) {
    DsnInput in = base_input();
    in.ret = DsnRet::kFull;
    in.original = original;
    const std::string dsn = build_dsn(in);
    expect_wire_format(dsn);
    const Mime m = split_mime(dsn);
    EXPECT_EQ(field(m.parts.at(2).headers, "Content-Type"), "text/rfc822-headers");
    EXPECT_EQ(m.parts.at(2).body, kHeaderSection);
  }
}

TEST(Dsn, LongOriginalHeaderLineIsFoldedInTheHeadersPart) {
  const std::string original = "Received: by mx.example.org\r\nX-Long: " + std::string(2500, 'h') + "\r\n\r\nbody\r\n";
  DsnInput in = base_input();
  in.original = original;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const std::string body = split_mime(dsn).parts.at(2).body;
  std::string joined;
  for (const std::string& line : lines_of(body)) joined += line[0] == ' ' ? line.substr(1) : "\n" + line;
  EXPECT_EQ(joined, "\nReceived: by mx.example.org\nX-Long: " + std::string(2500, 'h'));
}

TEST(Dsn, EmptyOriginal) {
  DsnInput in = base_input();
  in.original = "";
  for (DsnRet ret : {DsnRet::kFull, DsnRet::kHdrs}) {
    in.ret = ret;
    const std::string dsn = build_dsn(in);
    expect_wire_format(dsn);
    const Mime m = split_mime(dsn);
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_TRUE(m.closed);
    EXPECT_EQ(m.parts[2].body, "");
  }
}

}  // namespace
}  // namespace correo
