// dsn_test_util.h - fixtures and helpers shared by the DSN builder tests: canned inputs,
// a minimal MIME splitter and field reader, wire-format checks, and the bridge to the
// Python email-package check (dsn_check.py beside this file).
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "relay/delivery/dsn.h"
#include "tests/unit/test_util/run_on_file.h"

namespace correo::dsn_test {


constexpr int64_t kArrival = 1'700'000'000'123'456;  // Tue, 14 Nov 2023 22:13:20 +0000
constexpr int64_t kNow = 1'700'003'600'000'000;      // Tue, 14 Nov 2023 23:13:20 +0000
constexpr std::string_view kArrivalDate = "Tue, 14 Nov 2023 22:13:20 +0000";
constexpr std::string_view kNowDate = "Tue, 14 Nov 2023 23:13:20 +0000";
constexpr std::string_view kBoundary = "=_00000000000004D2.1700003600000000";

constexpr std::string_view kHeaderSection =
    "Received: from client.example.org (unknown [192.0.2.7])\r\n"
    "\tby mx.example.org (correo) with ESMTP id 00000000000004D2\r\n"
    "\tfor <bob@example.net>;\r\n"
    "\tTue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: lunch\r\n"
    "Message-ID: <lunch.1@example.org>\r\n";
constexpr std::string_view kOriginal =
    "Received: from client.example.org (unknown [192.0.2.7])\r\n"
    "\tby mx.example.org (correo) with ESMTP id 00000000000004D2\r\n"
    "\tfor <bob@example.net>;\r\n"
    "\tTue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: lunch\r\n"
    "Message-ID: <lunch.1@example.org>\r\n"
    "\r\n"
    "Shall we meet at noon?\r\n"
    "\r\n"
    "Alice\r\n";

inline DsnRecipient failed_rcpt() {
  DsnRecipient r;
  r.final_recipient = "bob@example.net";
  r.action = DsnAction::kFailed;
  r.status = "5.1.1";
  r.remote_mta = "mx.example.net";
  r.diagnostic = "550 5.1.1 <bob@example.net>: unknown user";
  r.last_attempt_us = kNow;
  return r;
}

inline DsnRecipient delayed_rcpt() {
  DsnRecipient r;
  r.final_recipient = "carol@example.com";
  r.action = DsnAction::kDelayed;
  r.status = "4.4.1";
  r.remote_mta = "mx.example.com";
  r.diagnostic = "451 4.4.1 try again later";
  r.last_attempt_us = kNow;
  r.retry_until_us = kArrival + 5 * 86'400'000'000LL;  // Sun, 19 Nov 2023 22:13:20 +0000
  return r;
}

inline DsnRecipient delivered_rcpt() {
  DsnRecipient r;
  r.final_recipient = "dave@example.com";
  r.action = DsnAction::kDelivered;
  r.status = "2.0.0";
  r.remote_mta = "mx.example.com";
  r.diagnostic = "250 2.0.0 Ok: queued as 4F2A";
  return r;
}

inline DsnInput base_input() {
  DsnInput in;
  in.reporting_mta = "mx.example.org";
  in.original_sender = "alice@example.org";
  in.arrival_us = kArrival;
  in.now_us = kNow;
  in.original = kOriginal;
  in.boundary_seed = "00000000000004D2";
  in.recipients = {failed_rcpt()};
  return in;
}

// ---------------------------------------------------------------------------------------
// Helpers: wire format, MIME split, fields.

inline bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// expect_wire_format - CRLF only (no bare CR or LF, no NUL), every line <= 998 octets,
// ends with CRLF.
inline void expect_wire_format(const std::string& msg) {
  size_t line_start = 0;
  size_t longest = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    ASSERT_NE(msg[i], '\0') << "NUL at " << i;
    if (msg[i] == '\n') {
      ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
      longest = std::max(longest, i - 1 - line_start);
      line_start = i + 1;
    } else if (msg[i] == '\r') {
      ASSERT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  EXPECT_EQ(line_start, msg.size()) << "does not end with CRLF";
  EXPECT_LE(longest, 998u);
}

inline std::vector<std::string> lines_of(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t e = s.find("\r\n", pos);
    if (e == std::string_view::npos) e = s.size();
    out.emplace_back(s.substr(pos, e - pos));
    pos = e + 2;
  }
  return out;
}

// unfold - RFC 5322 §2.2.3: remove every CRLF that is followed by whitespace.
inline std::string unfold(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 2 < s.size() && s[i + 1] == '\n' && (s[i + 2] == ' ' || s[i + 2] == '\t')) {
      ++i;
      continue;
    }
    out += s[i];
  }
  return out;
}

// unwrap - human text with the wrapping undone (a line break plus indent becomes a space).
inline std::string unwrap(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 6, "\r\n    ") == 0) {
      out += ' ';
      i += 5;
      continue;
    }
    out += s[i];
  }
  return out;
}

// field - the (unfolded) value of the first "Name: value" line of a header block.
inline std::optional<std::string> field(std::string_view block, std::string_view name) {
  for (const std::string& line : lines_of(unfold(block))) {
    if (line.size() > name.size() + 1 && line.compare(0, name.size(), name) == 0 && line[name.size()] == ':') {
      size_t v = name.size() + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      return line.substr(v);
    }
  }
  return std::nullopt;
}

struct Part {
  std::string headers;  // including the CRLF of the last field
  std::string body;     // up to (excluding) the CRLF that starts the next delimiter
};

struct Mime {
  std::string headers;
  std::string boundary;
  std::vector<Part> parts;
  bool closed = false;  // close delimiter found, at the very end
};

// split_mime - top-level headers, then every body part between "CRLF--boundary" lines.
inline Mime split_mime(const std::string& msg) {
  Mime m;
  const size_t hdr_end = msg.find("\r\n\r\n");
  if (hdr_end == std::string::npos) return m;
  m.headers = msg.substr(0, hdr_end + 2);
  const std::string ct = field(m.headers, "Content-Type").value_or("");
  const size_t b = ct.find("boundary=\"");
  if (b == std::string::npos) return m;
  m.boundary = ct.substr(b + 10, ct.find('"', b + 10) - (b + 10));
  const std::string delim = "\r\n--" + m.boundary;
  size_t pos = msg.find(delim, hdr_end);
  while (pos != std::string::npos) {
    const size_t after = pos + delim.size();
    if (msg.compare(after, 4, "--\r\n") == 0) {
      m.closed = after + 4 == msg.size();
      break;
    }
    if (msg.compare(after, 2, "\r\n") != 0) break;
    const size_t start = after + 2;
    const size_t next = msg.find(delim, start);
    const std::string content = msg.substr(start, (next == std::string::npos ? msg.size() : next) - start);
    Part p;
    const size_t blank = content.find("\r\n\r\n");
    if (content.compare(0, 2, "\r\n") == 0) {
      p.body = content.substr(2);
    } else if (blank != std::string::npos) {
      p.headers = content.substr(0, blank + 2);
      p.body = content.substr(blank + 4);
    }
    m.parts.push_back(p);
    pos = next;
  }
  return m;
}

// blocks - the blank-line separated groups of a delivery-status body.
inline std::vector<std::string> blocks(std::string_view body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t e = body.find("\r\n\r\n", pos);
    if (e == std::string_view::npos) {
      if (pos < body.size()) out.emplace_back(body.substr(pos));
      break;
    }
    out.emplace_back(body.substr(pos, e + 2 - pos));
    pos = e + 4;
  }
  return out;
}

inline bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Python check: dsn_check.py parses the DSN with email.policy.default and prints JSON.

inline std::string script_path() {
  std::string f = __FILE__;
  const size_t slash = f.rfind('/');
  return (slash == std::string::npos ? std::string(".") : f.substr(0, slash)) + "/dsn_check.py";
}

// run_python_check - the JSON line the script prints; fails the test if it exits non-zero.
// __FILE__ is absolute under CMake; with the relative path of a manual build, run the test
// binary from the source root.
inline std::string run_python_check(const std::string& dsn) {
  if (access(script_path().c_str(), R_OK) != 0) {
    ADD_FAILURE() << "cannot read " << script_path() << " (run from the source root)";
    return "";
  }
  std::string out = test_util::run_on_file(dsn, "/usr/bin/python3 '" + script_path() + "'", "dsn_check.py");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// json_string - like Python's json.dumps for a str (ensure_ascii): UTF-8 in, \uXXXX out.
inline std::string json_string(const std::optional<std::string>& v) {
  if (!v) return "null";
  std::string out = "\"";
  const std::string& s = *v;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    const size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    uint32_t cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    char buf[16];
    snprintf(buf, sizeof buf, "\\u%04x", cp);  // BMP only: enough for these tests
    out += buf;
    i += n;
  }
  return out + "\"";
}

using Fields = std::map<std::string, std::optional<std::string>>;  // sorted, like sort_keys

inline std::string json_object(const Fields& f) {
  std::string out = "{";
  for (const auto& [k, v] : f) {
    if (out.size() > 1) out += ", ";
    out += json_string(k) + ": " + json_string(v);
  }
  return out + "}";
}

inline std::string json_list(const std::vector<std::string>& items, bool quote) {
  std::string out = "[";
  for (const std::string& s : items) {
    if (out.size() > 1) out += ", ";
    out += quote ? json_string(s) : s;
  }
  return out + "]";
}

// expected_recipient - what dsn_check.py reports for one per-recipient group.
inline Fields expected_recipient(const std::string& action, const std::string& status, const std::string& final_rcpt,
                          std::optional<std::string> diag, std::optional<std::string> remote = std::nullopt,
                          std::optional<std::string> orig = std::nullopt) {
  return {{"action", action},           {"status", status}, {"final-recipient", final_rcpt},
          {"diagnostic-code", diag},    {"remote-mta", remote}, {"original-recipient", orig}};
}

inline std::string expected_json(const std::vector<std::string>& content_types, const Fields& per_message,
                          const std::vector<Fields>& recipients) {
  std::vector<std::string> r;
  for (const Fields& f : recipients) r.push_back(json_object(f));
  return "{\"content_types\": " + json_list(content_types, true) + ", \"per_message\": " + json_object(per_message) +
         ", \"recipients\": " + json_list(r, false) + "}";
}

inline Fields base_per_message() {
  return {{"reporting-mta", "dns; mx.example.org"},
          {"original-envelope-id", std::nullopt},
          {"arrival-date", std::string(kArrivalDate)}};
}

}  // namespace correo::dsn_test
