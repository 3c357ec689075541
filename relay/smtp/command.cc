// command.cc - verb table and argument parsers.
#include "relay/smtp/command.h"

#include "relay/common/ascii.h"

#include <array>
#include <charconv>

namespace correo {
namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
};

constexpr std::array<VerbName, 19> kVerbs = {{
    {"HELO", Verb::kHelo}, {"EHLO", Verb::kEhlo}, {"MAIL", Verb::kMail}, {"RCPT", Verb::kRcpt},
    {"DATA", Verb::kData}, {"BDAT", Verb::kBdat}, {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop},
    {"QUIT", Verb::kQuit}, {"HELP", Verb::kHelp}, {"VRFY", Verb::kVrfy}, {"EXPN", Verb::kExpn},
    {"TURN", Verb::kTurn}, {"SEND", Verb::kSend}, {"SOML", Verb::kSoml}, {"SAML", Verb::kSaml},
    {"STARTTLS", Verb::kStarttls}, {"AUTH", Verb::kAuth}, {"ETRN", Verb::kEtrn},
}};

Reply syntax(std::string_view enhanced, std::string text) { return Reply{501, enhanced, std::move(text)}; }

// Param - one "KEYWORD[=value]" after the path.
struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// next_param - split the next space-separated parameter; false at end.
bool next_param(std::string_view& rest, Param& p) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return false;
  size_t end = rest.find(' ');
  std::string_view tok = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  size_t eq = tok.find('=');
  p.keyword = tok.substr(0, eq);
  p.has_value = eq != std::string_view::npos;
  p.value = p.has_value ? tok.substr(eq + 1) : std::string_view();
  return true;
}

bool valid_keyword(std::string_view k) {
  if (k.empty()) return false;
  for (unsigned char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// after_prefix - "FROM:" / "TO:" then the path; tolerates one space after the colon, which
// many clients send although RFC 5321 has none (Postfix accepts it as well).
bool after_prefix(std::string_view arg, std::string_view prefix, std::string_view& out) {
  if (!istarts_with(arg, prefix)) return false;
  out = arg.substr(prefix.size());
  if (!out.empty() && out.front() == ' ') out.remove_prefix(1);
  return true;
}

}  // namespace

const char* to_string(Verb verb) {
  for (const auto& v : kVerbs) {
    if (v.verb == verb) return v.name.data();
  }
  return "UNKNOWN";
}

CommandLine split_command(std::string_view line) {
  CommandLine c;
  size_t sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  for (const auto& v : kVerbs) {
    if (iequals(word, v.name)) {
      c.verb = v.verb;
      break;
    }
  }
  if (sp != std::string_view::npos) {
    c.had_arg_separator = true;
    c.arg = line.substr(sp + 1);
    while (!c.arg.empty() && c.arg.back() == ' ') c.arg.remove_suffix(1);  // trailing blanks
  }
  return c;
}

bool is_xtext(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '+') {
      auto hex = [](unsigned char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
      if (i + 2 >= s.size()) return false;  // '+' needs two hex digits
      if (!hex(s[i + 1]) || !hex(s[i + 2])) return false;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return false;
    }
  }
  return true;
}

Parsed<MailCommand> parse_mail(std::string_view arg, uint64_t message_size_limit) {
  std::string_view rest;
  if (!after_prefix(arg, "FROM:", rest)) return syntax("5.5.4", "Syntax: MAIL FROM:<address>");
  PathResult pr = parse_path(rest, /*allow_null=*/true);
  if (!pr.ok) return syntax("5.1.7", "Bad sender address syntax: " + pr.error);
  MailCommand m;
  m.path = std::move(pr.path);
  rest = rest.substr(m.path.consumed);
  if (!rest.empty() && rest.front() != ' ') return syntax("5.5.4", "Syntax: space required after the address");
  Param p;
  bool seen_size = false, seen_body = false, seen_ret = false, seen_envid = false, seen_auth = false;
  while (next_param(rest, p)) {
    if (!valid_keyword(p.keyword)) return syntax("5.5.4", "Invalid parameter syntax");
    if (iequals(p.keyword, "SIZE")) {
      uint64_t v = 0;
      auto [ptr, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), v);
      if (seen_size || !p.has_value || p.value.empty() || ec != std::errc() || ptr != p.value.data() + p.value.size())
        return syntax("5.5.4", "Invalid SIZE parameter");
      seen_size = true;
      if (v > message_size_limit) return Reply{552, "5.3.4", "Message size exceeds fixed maximum message size"};
      m.size = v;
    } else if (iequals(p.keyword, "BODY")) {
      if (seen_body) return syntax("5.5.4", "Duplicate BODY parameter");
      seen_body = true;
      if (iequals(p.value, "7BIT")) m.body = BodyType::k7Bit;
      else if (iequals(p.value, "8BITMIME")) m.body = BodyType::k8BitMime;
      else return Reply{555, "5.5.4", "Unsupported BODY type (7BIT and 8BITMIME are supported)"};
    } else if (iequals(p.keyword, "SMTPUTF8")) {
      if (p.has_value || m.smtputf8) return syntax("5.5.4", "SMTPUTF8 takes no value");
      m.smtputf8 = true;
    } else if (iequals(p.keyword, "RET")) {
      if (seen_ret) return syntax("5.5.4", "Duplicate RET parameter");
      seen_ret = true;
      if (iequals(p.value, "FULL")) m.ret = DsnRet::kFull;
      else if (iequals(p.value, "HDRS")) m.ret = DsnRet::kHdrs;
      else return syntax("5.5.4", "RET must be FULL or HDRS");
    } else if (iequals(p.keyword, "BY")) {
      // RFC 2852 §4: BY=by-time;by-mode[by-trace], by-time = [+-]1*9DIGIT, mode R or N.
      if (m.by_mode != ByMode::kNone) return syntax("5.5.4", "Duplicate BY parameter");
      std::string_view v = p.value;
      const size_t semi = v.find(';');
      if (semi == std::string_view::npos) return syntax("5.5.4", "Syntax: BY=seconds;R or BY=seconds;N");
      std::string_view num = v.substr(0, semi);
      std::string_view mode = v.substr(semi + 1);
      bool negative = false;
      if (!num.empty() && (num.front() == '-' || num.front() == '+')) {
        negative = num.front() == '-';
        num.remove_prefix(1);
      }
      int64_t seconds = 0;
      auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), seconds);
      if (num.empty() || num.size() > 9 || ec != std::errc() || ptr != num.data() + num.size())
        return syntax("5.5.4", "BY= time must be 1 to 9 digits");
      if (negative) seconds = -seconds;
      if (mode.empty() || mode.size() > 2 || (mode.size() == 2 && ascii_upper(mode[1]) != 'T'))
        return syntax("5.5.4", "BY= mode must be R or N, optionally followed by T");
      const char mode_char = ascii_upper(mode[0]);
      if (mode_char != 'R' && mode_char != 'N') return syntax("5.5.4", "BY= mode must be R or N");
      // RFC 2852 §4: with R the time must be positive (a deadline already past cannot be met).
      if (mode_char == 'R' && seconds <= 0) return syntax("5.5.4", "BY= time must be positive with mode R");
      m.by_mode = mode_char == 'R' ? ByMode::kReturn : ByMode::kNotify;
      m.by_seconds = seconds;
      m.by_trace = mode.size() == 2;
    } else if (iequals(p.keyword, "ENVID")) {
      // RFC 3461 §4.4: at most 100 characters of xtext.
      if (seen_envid || p.value.empty() || p.value.size() > 100 || !is_xtext(p.value))
        return syntax("5.5.4", "Invalid ENVID parameter");
      seen_envid = true;
      m.envid.assign(p.value);
    } else if (iequals(p.keyword, "AUTH")) {
      // RFC 4954 §5: AUTH=<> or AUTH=xtext mailbox. Accepted and not trusted: we do not
      // pass another system's claim of who submitted the message on.
      if (seen_auth || p.value.empty() || (p.value != "<>" && !is_xtext(p.value)))
        return syntax("5.5.4", "Invalid AUTH parameter");
      seen_auth = true;
    } else {
      return Reply{555, "5.5.4", "Unsupported MAIL parameter " + std::string(p.keyword)};
    }
  }
  if (m.path.non_ascii && !m.smtputf8) return Reply{553, "5.6.7", "Non-ASCII sender address requires SMTPUTF8"};
  return m;
}

Parsed<RcptCommand> parse_rcpt(std::string_view arg, bool smtputf8) {
  std::string_view rest;
  if (!after_prefix(arg, "TO:", rest)) return syntax("5.5.4", "Syntax: RCPT TO:<address>");
  RcptCommand r;
  // RFC 5321 §4.5.1: "<Postmaster>" without a domain must be accepted.
  if (istarts_with(rest, "<postmaster>")) {
    r.postmaster = true;
    r.path.address = "postmaster";
    r.path.at = r.path.address.size();
    r.path.consumed = 12;
  } else {
    PathResult pr = parse_path(rest, /*allow_null=*/false);
    if (!pr.ok) return syntax("5.1.3", "Bad recipient address syntax: " + pr.error);
    r.path = std::move(pr.path);
  }
  rest = rest.substr(r.path.consumed);
  if (!rest.empty() && rest.front() != ' ') return syntax("5.5.4", "Syntax: space required after the address");
  Param p;
  bool seen_notify = false, seen_orcpt = false;
  while (next_param(rest, p)) {
    if (!valid_keyword(p.keyword)) return syntax("5.5.4", "Invalid parameter syntax");
    if (iequals(p.keyword, "NOTIFY")) {
      if (seen_notify || p.value.empty()) return syntax("5.5.4", "Invalid NOTIFY parameter");
      seen_notify = true;
      std::string_view v = p.value;
      while (true) {
        size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        if (iequals(item, "NEVER")) r.notify |= kNotifyNever;
        else if (iequals(item, "SUCCESS")) r.notify |= kNotifySuccess;
        else if (iequals(item, "FAILURE")) r.notify |= kNotifyFailure;
        else if (iequals(item, "DELAY")) r.notify |= kNotifyDelay;
        else return syntax("5.5.4", "NOTIFY must be NEVER or a list of SUCCESS,FAILURE,DELAY");
        if (comma == std::string_view::npos) break;
        v = v.substr(comma + 1);
      }
      // RFC 3461 §4.1: NEVER must appear alone.
      if ((r.notify & kNotifyNever) && r.notify != kNotifyNever) return syntax("5.5.4", "NOTIFY=NEVER must appear alone");
    } else if (iequals(p.keyword, "ORCPT")) {
      size_t semi = p.value.find(';');
      if (seen_orcpt || semi == std::string_view::npos || semi == 0 || !valid_keyword(p.value.substr(0, semi)) ||
          p.value.size() > 500 || !is_xtext(p.value.substr(semi + 1)))
        return syntax("5.5.4", "Invalid ORCPT parameter (addr-type;xtext)");
      seen_orcpt = true;
      r.orcpt.assign(p.value);
    } else {
      return Reply{555, "5.5.4", "Unsupported RCPT parameter " + std::string(p.keyword)};
    }
  }
  if (r.path.non_ascii && !smtputf8) return Reply{553, "5.6.7", "Non-ASCII recipient address requires SMTPUTF8"};
  return r;
}

Parsed<BdatCommand> parse_bdat(std::string_view arg) {
  BdatCommand b;
  size_t sp = arg.find(' ');
  std::string_view num = arg.substr(0, sp);
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), b.size);
  if (num.empty() || num.size() > 19 || ec != std::errc() || ptr != num.data() + num.size())
    return syntax("5.5.4", "Syntax: BDAT chunk-size [LAST]");
  if (sp != std::string_view::npos) {
    std::string_view rest = arg.substr(sp + 1);
    if (!iequals(rest, "LAST")) return syntax("5.5.4", "Syntax: BDAT chunk-size [LAST]");
    b.last = true;
  }
  return b;
}

}  // namespace correo
