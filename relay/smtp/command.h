// command.h - SMTP command lines to typed commands (pure; no I/O, no globals).
//
// split_command() finds the verb (case-insensitive, RFC 5321 §2.4); parse_mail(),
// parse_rcpt() and parse_bdat() turn arguments into values or into the exact error Reply.
// ESMTP parameters implemented: SIZE (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152), SMTPUTF8
// (RFC 6531), RET/ENVID (MAIL) and NOTIFY/ORCPT (RCPT) of DSN (RFC 3461). Unknown
// parameters get 555 5.5.4 (RFC 5321 §4.1.1.11).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "queue/envelope.h"
#include "relay/smtp/address.h"
#include "relay/smtp/reply.h"

namespace correo {

enum class Verb : uint8_t {
  kHelo, kEhlo, kMail, kRcpt, kData, kBdat, kRset, kNoop, kQuit, kHelp, kVrfy, kExpn,
  kTurn, kSend, kSoml, kSaml, kStarttls, kAuth, kEtrn, kUnknown
};
const char* to_string(Verb verb);

struct CommandLine {
  Verb verb = Verb::kUnknown;
  std::string_view arg;  // text after the verb and one space; may be empty
  bool had_arg_separator = false;
};

// split_command - `line` excludes the line ending.
CommandLine split_command(std::string_view line);

template <typename T>
using Parsed = std::variant<T, Reply>;

struct MailCommand {
  ParsedPath path;
  uint64_t size = 0;  // SIZE=, 0 = not declared
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;
  ByMode by_mode = ByMode::kNone;  // DELIVERBY (RFC 2852)
  int64_t by_seconds = 0;
  bool by_trace = false;
};

struct RcptCommand {
  ParsedPath path;
  bool postmaster = false;  // "<Postmaster>" without a domain (RFC 5321 §4.5.1)
  uint8_t notify = 0;
  std::string orcpt;
};

struct BdatCommand {
  uint64_t size = 0;
  bool last = false;
};

// parse_mail - arg is "FROM:<path> [params]"; message_size_limit checks SIZE= (552 5.3.4).
Parsed<MailCommand> parse_mail(std::string_view arg, uint64_t message_size_limit);
// parse_rcpt - arg is "TO:<path> [params]"; smtputf8 = the transaction declared SMTPUTF8.
Parsed<RcptCommand> parse_rcpt(std::string_view arg, bool smtputf8);
// parse_bdat - arg is "<size> [LAST]".
Parsed<BdatCommand> parse_bdat(std::string_view arg);

// is_xtext - RFC 3461 §4 xtext.
bool is_xtext(std::string_view s);

}  // namespace correo
