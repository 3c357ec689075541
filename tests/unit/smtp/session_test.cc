// session_test.cc - whole SMTP dialogues against the state machine, no sockets.
#include "relay/smtp/session.h"

#include <gtest/gtest.h>

#include <sstream>

#include "queue/queue_id.h"
#include "tests/unit/smtp/session_test_util.h"

namespace correo {
namespace {

TEST_F(SessionTest, EhloAdvertisesExtensions) {
  std::string r = say("EHLO client.test\r\n");
  for (const char* ext : {"PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING",
                          "DELIVERBY", "DSN"}) {
    EXPECT_NE(r.find(ext), std::string::npos) << ext;
  }
  EXPECT_EQ(r.rfind("250 DSN\r\n"), r.size() - 9);
}

TEST_F(SessionTest, PipelinedTransactionIsQueuedOnlyAfterCommit) {
  std::string r = say("EHLO c.test\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"250", "250", "250", "354"}));
  r = say("Subject: hi\r\n\r\nbody\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(r, "");  // no 250 before the spool answers, and NOOP waits its turn
  ASSERT_EQ(host_.commits.size(), 1u);
  const CommitRequest& c = host_.commits[0];
  EXPECT_EQ(c.envelope.sender, "s@a.test");
  ASSERT_EQ(c.envelope.recipients.size(), 1u);
  EXPECT_EQ(c.envelope.recipients[0].address, "r@example.test");
  EXPECT_EQ(c.body.rfind("Received: from c.test (unknown [192.0.2.1])\r\n\tby mx.test (correo) with ESMTP id ", 0), 0u);
  EXPECT_NE(c.body.find("\tfor <r@example.test>;"), std::string::npos);
  const std::string content = "\r\nSubject: hi\r\n\r\nbody\r\n";  // after the Received: header
  EXPECT_EQ(c.body.substr(c.body.size() - content.size()), content);
  r = commit();
  EXPECT_EQ(r, "250 2.0.0 Ok: queued as " + format_queue_id(c.envelope.id) + "\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(host_.accepted, 1);
}

TEST_F(SessionTest, SpoolFailureIsA4xxAndNotAcknowledged) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  say("x\r\n.\r\n");
  EXPECT_EQ(commit(CommitStatus::kNoSpace), "452 4.3.1 Error: insufficient system storage\r\n");
  host_.busy = true;
  say("MAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  EXPECT_EQ(say("x\r\n.\r\n"), "451 4.3.0 Error: queue busy, try again later\r\n");
}

TEST_F(SessionTest, LowDiskSpaceRefusesAtMail) {
  say("EHLO c\r\n");
  host_.free_bytes = 1000;
  EXPECT_EQ(say("MAIL FROM:<s@a.test> SIZE=5000\r\n"), "452 4.3.1 Error: insufficient system storage\r\n");
  EXPECT_EQ(say("MAIL FROM:<s@a.test> SIZE=500\r\n"), "250 2.1.0 Ok\r\n");
}

TEST_F(SessionTest, SequenceErrors) {
  EXPECT_EQ(say("MAIL FROM:<s@a.test>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  say("HELO c\r\n");
  EXPECT_EQ(say("RCPT TO:<r@example.test>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(say("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  say("MAIL FROM:<s@a.test>\r\n");
  EXPECT_EQ(say("MAIL FROM:<s@a.test>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(say("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
}

TEST_F(SessionTest, NoOpenRelay) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\n");
  EXPECT_EQ(say("RCPT TO:<r@elsewhere.test>\r\n"), "554 5.7.1 <r@elsewhere.test>: Relay access denied\r\n");
  EXPECT_EQ(say("RCPT TO:<r@[127.0.0.1]>\r\n").substr(0, 9), "554 5.7.1");
  EXPECT_EQ(say("RCPT TO:<r@EXAMPLE.test>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(say("RCPT TO:<Postmaster>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionTest, RelayNetworkMayRelayAnywhere) {
  make("10.1.2.3");
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\n");
  EXPECT_EQ(say("RCPT TO:<r@elsewhere.test>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionTest, DataAfterOnlyRejectedRecipients) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@elsewhere.test>\r\n");
  EXPECT_EQ(say("DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");
}

TEST_F(SessionTest, RecipientLimit) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\n");
  std::string r = say("RCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nRCPT TO:<d@example.test>\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"250", "250", "250", "452"}));
  EXPECT_NE(r.find("452 4.5.3"), std::string::npos);
}

TEST_F(SessionTest, BareLfMessageRefusedConnectionStaysUsable) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  std::string r = say("line\n.\nRSET\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(r.substr(0, 9), "550 5.6.0");
  EXPECT_NE(r.find("bare LF"), std::string::npos);
  EXPECT_EQ(codes(r), (std::vector<std::string>{"550", "250"}));  // then NOOP
  EXPECT_TRUE(host_.commits.empty());
  EXPECT_FALSE(session_->closed());
}

TEST_F(SessionTest, OversizeMessage) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  std::string big;
  for (int i = 0; i < 200; ++i) big += std::string(98, 'x') + "\r\n";
  EXPECT_EQ(say(big + ".\r\n"), "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  EXPECT_TRUE(host_.commits.empty());
}

TEST_F(SessionTest, TooManyHops) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  std::string headers;
  for (int i = 0; i < 51; ++i) headers += "Received: from x by y; now\r\n";
  EXPECT_EQ(say(headers + "\r\nbody\r\n.\r\n").substr(0, 9), "554 5.4.6");
}

TEST_F(SessionTest, BdatChunksAndPipelinedCommandsAfter) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\n");
  std::string r = say("BDAT 6\r\nab\r\ncdBDAT 4 LAST\r\nef\r\nNOOP\r\n");
  EXPECT_EQ(r, "250 2.0.0 6 octets received\r\n");
  ASSERT_EQ(host_.commits.size(), 1u);
  EXPECT_EQ(host_.commits[0].body.substr(host_.commits[0].body.size() - 10), "ab\r\ncdef\r\n");
  r = commit();
  EXPECT_EQ(codes(r), (std::vector<std::string>{"250", "250"}));
}

TEST_F(SessionTest, BdatWithoutTransactionIsConsumedAndRefused) {
  say("EHLO c\r\n");
  EXPECT_EQ(say("BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"), "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(session_->closed());  // "QUIT\r\n" was chunk data, not a command
}

TEST_F(SessionTest, BdatZeroLastEndsMessage) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\nBDAT 4\r\nhi\r\n");
  EXPECT_EQ(say("BDAT 0 LAST\r\n"), "");  // queued: waits for the spool
  ASSERT_EQ(host_.commits.size(), 1u);
  EXPECT_EQ(commit().substr(0, 9), "250 2.0.0");
}

TEST_F(SessionTest, BdatChunkWithBareLfIsRefusedAtThatChunk) {
  say("EHLO c\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<r@example.test>\r\n");
  EXPECT_EQ(say("BDAT 3\r\nhi\n").substr(0, 9), "550 5.6.0");
  // The transaction is gone: the rest of the chunks are read and refused.
  EXPECT_EQ(say("BDAT 2 LAST\r\nxy"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_TRUE(host_.commits.empty());
}

TEST_F(SessionTest, OverlongCommandLineIsDiscarded) {
  std::string line = "NOOP " + std::string(2000, 'x') + "\r\nNOOP\r\n";
  EXPECT_EQ(say(line), "500 5.5.6 Error: command line too long\r\n250 2.0.0 Ok\r\n");
}

TEST_F(SessionTest, NulInCommand) {
  EXPECT_EQ(say(std::string("NO\0OP\r\n", 7)), "500 5.5.2 Error: NUL character in command\r\n");
}

TEST_F(SessionTest, TooManyErrorsDisconnects) {
  config_.limits.errors_per_session = 5;
  make("192.0.2.1");
  std::string r = say("X\r\nX\r\nX\r\nX\r\nX\r\nNOOP\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"500", "500", "500", "500", "500", "421"}));
  EXPECT_TRUE(session_->closed());
}

TEST_F(SessionTest, ObsoleteAndUnimplementedCommands) {
  for (const char* cmd : {"TURN\r\n", "SEND FROM:<a@b>\r\n", "SOML FROM:<a@b>\r\n", "SAML FROM:<a@b>\r\n"}) {
    make("192.0.2.1");
    EXPECT_EQ(say(cmd), "502 5.5.1 Error: command not implemented\r\n") << cmd;
  }
  EXPECT_EQ(say("VRFY root\r\n").substr(0, 9), "252 2.0.0");
  EXPECT_EQ(say("EXPN list\r\n").substr(0, 9), "502 5.5.1");
  EXPECT_EQ(say("HELP\r\n").substr(0, 9), "214 2.0.0");
}

TEST_F(SessionTest, QuitClosesAndIgnoresTheRest) {
  EXPECT_EQ(say("QUIT\r\nNOOP\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(session_->closed());
}

TEST_F(SessionTest, Smtputf8Transaction) {
  say("EHLO c\r\n");
  EXPECT_EQ(say("MAIL FROM:<ü@a.test>\r\n").substr(0, 9), "553 5.6.7");
  say("MAIL FROM:<ü@a.test> SMTPUTF8\r\nRCPT TO:<ñ@example.test>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(host_.commits.size(), 1u);
  EXPECT_TRUE(host_.commits[0].envelope.smtputf8);
  EXPECT_NE(host_.commits[0].body.find("with UTF8SMTP id"), std::string::npos);
}

TEST_F(SessionTest, DsnParametersAreStored) {
  say("EHLO c\r\nMAIL FROM:<s@a.test> RET=HDRS ENVID=xyz\r\nRCPT TO:<r@example.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;r@example.test\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(host_.commits.size(), 1u);
  const Envelope& e = host_.commits[0].envelope;
  EXPECT_EQ(e.ret, DsnRet::kHdrs);
  EXPECT_EQ(e.envid, "xyz");
  EXPECT_EQ(e.recipients[0].notify, kNotifyFailure | kNotifyDelay);
  EXPECT_EQ(e.recipients[0].orcpt, "rfc822;r@example.test");
}

TEST_F(SessionTest, DeliverByIsStoredWithTheEnvelope) {
  say("EHLO c\r\nMAIL FROM:<s@a.test> BY=600;RT\r\nRCPT TO:<r@example.test>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(host_.commits.size(), 1u);
  const Envelope& e = host_.commits[0].envelope;
  EXPECT_EQ(e.by_mode, ByMode::kReturn);
  EXPECT_TRUE(e.by_trace);
  EXPECT_EQ(e.deliver_by_us, e.arrival_us + 600'000'000);
}

TEST_F(SessionTest, Etrn) {
  EXPECT_EQ(say("ETRN example.test\r\n").substr(0, 9), "503 5.5.1");  // before EHLO
  say("EHLO c\r\n");
  EXPECT_EQ(say("ETRN Example.TEST\r\n"), "250 2.0.0 Queuing for node example.test started\r\n");
  EXPECT_EQ(say("ETRN @example.test\r\n").substr(0, 9), "250 2.0.0");
  EXPECT_EQ(say("ETRN elsewhere.test\r\n").substr(0, 9), "459 4.7.1");  // not ours, not a relay client
  EXPECT_EQ(say("ETRN #q1\r\n").substr(0, 3), "458");
  EXPECT_EQ(say("ETRN\r\n").substr(0, 9), "501 5.5.4");
  ASSERT_EQ(host_.flushed.size(), 2u);
  EXPECT_EQ(host_.flushed[0], (std::pair<std::string, bool>{"example.test", false}));
  EXPECT_EQ(host_.flushed[1], (std::pair<std::string, bool>{"example.test", true}));
  make("10.1.2.3");  // a relay client may flush any domain
  say("EHLO c\r\n");
  EXPECT_EQ(say("ETRN elsewhere.test\r\n").substr(0, 9), "250 2.0.0");
}

TEST_F(SessionTest, OutputLimitPausesPipelinedInput) {
  config_.limits.output_buffer = 4096;
  make("192.0.2.1");
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "NOOP\r\n";
  session_->feed(many);
  EXPECT_TRUE(session_->paused());
  EXPECT_LE(session_->output().size(), 4096u + 64);
  size_t replies = 0;
  while (true) {
    replies += codes(take()).size();
    if (!session_->has_pending_input()) break;
    session_->resume();
  }
  EXPECT_EQ(replies, 1000u);
}

}  // namespace
}  // namespace correo
