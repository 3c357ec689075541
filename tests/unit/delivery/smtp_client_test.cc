// smtp_client_test.cc - the outbound SMTP client driven by scripted server replies:
// connection setup (greeting, EHLO/HELO) and transactions (pipelined or not, partial
// refusals, 421s, several transactions per connection).
//
// Thread rules: single-threaded. Every test feeds server bytes and checks the exact bytes
// the client wants to send, the phase, and the per-recipient results.
#include "relay/delivery/smtp_client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/delivery/smtp_client_test_util.h"

namespace correo {
namespace {

using namespace client_test;

// ---- connection setup ------------------------------------------------------------------------

TEST(SmtpClientGreeting, GreetingSendsEhlo) {
  SmtpClient c("relay.example.org");
  EXPECT_EQ(c.phase(), ClientPhase::kGreeting);
  EXPECT_EQ(c.output(), "");
  c.feed(kGreeting);
  EXPECT_EQ(drain(c), "EHLO relay.example.org\r\n");
  EXPECT_EQ(c.phase(), ClientPhase::kEhlo);
  EXPECT_FALSE(c.ready());
}

TEST(SmtpClientGreeting, MultiLineGreeting) {
  SmtpClient c("relay.example.org");
  c.feed("220-mx.example.test ESMTP\r\n220-second line\r\n");
  EXPECT_EQ(c.output(), "");
  c.feed("220 last\r\n");
  EXPECT_EQ(drain(c), "EHLO relay.example.org\r\n");
}

TEST(SmtpClientGreeting, PermanentGreetingFailsAndQuits) {
  SmtpClient c("relay.example.org");
  c.feed("554 5.7.1 mx.example.test no service for you\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().code, 554);
  EXPECT_EQ(c.failure().enhanced, "5.7.1");
  EXPECT_EQ(c.failure().to_string(), "554 5.7.1 mx.example.test no service for you");
  EXPECT_EQ(drain(c), "QUIT\r\n");
  c.feed("221 bye\r\n");  // ignored once failed
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.output(), "");
}

TEST(SmtpClientGreeting, TemporaryGreetingFails) {
  SmtpClient c("relay.example.org");
  c.feed("421 4.3.2 busy, try later\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().to_string(), "421 4.3.2 busy, try later");
  EXPECT_EQ(c.output(), "");  // the server is closing: nothing more to say

  SmtpClient d("relay.example.org");
  d.feed("450 not now\r\n");
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.failure().code, 450);
  EXPECT_EQ(d.failure().enhanced, "");
  EXPECT_EQ(d.failure().text, "not now");
}

TEST(SmtpClientEhlo, KeywordsParsed) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloFull);
  const PeerExtensions& e = c.extensions();
  EXPECT_TRUE(e.pipelining);
  EXPECT_TRUE(e.eightbitmime);
  EXPECT_TRUE(e.smtputf8);
  EXPECT_TRUE(e.dsn);
  EXPECT_TRUE(e.chunking);
  EXPECT_TRUE(e.enhancedstatuscodes);
  EXPECT_FALSE(e.starttls);
  EXPECT_EQ(e.size, 1000000u);
  EXPECT_EQ(c.phase(), ClientPhase::kReady);
}

TEST(SmtpClientEhlo, KeywordsAreCaseInsensitiveAndUnknownOnesIgnored) {
  SmtpClient c("relay.example.org");
  c.feed(kGreeting);
  drain(c);
  c.feed(
      "250-mx.example.test\r\n250-pipelining\r\n250-Size 2048\r\n250-8bitMIME\r\n250-StartTLS\r\n"
      "250-AUTH PLAIN LOGIN\r\n250-X-UNKNOWN\r\n250-SMTPUTF8X\r\n250 enhancedstatuscodes\r\n");
  ASSERT_TRUE(c.ready());
  const PeerExtensions& e = c.extensions();
  EXPECT_TRUE(e.pipelining);
  EXPECT_EQ(e.size, 2048u);
  EXPECT_TRUE(e.eightbitmime);
  EXPECT_TRUE(e.starttls);
  EXPECT_TRUE(e.enhancedstatuscodes);
  EXPECT_FALSE(e.smtputf8);  // "SMTPUTF8X" is another keyword
  EXPECT_FALSE(e.dsn);
  EXPECT_FALSE(e.chunking);
}

TEST(SmtpClientEhlo, SingleLineEhloHasNoExtensions) {
  SmtpClient c("relay.example.org");
  connect(c, "250 mx.example.test PIPELINING\r\n");  // the first line is the domain only
  EXPECT_FALSE(c.extensions().pipelining);
}

TEST(SmtpClientEhlo, SizeWithoutLimitStillGetsSizeParameter) {
  SmtpClient c("relay.example.org");
  connect(c, "250-mx.example.test\r\n250 SIZE\r\n");
  EXPECT_EQ(c.extensions().size, 0u);
  OutboundMessage m = message({"bob@example.net"}, "0123456789");
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org> SIZE=10\r\n");
}

TEST(SmtpClientEhlo, HeloFallbackOnPermanentEhloFailure) {
  for (const char* reply : {"500 5.5.1 unrecognized\r\n", "501 syntax\r\n", "502 5.5.2 not implemented\r\n",
                            "504 nope\r\n", "550 no\r\n"}) {
    SmtpClient c("relay.example.org");
    c.feed(kGreeting);
    EXPECT_EQ(drain(c), "EHLO relay.example.org\r\n");
    c.feed(reply);
    EXPECT_EQ(drain(c), "HELO relay.example.org\r\n") << reply;
    EXPECT_EQ(c.phase(), ClientPhase::kHelo);
    c.feed("250 mx.example.test\r\n");
    ASSERT_TRUE(c.ready()) << reply;
    EXPECT_FALSE(c.extensions().pipelining);
    EXPECT_EQ(c.extensions().size, 0u);

    // Plain SMTP: no parameters at all, one command per reply.
    OutboundMessage m = message({"bob@example.net"});
    m.body_type = BodyType::k8BitMime;
    m.ret = DsnRet::kFull;
    m.envid = "abc";
    m.recipients[0].notify = kNotifyFailure;
    ServerReply refusal;
    ASSERT_TRUE(c.start_transaction(m, &refusal));
    EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\n");
    c.feed("250 ok\r\n");
    EXPECT_EQ(drain(c), "RCPT TO:<bob@example.net>\r\n");
  }
}

TEST(SmtpClientEhlo, TemporaryEhloFailureFails) {
  SmtpClient c("relay.example.org");
  c.feed(kGreeting);
  drain(c);
  c.feed("451 4.3.0 try again\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().to_string(), "451 4.3.0 try again");
}

TEST(SmtpClientEhlo, HeloRefusedFails) {
  SmtpClient c("relay.example.org");
  c.feed(kGreeting);
  drain(c);
  c.feed("502 no EHLO\r\n");
  EXPECT_EQ(drain(c), "HELO relay.example.org\r\n");
  c.feed("550 5.7.1 go away\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().to_string(), "550 5.7.1 go away");
}

// ---- transactions ----------------------------------------------------------------------------

TEST(SmtpClientTransaction, PipelinedGroupIsOneWrite) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  OutboundMessage m = message({"bob@example.net", "carol@example.net"});
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(c.phase(), ClientPhase::kMail);
  EXPECT_EQ(drain(c),
            "MAIL FROM:<alice@example.org>\r\n"
            "RCPT TO:<bob@example.net>\r\n"
            "RCPT TO:<carol@example.net>\r\n"
            "DATA\r\n");
  c.feed("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n");
  EXPECT_EQ(c.output(), "");
  EXPECT_EQ(c.phase(), ClientPhase::kData);
  c.feed("354 go ahead\r\n");
  EXPECT_EQ(drain(c), "Subject: t\r\n\r\nhi\r\n.\r\n");
  EXPECT_FALSE(c.transaction_done());
  c.feed("250 2.0.0 queued as 1234\r\n");
  ASSERT_TRUE(c.transaction_done());
  EXPECT_FALSE(c.ready());
  TransactionResult r = c.take_result();
  EXPECT_EQ(strings(r), (Strings{"250 2.0.0 queued as 1234", "250 2.0.0 queued as 1234"}));
  EXPECT_TRUE(c.ready());
  EXPECT_FALSE(c.transaction_done());
  c.quit();
  EXPECT_EQ(drain(c), "QUIT\r\n");
  EXPECT_EQ(c.phase(), ClientPhase::kQuit);
  c.feed("221 2.0.0 bye\r\n");
  EXPECT_TRUE(c.closed());
}

TEST(SmtpClientTransaction, AllPipelinedRepliesInOneSegment) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  OutboundMessage m = message({"bob@example.net"});
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  drain(c);
  c.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(drain(c), "Subject: t\r\n\r\nhi\r\n.\r\n");
  c.feed("250 done\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"250 done"}));
}

TEST(SmtpClientTransaction, NonPipelinedStepByStep) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloNoPipelining);
  OutboundMessage m = message({"bob@example.net", "carol@example.net"});
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\n");
  c.feed("250 2.1.0 ok\r\n");
  EXPECT_EQ(drain(c), "RCPT TO:<bob@example.net>\r\n");
  EXPECT_EQ(c.phase(), ClientPhase::kRcpt);
  c.feed("250 2.1.5 ok\r\n");
  EXPECT_EQ(drain(c), "RCPT TO:<carol@example.net>\r\n");
  c.feed("250 2.1.5 ok\r\n");
  EXPECT_EQ(drain(c), "DATA\r\n");
  EXPECT_EQ(c.phase(), ClientPhase::kData);
  c.feed("354 go ahead\r\n");
  EXPECT_EQ(drain(c), "Subject: t\r\n\r\nhi\r\n.\r\n");
  EXPECT_EQ(c.phase(), ClientPhase::kDot);
  c.feed("250 2.0.0 ok\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"250 2.0.0 ok", "250 2.0.0 ok"}));
  EXPECT_TRUE(c.ready());
}

TEST(SmtpClientTransaction, NullSender) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloNoPipelining);
  OutboundMessage m = message({"bob@example.net"});
  m.sender = "";
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<>\r\n");
}

TEST(SmtpClientTransaction, OneOfTwoRecipientsRefusedPipelined) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  OutboundMessage m = message({"nobody@example.net", "carol@example.net"});
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  drain(c);
  c.feed("250 2.1.0 ok\r\n550 5.1.1 <nobody@example.net>: user unknown\r\n250 2.1.5 ok\r\n354 go\r\n");
  EXPECT_EQ(drain(c), "Subject: t\r\n\r\nhi\r\n.\r\n");
  c.feed("250 2.0.0 queued\r\n");
  TransactionResult r = c.take_result();
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.recipients[0].code, 550);
  EXPECT_EQ(r.recipients[0].enhanced, "5.1.1");
  EXPECT_EQ(r.recipients[0].text, "<nobody@example.net>: user unknown");
  EXPECT_EQ(r.recipients[1].to_string(), "250 2.0.0 queued");
}

TEST(SmtpClientTransaction, OneOfTwoRecipientsRefusedNonPipelined) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloNoPipelining);
  OutboundMessage m = message({"bob@example.net", "nobody@example.net"});
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\n");
  c.feed("250 ok\r\n");
  EXPECT_EQ(drain(c), "RCPT TO:<bob@example.net>\r\n");
  c.feed("250 ok\r\n");
  EXPECT_EQ(drain(c), "RCPT TO:<nobody@example.net>\r\n");
  c.feed("450 4.2.1 mailbox busy\r\n");
  EXPECT_EQ(drain(c), "DATA\r\n");
  c.feed("354 go\r\n");
  drain(c);
  c.feed("554 5.7.1 rejected as spam\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"554 5.7.1 rejected as spam", "450 4.2.1 mailbox busy"}));
}

TEST(SmtpClientTransaction, AllRecipientsRefusedDataRefused) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  OutboundMessage m = message({"a@example.net", "b@example.net"});
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  drain(c);
  c.feed("250 ok\r\n550 5.1.1 no a\r\n451 4.3.0 later b\r\n554 5.5.1 no valid recipients\r\n");
  ASSERT_TRUE(c.transaction_done());
  EXPECT_EQ(c.output(), "");  // no body
  EXPECT_EQ(strings(c.take_result()), (Strings{"550 5.1.1 no a", "451 4.3.0 later b"}));
  EXPECT_TRUE(c.ready());

  // MAIL was accepted and the transaction never concluded: RSET goes first, in the group.
  OutboundMessage m2 = message({"c@example.net"});
  ASSERT_TRUE(c.start_transaction(m2, &refusal));
  EXPECT_EQ(drain(c), "RSET\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
  c.feed("250 flushed\r\n250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(drain(c), "Subject: t\r\n\r\nhi\r\n.\r\n");
  c.feed("250 queued\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"250 queued"}));
}

TEST(SmtpClientTransaction, AllRecipientsRefusedDataAcceptedSendsEmptyMessage) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  OutboundMessage m = message({"a@example.net", "b@example.net"});
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(m, &refusal));
  drain(c);
  c.feed("250 ok\r\n550 5.1.1 no a\r\n550 5.1.1 no b\r\n354 go ahead anyway\r\n");
  EXPECT_EQ(drain(c), ".\r\n");  // RFC 2920 §3.1: an empty message, never the body
  EXPECT_FALSE(c.transaction_done());
  c.feed("554 5.5.1 no valid recipients\r\n");
  ASSERT_TRUE(c.transaction_done());
  EXPECT_EQ(strings(c.take_result()), (Strings{"550 5.1.1 no a", "550 5.1.1 no b"}));
  EXPECT_TRUE(c.ready());

  // The "." concluded the transaction: no RSET needed.
  ASSERT_TRUE(c.start_transaction(message({"c@example.net"}), &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
}

TEST(SmtpClientTransaction, AllRecipientsRefusedNonPipelinedSendsNoData) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloNoPipelining);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\n");
  c.feed("250 ok\r\n");
  EXPECT_EQ(drain(c), "RCPT TO:<a@example.net>\r\n");
  c.feed("550 5.1.1 unknown\r\n");
  EXPECT_EQ(c.output(), "");
  ASSERT_TRUE(c.transaction_done());
  EXPECT_EQ(strings(c.take_result()), (Strings{"550 5.1.1 unknown"}));

  // The open transaction is reset before the next MAIL, waiting for RSET's reply.
  ASSERT_TRUE(c.start_transaction(message({"b@example.net"}), &refusal));
  EXPECT_EQ(drain(c), "RSET\r\n");
  c.feed("250 2.0.0 ok\r\n");
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\n");
  c.feed("250 ok\r\n");
  EXPECT_EQ(drain(c), "RCPT TO:<b@example.net>\r\n");
}

TEST(SmtpClientTransaction, MailRefusedPipelined) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net", "b@example.net"}), &refusal));
  drain(c);
  c.feed("553 5.1.8 sender domain does not exist\r\n503 5.5.1 need MAIL\r\n");
  EXPECT_FALSE(c.transaction_done());  // the other replies are still due
  c.feed("503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
  ASSERT_TRUE(c.transaction_done());
  EXPECT_EQ(c.output(), "");
  EXPECT_EQ(strings(c.take_result()),
            (Strings{"553 5.1.8 sender domain does not exist", "553 5.1.8 sender domain does not exist"}));
  EXPECT_TRUE(c.ready());
  // No transaction was opened: no RSET.
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n");
}

TEST(SmtpClientTransaction, MailRefusedPipelinedButDataAccepted) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  drain(c);
  c.feed("451 4.3.0 temporary\r\n503 need MAIL\r\n354 go\r\n");
  EXPECT_EQ(drain(c), ".\r\n");
  c.feed("503 huh\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"451 4.3.0 temporary"}));
}

TEST(SmtpClientTransaction, MailRefusedNonPipelined) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloNoPipelining);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net", "b@example.net"}), &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\n");
  c.feed("550 5.7.1 sender rejected\r\n");
  EXPECT_EQ(c.output(), "");
  ASSERT_TRUE(c.transaction_done());
  EXPECT_EQ(strings(c.take_result()), (Strings{"550 5.7.1 sender rejected", "550 5.7.1 sender rejected"}));
  EXPECT_TRUE(c.ready());
}

TEST(SmtpClientTransaction, DataRefusedGoesToAcceptedRecipients) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net", "b@example.net"}), &refusal));
  drain(c);
  c.feed("250 ok\r\n250 ok\r\n550 5.1.1 no b\r\n451 4.7.1 greylisted\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"451 4.7.1 greylisted", "550 5.1.1 no b"}));
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  EXPECT_EQ(drain(c).substr(0, 6), "RSET\r\n");
}

TEST(SmtpClientTransaction, ServiceClosingMidTransaction) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net", "b@example.net", "c@example.net"}), &refusal));
  drain(c);
  c.feed("250 ok\r\n250 ok\r\n550 5.1.1 no b\r\n421 4.3.2 shutting down\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().to_string(), "421 4.3.2 shutting down");
  ASSERT_TRUE(c.transaction_done());
  // a was accepted but never got a final reply; c was never answered.
  EXPECT_EQ(strings(c.take_result()), (Strings{"421 4.3.2 shutting down", "550 5.1.1 no b", "421 4.3.2 shutting down"}));
  EXPECT_TRUE(c.failed());
  EXPECT_FALSE(c.ready());
  ServerReply r2;
  EXPECT_FALSE(c.start_transaction(message({"x@example.net"}), &r2));
  c.feed("250 whatever\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.output(), "");
}

TEST(SmtpClientTransaction, ServiceClosingAfterData) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloNoPipelining);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  c.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n");
  c.feed("421 4.4.2 timeout\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(strings(c.take_result()), (Strings{"421 4.4.2 timeout"}));
  EXPECT_TRUE(c.failed());
}

TEST(SmtpClientTransaction, ServiceClosingOnMail) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net", "b@example.net"}), &refusal));
  drain(c);
  c.feed("421 4.3.2 bye\r\n");  // nothing else will come
  ASSERT_TRUE(c.transaction_done());
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(strings(c.take_result()), (Strings{"421 4.3.2 bye", "421 4.3.2 bye"}));
}

TEST(SmtpClientTransaction, UnsolicitedServiceClosingWhileIdle) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  c.feed("421 4.4.2 idle timeout\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().code, 421);
}

TEST(SmtpClientTransaction, TwoTransactionsOnOneConnection) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}, "first\r\n"), &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n");
  c.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(drain(c), "first\r\n.\r\n");
  c.feed("250 2.0.0 id1\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"250 2.0.0 id1"}));

  OutboundMessage m2 = message({"b@example.net", "c@example.net"}, "second\r\n");
  m2.sender = "";
  ASSERT_TRUE(c.start_transaction(m2, &refusal));
  EXPECT_EQ(drain(c), "MAIL FROM:<>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n");
  c.feed("250 ok\r\n550 no b\r\n250 ok\r\n354 go\r\n");
  EXPECT_EQ(drain(c), "second\r\n.\r\n");
  c.feed("250 2.0.0 id2\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"550 no b", "250 2.0.0 id2"}));
  EXPECT_TRUE(c.ready());
  c.quit();
  EXPECT_EQ(drain(c), "QUIT\r\n");
  c.feed("221 2.0.0 bye\r\n");
  EXPECT_TRUE(c.closed());
}

TEST(SmtpClientTransaction, StartRefusedWhenNotReady) {
  SmtpClient c("relay.example.org");
  ServerReply refusal;
  EXPECT_FALSE(c.start_transaction(message({"a@example.net"}), &refusal));
  EXPECT_EQ(refusal.code, 0);
  EXPECT_EQ(c.output(), "");
  connect(c, kEhloPipeliningOnly);
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  drain(c);
  EXPECT_FALSE(c.start_transaction(message({"b@example.net"}), &refusal));  // one at a time
  EXPECT_EQ(c.output(), "");
}

TEST(SmtpClientTransaction, UnexpectedReplyAfterTransactionFails) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  c.feed("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n250 extra\r\n");
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.failure().code, 0);
  // The transaction itself completed before the stray reply.
  EXPECT_EQ(strings(c.take_result()), (Strings{"250 queued"}));
}

TEST(SmtpClientTransaction, QuitBeforeResultsTakenKeepsResults) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  c.feed("250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n");
  drain(c);
  c.quit();
  EXPECT_EQ(drain(c), "QUIT\r\n");
  EXPECT_EQ(strings(c.take_result()), (Strings{"250 queued"}));
  EXPECT_EQ(c.phase(), ClientPhase::kQuit);
  c.feed("221 bye\r\n");
  EXPECT_TRUE(c.closed());
}

TEST(SmtpClientTransaction, QuitMidTransactionAbandons) {
  SmtpClient c("relay.example.org");
  connect(c, kEhloPipeliningOnly);
  ServerReply refusal;
  ASSERT_TRUE(c.start_transaction(message({"a@example.net"}), &refusal));
  drain(c);
  c.feed("250 ok\r\n");
  c.quit();
  EXPECT_EQ(c.output(), "");  // a QUIT now would be out of order
  EXPECT_TRUE(c.closed());
  TransactionResult r = c.take_result();
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].code, 0);
}

}  // namespace
}  // namespace correo
