// reply_fuzz.cc - libFuzzer target: the outbound SMTP client's reply parser and state
// machine (relay/delivery/smtp_client.h), fed whatever a hostile server might send.
//
// The input is the server's byte stream, cut into reads where the control bytes say. The
// client is driven as the delivery code drives it: a transaction whenever it is ready, the
// STARTTLS handshake "succeeds" at once, QUIT after two transactions. Invariants: every
// finished transaction has one reply per recipient, each a real reply code or 0 (no
// reply); a failed client reports a failure; what the client writes stays bounded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "relay/delivery/smtp_client.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  correo::fuzz::FuzzInput in(bytes, size);
  const uint8_t control = in.byte();
  const auto tls = static_cast<correo::ClientTls>(control % 3);
  const std::string_view splits = in.take(in.byte() % 16);
  const std::string_view server = in.rest();

  static const std::string kBody = "Subject: fuzz\r\n\r\n.leading dot\r\nbody\r\n";
  correo::OutboundMessage message;
  message.sender = (control & 4) ? "" : "sender@example.test";
  message.recipients = {{"a@example.net", 0, ""}, {"b@example.net", 0, "rfc822;b@example.net"}};
  message.body = kBody;
  message.smtputf8 = (control & 8) != 0;
  message.body_type = (control & 16) ? correo::BodyType::k8BitMime : correo::BodyType::kUnspecified;

  correo::SmtpClient client("relay.fuzz.test", tls);
  size_t at = 0;
  size_t split = 0;
  int transactions = 0;
  while (at < server.size() && !client.failed() && !client.closed()) {
    size_t piece = server.size() - at;
    if (split < splits.size()) piece = std::min<size_t>(piece, static_cast<uint8_t>(splits[split++]) % 64 + 1);
    client.feed(server.substr(at, piece));
    at += piece;
    if (client.starting_tls()) client.on_tls_established();
    if (client.transaction_done()) {
      const correo::TransactionResult result = client.take_result();
      if (result.recipients.size() != message.recipients.size()) std::abort();
      for (const correo::ServerReply& r : result.recipients) {
        if (r.code != 0 && (r.code < 200 || r.code > 599)) std::abort();
      }
    }
    if (client.ready()) {
      if (transactions++ < 2) {
        correo::ServerReply refusal;
        (void)client.start_transaction(message, &refusal);
      } else {
        client.quit();
      }
    }
    // The client writes commands and one body at a time: never more than a few KiB here.
    if (client.output().size() > 64 * 1024) std::abort();
    client.output().clear();
  }
  if (client.failed() && client.failure().to_string().empty()) std::abort();
  return 0;
}
