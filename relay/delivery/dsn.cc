// dsn.cc - bounce, delay and success notifications built as one string (RFC 3464, RFC 6522).
//
// Pure: the output depends only on the DsnInput (dates come from now_us / arrival_us, the
// boundary from boundary_seed and now_us); no clock, no locale, no I/O, no static state.
//
// Everything that came from outside (remote replies, host names, addresses, ORCPT, ENVID)
// is cleaned before it goes into a field or a line of text: control bytes (CR and LF
// included) become one space, so a hostile reply can never add a field or end a part;
// malformed UTF-8 becomes '?', and so does any 8-bit byte where 7bit is required (the
// message/delivery-status part of a non-SMTPUTF8 notification).
//
// Line limit (RFC 5322 §2.1.1, 998 octets): fields are folded before whitespace when they
// would be longer, a run without whitespace is split with an inserted space (never inside a
// UTF-8 sequence); the human text is word-wrapped; the original is returned whole only if
// every line of it already fits and ends in CRLF, else only its (re-folded) header section.
//
// Boundary: "=_" seed "." now_us ("=_" never occurs in quoted-printable text); if it occurs
// in any part body it is perturbed with a hash suffix until it occurs in none.
//
// Choices dsn.h leaves open: Original-Envelope-Id is the ENVID decoded from xtext (RFC 3461
// §6.3; kept encoded if that would not be printable ASCII), Original-Recipient the ORCPT as
// stored; a diagnostic that does not start with an SMTP reply code is typed "X-Correo", not
// "smtp"; Arrival-Date is left out when arrival_us is 0; a status that is not d.d.d becomes
// 5.0.0 / 4.0.0 / 2.0.0 by action; the message and every part carry Content-Transfer-Encoding
// (7bit, or 8bit when they hold 8-bit bytes) and the parts a Content-Description.
#include "relay/delivery/dsn.h"

#include "relay/common/ascii.h"

#include <cstdio>
#include <initializer_list>

namespace correo {
namespace {

constexpr size_t kMaxLine = 998;   // octets per line without CRLF (RFC 5322 §2.1.1)
constexpr size_t kWrapWidth = 76;  // human text
constexpr size_t kMaxSeed = 24;    // keeps the boundary <= 70 characters (RFC 2046 §5.1.1)
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kIndent = "    ";  // continuation of a wrapped human line

// is_continuation - a UTF-8 continuation byte (10xxxxxx).
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

// is_upper_hex - RFC 3461 hexchar digit (0-9, A-F; lowercase is not xtext).
bool is_upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

// hex_value - value of an is_upper_hex digit.
int hex_value(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }

// utf8_length - length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs,
// no surrogates, <= U+10FFFF), 0 if there is none. ASCII counts as a sequence of 1.
size_t utf8_length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) { n = 3; lo = 0xa0; }
  else if (c >= 0xe1 && c <= 0xec) n = 3;
  else if (c == 0xed) { n = 3; hi = 0x9f; }
  else if (c >= 0xee && c <= 0xef) n = 3;
  else if (c == 0xf0) { n = 4; lo = 0x90; }
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else if (c == 0xf4) { n = 4; hi = 0x8f; }
  else return 0;
  if (i + n > s.size() || at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (!is_continuation(s[i + k])) return 0;
  }
  return n;
}

// code_point - the scalar value of the well-formed sequence of length n at s[i].
uint32_t code_point(std::string_view s, size_t i, size_t n) {
  constexpr unsigned char kLeadMask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
  uint32_t cp = static_cast<unsigned char>(s[i]) & kLeadMask[n];
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  return cp;
}

// has_8bit - any byte >= 0x80 (decides 7bit / 8bit).
bool has_8bit(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

// clean_text - one line of text from untrusted bytes: every run of control bytes and spaces
// becomes one space (none at either end); bytes >= 0x80 are kept when they form well-formed
// UTF-8 and allow_utf8 is set, else each becomes '?'.
std::string clean_text(std::string_view s, bool allow_utf8) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    if (c <= 0x20 || c == 0x7f) {
      space = !out.empty();
      ++i;
      continue;
    }
    if (space) out += ' ';
    space = false;
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t n = allow_utf8 ? utf8_length(s, i) : 0;
    if (n == 0) {
      out += '?';
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

// clean_token - s with every byte outside `allowed` replaced by '-', cut to max_len;
// `fallback` if that leaves nothing.
template <typename Pred>
std::string clean_token(std::string_view s, Pred allowed, size_t max_len, std::string_view fallback) {
  std::string out;
  for (char c : s.substr(0, max_len)) out += allowed(static_cast<unsigned char>(c)) ? c : '-';
  return out.empty() ? std::string(fallback) : out;
}

// is_alnum - ASCII letter or digit.
bool is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// is_host_char - what we keep of a host name: LDH, dots, and address-literal brackets/colons.
bool is_host_char(unsigned char c) { return is_alnum(c) || c == '-' || c == '.' || c == '[' || c == ']' || c == ':'; }

// is_atext_char - RFC 5322 atext (ASCII), for the Message-ID left part.
bool is_atext_char(unsigned char c) {
  if (is_alnum(c)) return true;
  for (char a : std::string_view("!#$%&'*+-/=?^_`{|}~")) {
    if (c == static_cast<unsigned char>(a)) return true;
  }
  return false;
}

// is_bchar - RFC 2046 §5.1.1 bcharsnospace.
bool is_bchar(unsigned char c) {
  if (is_alnum(c)) return true;
  for (char a : std::string_view("'()+_,-./:=?")) {
    if (c == static_cast<unsigned char>(a)) return true;
  }
  return false;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// append_date - RFC 5322 §3.3 date-time in UTC ("Mon, 23 Nov 2026 16:54:00 +0000") from
// microseconds since the epoch; computed by hand (civil-from-days), so no locale or TZ.
void append_date(std::string& out, int64_t us) {
  const int64_t secs = us > 0 ? us / 1'000'000 : 0;  // nothing before the epoch
  const int64_t days = secs / 86400;
  const int64_t rem = secs % 86400;
  const int64_t z = days + 719468;  // days since 0000-03-01
  const int64_t era = z / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[64];
  const int n = snprintf(buf, sizeof buf, "%s, %02d %s %04lld %02d:%02d:%02d +0000", kDays[(days + 4) % 7],
                         static_cast<int>(day), kMonths[month - 1], static_cast<long long>(year),
                         static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  out.append(buf, static_cast<size_t>(n));
}

// date_string - append_date into a new string.
std::string date_string(int64_t us) {
  std::string s;
  append_date(s, us);
  return s;
}

// append_field - "name: value" CRLF, folded (RFC 5322 §2.2.3) so no line exceeds kMaxLine:
// the break goes before the last space that fits; a run without a space is split where the
// line is full (not inside a UTF-8 sequence) and the continuation gets an inserted space.
// The value must come from clean_text (single spaces, no controls), so no continuation line
// is ever whitespace only.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  std::string line;
  line.reserve(name.size() + 2 + value.size());
  line.append(name).append(": ").append(value);
  const std::string_view s = line;
  size_t pos = 0;
  bool inserted_space = false;  // the current line starts with a space we add
  for (;;) {
    const size_t room = kMaxLine - (inserted_space ? 1 : 0);
    if (inserted_space) out += ' ';
    if (s.size() - pos <= room) {
      out.append(s.substr(pos)).append(kCrlf);
      return;
    }
    size_t cut = pos + room;  // s[cut] exists: the rest is longer than room
    while (cut > pos + 1 && s[cut] != ' ') --cut;
    if (cut > pos + 1) {
      inserted_space = false;  // s[cut] is the space that starts the next line
    } else {
      cut = pos + room;
      while (cut > pos + 1 && is_continuation(s[cut])) --cut;
      inserted_space = true;
    }
    out.append(s.substr(pos, cut - pos)).append(kCrlf);
    pos = cut;
  }
}

// append_wrapped - one logical line of human text (from clean_text) word-wrapped at
// kWrapWidth, continuation lines indented; a word longer than a whole line is split at
// kMaxLine (between UTF-8 sequences).
void append_wrapped(std::string& out, std::string_view text) {
  size_t col = 0;
  bool line_empty = true;  // nothing but the indent on the current line yet
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (!line_empty && col + 1 + word.size() > kWrapWidth) {
      out.append(kCrlf).append(kIndent);
      col = kIndent.size();
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++col;
    }
    while (col + word.size() > kMaxLine) {
      size_t take = kMaxLine - col;
      while (take > 1 && is_continuation(word[take])) --take;
      out.append(word.substr(0, take)).append(kCrlf).append(kIndent);
      col = kIndent.size();
      word.remove_prefix(take);
    }
    out.append(word);
    col += word.size();
    line_empty = false;
  }
  out.append(kCrlf);
}

// transport_safe - every line ends in CRLF (or is the unterminated last one), no bare CR or
// LF, no NUL, no line longer than kMaxLine: the original can be returned byte for byte.
bool transport_safe(std::string_view msg) {
  size_t line_start = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    const char c = msg[i];
    if (c == '\0' || c == '\n') return false;
    if (c == '\r') {
      if (i + 1 >= msg.size() || msg[i + 1] != '\n' || i - line_start > kMaxLine) return false;
      ++i;
      line_start = i + 1;
    }
  }
  return msg.size() - line_start <= kMaxLine;
}

// header_section - the original's header section: every line before the first empty one
// (all of it if there is none). Lines end in LF or CRLF.
std::string_view header_section(std::string_view msg) {
  size_t pos = 0;
  while (pos < msg.size()) {
    const size_t nl = msg.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? msg.size() : nl;
    const std::string_view line = msg.substr(pos, end - pos);
    if (line.empty() || line == "\r") return msg.substr(0, pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return msg;
}

// append_header_lines - the header section as CRLF lines for text/rfc822-headers: NUL and
// stray CR become spaces, a line over kMaxLine is folded with an inserted space, and it stops
// before the first field that would take the part past max_bytes (never mid-field).
void append_header_lines(std::string& out, std::string_view headers, uint64_t max_bytes) {
  const size_t start = out.size();
  size_t field_start = out.size();  // where the field being copied began in `out`
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t nl = headers.find('\n', pos);
    if (nl == std::string_view::npos) nl = headers.size();
    std::string_view line = headers.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!continuation) {
      if (out.size() - start > max_bytes) {
        out.resize(field_start);
        return;
      }
      field_start = out.size();
    }
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (col >= kMaxLine || (col + 3 >= kMaxLine && !is_continuation(line[i]))) {
        out.append(kCrlf).append(" ");
        col = 1;
      }
      const char c = line[i];
      out += (c == '\0' || c == '\r') ? ' ' : c;
      ++col;
    }
    out.append(kCrlf);
  }
  if (out.size() - start > max_bytes) out.resize(field_start);
}

// valid_status - RFC 3463 status-code: class "." subject "." detail, class 2/4/5,
// subject and detail 1 to 3 digits.
bool valid_status(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
      ++digits;
    }
    if (digits < 1 || digits > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// is_smtp_reply - text that starts with an SMTP reply code ("550 ...", "421-...").
bool is_smtp_reply(std::string_view s) {
  return s.size() >= 3 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' &&
         (s.size() == 3 || s[3] == ' ' || s[3] == '-');
}

// action_name - RFC 3464 §2.3.3 action-value.
const char* action_name(DsnAction a) {
  switch (a) {
    case DsnAction::kFailed: return "failed";
    case DsnAction::kDelayed: return "delayed";
    case DsnAction::kDelivered: return "delivered";
    case DsnAction::kRelayed: return "relayed";
  }
  return "failed";
}

// default_status - the status reported when the given one is not a valid status-code.
const char* default_status(DsnAction a) {
  switch (a) {
    case DsnAction::kFailed: return "5.0.0";
    case DsnAction::kDelayed: return "4.0.0";
    case DsnAction::kDelivered:
    case DsnAction::kRelayed: return "2.0.0";
  }
  return "5.0.0";
}

// is_ascii_printable - only bytes 0x20-0x7e.
bool is_ascii_printable(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// utf8_addr_xtext - RFC 6533 §3 utf-8-addr-xtext: QCHAR as is, everything else (space,
// '+', '=', '\', controls, non-ASCII) as \x{HEX}; a malformed byte as \x{FFFD}.
std::string utf8_addr_xtext(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    if (c > 0x20 && c < 0x7f && c != '+' && c != '=' && c != '\\') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t n = utf8_length(s, i);
    const uint32_t cp = n == 0 ? 0xfffd : code_point(s, i, n);
    i += n == 0 ? 1 : n;
    char buf[16];
    const int len = snprintf(buf, sizeof buf, "\\x{%02X}", static_cast<unsigned>(cp));
    out.append(buf, static_cast<size_t>(len));
  }
  return out;
}

// is_clean_utf8 - well-formed UTF-8 without control bytes.
bool is_clean_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    const size_t n = utf8_length(s, i);
    if (n == 0 || c < 0x20 || c == 0x7f) return false;
    i += n;
  }
  return true;
}

// final_recipient_value - "rfc822; addr" for ASCII, "utf-8; addr" (RFC 6533 utf-8-address)
// in a global DSN, else the 7-bit utf-8-addr-xtext form.
std::string final_recipient_value(std::string_view addr, bool smtputf8) {
  if (!has_8bit(addr)) return "rfc822; " + clean_text(addr, false);
  if (smtputf8 && is_clean_utf8(addr)) return "utf-8; " + clean_text(addr, true);
  return "utf-8; " + utf8_addr_xtext(addr);
}

// original_recipient_value - the stored ORCPT ("type;xtext") as it was given.
std::string original_recipient_value(std::string_view orcpt, bool smtputf8) {
  std::string v = clean_text(orcpt, smtputf8);
  if (v.find(';') == std::string::npos) v.insert(0, "rfc822;");
  return v;
}

// orcpt_display - the ORCPT address for people (xtext decoded), "" if there is none.
std::string orcpt_display(std::string_view orcpt) {
  const size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos) return "";
  std::string_view addr = orcpt.substr(semi + 1);
  while (!addr.empty() && addr[0] == ' ') addr.remove_prefix(1);
  return clean_text(iequals(orcpt.substr(0, semi), "rfc822") ? xtext_decode(addr) : std::string(addr), true);
}

// envelope_id_value - RFC 3461 §6.3: the ENVID decoded from xtext; kept encoded when the
// decoded form would not be printable ASCII.
std::string envelope_id_value(std::string_view envid) {
  const std::string decoded = xtext_decode(envid);
  if (is_ascii_printable(decoded)) return clean_text(decoded, false);
  return clean_text(envid, false);
}

// overall_action - failed if any failed, else delayed if any delayed, else delivered.
DsnAction overall_action(const std::vector<DsnRecipient>& rcpts) {
  bool delayed = false, delivered = false;
  for (const DsnRecipient& r : rcpts) {
    if (r.action == DsnAction::kFailed) return DsnAction::kFailed;
    delayed |= r.action == DsnAction::kDelayed;
    delivered |= r.action == DsnAction::kDelivered || r.action == DsnAction::kRelayed;
  }
  if (delayed || !delivered) return delayed ? DsnAction::kDelayed : DsnAction::kFailed;
  return DsnAction::kDelivered;
}

// recipient_reason - the human explanation for one recipient.
std::string recipient_reason(const DsnRecipient& r, const std::string& status) {
  const std::string host = clean_text(r.remote_mta, true);
  const std::string diag = clean_text(r.diagnostic, true);
  std::string s;
  switch (r.action) {
    case DsnAction::kFailed:
      if (!host.empty() && !diag.empty()) s = "host " + host + " said: " + diag;
      else if (!diag.empty()) s = diag;
      else s = "delivery failed (status " + status + ")";
      break;
    case DsnAction::kDelayed:
      s = "delivery temporarily suspended";
      if (!host.empty() && !diag.empty()) s += ": host " + host + " said: " + diag;
      else if (!diag.empty()) s += ": " + diag;
      else s += " (status " + status + ")";
      if (r.retry_until_us != 0) s += " (will be retried until " + date_string(r.retry_until_us) + ")";
      break;
    case DsnAction::kDelivered:
      s = "delivered";
      if (!host.empty()) s += " to host " + host;
      if (!diag.empty()) s += ": " + diag;
      break;
    case DsnAction::kRelayed:
      s = "relayed";
      if (!host.empty()) s += " to host " + host;
      s += ", which does not report delivery";
      if (!diag.empty()) s += ": " + diag;
      break;
  }
  return s;
}

// build_human_part - part 1: Postfix-style explanation, then one paragraph per recipient
// (failed first, then delayed, then delivered; headed per group when there are several).
std::string build_human_part(const DsnInput& in, const std::string& mta, DsnAction overall, bool headers_only_fallback,
                             const std::vector<std::string>& statuses) {
  std::string b;
  b.append("This is the mail system at host ").append(mta).append(".").append(kCrlf).append(kCrlf);
  switch (overall) {
    case DsnAction::kFailed:
      b.append("I'm sorry to have to inform you that your message could not\r\n"
               "be delivered to one or more recipients. It's attached below.\r\n\r\n"
               "For further assistance, please send mail to postmaster.\r\n\r\n"
               "If you do so, please include this problem report. You can\r\n"
               "delete your own text from the attached returned message.\r\n\r\n");
      break;
    case DsnAction::kDelayed: {
      b.append("####################################################################\r\n"
               "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
               "####################################################################\r\n\r\n");
      if (in.arrival_us > 0 && in.now_us > in.arrival_us) {
        const int64_t tenths = (in.now_us - in.arrival_us) / 360'000'000;  // tenths of an hour
        char buf[96];
        const int n = snprintf(buf, sizeof buf, "Your message could not be delivered for %lld.%lld hours.\r\n",
                               static_cast<long long>(tenths / 10), static_cast<long long>(tenths % 10));
        b.append(buf, static_cast<size_t>(n));
      }
      b.append("The mail system will keep trying to deliver it; you will be\r\n"
               "notified if delivery finally fails.\r\n\r\n");
      break;
    }
    case DsnAction::kDelivered:
    case DsnAction::kRelayed:
      b.append("Your message was successfully delivered to the destination(s)\r\n"
               "listed below. If the message was delivered to mailbox you will\r\n"
               "receive no further notifications. Otherwise you may still receive\r\n"
               "notifications of mail delivery errors from other systems.\r\n\r\n");
      break;
  }
  if (headers_only_fallback) {
    b.append("The message could not be returned in full (it is too large or\r\n"
             "not in a form that can be sent back as is); only its headers are\r\n"
             "attached.\r\n\r\n");
  }
  b.append("                   The mail system\r\n");

  constexpr DsnAction kOrder[] = {DsnAction::kFailed, DsnAction::kDelayed, DsnAction::kDelivered,
                                  DsnAction::kRelayed};
  int groups = 0;
  for (DsnAction a : kOrder) {
    for (const DsnRecipient& r : in.recipients) {
      if (r.action == a) {
        ++groups;
        break;
      }
    }
  }
  for (DsnAction a : kOrder) {
    bool first = true;
    for (size_t i = 0; i < in.recipients.size(); ++i) {
      const DsnRecipient& r = in.recipients[i];
      if (r.action != a) continue;
      if (first && groups > 1) {
        b.append(kCrlf);
        switch (a) {
          case DsnAction::kFailed: b.append("Delivery to these recipients failed:\r\n"); break;
          case DsnAction::kDelayed: b.append("Delivery to these recipients is delayed (still being retried):\r\n"); break;
          case DsnAction::kDelivered: b.append("Your message was delivered to these recipients:\r\n"); break;
          case DsnAction::kRelayed:
            b.append("Your message was relayed to these recipients (their servers do not report delivery):\r\n");
            break;
        }
      }
      first = false;
      const std::string addr = clean_text(r.final_recipient, true);
      std::string text = "<" + addr + ">";
      const std::string orig = orcpt_display(r.original_recipient);
      if (!orig.empty() && !iequals(orig, addr)) text += " (original recipient <" + orig + ">)";
      text += ": " + recipient_reason(r, statuses[i]);
      b.append(kCrlf);
      append_wrapped(b, text);
    }
  }
  return b;
}

// build_status_part - part 2: RFC 3464 §2.2 per-message fields, then §2.3 per-recipient
// groups, each after a blank line.
std::string build_status_part(const DsnInput& in, const std::string& mta, const std::vector<std::string>& statuses) {
  const bool u8 = in.smtputf8;
  std::string b;
  append_field(b, "Reporting-MTA", "dns; " + mta);
  if (!in.envid.empty()) append_field(b, "Original-Envelope-Id", envelope_id_value(in.envid));
  if (in.arrival_us > 0) append_field(b, "Arrival-Date", date_string(in.arrival_us));
  for (size_t i = 0; i < in.recipients.size(); ++i) {
    const DsnRecipient& r = in.recipients[i];
    b.append(kCrlf);
    if (!r.original_recipient.empty()) append_field(b, "Original-Recipient", original_recipient_value(r.original_recipient, u8));
    append_field(b, "Final-Recipient", final_recipient_value(r.final_recipient, u8));
    append_field(b, "Action", action_name(r.action));
    append_field(b, "Status", statuses[i]);
    const std::string host = clean_text(r.remote_mta, false);
    if (!host.empty()) append_field(b, "Remote-MTA", "dns; " + host);
    const std::string diag = clean_text(r.diagnostic, u8);
    if (!diag.empty()) append_field(b, "Diagnostic-Code", (is_smtp_reply(diag) ? "smtp; " : "X-Correo; ") + diag);
    if (r.last_attempt_us != 0) append_field(b, "Last-Attempt-Date", date_string(r.last_attempt_us));
    if (r.action == DsnAction::kDelayed && r.retry_until_us != 0) {
      append_field(b, "Will-Retry-Until", date_string(r.retry_until_us));
    }
  }
  return b;
}

// fnv1a - 64-bit FNV-1a hash, the start of the boundary perturbation sequence.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// mix64 - splitmix64 step: the next perturbation value.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// choose_boundary - "=_" seed "." now_us, perturbed with a hash suffix while it occurs in
// any of the part bodies. 64-bit suffixes: the retry bound is never reached in practice.
std::string choose_boundary(const DsnInput& in, std::initializer_list<std::string_view> bodies) {
  const std::string base = "=_" + clean_token(in.boundary_seed, is_bchar, kMaxSeed, "dsn") + "." + std::to_string(in.now_us);
  const auto occurs = [&](const std::string& b) {
    for (std::string_view body : bodies) {
      if (body.find(b) != std::string_view::npos) return true;
    }
    return false;
  };
  std::string b = base;
  uint64_t h = fnv1a(base);
  for (int attempt = 0; attempt < 1000 && occurs(b); ++attempt) {
    h = mix64(h);
    char buf[24];
    const int n = snprintf(buf, sizeof buf, ".%016llx", static_cast<unsigned long long>(h));
    b = base + std::string(buf, static_cast<size_t>(n));
  }
  return b;
}

// append_part - delimiter line, part headers, blank line, body (the CRLF before the next
// delimiter belongs to that delimiter, RFC 2046 §5.1.1).
void append_part(std::string& out, std::string_view boundary, std::string_view type, std::string_view description,
                 std::string_view body) {
  out.append(kCrlf).append("--").append(boundary).append(kCrlf);
  out.append("Content-Description: ").append(description).append(kCrlf);
  out.append("Content-Type: ").append(type).append(kCrlf);
  out.append("Content-Transfer-Encoding: ").append(has_8bit(body) ? "8bit" : "7bit").append(kCrlf);
  out.append(kCrlf).append(body);
}

}  // namespace

// xtext_decode - "+XX" (uppercase hex) -> byte; anything malformed is copied as it is.
std::string xtext_decode(std::string_view xtext) {
  std::string out;
  out.reserve(xtext.size());
  for (size_t i = 0; i < xtext.size(); ++i) {
    if (xtext[i] == '+' && i + 2 < xtext.size() && is_upper_hex(xtext[i + 1]) && is_upper_hex(xtext[i + 2])) {
      out += static_cast<char>(hex_value(xtext[i + 1]) * 16 + hex_value(xtext[i + 2]));
      i += 2;
    } else {
      out += xtext[i];
    }
  }
  return out;
}

// build_dsn - headers, preamble, the three parts of RFC 6522 multipart/report, close.
std::string build_dsn(const DsnInput& in) {
  const bool u8 = in.smtputf8;
  const std::string mta = clean_token(in.reporting_mta, is_host_char, 255, "localhost");
  const DsnAction overall = overall_action(in.recipients);

  std::vector<std::string> statuses;
  statuses.reserve(in.recipients.size());
  for (const DsnRecipient& r : in.recipients) {
    statuses.push_back(valid_status(r.status) ? r.status : default_status(r.action));
  }

  // Part 3 first: whether the whole original goes back decides a sentence of part 1.
  const bool full = in.ret == DsnRet::kFull && in.original.size() <= in.max_returned_bytes &&
                    transport_safe(in.original);
  std::string headers_copy;
  if (!full) append_header_lines(headers_copy, header_section(in.original), in.max_returned_bytes);
  const std::string_view returned = full ? in.original : std::string_view(headers_copy);

  const std::string human = build_human_part(in, mta, overall, in.ret == DsnRet::kFull && !full, statuses);
  const std::string status = build_status_part(in, mta, statuses);
  const std::string boundary = choose_boundary(in, {human, status, returned});

  const char* subject = overall == DsnAction::kFailed    ? "Undelivered Mail Returned to Sender"
                        : overall == DsnAction::kDelayed ? "Delayed Mail (still being retried)"
                                                         : "Successful Mail Delivery Report";
  const std::string msgid_left = clean_token(in.boundary_seed, is_atext_char, 64, "dsn");
  const std::string to = clean_text(in.original_sender, u8);

  std::string out;
  out.reserve(human.size() + status.size() + returned.size() + 2048);
  append_field(out, "From", "Mail Delivery System <MAILER-DAEMON@" + mta + ">");
  append_field(out, "To", "<" + to + ">");
  append_field(out, "Subject", subject);
  append_field(out, "Date", date_string(in.now_us));
  append_field(out, "Message-ID", "<" + msgid_left + "." + std::to_string(in.now_us) + "@" + mta + ">");
  append_field(out, "Auto-Submitted", "auto-replied");
  append_field(out, "MIME-Version", "1.0");
  out.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"")
      .append(boundary)
      .append("\"\r\n");
  const bool any_8bit = has_8bit(human) || has_8bit(status) || has_8bit(returned);
  append_field(out, "Content-Transfer-Encoding", any_8bit ? "8bit" : "7bit");
  out.append(kCrlf).append("This is a MIME-encapsulated message.").append(kCrlf);

  append_part(out, boundary, "text/plain; charset=utf-8", "Notification", human);
  append_part(out, boundary, u8 ? "message/global-delivery-status" : "message/delivery-status", "Delivery report",
              status);
  const std::string_view what = overall == DsnAction::kDelivered ? "Delivered Message" : "Undelivered Message";
  if (full) {
    append_part(out, boundary, u8 ? "message/global" : "message/rfc822", what, returned);
  } else {
    append_part(out, boundary, u8 ? "message/global-headers" : "text/rfc822-headers", std::string(what) + " Headers",
                returned);
  }
  out.append(kCrlf).append("--").append(boundary).append("--").append(kCrlf);
  return out;
}

}  // namespace correo
