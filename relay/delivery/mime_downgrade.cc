// mime_downgrade.cc - 8BITMIME -> 7-bit conversion (RFC 6152 §3, RFC 2045, RFC 2046).
//
// Pure: the output depends only on the input; no clock, no locale, no I/O, no static state.
//
// An entity (the message, a body part, an embedded message) without 8-bit octets is copied
// as it is, unparsed. One with 8-bit octets is split at its first empty line into header
// section and body; its Content-Type, Content-Transfer-Encoding and MIME-Version fields
// (names case-insensitive, values unfolded, comments skipped) decide what happens:
//   multipart/*      the body is split on "--" boundary lines (RFC 2046 §5.1.1: exactly the
//                    boundary, optionally "--", then only SP/HTAB); each part is converted in
//                    turn, the CRLF before a delimiter belongs to the delimiter; a missing
//                    close delimiter ends the last part at the end of the body;
//   message/rfc822   the body is converted as a message of its own (so is message/global,
//                    RFC 6532 §3.5: its header section must then be 7-bit too);
//   anything else    a leaf: its body is re-encoded as quoted-printable.
// A container that said "Content-Transfer-Encoding: 8bit" says "7bit" afterwards; a leaf's
// field is replaced by "quoted-printable". Replaced fields are replaced whole (with their
// continuation lines) at their place; added fields go after the last field of the section.
//
// Choices the header leaves open:
//   - A message (top level or embedded) with neither MIME-Version nor Content-Type is not
//     MIME: its body is a text/plain leaf. Content-Type alone is honoured as MIME (as Postfix
//     and Python do). A converted message without MIME-Version gets "MIME-Version: 1.0".
//   - A leaf without Content-Type gets "Content-Type: text/plain; charset=unknown-8bit"
//     (RFC 1428): the RFC 2045 default, us-ascii, would be false. An existing Content-Type is
//     never changed, even text/plain without a charset.
//   - A part of multipart/digest without Content-Type is message/rfc822 (RFC 2046 §5.1.5).
//   - An unparsable Content-Type is text/plain (RFC 2045 §5.2). The boundary is the first
//     plain "boundary" parameter, trailing spaces removed (as Python does); RFC 2231 forms
//     (boundary*, boundary*0) are not read, so such a multipart cannot be converted.
//   - message/global is converted inside, like message/rfc822, not re-encoded: RFC 6532
//     would allow quoted-printable on it, but readers (Python's email package among them)
//     parse message/* bodies without decoding them. The other message/* subtypes
//     (partial, external-body, delivery-status, global-headers, ...) with 8-bit data are
//     impossible: they must be 7bit, or carry UTF-8 header data that needs SMTPUTF8.
//   - A line in a header section that is neither a field nor a continuation line is kept and
//     otherwise ignored; an empty Content-Transfer-Encoding counts as absent.
//   - Only CRLF ends a line (the stored message has no bare CR or LF; if it had, the
//     quoted-printable encoder writes them as =0D and =0A).
//   - The result is checked once more for octets >= 0x80 before it is returned.
#include "relay/delivery/mime_downgrade.h"

#include "relay/common/ascii.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace correo {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr size_t kQpLine = 76;  // encoded characters per line without CRLF (RFC 2045 §6.7)
constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";

// has_8bit - any octet >= 0x80.
bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}


std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

bool crlf_at(std::string_view s, size_t i) {
  return i + 1 < s.size() && s[i] == '\r' && s[i + 1] == '\n';
}

// ---------------------------------------------------------------------------------------
// Header sections.

struct Entity {
  std::string_view head;  // header section: whole lines, each with its CRLF
  std::string_view body;  // after the empty line; empty if there is none
};

// split_entity - header section and body at the first empty line. Without one the whole
// entity is header section.
Entity split_entity(std::string_view e) {
  if (e.substr(0, 2) == kCrlf) return {e.substr(0, 0), e.substr(2)};
  const size_t p = e.find("\r\n\r\n");
  if (p == std::string_view::npos) return {e, {}};
  return {e.substr(0, p + 2), e.substr(p + 4)};
}

struct Field {
  size_t begin = 0;  // offset in the header section of the field's first line
  size_t end = 0;    // offset just past the CRLF of its last continuation line
  std::string_view value;  // after the colon, still folded
};

struct MimeFields {
  Field content_type, cte;
  int content_type_count = 0, cte_count = 0, mime_version_count = 0;
};

// field_name - the name of the field starting on `line` (obs: WSP before the colon allowed),
// empty if the line does not start a field.
std::string_view field_name(std::string_view line, size_t* colon) {
  *colon = line.find(':');
  if (*colon == std::string_view::npos) return {};
  std::string_view name = line.substr(0, *colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  for (char c : name) {
    if (c < 33 || c > 126) return {};
  }
  return name;
}

// scan_fields - locate the MIME fields of a header section, counting repeats.
MimeFields scan_fields(std::string_view head) {
  MimeFields m;
  std::optional<Field> cur;
  std::string_view cur_name;
  const auto close = [&] {
    if (!cur) return;
    cur->value = head.substr(cur->begin, cur->end - cur->begin);
    const size_t colon = cur->value.find(':');
    cur->value.remove_prefix(colon + 1);
    if (iequals(cur_name, "Content-Type")) {
      if (m.content_type_count++ == 0) m.content_type = *cur;
    } else if (iequals(cur_name, "Content-Transfer-Encoding")) {
      if (m.cte_count++ == 0) m.cte = *cur;
    } else if (iequals(cur_name, "MIME-Version")) {
      ++m.mime_version_count;
    }
    cur.reset();
  };
  size_t pos = 0;
  while (pos < head.size()) {
    const size_t eol = head.find(kCrlf, pos);
    const size_t line_end = eol == std::string_view::npos ? head.size() : eol;
    const size_t next = eol == std::string_view::npos ? head.size() : eol + 2;
    const std::string_view line = head.substr(pos, line_end - pos);
    if (!line.empty() && is_wsp(line[0])) {
      if (cur) cur->end = next;
    } else {
      close();
      size_t colon = 0;
      const std::string_view name = field_name(line, &colon);
      if (!name.empty()) {
        cur = Field{pos, next, {}};
        cur_name = name;
      }
    }
    pos = next;
  }
  close();
  return m;
}

// unfold - a field value on one line: the CRLFs of folding removed.
std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\r' && c != '\n') out += c;
  }
  return out;
}

// skip_cfws - past white space and comments (nested, with quoted-pairs) from i.
size_t skip_cfws(std::string_view s, size_t i) {
  while (i < s.size()) {
    if (is_wsp(s[i])) {
      ++i;
      continue;
    }
    if (s[i] != '(') break;
    size_t depth = 0;
    while (i < s.size()) {
      const char c = s[i++];
      if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')' && --depth == 0) {
        break;
      }
    }
  }
  return std::min(i, s.size());
}

bool is_token_char(char c) {
  return c > 32 && c < 127 && kTspecials.find(c) == std::string_view::npos;
}

// read_token - an RFC 2045 token at i (may be empty); i moves past it.
std::string_view read_token(std::string_view s, size_t* i) {
  const size_t start = *i;
  while (*i < s.size() && is_token_char(s[*i])) ++*i;
  return s.substr(start, *i - start);
}

// read_quoted - the quoted-string at i (s[i] == '"'), unescaped; an unterminated one runs
// to the end.
std::string read_quoted(std::string_view s, size_t* i) {
  std::string out;
  ++*i;
  while (*i < s.size()) {
    const char c = s[(*i)++];
    if (c == '"') break;
    if (c == '\\' && *i < s.size()) {
      out += s[(*i)++];
    } else {
      out += c;
    }
  }
  return out;
}

struct ContentType {
  std::string type = "text";  // lowercase
  std::string subtype = "plain";
  std::string boundary;       // "" if none
};

// parse_content_type - RFC 2045 §5.1 type/subtype and the boundary parameter; nullopt if
// the type/subtype is not there.
std::optional<ContentType> parse_content_type(std::string_view folded) {
  const std::string v = unfold(folded);
  ContentType ct;
  size_t i = skip_cfws(v, 0);
  const std::string_view type = read_token(v, &i);
  i = skip_cfws(v, i);
  if (type.empty() || i >= v.size() || v[i] != '/') return std::nullopt;
  i = skip_cfws(v, i + 1);
  const std::string_view subtype = read_token(v, &i);
  if (subtype.empty()) return std::nullopt;
  ct.type = lowered(type);
  ct.subtype = lowered(subtype);
  bool have_boundary = false;
  while (true) {
    i = skip_cfws(v, i);
    if (i >= v.size() || v[i] != ';') break;
    i = skip_cfws(v, i + 1);
    const std::string_view attribute = read_token(v, &i);
    if (attribute.empty()) break;
    i = skip_cfws(v, i);
    if (i >= v.size() || v[i] != '=') break;
    i = skip_cfws(v, i + 1);
    std::string value;
    if (i < v.size() && v[i] == '"') {
      value = read_quoted(v, &i);
    } else {
      value = std::string(read_token(v, &i));
    }
    if (!have_boundary && iequals(attribute, "boundary")) {
      have_boundary = true;
      while (!value.empty() && is_wsp(value.back())) value.pop_back();
      ct.boundary = std::move(value);
    }
  }
  return ct;
}

// parse_cte - the lowercased mechanism of a Content-Transfer-Encoding value.
std::string parse_cte(std::string_view folded) {
  const std::string v = unfold(folded);
  size_t i = skip_cfws(v, 0);
  return lowered(read_token(v, &i));
}

// ---------------------------------------------------------------------------------------
// Quoted-printable.

// qp_encode - RFC 2045 §6.7: CRLF stays a hard line break; '=', controls, bare CR/LF and
// octets >= 0x80 become "=XX"; SP/HTAB too just before a line break or the end; soft line
// breaks keep every encoded line <= 76 characters and never split an "=XX". A '-' that
// starts a line made by a soft break is "=2D": otherwise "xxx--b" broken before "--b" would
// put the delimiter of an enclosing multipart on a line of its own (RFC 2046 §5.1.1). A line
// start that was one in the input cannot become a delimiter: it was not one there, and
// encoding leaves no trailing white space.
void qp_encode(std::string_view body, std::string* out) {
  constexpr char kHex[] = "0123456789ABCDEF";
  size_t col = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (crlf_at(body, i)) {
      out->append(kCrlf);
      col = 0;
      ++i;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(body[i]);
    const bool last_on_line = i + 1 == body.size() || crlf_at(body, i + 1);
    bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last_on_line);
    // A token that is not last on its line must leave room for the soft break's '='.
    if (col + (literal ? 1 : 3) > (last_on_line ? kQpLine : kQpLine - 1)) {
      out->append("=\r\n");
      col = 0;
      if (c == '-') literal = false;
    }
    const size_t len = literal ? 1 : 3;
    if (literal) {
      *out += static_cast<char>(c);
    } else {
      *out += '=';
      *out += kHex[c >> 4];
      *out += kHex[c & 0x0f];
    }
    col += len;
  }
}

// ---------------------------------------------------------------------------------------
// The conversion.

struct Converter {
  std::string out;
  std::string reason;
  size_t max_depth = 0;

  bool fail(std::string_view why) {
    if (reason.empty()) reason = std::string(why);
    return false;
  }
};

bool convert_entity(Converter* c, std::string_view entity, size_t depth, bool is_message,
                    bool digest_part);

// emit_head - the header section with `replace` (if any) swapped for `field`, then `added`.
void emit_head(Converter* c, std::string_view head, const Field* replace,
               std::string_view field, std::string_view added) {
  if (replace != nullptr) {
    c->out.append(head.substr(0, replace->begin));
    c->out.append(field);
    c->out.append(head.substr(replace->end));
  } else {
    c->out.append(head);
  }
  c->out.append(added);
}

struct Delimiter {
  size_t begin = 0;  // start of the "--boundary" line
  size_t end = 0;    // past its CRLF (or the end of the body)
  bool close = false;
};

// find_delimiter - the first boundary delimiter line at or after the line start `from`.
std::optional<Delimiter> find_delimiter(std::string_view body, std::string_view boundary,
                                        size_t from) {
  size_t pos = from;
  while (pos < body.size()) {
    const size_t eol = body.find(kCrlf, pos);
    const size_t line_end = eol == std::string_view::npos ? body.size() : eol;
    const size_t next = eol == std::string_view::npos ? body.size() : eol + 2;
    std::string_view line = body.substr(pos, line_end - pos);
    if (line.size() >= 2 + boundary.size() && line[0] == '-' && line[1] == '-' &&
        line.substr(2, boundary.size()) == boundary) {
      line.remove_prefix(2 + boundary.size());
      const bool close = line.substr(0, 2) == "--";
      if (close) line.remove_prefix(2);
      if (std::all_of(line.begin(), line.end(), is_wsp)) return Delimiter{pos, next, close};
    }
    pos = next;
  }
  return std::nullopt;
}

// convert_multipart - the body of a multipart entity: preamble and epilogue as they are
// (they must be 7-bit), each part converted at `depth`.
bool convert_multipart(Converter* c, std::string_view body, std::string_view boundary,
                       size_t depth, bool digest) {
  std::optional<Delimiter> d = find_delimiter(body, boundary, 0);
  if (!d) return c->fail("8-bit data in a multipart whose boundary never occurs");
  if (has_8bit(body.substr(0, d->begin))) return c->fail("8-bit data in a multipart preamble");
  c->out.append(body.substr(0, d->end));
  while (!d->close) {
    const size_t part_begin = d->end;
    const std::optional<Delimiter> next = find_delimiter(body, boundary, part_begin);
    if (!next) {  // no close delimiter: the last part runs to the end
      return convert_entity(c, body.substr(part_begin), depth, false, digest);
    }
    const size_t part_end = next->begin >= part_begin + 2 ? next->begin - 2 : part_begin;
    if (!convert_entity(c, body.substr(part_begin, part_end - part_begin), depth, false,
                        digest)) {
      return false;
    }
    c->out.append(body.substr(part_end, next->end - part_end));
    d = next;
  }
  const std::string_view epilogue = body.substr(d->end);
  if (has_8bit(epilogue)) return c->fail("8-bit data in a multipart epilogue");
  c->out.append(epilogue);
  return true;
}

// container_encoding_ok - a multipart or message/rfc822 (or message/global) with 8-bit
// content may only say 7bit or 8bit (RFC 2045 §6.4), or nothing.
bool container_encoding_ok(Converter* c, const std::string& cte) {
  if (cte.empty() || cte == "7bit" || cte == "8bit") return true;
  if (cte == "binary") return c->fail("8-bit data with Content-Transfer-Encoding: binary");
  return c->fail("8-bit data in a multipart or message part with an invalid encoding");
}

// convert_entity - append `entity` converted to c->out; false (c->reason set) if it cannot
// be. is_message: the top level or an embedded message (MIME-Version matters there);
// digest_part: a part of multipart/digest (default type message/rfc822).
bool convert_entity(Converter* c, std::string_view entity, size_t depth, bool is_message,
                    bool digest_part) {
  if (!has_8bit(entity)) {
    c->out.append(entity);
    return true;
  }
  if (depth > c->max_depth) return c->fail("MIME nesting too deep");
  const Entity e = split_entity(entity);
  if (has_8bit(e.head)) return c->fail("8-bit data in a header needs SMTPUTF8");
  const MimeFields f = scan_fields(e.head);
  if (f.content_type_count > 1 || f.cte_count > 1) {
    return c->fail("more than one Content-Type or Content-Transfer-Encoding field");
  }
  ContentType ct;
  if (f.content_type_count > 0) {
    ct = parse_content_type(f.content_type.value).value_or(ContentType{});
  } else if (digest_part) {
    ct.type = "message";
    ct.subtype = "rfc822";
  }
  const std::string cte = f.cte_count > 0 ? parse_cte(f.cte.value) : std::string();
  const Field* cte_field = f.cte_count > 0 ? &f.cte : nullptr;
  const std::string_view add_version =
      is_message && f.mime_version_count == 0 ? "MIME-Version: 1.0\r\n" : "";
  // Past this point the body holds the 8-bit data, so the empty line exists.

  const bool embedded =
      ct.type == "message" && (ct.subtype == "rfc822" || ct.subtype == "global");
  if (ct.type == "multipart" || embedded) {
    if (!container_encoding_ok(c, cte)) return false;
    if (ct.type == "multipart" && ct.boundary.empty()) {
      return c->fail("8-bit data in a multipart without a boundary parameter");
    }
    emit_head(c, e.head, cte == "8bit" ? cte_field : nullptr,
              "Content-Transfer-Encoding: 7bit\r\n", add_version);
    c->out.append(kCrlf);
    if (ct.type == "multipart") {
      return convert_multipart(c, e.body, ct.boundary, depth + 1, ct.subtype == "digest");
    }
    return convert_entity(c, e.body, depth + 1, true, false);
  }
  if (ct.type == "message") {
    return c->fail("8-bit data in a message/* part that cannot be converted");
  }

  // A leaf.
  if (cte == "binary") return c->fail("8-bit data with Content-Transfer-Encoding: binary");
  if (cte == "base64" || cte == "quoted-printable") {
    return c->fail("8-bit data in a base64 or quoted-printable part");
  }
  if (!cte.empty() && cte != "7bit" && cte != "8bit") {
    return c->fail("8-bit data with an unknown Content-Transfer-Encoding");
  }
  constexpr std::string_view kQpField = "Content-Transfer-Encoding: quoted-printable\r\n";
  std::string added(add_version);
  if (f.content_type_count == 0) added += "Content-Type: text/plain; charset=unknown-8bit\r\n";
  if (cte_field == nullptr) added += kQpField;
  emit_head(c, e.head, cte_field, kQpField, added);
  c->out.append(kCrlf);
  qp_encode(e.body, &c->out);
  return true;
}

}  // namespace

Downgrade downgrade_to_7bit(std::string_view message, size_t max_depth) {
  Downgrade d;
  if (!has_8bit(message)) return d;
  Converter c;
  c.max_depth = max_depth;
  c.out.reserve(message.size() + message.size() / 4);
  const bool ok = convert_entity(&c, message, 0, true, false);
  if (ok && has_8bit(c.out)) c.fail("8-bit data left after conversion");  // cannot happen
  if (!ok || !c.reason.empty()) {
    d.result = DowngradeResult::kImpossible;
    d.reason = std::move(c.reason);
    return d;
  }
  d.result = DowngradeResult::kConverted;
  d.message = std::move(c.out);
  return d;
}

}  // namespace correo
