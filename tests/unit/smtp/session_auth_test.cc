// session_auth_test.cc - STARTTLS, AUTH, listener requirements, the sender check, relay
// tricks and submission headers, against the state machine (the worker's TLS and the
// verifier thread are played by the test).
#include <gtest/gtest.h>

#include "relay/auth/base64.h"
#include "tests/unit/smtp/session_test_util.h"

namespace correo {
namespace {

const TlsInfo kTls{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, false};

std::string plain_response(std::string_view authzid, std::string_view user, std::string_view pass) {
  std::string raw(authzid);
  raw += '\0';
  raw += user;
  raw += '\0';
  raw += pass;
  return base64_encode(raw);
}

class SessionAuthTest : public SessionTest {
 protected:
  SessionAuthTest() {
    config_.tls.cert = "cert.pem";
    config_.tls.key = "key.pem";
    config_.auth.users_file = "users";
    submission_.mode = ListenerMode::kSubmission;
    submission_.require_tls = submission_.auth = submission_.require_auth = true;
    smtp_auth_.auth = true;
  }
  // starttls - STARTTLS and a finished handshake; returns the 220 line.
  std::string starttls() {
    std::string r = say("STARTTLS\r\n");
    EXPECT_TRUE(session_->starting_tls());
    session_->on_tls_established(kTls);
    return r;
  }
  // login - EHLO, STARTTLS, EHLO, AUTH PLAIN as user, verified ok.
  void login(const std::string& user) {
    say("EHLO c.test\r\n");
    starttls();
    say("EHLO c.test\r\n");
    say("AUTH PLAIN " + plain_response("", user, "pw") + "\r\n");
    session_->on_auth_result(AuthVerdict::kOk);
    EXPECT_EQ(take().substr(0, 4), "235 ");
  }

  ListenerConfig submission_;
  ListenerConfig smtp_auth_;
};

TEST_F(SessionAuthTest, StarttlsOfferedOnlyWithACertificateAndOnlyOnce) {
  EXPECT_NE(say("EHLO c.test\r\n").find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(starttls(), "220 2.0.0 Ready to start TLS\r\n");
  const std::string ehlo = say("EHLO c.test\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(say("STARTTLS\r\n"), "503 5.5.1 Error: TLS already active\r\n");

  config_.tls.cert.clear();
  make("192.0.2.1");
  EXPECT_EQ(say("EHLO c.test\r\n").find("STARTTLS"), std::string::npos);
  EXPECT_EQ(say("STARTTLS\r\n"), "502 5.5.1 Error: command not implemented\r\n");
}

TEST_F(SessionAuthTest, BytesPipelinedAfterStarttlsAreDropped) {
  say("EHLO c.test\r\n");
  // The CVE-2011-0411 shape: commands in the same packet as STARTTLS.
  EXPECT_EQ(say("STARTTLS\r\nRSET\r\nMAIL FROM:<a@b.test>\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(session_->paused());
  EXPECT_FALSE(session_->has_pending_input());
  session_->on_tls_established(kTls);
  EXPECT_FALSE(session_->paused());
  EXPECT_EQ(take(), "");  // nothing of the injected RSET/MAIL is ever answered
  // Everything learnt before TLS is forgotten (RFC 3207 §4.2): EHLO again first.
  EXPECT_EQ(say("MAIL FROM:<a@b.test>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
}

TEST_F(SessionAuthTest, StarttlsRefusedWithArgumentsOrInsideATransaction) {
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
  say("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(say("STARTTLS\r\n"), "503 5.5.1 Error: MAIL transaction in progress\r\n");
}

TEST_F(SessionAuthTest, AuthOfferedOnlyAfterTls) {
  make("192.0.2.1", &smtp_auth_);
  EXPECT_EQ(say("EHLO c.test\r\n").find("AUTH"), std::string::npos);
  EXPECT_EQ(say("AUTH PLAIN " + plain_response("", "alice", "pw") + "\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  EXPECT_TRUE(host_.credentials.empty());
  starttls();
  EXPECT_NE(say("EHLO c.test\r\n").find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
}

TEST_F(SessionAuthTest, AuthInPlaintextWhenAllowed) {
  config_.auth.allow_plaintext = true;
  make("192.0.2.1", &smtp_auth_);
  EXPECT_NE(say("EHLO c.test\r\n").find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos);
}

TEST_F(SessionAuthTest, RequireTlsWinsOverAllowPlaintext) {
  config_.auth.allow_plaintext = true;
  make("192.0.2.1", &submission_);
  EXPECT_EQ(say("EHLO c.test\r\n").find("AUTH"), std::string::npos);
  EXPECT_EQ(say("AUTH PLAIN " + plain_response("", "alice", "pw") + "\r\n").substr(0, 11), "538 5.7.11 ");
  EXPECT_TRUE(host_.credentials.empty());
  EXPECT_EQ(say("ETRN example.test\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
  starttls();
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("ETRN example.test\r\n"), "530 5.7.0 Authentication required\r\n");
}

TEST_F(SessionAuthTest, AuthNotOnAPlainSmtpListener) {
  say("EHLO c.test\r\n");
  starttls();
  EXPECT_EQ(say("EHLO c.test\r\n").find("AUTH"), std::string::npos);
  EXPECT_EQ(say("AUTH PLAIN =\r\n"), "502 5.5.1 Error: authentication not enabled\r\n");
}

TEST_F(SessionAuthTest, PlainWithInitialResponse) {
  make("192.0.2.1", &smtp_auth_);
  say("EHLO c.test\r\n");
  starttls();
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("AUTH PLAIN " + plain_response("", "alice", "s3cret") + "\r\nNOOP\r\n"), "");
  EXPECT_EQ(session_->phase(), SessionPhase::kAwaitAuth);
  ASSERT_EQ(host_.credentials.size(), 1u);
  EXPECT_EQ(host_.credentials[0], std::make_pair(std::string("alice"), std::string("s3cret")));
  session_->on_auth_result(AuthVerdict::kOk);
  session_->resume();
  EXPECT_EQ(take(), "235 2.7.0 Authentication successful\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(session_->auth_user(), "alice");
  EXPECT_EQ(say("AUTH PLAIN =\r\n"), "503 5.5.1 Error: already authenticated\r\n");
}

TEST_F(SessionAuthTest, PlainWithChallengeAndAuthzidOfOneself) {
  make("192.0.2.1", &smtp_auth_);
  say("EHLO c.test\r\n");
  starttls();
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("AUTH plain\r\n"), "334 \r\n");
  EXPECT_EQ(say(plain_response("bob", "bob", "pw") + "\r\n"), "");
  ASSERT_EQ(host_.credentials.size(), 1u);
  EXPECT_EQ(host_.credentials[0].first, "bob");
}

TEST_F(SessionAuthTest, PlainActingForAnotherUserIsRefused) {
  make("192.0.2.1", &smtp_auth_);
  say("EHLO c.test\r\n");
  starttls();
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("AUTH PLAIN " + plain_response("root", "bob", "pw") + "\r\n"),
            "535 5.7.8 Error: authentication failed\r\n");
  EXPECT_TRUE(host_.credentials.empty());
}

TEST_F(SessionAuthTest, LoginAsksUserThenPassword) {
  make("192.0.2.1", &smtp_auth_);
  say("EHLO c.test\r\n");
  starttls();
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(say(base64_encode("carol") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(say(base64_encode("pw2") + "\r\n"), "");
  ASSERT_EQ(host_.credentials.size(), 1u);
  EXPECT_EQ(host_.credentials[0], std::make_pair(std::string("carol"), std::string("pw2")));
  session_->on_auth_result(AuthVerdict::kBadCredentials);
  EXPECT_EQ(take(), "535 5.7.8 Error: authentication failed\r\n");
  // LOGIN with the user name as initial response.
  EXPECT_EQ(say("AUTH LOGIN " + base64_encode("carol") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
}

TEST_F(SessionAuthTest, AbortBadBase64UnknownMechanismAndBusyVerifier) {
  make("192.0.2.1", &smtp_auth_);
  say("EHLO c.test\r\n");
  starttls();
  say("EHLO c.test\r\n");
  say("AUTH LOGIN\r\n");
  EXPECT_EQ(say("*\r\n"), "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(say("AUTH PLAIN !!!\r\n"), "501 5.5.2 Error: invalid base64 data\r\n");
  EXPECT_EQ(say("AUTH CRAM-MD5\r\n").substr(0, 10), "504 5.5.4 ");
  EXPECT_EQ(say("AUTH\r\n").substr(0, 10), "501 5.5.4 ");
  host_.auth_busy = true;
  EXPECT_EQ(say("AUTH PLAIN " + plain_response("", "a", "b") + "\r\n").substr(0, 10), "454 4.7.0 ");
  host_.auth_busy = false;
  say("AUTH PLAIN " + plain_response("", "a", "b") + "\r\n");
  session_->on_auth_result(AuthVerdict::kRateLimited);
  EXPECT_EQ(take().substr(0, 10), "454 4.7.0 ");
  EXPECT_EQ(session_->auth_user(), "");
}

TEST_F(SessionAuthTest, LongAuthLineIsNotTooLong) {
  make("192.0.2.1", &smtp_auth_);
  say("EHLO c.test\r\n");
  starttls();
  say("EHLO c.test\r\n");
  const std::string pass(250, 'p');  // with the user: a line over 600 octets
  EXPECT_EQ(say("AUTH PLAIN " + plain_response("", std::string(200, 'u'), pass) + "\r\n"), "");
  ASSERT_EQ(host_.credentials.size(), 1u);
  EXPECT_EQ(host_.credentials[0].second, pass);
}

TEST_F(SessionAuthTest, SubmissionRequiresTlsThenAuthBeforeMail) {
  make("192.0.2.1", &submission_);
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("MAIL FROM:<alice@example.test>\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
  starttls();
  say("EHLO c.test\r\n");
  EXPECT_EQ(say("MAIL FROM:<alice@example.test>\r\n"), "530 5.7.0 Authentication required\r\n");
  say("AUTH PLAIN " + plain_response("", "alice", "pw") + "\r\n");
  session_->on_auth_result(AuthVerdict::kOk);
  take();
  EXPECT_EQ(say("MAIL FROM:<alice@example.test>\r\n"), "250 2.1.0 Ok\r\n");
  // Authenticated: any destination.
  EXPECT_EQ(say("RCPT TO:<someone@elsewhere.test>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionAuthTest, EnforceSenderWantsAnOwnedAddress) {
  config_.submission.enforce_sender = true;
  make("192.0.2.1", &submission_);
  login("alice");
  EXPECT_EQ(say("MAIL FROM:<mallory@example.test>\r\n"),
            "553 5.7.1 <mallory@example.test>: Sender address rejected: not owned by user alice\r\n");
  EXPECT_EQ(say("MAIL FROM:<>\r\n"), "250 2.1.0 Ok\r\n");
  say("RSET\r\n");
  EXPECT_EQ(say("MAIL FROM:<alice@example.test>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST_F(SessionAuthTest, RoutingTricksNeverRelayForStrangers) {
  say("EHLO c.test\r\n");
  say("MAIL FROM:<a@b.test>\r\n");
  for (const char* rcpt : {"<user%foreign.test@example.test>", "<foreign.test!user@example.test>",
                           "<@example.test:user@foreign.test>", "<\"user@foreign.test\"@example.test>",
                           "<user@[192.0.2.7]>", "<user@foreign.test>", "<user@example.test.foreign.test>"}) {
    const std::string r = say(std::string("RCPT TO:") + rcpt + "\r\n");
    EXPECT_EQ(r.substr(0, 10), "554 5.7.1 ") << rcpt << ": " << r;
  }
  EXPECT_EQ(say("RCPT TO:<user@foreign.test@example.test>\r\n").substr(0, 4), "501 ");
  EXPECT_EQ(say("RCPT TO:<user@EXAMPLE.test>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionAuthTest, RelayNetworksAndAuthenticatedClientsMayRoute) {
  make("10.1.2.3");
  say("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(say("RCPT TO:<user%foreign.test@example.test>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(say("RCPT TO:<user@foreign.test>\r\n"), "250 2.1.5 Ok\r\n");
  make("192.0.2.1", &smtp_auth_);
  login("alice");
  say("MAIL FROM:<a@b.test>\r\n");
  EXPECT_EQ(say("RCPT TO:<user@foreign.test>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionAuthTest, ReceivedRecordsTlsAndAuth) {
  make("192.0.2.1", &smtp_auth_);
  login("alice");
  say("MAIL FROM:<a@b.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  say("Date: x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(host_.commits.size(), 1u);
  const std::string& body = host_.commits[0].body;
  EXPECT_NE(body.find("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256 bits))\r\n\tby mx.test (correo) "
                      "with ESMTPSA id "),
            std::string::npos)
      << body;
  EXPECT_EQ(body.find("alice"), std::string::npos);  // the user is not disclosed
}

TEST_F(SessionAuthTest, SubmissionAddsMissingDateAndMessageId) {
  make("192.0.2.1", &submission_);
  login("alice");
  say("MAIL FROM:<alice@example.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  say("Subject: no date\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(host_.commits.size(), 1u);
  const std::string& body = host_.commits[0].body;
  const size_t date = body.find("\r\nDate: ");
  const size_t mid = body.find("\r\nMessage-ID: <");
  const size_t subject = body.find("\r\nSubject: no date\r\n");
  ASSERT_NE(date, std::string::npos) << body;
  ASSERT_NE(mid, std::string::npos) << body;
  EXPECT_LT(mid, subject);
  EXPECT_NE(body.find("@mx.test>\r\n"), std::string::npos);
  commit();

  say("MAIL FROM:<alice@example.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  say("date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMESSAGE-ID: <kept@x>\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(host_.commits.size(), 2u);
  EXPECT_EQ(host_.commits[1].body.find("\r\nDate: "), std::string::npos);
  EXPECT_EQ(host_.commits[1].body.find("\r\nMessage-ID: "), std::string::npos);
}

TEST_F(SessionAuthTest, PlainSmtpListenerAddsNoHeaders) {
  say("EHLO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<r@example.test>\r\nDATA\r\n");
  say("Subject: x\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(host_.commits.size(), 1u);
  EXPECT_EQ(host_.commits[0].body.find("Message-ID"), std::string::npos);
}

}  // namespace
}  // namespace correo
