// apply_edits.h - the message's header section as a list of fields, and applying a milter's
// header and body edits to message content. Pure functions over strings.
//
// Content is what the relay stores: the header section, an empty line, the body; CRLF line
// ends (a bare LF is accepted as a line end when parsing, never produced). The header
// section ends at the first empty line, or - as in Postfix's mime_state - at the first line
// that is neither a header field ("name:") nor a continuation (starts with SP or HTAB); that
// line then begins the body.
//
// Edit semantics follow libmilter's documentation and Postfix's cleanup_milter.c:
//   kAdd    - append after the last header field.
//   kInsert - index N puts the field before the (N+1)th current field, 0 = topmost; an index
//             past the end appends.
//   kChange - the Nth field (1-based; 0 is taken as 1, as Postfix does) whose name matches
//             case-insensitively gets the new value, keeping its original name spelling; an
//             empty value deletes it; when fewer than N exist a non-empty value is appended
//             (libmilter smfi_chgheader: "a new copy of headerf will be added").
// Edits apply in order, each seeing the result of the previous ones. Index counts are over
// the content as given to the milter.
// A value with line breaks ("\n" or "\r\n", as milters fold, e.g. opendkim's "\n\t") becomes
// CRLF continuation lines; a continuation line that lacks leading white space gets a HTAB and
// empty lines are dropped, so no edit can end the header section early or inject a field.
// Nothing is folded by us. A new body replaces everything after the header section; its line
// ends are normalised to CRLF and it ends with CRLF.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/common/result.h"

namespace correo {

// HeaderField - one field of the header section, pointing into the content.
struct HeaderField {
  std::string_view name;   // as written, without the colon or white space before it
  std::string_view value;  // everything after the colon up to the final line end, folds kept
  std::string_view raw;    // the whole field including its final line end
};

struct HeaderSection {
  std::vector<HeaderField> fields;
  size_t end = 0;         // offset just past the last field (where kAdd inserts)
  size_t body_start = 0;  // offset of the body: after the empty line, or of the first non-header line
  bool has_separator = false;  // an empty line separates header section and body
};

// parse_header_section - split content into fields. Never fails: any byte sequence parses.
HeaderSection parse_header_section(std::string_view content);

// milter_header_value - a field's value as the milter sees it (Sendmail and Postfix
// conventions): folds kept as "\n" between lines (CRLF -> LF), and without
// SMFIP_HDR_LEADSPC the single space after the colon removed (a tab is kept).
std::string milter_header_value(std::string_view value, bool keep_leading_space);

// valid_header_name - RFC 5322 §3.6.8 field-name: 1*ftext, printable ASCII except ':'.
bool valid_header_name(std::string_view name);

struct HeaderEdit {
  enum Kind : uint8_t { kAdd, kInsert, kChange };
  Kind kind = kAdd;
  uint32_t index = 0;  // kInsert: 0-based position; kChange: 1-based occurrence
  std::string name, value;
};

// apply_milter_edits - new content with the edits applied. Errors only on an invalid header
// name (the session refuses those already; this keeps the function safe on its own).
Result<std::string> apply_milter_edits(std::string_view content, const std::vector<HeaderEdit>& edits,
                                       const std::optional<std::string>& new_body);

}  // namespace correo
