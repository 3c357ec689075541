// smtp_client_test_util.h - fixtures shared by the SmtpClient tests: canned greetings and EHLO
// replies, and helpers to drive a client to ready, build a message and read its results.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "relay/delivery/smtp_client.h"

namespace correo::client_test {

constexpr const char* kGreeting = "220 mx.example.test ESMTP\r\n";
constexpr const char* kEhloFull =
    "250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n";
constexpr const char* kEhloNoPipelining = "250-mx.example.test\r\n250 ENHANCEDSTATUSCODES\r\n";
constexpr const char* kEhloPipeliningOnly = "250-mx.example.test\r\n250 PIPELINING\r\n";

inline std::string drain(SmtpClient& c) {
  std::string s;
  s.swap(c.output());
  return s;
}

// connect - greeting and EHLO answered with `ehlo`; the client is ready, output drained.
inline void connect(SmtpClient& c, const char* ehlo) {
  c.feed(kGreeting);
  ASSERT_EQ(drain(c), "EHLO relay.example.org\r\n");
  c.feed(ehlo);
  ASSERT_TRUE(c.ready());
  ASSERT_EQ(drain(c), "");
}

inline OutboundMessage message(std::vector<std::string> rcpts, std::string_view body = "Subject: t\r\n\r\nhi\r\n") {
  OutboundMessage m;
  m.sender = "alice@example.org";
  for (auto& r : rcpts) m.recipients.push_back(OutboundRecipient{std::move(r), 0, ""});
  m.body = body;
  return m;
}

inline std::vector<std::string> strings(const TransactionResult& r) {
  std::vector<std::string> out;
  for (const ServerReply& s : r.recipients) out.push_back(s.to_string());
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace correo::client_test
