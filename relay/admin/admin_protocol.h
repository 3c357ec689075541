// admin_protocol.h - the line protocol between correoctl and the admin server.
//
// Request: one line, the tag `correoctl/1` then the argv words, TAB-separated, ending in
// "\n", at most kMaxAdminRequest bytes in all. A word may hold any byte but TAB, CR, LF and
// NUL (so no quoting is needed and none can be got wrong); bytes >= 0x80 pass as they are.
//
// Reply: zero or more data lines `D <text>` (text to print as is), then exactly one final
// line, `OK <text>` or `ERR <code> <text>`, then the server closes. A reply with no final
// line was cut short: the client treats it as "cannot reach the daemon", never as success.
//
// Why this shape: one request per connection keeps the server a short loop, TAB-separated
// words survive addresses with spaces, and the final line makes truncation detectable.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/common/result.h"

namespace correo {

inline constexpr std::string_view kAdminProtocolTag = "correoctl/1";
// The request line including its "\n": bounds the server's per-client buffer.
inline constexpr size_t kMaxAdminRequest = 4096;
// One reply line as the client accepts it (a message with thousands of recipients makes a
// long JSON line); bounds correoctl's memory against a broken or hostile peer.
inline constexpr size_t kMaxAdminReplyLine = 8u << 20;

// AdminError - the code of an ERR line. Each maps to a correoctl exit status.
enum class AdminError {
  kUsage,          // unknown command, bad option or id, refused as too broad   -> 2
  kNotFound,       // no such message                                          -> 1
  kNotApplicable,  // e.g. release of a message that is not held               -> 1
  kBusy,           // daemon has too many admin clients or requests; try again  -> 1
  kFailed,         // the operation failed (spool write, some messages failed)  -> 1
  kProtocol,       // malformed/oversized request, timeout, version mismatch    -> 3
};
std::string_view to_string(AdminError e);  // "usage" | "not_found" | ... | "protocol"
std::optional<AdminError> parse_admin_error(std::string_view s);

// correoctl exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the operation failed or found nothing
inline constexpr int kExitUsage = 2;        // the command line is wrong
inline constexpr int kExitUnreachable = 3;  // no daemon, timeout, or a cut/garbled reply
int exit_code_for(AdminError e);

// encode_admin_request - the request line for argv `words`; an Error (for the operator)
// when a word holds TAB/CR/LF/NUL or the line would exceed kMaxAdminRequest.
Result<std::string> encode_admin_request(const std::vector<std::string>& words);
// decode_admin_request - `line` is the whole request including its "\n". Rejects a wrong
// tag, a missing newline, forbidden bytes and oversize input.
Result<std::vector<std::string>> decode_admin_request(std::string_view line);

// Reply lines, each ending in "\n". The text is made safe: CR, LF and NUL become spaces, so
// a line can never be split in two (callers escape their text properly before this).
std::string encode_data_line(std::string_view text);
std::string encode_ok_line(std::string_view text);
std::string encode_err_line(AdminError code, std::string_view text);

struct ReplyLine {
  enum class Kind { kData, kOk, kErr };
  Kind kind = Kind::kData;
  AdminError code = AdminError::kFailed;  // kErr only
  std::string text;
};
// parse_reply_line - one line without its "\n". nullopt for an unknown prefix or an ERR
// without a code (the client then reports a protocol error). An ERR code this client does
// not know (a newer daemon) reads as kFailed, the text kept, so it still exits non-zero.
std::optional<ReplyLine> parse_reply_line(std::string_view line);

}  // namespace correo
