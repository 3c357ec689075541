// dsn_fuzz.cc - libFuzzer target: the RFC 3464 bounce builder (relay/delivery/dsn.h).
//
// Everything that reaches a DSN from outside is fuzzed: the original message (any bytes,
// any line endings), the remote server's reply text, ORCPT and ENVID xtext, the
// addresses. Invariants of the output: CRLF line endings only, no line over 998 octets
// (RFC 5322 §2.1.1), and a size linear in the input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "relay/delivery/dsn.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

void check_lines(std::string_view msg) {
  size_t line_start = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') {
      if (i == 0 || msg[i - 1] != '\r') std::abort();  // bare LF
      if (i + 1 - line_start > 1000) std::abort();      // 998 + CRLF
      line_start = i + 1;
    } else if (msg[i] == '\r' && (i + 1 == msg.size() || msg[i + 1] != '\n')) {
      std::abort();  // bare CR
    }
  }
  if (msg.size() - line_start > 0) std::abort();  // ends with CRLF
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  correo::fuzz::FuzzInput in(bytes, size);
  const uint8_t control = in.byte();
  correo::DsnInput d;
  d.reporting_mta = "mx.fuzz.test";
  d.original_sender = std::string(in.until('\0'));
  if (d.original_sender.empty()) d.original_sender = "sender@example.test";
  d.envid = std::string(in.until('\0'));
  d.arrival_us = 1700000000000000;
  d.now_us = d.arrival_us + 3600000000LL;
  d.ret = static_cast<correo::DsnRet>(control % 3);
  d.smtputf8 = (control & 4) != 0;
  d.max_returned_bytes = 64 + (control >> 3) * 97u;
  d.boundary_seed = "0123456789abcdef";
  const int recipients = 1 + (control >> 6);
  for (int i = 0; i < recipients; ++i) {
    correo::DsnRecipient r;
    r.final_recipient = std::string(in.until('\0'));
    r.original_recipient = std::string(in.until('\0'));
    r.action = static_cast<correo::DsnAction>(in.byte() % 4);
    r.status = (i % 2) ? "5.1.1" : "4.4.1";
    r.remote_mta = std::string(in.until('\0'));
    r.diagnostic = std::string(in.until('\0'));
    r.last_attempt_us = d.now_us;
    r.retry_until_us = d.now_us + 86400000000LL;
    d.recipients.push_back(std::move(r));
  }
  d.original = in.rest();

  const std::string dsn = correo::build_dsn(d);
  check_lines(dsn);
  // Linear in what went in: the original comes back at most once, the texts a few times.
  if (dsn.size() > 16 * (size + 4096)) std::abort();
  (void)correo::xtext_decode(d.envid);
  return 0;
}
