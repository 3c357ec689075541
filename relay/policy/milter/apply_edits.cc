// apply_edits.cc - header section parsing and milter edits (see apply_edits.h).
#include "relay/policy/milter/apply_edits.h"

#include <algorithm>

#include "relay/common/ascii.h"

namespace correo {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// line_text - a line without its line end ("\r\n" or "\n").
std::string_view line_text(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// field_name_length - length of "name" in a line "name[WSP]:..." (colon excluded), 0 when the
// line is not a header field. White space before the colon is obsolete syntax (RFC 5322
// §4.5) that Postfix's is_header() still accepts; the name itself excludes it.
size_t field_name_length(std::string_view text, size_t* colon) {
  size_t n = 0;
  while (n < text.size() && text[n] != ':' && !is_wsp(text[n]) && text[n] > 32 && text[n] < 127) ++n;
  if (n == 0) return 0;
  size_t c = n;
  while (c < text.size() && is_wsp(text[c])) ++c;
  if (c >= text.size() || text[c] != ':') return 0;
  *colon = c;
  return n;
}

// format_field - "Name: value" with CRLF line ends; see the header comment for the rules
// that keep a milter's value from breaking the header section.
std::string format_field(std::string_view name, std::string_view value) {
  std::string out(name);
  out.push_back(':');
  bool first = true;
  while (true) {
    const size_t nl = value.find('\n');
    std::string_view line = value.substr(0, nl);
    std::string clean;
    clean.reserve(line.size());
    for (char c : line) {
      if (c != '\r') clean.push_back(c);  // a CR outside CRLF has no place in a header
    }
    if (first) {
      if (!clean.empty() && !is_wsp(clean[0])) out.push_back(' ');
      out += clean;
      first = false;
    } else if (std::any_of(clean.begin(), clean.end(), [](char c) { return !is_wsp(c); })) {
      // An empty or blank line would end the header section (or be an obsolete blank fold).
      out += "\r\n";
      if (!is_wsp(clean[0])) out.push_back('\t');
      out += clean;
    }
    if (nl == std::string_view::npos) break;
    value.remove_prefix(nl + 1);
  }
  out += "\r\n";
  return out;
}

std::string normalise_body(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 2);
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r' || c == '\n') {
      out += "\r\n";
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

struct EditableField {
  std::string name;  // for kChange matching
  std::string raw;   // the whole field with its line end
};

}  // namespace

HeaderSection parse_header_section(std::string_view content) {
  HeaderSection hs;
  size_t pos = 0;
  size_t field_start = 0, value_start = 0, name_len = 0;
  bool in_field = false;
  auto close_field = [&](size_t at) {
    if (!in_field) return;
    const std::string_view raw = content.substr(field_start, at - field_start);
    hs.fields.push_back(HeaderField{content.substr(field_start, name_len),
                                    line_text(content.substr(value_start, at - value_start)), raw});
    in_field = false;
  };
  while (pos < content.size()) {
    const size_t lf = content.find('\n', pos);
    const size_t next = lf == std::string_view::npos ? content.size() : lf + 1;
    const std::string_view text = line_text(content.substr(pos, next - pos));
    if (text.empty()) {
      close_field(pos);
      hs.end = pos;
      hs.body_start = next;
      hs.has_separator = true;
      return hs;
    }
    if (is_wsp(text[0]) && in_field) {
      pos = next;  // a continuation line: part of the current field
      continue;
    }
    size_t colon = 0;
    const size_t n = is_wsp(text[0]) ? 0 : field_name_length(text, &colon);
    close_field(pos);
    if (n == 0) {
      hs.end = pos;
      hs.body_start = pos;
      return hs;
    }
    in_field = true;
    field_start = pos;
    name_len = n;
    value_start = pos + colon + 1;
    pos = next;
  }
  close_field(content.size());
  hs.end = hs.body_start = content.size();
  return hs;
}

std::string milter_header_value(std::string_view value, bool keep_leading_space) {
  if (!keep_leading_space && !value.empty() && value[0] == ' ') value.remove_prefix(1);
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out.push_back(value[i]);
  }
  return out;
}

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

Result<std::string> apply_milter_edits(std::string_view content, const std::vector<HeaderEdit>& edits,
                                       const std::optional<std::string>& new_body) {
  const HeaderSection hs = parse_header_section(content);
  std::vector<EditableField> fields;
  fields.reserve(hs.fields.size() + edits.size());
  for (const auto& f : hs.fields) {
    EditableField e{std::string(f.name), std::string(f.raw)};
    // Only the last field of a content without any line end can lack one; fields we add
    // after it must start on their own line.
    if (!e.raw.ends_with('\n')) e.raw += "\r\n";
    fields.push_back(std::move(e));
  }
  for (const auto& edit : edits) {
    if (!valid_header_name(edit.name)) return Error{"milter edit with invalid header name"};
    switch (edit.kind) {
      case HeaderEdit::kAdd:
        fields.push_back({edit.name, format_field(edit.name, edit.value)});
        break;
      case HeaderEdit::kInsert: {
        const size_t at = std::min<size_t>(edit.index, fields.size());
        fields.insert(fields.begin() + static_cast<std::ptrdiff_t>(at), {edit.name, format_field(edit.name, edit.value)});
        break;
      }
      case HeaderEdit::kChange: {
        uint32_t wanted = std::max<uint32_t>(edit.index, 1);
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const EditableField& f) { return iequals(f.name, edit.name) && --wanted == 0; });
        if (it == fields.end()) {
          if (!edit.value.empty()) fields.push_back({edit.name, format_field(edit.name, edit.value)});
        } else if (edit.value.empty()) {
          fields.erase(it);
        } else {
          it->raw = format_field(it->name, edit.value);
        }
        break;
      }
    }
  }
  std::string out;
  size_t size = content.size() + (new_body ? new_body->size() + 2 : 0);
  for (const auto& f : fields) size += f.raw.size();
  out.reserve(size);
  for (const auto& f : fields) out += f.raw;
  if (new_body) {
    out += "\r\n";
    out += normalise_body(*new_body);
  } else {
    out.append(content.substr(hs.end));
  }
  return out;
}

}  // namespace correo
