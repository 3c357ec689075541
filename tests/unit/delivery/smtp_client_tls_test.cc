// smtp_client_tls_test.cc - outbound STARTTLS in the client state machine: when it is sent,
// what a refusal does under each policy, and that bytes after the 220 are never replies.
#include <gtest/gtest.h>

#include "tests/unit/delivery/smtp_client_test_util.h"

namespace correo {
namespace {

using namespace client_test;

constexpr const char* kEhloTls = "250-mx.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n";

// to_starttls - greeting and an EHLO offering STARTTLS; the client has sent STARTTLS.
void to_starttls(SmtpClient& c) {
  c.feed(kGreeting);
  ASSERT_EQ(drain(c), "EHLO relay.example.org\r\n");
  c.feed(kEhloTls);
  ASSERT_EQ(drain(c), "STARTTLS\r\n");
}

TEST(SmtpClientTls, OpportunisticStartsTlsThenSaysEhloAgain) {
  SmtpClient c("relay.example.org", ClientTls::kOpportunistic);
  to_starttls(c);
  c.feed("220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(c.starting_tls());
  EXPECT_FALSE(c.ready());
  EXPECT_EQ(drain(c), "");
  c.on_tls_established();
  EXPECT_TRUE(c.tls_active());
  EXPECT_EQ(drain(c), "EHLO relay.example.org\r\n");
  EXPECT_FALSE(c.extensions().pipelining);  // forgotten until the EHLO inside TLS answers
  c.feed(kEhloTls);
  EXPECT_TRUE(c.ready());
  EXPECT_EQ(drain(c), "");  // no second STARTTLS
  EXPECT_TRUE(c.extensions().pipelining);
}

TEST(SmtpClientTls, BytesAfterThe220AreDropped) {
  SmtpClient c("relay.example.org", ClientTls::kOpportunistic);
  to_starttls(c);
  // A man in the middle appends a reply in clear, hoping it is read after the handshake.
  c.feed("220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected\r\n");
  EXPECT_TRUE(c.starting_tls());
  c.on_tls_established();
  drain(c);
  c.feed(kEhloFull);
  EXPECT_TRUE(c.ready());
  EXPECT_FALSE(c.failed());
}

TEST(SmtpClientTls, OpportunisticGoesOnInClearWhenRefusedOrNotOffered) {
  SmtpClient refused("relay.example.org", ClientTls::kOpportunistic);
  to_starttls(refused);
  refused.feed("454 4.7.0 TLS not available\r\n");
  EXPECT_TRUE(refused.ready());
  EXPECT_FALSE(refused.tls_active());

  SmtpClient plain("relay.example.org", ClientTls::kOpportunistic);
  connect(plain, kEhloFull);  // no STARTTLS offered: ready at once
  EXPECT_FALSE(plain.tls_active());
}

TEST(SmtpClientTls, RequiredFailsWithoutTls) {
  SmtpClient none("relay.example.org", ClientTls::kRequired);
  none.feed(kGreeting);
  drain(none);
  none.feed(kEhloFull);
  ASSERT_TRUE(none.failed());
  EXPECT_EQ(none.failure().enhanced, "4.7.4");
  EXPECT_EQ(drain(none), "QUIT\r\n");

  SmtpClient refused("relay.example.org", ClientTls::kRequired);
  to_starttls(refused);
  refused.feed("554 5.7.3 no TLS for you\r\n");
  ASSERT_TRUE(refused.failed());
  EXPECT_EQ(refused.failure().code, 0);  // retried later, not bounced
  EXPECT_EQ(refused.failure().enhanced, "4.7.4");
  EXPECT_NE(refused.failure().text.find("no TLS for you"), std::string::npos);
}

TEST(SmtpClientTls, NoneNeverSendsStarttls) {
  SmtpClient c("relay.example.org");
  c.feed(kGreeting);
  drain(c);
  c.feed(kEhloTls);
  EXPECT_TRUE(c.ready());
  EXPECT_EQ(drain(c), "");
}

TEST(SmtpClientTls, HeloPeerInOpportunisticModeIsFine) {
  SmtpClient c("relay.example.org", ClientTls::kOpportunistic);
  c.feed(kGreeting);
  drain(c);
  c.feed("502 5.5.1 EHLO not implemented\r\n");
  EXPECT_EQ(drain(c), "HELO relay.example.org\r\n");
  c.feed("250 mx.example.test\r\n");
  EXPECT_TRUE(c.ready());
}

}  // namespace
}  // namespace correo
