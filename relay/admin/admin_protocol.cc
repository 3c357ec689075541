// admin_protocol.cc - encoding and decoding of admin requests and reply lines.
#include "relay/admin/admin_protocol.h"

namespace correo {
namespace {

constexpr AdminError kAllErrors[] = {AdminError::kUsage, AdminError::kNotFound, AdminError::kNotApplicable,
                                     AdminError::kBusy,  AdminError::kFailed,   AdminError::kProtocol};

bool forbidden_in_word(char c) { return c == '\t' || c == '\r' || c == '\n' || c == '\0'; }

// safe_text - the text with line breaks and NUL turned into spaces: the last line of defence
// that keeps one reply line one line.
std::string safe_text(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

}  // namespace

std::string_view to_string(AdminError e) {
  switch (e) {
    case AdminError::kUsage: return "usage";
    case AdminError::kNotFound: return "not_found";
    case AdminError::kNotApplicable: return "not_applicable";
    case AdminError::kBusy: return "busy";
    case AdminError::kFailed: return "failed";
    case AdminError::kProtocol: return "protocol";
  }
  return "failed";
}

std::optional<AdminError> parse_admin_error(std::string_view s) {
  for (AdminError e : kAllErrors) {
    if (s == to_string(e)) return e;
  }
  return std::nullopt;
}

int exit_code_for(AdminError e) {
  switch (e) {
    case AdminError::kUsage: return kExitUsage;
    case AdminError::kProtocol: return kExitUnreachable;
    case AdminError::kNotFound:
    case AdminError::kNotApplicable:
    case AdminError::kBusy:
    case AdminError::kFailed: return kExitFailed;
  }
  return kExitFailed;
}

Result<std::string> encode_admin_request(const std::vector<std::string>& words) {
  std::string line(kAdminProtocolTag);
  for (const std::string& w : words) {
    for (char c : w) {
      if (forbidden_in_word(c)) return Error{"arguments must not contain TAB, CR, LF or NUL"};
    }
    line += '\t';
    line += w;
    if (line.size() + 1 > kMaxAdminRequest) break;  // stop copying early; reported below
  }
  line += '\n';
  if (line.size() > kMaxAdminRequest) {
    return Error{"request too long (more than " + std::to_string(kMaxAdminRequest) +
                 " bytes); give fewer ids or use a filter"};
  }
  return line;
}

Result<std::vector<std::string>> decode_admin_request(std::string_view line) {
  if (line.size() > kMaxAdminRequest) return Error{"request too long"};
  if (line.empty() || line.back() != '\n') return Error{"request not terminated by a newline"};
  line.remove_suffix(1);
  for (char c : line) {
    if (c == '\r' || c == '\n' || c == '\0') return Error{"request contains CR, LF or NUL"};
  }
  const size_t first_tab = line.find('\t');
  const std::string_view tag = line.substr(0, first_tab);
  if (tag != kAdminProtocolTag) return Error{"unsupported protocol (expected correoctl/1)"};
  std::vector<std::string> words;
  if (first_tab == std::string_view::npos) return words;
  std::string_view rest = line.substr(first_tab + 1);
  while (true) {
    const size_t tab = rest.find('\t');
    words.emplace_back(rest.substr(0, tab));
    if (tab == std::string_view::npos) break;
    rest.remove_prefix(tab + 1);
  }
  return words;
}

std::string encode_data_line(std::string_view text) { return "D " + safe_text(text) + "\n"; }

std::string encode_ok_line(std::string_view text) {
  return text.empty() ? std::string("OK\n") : "OK " + safe_text(text) + "\n";
}

std::string encode_err_line(AdminError code, std::string_view text) {
  std::string line = "ERR " + std::string(to_string(code));
  if (!text.empty()) line += " " + safe_text(text);
  return line + "\n";
}

std::optional<ReplyLine> parse_reply_line(std::string_view line) {
  ReplyLine out;
  if (line.starts_with("D ") || line == "D") {
    out.kind = ReplyLine::Kind::kData;
    out.text = std::string(line.substr(line.size() >= 2 ? 2 : 1));
    return out;
  }
  if (line == "OK" || line.starts_with("OK ")) {
    out.kind = ReplyLine::Kind::kOk;
    out.text = std::string(line.substr(line.size() >= 3 ? 3 : 2));
    return out;
  }
  if (line.starts_with("ERR ")) {
    std::string_view rest = line.substr(4);
    const size_t sp = rest.find(' ');
    const std::string_view code = rest.substr(0, sp);
    if (code.empty()) return std::nullopt;
    out.kind = ReplyLine::Kind::kErr;
    out.code = parse_admin_error(code).value_or(AdminError::kFailed);
    if (sp != std::string_view::npos) out.text = std::string(rest.substr(sp + 1));
    if (!parse_admin_error(code)) out.text = std::string(code) + ": " + out.text;  // keep what it said
    return out;
  }
  return std::nullopt;
}

}  // namespace correo
