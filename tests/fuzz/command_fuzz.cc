// command_fuzz.cc - libFuzzer target: SMTP command lines (relay/smtp/command.h).
// One input is one command line: split it, then parse MAIL / RCPT / BDAT arguments the way
// a session does. Invariants: no crash or sanitizer report; an accepted path stays within
// the RFC 5321 length limits; the error replies are well-formed (4xx/5xx).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/smtp/command.h"

namespace {

void check_reply(const correo::Reply& r) {
  if (r.code < 400 || r.code > 599) std::abort();
}

template <typename T>
const T* accepted(const correo::Parsed<T>& p) {
  if (const auto* reply = std::get_if<correo::Reply>(&p)) {
    check_reply(*reply);
    return nullptr;
  }
  return &std::get<T>(p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const correo::CommandLine cmd = correo::split_command(line);
  (void)correo::to_string(cmd.verb);
  // Every argument parser sees every input, whatever the verb said.
  const auto mail_result = correo::parse_mail(cmd.arg, 10 * 1024 * 1024);
  if (const auto* mail = accepted(mail_result)) {
    if (mail->path.address.size() > 256) std::abort();
    if (mail->size > 10 * 1024 * 1024) std::abort();  // over the limit is a 552, not a value
  }
  const auto rcpt_result = correo::parse_rcpt(cmd.arg, (size & 1) != 0);
  if (const auto* rcpt = accepted(rcpt_result)) {
    if (rcpt->path.null) std::abort();  // "<>" is never a recipient
    if (rcpt->path.address.size() > 256) std::abort();
  }
  const auto bdat_result = correo::parse_bdat(cmd.arg);
  (void)accepted(bdat_result);
  (void)correo::is_xtext(cmd.arg);
  return 0;
}
