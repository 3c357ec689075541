// dsn_test.cc - the DSN builder: message structure, RFC 3464 fields, RET variants, line
// limits, hostile input, and a parse of the result by Python's email package.
//
// Thread rules: single-threaded. The Python check runs /usr/bin/python3 on
// tests/unit/delivery/dsn_check.py (found next to this file via __FILE__) with the DSN in a
// temporary file, and compares the JSON summary it prints.
#include "relay/delivery/dsn.h"

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

namespace correo {
namespace {

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

DsnRecipient failed_rcpt() {
  DsnRecipient r;
  r.final_recipient = "bob@example.net";
  r.action = DsnAction::kFailed;
  r.status = "5.1.1";
  r.remote_mta = "mx.example.net";
  r.diagnostic = "550 5.1.1 <bob@example.net>: unknown user";
  r.last_attempt_us = kNow;
  return r;
}

DsnRecipient delayed_rcpt() {
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

DsnRecipient delivered_rcpt() {
  DsnRecipient r;
  r.final_recipient = "dave@example.com";
  r.action = DsnAction::kDelivered;
  r.status = "2.0.0";
  r.remote_mta = "mx.example.com";
  r.diagnostic = "250 2.0.0 Ok: queued as 4F2A";
  return r;
}

DsnInput base_input() {
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

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// expect_wire_format - CRLF only (no bare CR or LF, no NUL), every line <= 998 octets,
// ends with CRLF.
void expect_wire_format(const std::string& msg) {
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

std::vector<std::string> lines_of(std::string_view s) {
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
std::string unfold(std::string_view s) {
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
std::string unwrap(std::string_view s) {
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
std::optional<std::string> field(std::string_view block, std::string_view name) {
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
Mime split_mime(const std::string& msg) {
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
std::vector<std::string> blocks(std::string_view body) {
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

bool valid_utf8(std::string_view s) {
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

std::string script_path() {
  std::string f = __FILE__;
  const size_t slash = f.rfind('/');
  return (slash == std::string::npos ? std::string(".") : f.substr(0, slash)) + "/dsn_check.py";
}

// run_python_check - the JSON line the script prints; fails the test if it exits non-zero.
// __FILE__ is absolute under CMake; with the relative path of a manual build, run the test
// binary from the source root.
std::string run_python_check(const std::string& dsn) {
  if (access(script_path().c_str(), R_OK) != 0) {
    ADD_FAILURE() << "cannot read " << script_path() << " (run from the source root)";
    return "";
  }
  const char* tmpdir = getenv("TMPDIR");
  std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/dsn_test_XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  if (fd < 0) return "";
  size_t done = 0;
  while (done < dsn.size()) {
    const ssize_t n = write(fd, dsn.data() + done, dsn.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  EXPECT_EQ(done, dsn.size());
  const std::string cmd = "/usr/bin/python3 '" + script_path() + "' '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  if (p != nullptr) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "dsn_check.py failed (stderr above); output: " << out;
  } else {
    ADD_FAILURE() << "popen failed";
  }
  unlink(path.c_str());
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// json_string - like Python's json.dumps for a str (ensure_ascii): UTF-8 in, \uXXXX out.
std::string json_string(const std::optional<std::string>& v) {
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

std::string json_object(const Fields& f) {
  std::string out = "{";
  for (const auto& [k, v] : f) {
    if (out.size() > 1) out += ", ";
    out += json_string(k) + ": " + json_string(v);
  }
  return out + "}";
}

std::string json_list(const std::vector<std::string>& items, bool quote) {
  std::string out = "[";
  for (const std::string& s : items) {
    if (out.size() > 1) out += ", ";
    out += quote ? json_string(s) : s;
  }
  return out + "]";
}

// expected_recipient - what dsn_check.py reports for one per-recipient group.
Fields expected_recipient(const std::string& action, const std::string& status, const std::string& final_rcpt,
                          std::optional<std::string> diag, std::optional<std::string> remote = std::nullopt,
                          std::optional<std::string> orig = std::nullopt) {
  return {{"action", action},           {"status", status}, {"final-recipient", final_rcpt},
          {"diagnostic-code", diag},    {"remote-mta", remote}, {"original-recipient", orig}};
}

std::string expected_json(const std::vector<std::string>& content_types, const Fields& per_message,
                          const std::vector<Fields>& recipients) {
  std::vector<std::string> r;
  for (const Fields& f : recipients) r.push_back(json_object(f));
  return "{\"content_types\": " + json_list(content_types, true) + ", \"per_message\": " + json_object(per_message) +
         ", \"recipients\": " + json_list(r, false) + "}";
}

Fields base_per_message() {
  return {{"reporting-mta", "dns; mx.example.org"},
          {"original-envelope-id", std::nullopt},
          {"arrival-date", std::string(kArrivalDate)}};
}

// ---------------------------------------------------------------------------------------
// Top-level headers and MIME structure.

TEST(Dsn, TopLevelHeaders) {
  const std::string dsn = build_dsn(base_input());
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  EXPECT_EQ(field(m.headers, "From"), "Mail Delivery System <MAILER-DAEMON@mx.example.org>");
  EXPECT_EQ(field(m.headers, "To"), "<alice@example.org>");
  EXPECT_EQ(field(m.headers, "Subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(field(m.headers, "Date"), kNowDate);
  EXPECT_EQ(field(m.headers, "Message-ID"), "<00000000000004D2.1700003600000000@mx.example.org>");
  EXPECT_EQ(field(m.headers, "Auto-Submitted"), "auto-replied");
  EXPECT_EQ(field(m.headers, "MIME-Version"), "1.0");
  EXPECT_EQ(field(m.headers, "Content-Type"),
            "multipart/report; report-type=delivery-status;\tboundary=\"" + std::string(kBoundary) + "\"");
  EXPECT_EQ(field(m.headers, "Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(dsn.compare(0, 6, "From: "), 0);
}

TEST(Dsn, BoundaryLinesAndPartTypes) {
  const std::string dsn = build_dsn(base_input());
  const Mime m = split_mime(dsn);
  EXPECT_EQ(m.boundary, kBoundary);
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_TRUE(m.closed);
  EXPECT_TRUE(contains(dsn, "\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n--" + std::string(kBoundary) + "\r\n"));
  EXPECT_EQ(field(m.parts[0].headers, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(field(m.parts[0].headers, "Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(field(m.parts[1].headers, "Content-Type"), "message/delivery-status");
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  // Exactly 4 boundary lines: 3 delimiters and the close delimiter.
  int boundary_lines = 0;
  for (const std::string& line : lines_of(dsn)) {
    if (line.compare(0, 2 + kBoundary.size(), "--" + std::string(kBoundary)) == 0) ++boundary_lines;
  }
  EXPECT_EQ(boundary_lines, 4);
}

TEST(Dsn, DeterministicForTheSameInput) {
  const DsnInput in = base_input();
  EXPECT_EQ(build_dsn(in), build_dsn(in));
}

TEST(Dsn, DatesAreRfc5322Utc) {
  DsnInput in = base_input();
  in.now_us = 0;
  EXPECT_EQ(field(split_mime(build_dsn(in)).headers, "Date"), "Thu, 01 Jan 1970 00:00:00 +0000");
  in.now_us = 951'782'400'000'000 + 3'723'999'999;  // 2000-02-29 01:02:03.999999
  EXPECT_EQ(field(split_mime(build_dsn(in)).headers, "Date"), "Tue, 29 Feb 2000 01:02:03 +0000");
  in.now_us = 4'102'444'799'000'000;  // 2099-12-31 23:59:59
  EXPECT_EQ(field(split_mime(build_dsn(in)).headers, "Date"), "Thu, 31 Dec 2099 23:59:59 +0000");
}

// ---------------------------------------------------------------------------------------
// Subject and human text per action.

TEST(Dsn, SubjectAndTextPerAction) {
  struct Case {
    std::vector<DsnRecipient> rcpts;
    const char* subject;
    const char* wording;
  };
  const Case cases[] = {
      {{failed_rcpt()}, "Undelivered Mail Returned to Sender", "could not\r\nbe delivered to one or more recipients"},
      {{delayed_rcpt()}, "Delayed Mail (still being retried)", "THIS IS A WARNING ONLY"},
      {{delivered_rcpt()}, "Successful Mail Delivery Report", "successfully delivered"},
      {{delivered_rcpt(), delayed_rcpt(), failed_rcpt()}, "Undelivered Mail Returned to Sender", "could not\r\nbe"},
      {{delivered_rcpt(), delayed_rcpt()}, "Delayed Mail (still being retried)", "THIS IS A WARNING ONLY"},
  };
  for (const Case& c : cases) {
    DsnInput in = base_input();
    in.recipients = c.rcpts;
    const std::string dsn = build_dsn(in);
    expect_wire_format(dsn);
    const Mime m = split_mime(dsn);
    EXPECT_EQ(field(m.headers, "Subject"), c.subject);
    ASSERT_EQ(m.parts.size(), 3u);
    const std::string& human = m.parts[0].body;
    EXPECT_EQ(human.rfind("This is the mail system at host mx.example.org.\r\n", 0), 0u);
    EXPECT_TRUE(contains(human, c.wording)) << human;
  }
}

TEST(Dsn, RelayedAction) {
  DsnInput in = base_input();
  DsnRecipient r = delivered_rcpt();
  r.action = DsnAction::kRelayed;
  in.recipients = {r};
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  EXPECT_EQ(field(m.headers, "Subject"), "Successful Mail Delivery Report");
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_TRUE(contains(m.parts[1].body, "Action: relayed\r\n")) << m.parts[1].body;
  EXPECT_TRUE(contains(m.parts[0].body, "relayed to host mx.example.com, which does not")) << m.parts[0].body;
}

TEST(Dsn, HumanTextNamesEachRecipientWithItsReason) {
  DsnInput in = base_input();
  in.recipients = {failed_rcpt(), delayed_rcpt(), delivered_rcpt()};
  const std::string human = split_mime(build_dsn(in)).parts.at(0).body;
  // Wrapped at 76 columns, continuation lines indented.
  EXPECT_TRUE(contains(human, "\r\n<bob@example.net>: host mx.example.net said: 550 5.1.1 <bob@example.net>:\r\n"
                              "    unknown user\r\n"))
      << human;
  for (const std::string& line : lines_of(human)) EXPECT_LE(line.size(), 76u) << line;
  const std::string text = unwrap(human);
  EXPECT_TRUE(contains(text, "<carol@example.com>: delivery temporarily suspended: host mx.example.com said: "
                             "451 4.4.1 try again later (will be retried until Sun, 19 Nov 2023 22:13:20 +0000)\r\n"))
      << text;
  EXPECT_TRUE(contains(text, "<dave@example.com>: delivered to host mx.example.com: 250 2.0.0 Ok: queued as 4F2A\r\n"))
      << text;
  // Groups in the order failed, delayed, delivered, each with a heading.
  const size_t f = human.find("Delivery to these recipients failed:");
  const size_t d = human.find("Delivery to these recipients is delayed");
  const size_t s = human.find("Your message was delivered to these recipients:");
  EXPECT_TRUE(f != std::string::npos && d != std::string::npos && s != std::string::npos);
  EXPECT_LT(f, d);
  EXPECT_LT(d, s);
  EXPECT_LT(human.find("<bob@"), human.find("<carol@"));
  EXPECT_LT(human.find("<carol@"), human.find("<dave@"));
}

TEST(Dsn, HumanTextWithoutDiagnostic) {
  DsnInput in = base_input();
  in.recipients[0].diagnostic.clear();
  in.recipients[0].remote_mta.clear();
  const std::string human = split_mime(build_dsn(in)).parts.at(0).body;
  EXPECT_TRUE(contains(unwrap(human), "<bob@example.net>: delivery failed (status 5.1.1)\r\n")) << human;
}

// ---------------------------------------------------------------------------------------
// The delivery-status part.

TEST(Dsn, DeliveryStatusFieldsExactly) {
  const Mime m = split_mime(build_dsn(base_input()));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(m.parts[1].body,
            "Reporting-MTA: dns; mx.example.org\r\n"
            "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "\r\n"
            "Final-Recipient: rfc822; bob@example.net\r\n"
            "Action: failed\r\n"
            "Status: 5.1.1\r\n"
            "Remote-MTA: dns; mx.example.net\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: unknown user\r\n"
            "Last-Attempt-Date: Tue, 14 Nov 2023 23:13:20 +0000\r\n");
  EXPECT_EQ(field(m.parts[1].headers, "Content-Transfer-Encoding"), "7bit");
}

TEST(Dsn, MultipleRecipientsWithMixedActions) {
  DsnInput in = base_input();
  in.recipients = {failed_rcpt(), delayed_rcpt(), delivered_rcpt()};
  const Mime m = split_mime(build_dsn(in));
  const std::vector<std::string> g = blocks(m.parts.at(1).body);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(field(g[1], "Final-Recipient"), "rfc822; bob@example.net");
  EXPECT_EQ(field(g[1], "Action"), "failed");
  EXPECT_EQ(field(g[1], "Will-Retry-Until"), std::nullopt);
  EXPECT_EQ(g[2],
            "Final-Recipient: rfc822; carol@example.com\r\n"
            "Action: delayed\r\n"
            "Status: 4.4.1\r\n"
            "Remote-MTA: dns; mx.example.com\r\n"
            "Diagnostic-Code: smtp; 451 4.4.1 try again later\r\n"
            "Last-Attempt-Date: Tue, 14 Nov 2023 23:13:20 +0000\r\n"
            "Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\r\n");
  EXPECT_EQ(g[3],
            "Final-Recipient: rfc822; dave@example.com\r\n"
            "Action: delivered\r\n"
            "Status: 2.0.0\r\n"
            "Remote-MTA: dns; mx.example.com\r\n"
            "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 4F2A\r\n");
}

TEST(Dsn, WillRetryUntilOnlyForDelayed) {
  DsnInput in = base_input();
  in.recipients[0].retry_until_us = kNow + 1'000'000;  // set, but the recipient failed
  EXPECT_FALSE(contains(build_dsn(in), "Will-Retry-Until"));
  in.recipients = {delayed_rcpt()};
  in.recipients[0].retry_until_us = 0;  // delayed, but not set
  EXPECT_FALSE(contains(build_dsn(in), "Will-Retry-Until"));
}

TEST(Dsn, OptionalRecipientFieldsOmittedWhenUnknown) {
  DsnInput in = base_input();
  in.recipients[0].remote_mta.clear();
  in.recipients[0].diagnostic.clear();
  in.recipients[0].last_attempt_us = 0;
  const std::string status = split_mime(build_dsn(in)).parts.at(1).body;
  EXPECT_FALSE(contains(status, "Remote-MTA"));
  EXPECT_FALSE(contains(status, "Diagnostic-Code"));
  EXPECT_FALSE(contains(status, "Last-Attempt-Date"));
  EXPECT_TRUE(contains(status, "\r\nFinal-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
}

TEST(Dsn, EnvidPresentAndAbsent) {
  DsnInput in = base_input();
  EXPECT_FALSE(contains(build_dsn(in), "Original-Envelope-Id"));
  in.envid = "QQ314159";
  std::string status = split_mime(build_dsn(in)).parts.at(1).body;
  EXPECT_EQ(status.rfind("Reporting-MTA: dns; mx.example.org\r\nOriginal-Envelope-Id: QQ314159\r\nArrival-Date: ", 0),
            0u)
      << status;
  in.envid = "QQ+2B314159";  // RFC 3461 §6.3: decoded from xtext
  EXPECT_EQ(field(blocks(split_mime(build_dsn(in)).parts.at(1).body).at(0), "Original-Envelope-Id"), "QQ+314159");
  in.envid = "QQ+0D+0AAction:+20delivered";  // would decode to a line break: kept encoded
  status = split_mime(build_dsn(in)).parts.at(1).body;
  EXPECT_EQ(field(blocks(status).at(0), "Original-Envelope-Id"), "QQ+0D+0AAction:+20delivered");
}

TEST(Dsn, OrcptPresentAndAbsent) {
  DsnInput in = base_input();
  EXPECT_FALSE(contains(build_dsn(in), "Original-Recipient"));
  in.recipients[0].original_recipient = "rfc822;bob+2Bnews@example.net";
  const Mime m = split_mime(build_dsn(in));
  // The stored form, before Final-Recipient (RFC 3464 §2.3 order).
  EXPECT_TRUE(contains(m.parts.at(1).body,
                       "\r\n\r\nOriginal-Recipient: rfc822;bob+2Bnews@example.net\r\nFinal-Recipient: rfc822; "
                       "bob@example.net\r\n"));
  // Decoded for people.
  EXPECT_TRUE(contains(unwrap(m.parts.at(0).body), "<bob@example.net> (original recipient <bob+news@example.net>):"));
  // Not repeated when it is the same address.
  in.recipients[0].original_recipient = "rfc822;bob@example.net";
  EXPECT_FALSE(contains(split_mime(build_dsn(in)).parts.at(0).body, "original recipient"));
}

TEST(Dsn, InvalidStatusReplacedByTheActionDefault) {
  DsnInput in = base_input();
  in.recipients = {failed_rcpt(), delayed_rcpt(), delivered_rcpt(), failed_rcpt()};
  in.recipients[0].status = "";
  in.recipients[1].status = "4.4";
  in.recipients[2].status = "2.0.0 ok";
  in.recipients[3].status = "5.1234.1";
  const std::vector<std::string> g = blocks(split_mime(build_dsn(in)).parts.at(1).body);
  ASSERT_EQ(g.size(), 5u);
  EXPECT_EQ(field(g[1], "Status"), "5.0.0");
  EXPECT_EQ(field(g[2], "Status"), "4.0.0");
  EXPECT_EQ(field(g[3], "Status"), "2.0.0");
  EXPECT_EQ(field(g[4], "Status"), "5.0.0");
}

TEST(Dsn, NonReplyDiagnosticGetsPrivateType) {
  DsnInput in = base_input();
  in.recipients[0].diagnostic = "connect to mx.example.net[192.0.2.9]:25: Connection refused";
  EXPECT_EQ(field(blocks(split_mime(build_dsn(in)).parts.at(1).body).at(1), "Diagnostic-Code"),
            "X-Correo; connect to mx.example.net[192.0.2.9]:25: Connection refused");
}

// ---------------------------------------------------------------------------------------
// RET variants.

TEST(Dsn, RetHdrsReturnsTheHeaderSectionOnly) {
  DsnInput in = base_input();
  in.ret = DsnRet::kHdrs;
  const Mime m = split_mime(build_dsn(in));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(m.parts[2].body, kHeaderSection);  // our Received: first, no body
}

TEST(Dsn, RetUnspecifiedReturnsTheHeaderSectionOnly) {
  DsnInput in = base_input();
  in.ret = DsnRet::kUnspecified;
  const Mime m = split_mime(build_dsn(in));
  EXPECT_EQ(field(m.parts.at(2).headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(m.parts.at(2).body, kHeaderSection);
}

TEST(Dsn, RetFullReturnsTheWholeMessage) {
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "message/rfc822");
  EXPECT_EQ(m.parts[2].body, kOriginal);  // byte for byte
  EXPECT_FALSE(contains(m.parts[0].body, "could not be returned in full"));
}

TEST(Dsn, RetFullWithoutFinalCrlf) {
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  const std::string original = std::string(kOriginal.substr(0, kOriginal.size() - 2));  // "...Alice"
  in.original = original;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  EXPECT_EQ(split_mime(dsn).parts.at(2).body, original);
}

TEST(Dsn, RetFullOverTheLimitFallsBackToHeaders) {
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  in.max_returned_bytes = kOriginal.size() - 1;
  const Mime m = split_mime(build_dsn(in));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(m.parts[2].body, kHeaderSection);
  EXPECT_TRUE(contains(m.parts[0].body, "could not be returned in full")) << m.parts[0].body;
  in.max_returned_bytes = kOriginal.size();  // exactly at the limit: whole
  EXPECT_EQ(field(split_mime(build_dsn(in)).parts.at(2).headers, "Content-Type"), "message/rfc822");
}

TEST(Dsn, HeaderSectionOverTheLimitIsCutAtAFieldBoundary) {
  DsnInput in = base_input();
  in.ret = DsnRet::kHdrs;
  in.max_returned_bytes = 150;  // inside the folded Received: field
  const std::string body = split_mime(build_dsn(in)).parts.at(2).body;
  EXPECT_LE(body.size(), 150u);
  EXPECT_EQ(kHeaderSection.substr(0, body.size()), body);
  ASSERT_LT(body.size(), kHeaderSection.size());
  const char next = kHeaderSection[body.size()];
  EXPECT_TRUE(next != ' ' && next != '\t') << "cut inside a folded field";
}

TEST(Dsn, RetFullWithLinesUnfitForReturnFallsBackToHeaders) {
  const std::string long_line = std::string(kHeaderSection) + "\r\n" + std::string(1200, 'a') + "\r\n";
  const std::string bare_lf = std::string(kHeaderSection) + "\r\nline one\nline two\r\n";
  for (const std::string& original : {long_line, bare_lf}) {
    DsnInput in = base_input();
    in.ret = DsnRet::kFull;
    in.original = original;
    const std::string dsn = build_dsn(in);
    expect_wire_format(dsn);
    const Mime m = split_mime(dsn);
    EXPECT_EQ(field(m.parts.at(2).headers, "Content-Type"), "text/rfc822-headers");
    EXPECT_EQ(m.parts.at(2).body, kHeaderSection);
  }
}

TEST(Dsn, LongOriginalHeaderLineIsFoldedInTheHeadersPart) {
  const std::string original = "Received: by mx.example.org\r\nX-Long: " + std::string(2500, 'h') + "\r\n\r\nbody\r\n";
  DsnInput in = base_input();
  in.original = original;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const std::string body = split_mime(dsn).parts.at(2).body;
  std::string joined;
  for (const std::string& line : lines_of(body)) joined += line[0] == ' ' ? line.substr(1) : "\n" + line;
  EXPECT_EQ(joined, "\nReceived: by mx.example.org\nX-Long: " + std::string(2500, 'h'));
}

TEST(Dsn, EmptyOriginal) {
  DsnInput in = base_input();
  in.original = "";
  for (DsnRet ret : {DsnRet::kFull, DsnRet::kHdrs}) {
    in.ret = ret;
    const std::string dsn = build_dsn(in);
    expect_wire_format(dsn);
    const Mime m = split_mime(dsn);
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_TRUE(m.closed);
    EXPECT_EQ(m.parts[2].body, "");
  }
}

// ---------------------------------------------------------------------------------------
// SMTPUTF8 (RFC 6533) and 8-bit text.

TEST(Dsn, Smtputf8UsesTheGlobalTypes) {
  DsnInput in = base_input();
  in.smtputf8 = true;
  in.original_sender = "\xc3\xa5se@example.org";  // åse
  in.recipients[0].final_recipient = "j\xc3\xb8rn@eksempel.no";
  in.recipients[0].diagnostic = "550 5.1.1 <j\xc3\xb8rn@eksempel.no>: ukjent bruker";
  for (DsnRet ret : {DsnRet::kFull, DsnRet::kHdrs}) {
    in.ret = ret;
    const std::string dsn = build_dsn(in);
    expect_wire_format(dsn);
    const Mime m = split_mime(dsn);
    ASSERT_EQ(m.parts.size(), 3u);
    EXPECT_EQ(field(m.headers, "To"), "<\xc3\xa5se@example.org>");
    EXPECT_EQ(field(m.headers, "Content-Transfer-Encoding"), "8bit");
    EXPECT_EQ(field(m.parts[0].headers, "Content-Transfer-Encoding"), "8bit");
    EXPECT_EQ(field(m.parts[1].headers, "Content-Type"), "message/global-delivery-status");
    EXPECT_EQ(field(m.parts[1].headers, "Content-Transfer-Encoding"), "8bit");
    EXPECT_EQ(field(m.parts[2].headers, "Content-Type"), ret == DsnRet::kFull ? "message/global" : "message/global-headers");
    const std::vector<std::string> g = blocks(m.parts[1].body);
    ASSERT_EQ(g.size(), 2u);
    EXPECT_EQ(field(g[1], "Final-Recipient"), "utf-8; j\xc3\xb8rn@eksempel.no");
    EXPECT_EQ(field(g[1], "Diagnostic-Code"), "smtp; 550 5.1.1 <j\xc3\xb8rn@eksempel.no>: ukjent bruker");
    EXPECT_TRUE(contains(unwrap(m.parts[0].body), "<j\xc3\xb8rn@eksempel.no>: host mx.example.net said:"));
  }
  // An ASCII recipient stays rfc822 even in a global DSN.
  in.recipients[0].final_recipient = "bob@example.net";
  EXPECT_EQ(field(blocks(split_mime(build_dsn(in)).parts.at(1).body).at(1), "Final-Recipient"),
            "rfc822; bob@example.net");
}

TEST(Dsn, EightBitWithoutSmtputf8KeepsTheStatusPart7Bit) {
  DsnInput in = base_input();
  in.recipients[0].final_recipient = "j\xc3\xb8rn+x@eksempel.no";
  in.recipients[0].diagnostic = "550 5.1.1 ukjent bruker \xc3\xa6\xc3\xb8\xc3\xa5 \xff";
  const Mime m = split_mime(build_dsn(in));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_EQ(field(m.parts[1].headers, "Content-Type"), "message/delivery-status");
  EXPECT_EQ(field(m.parts[1].headers, "Content-Transfer-Encoding"), "7bit");
  for (char c : m.parts[1].body) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  const std::vector<std::string> g = blocks(m.parts[1].body);
  EXPECT_EQ(field(g.at(1), "Final-Recipient"), "utf-8; j\\x{F8}rn\\x{2B}x@eksempel.no");  // RFC 6533 xtext form
  EXPECT_EQ(field(g.at(1), "Diagnostic-Code"), "smtp; 550 5.1.1 ukjent bruker ?????? ?");
  // The human part keeps the valid UTF-8, replaces the malformed byte, and says so.
  EXPECT_EQ(field(m.parts[0].headers, "Content-Transfer-Encoding"), "8bit");
  EXPECT_TRUE(contains(unwrap(m.parts[0].body), "ukjent bruker \xc3\xa6\xc3\xb8\xc3\xa5 ?")) << m.parts[0].body;
  EXPECT_TRUE(valid_utf8(m.parts[0].body));
}

// ---------------------------------------------------------------------------------------
// Line limits and hostile text.

TEST(Dsn, LongDiagnosticIsFoldedAndWrapped) {
  std::string diag = "550 5.7.1";
  for (int i = 0; i < 400; ++i) diag += " word" + std::to_string(i);
  DsnInput in = base_input();
  in.recipients[0].diagnostic = diag;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  const std::string group = blocks(m.parts.at(1).body).at(1);
  const size_t at = group.find("Diagnostic-Code: ");
  ASSERT_NE(at, std::string::npos);
  const std::string raw = group.substr(at, group.find("\r\nLast-Attempt-Date") - at);
  const std::vector<std::string> raw_lines = lines_of(raw);
  EXPECT_GE(raw_lines.size(), 3u);  // folded
  for (size_t i = 1; i < raw_lines.size(); ++i) EXPECT_EQ(raw_lines[i][0], ' ');
  EXPECT_EQ(field(group, "Diagnostic-Code"), "smtp; " + diag);  // unfolding restores it
  for (const std::string& line : lines_of(m.parts[0].body)) EXPECT_LE(line.size(), 76u) << line;
}

TEST(Dsn, LongDiagnosticWithoutSpacesIsSplitHard) {
  const std::string diag = "550 " + std::string(2500, 'x');
  DsnInput in = base_input();
  in.recipients[0].diagnostic = diag;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  std::string value = field(blocks(m.parts.at(1).body).at(1), "Diagnostic-Code").value_or("");
  std::string squeezed;
  for (char c : value) {
    if (c != ' ') squeezed += c;
  }
  EXPECT_EQ(squeezed, "smtp;" + diag.substr(0, 3) + diag.substr(4));
}

TEST(Dsn, HardSplitsNeverCutUtf8Sequences) {
  std::string diag = "550 ";
  for (int i = 0; i < 1500; ++i) diag += "\xc3\xb8";
  DsnInput in = base_input();
  in.smtputf8 = true;
  in.recipients[0].diagnostic = diag;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  for (const std::string& line : lines_of(dsn)) EXPECT_TRUE(valid_utf8(line)) << line.substr(0, 40);
}

TEST(Dsn, ControlCharactersCannotForgeFieldsOrLines) {
  DsnInput in = base_input();
  in.recipients[0].diagnostic = "550 no\r\nAction: delivered\r\n\r\nFinal-Recipient: rfc822; evil@example";
  in.recipients[0].diagnostic += std::string("\0tail", 5);
  in.recipients[0].remote_mta = "mx.example.net\r\nX-Evil: 1";
  in.original_sender = "alice@example.org>\r\nBcc: <victim@example.com";
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  for (const std::string& line : lines_of(dsn)) {
    EXPECT_NE(line, "Action: delivered");
    EXPECT_NE(line.rfind("Final-Recipient: rfc822; evil", 0), 0u);
    EXPECT_NE(line.rfind("Bcc:", 0), 0u);
    EXPECT_NE(line.rfind("X-Evil", 0), 0u);
  }
  const std::vector<std::string> g = blocks(split_mime(dsn).parts.at(1).body);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(field(g[1], "Diagnostic-Code"),
            "smtp; 550 no Action: delivered Final-Recipient: rfc822; evil@example tail");
}

// ---------------------------------------------------------------------------------------
// Boundary selection.

TEST(Dsn, BoundaryCollisionWithTheOriginalIsAvoided) {
  const std::string original = std::string(kHeaderSection) + "\r\n--" + std::string(kBoundary) + "\r\nfake part\r\n--" +
                               std::string(kBoundary) + "--\r\n";
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  in.original = original;
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  EXPECT_NE(m.boundary, kBoundary);
  EXPECT_EQ(m.boundary.rfind(kBoundary, 0), 0u);  // perturbed, not replaced
  EXPECT_LE(m.boundary.size(), 70u);
  EXPECT_FALSE(contains(original, m.boundary));
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_TRUE(m.closed);
  EXPECT_EQ(m.parts[2].body, original);
}

TEST(Dsn, BoundaryCollisionWithRemoteTextIsAvoided) {
  DsnInput in = base_input();
  in.recipients[0].diagnostic = "550 5.7.1 --" + std::string(kBoundary) + "--";
  const Mime m = split_mime(build_dsn(in));
  EXPECT_NE(m.boundary, kBoundary);
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_TRUE(m.closed);
}

TEST(Dsn, HostileSeedStaysAValidBoundaryAndMessageId) {
  DsnInput in = base_input();
  in.boundary_seed = "a b\"c<d>" + std::string(100, 'z');
  const std::string dsn = build_dsn(in);
  expect_wire_format(dsn);
  const Mime m = split_mime(dsn);
  EXPECT_LE(m.boundary.size(), 70u);
  ASSERT_EQ(m.parts.size(), 3u);
  const std::string id = field(m.headers, "Message-ID").value_or("");
  EXPECT_EQ(id.find_first_of(" \"", 0), std::string::npos) << id;
  EXPECT_EQ(std::count(id.begin(), id.end(), '<'), 1);
}

// ---------------------------------------------------------------------------------------
// xtext.

TEST(Xtext, Decode) {
  EXPECT_EQ(xtext_decode(""), "");
  EXPECT_EQ(xtext_decode("bob@example.net"), "bob@example.net");
  EXPECT_EQ(xtext_decode("bob+2Bnews@example.net"), "bob+news@example.net");
  EXPECT_EQ(xtext_decode("+3D+2B"), "=+");
  EXPECT_EQ(xtext_decode("x+41"), "xA");
  EXPECT_EQ(xtext_decode("++41"), "+A");
  EXPECT_EQ(xtext_decode("+0D+0A"), "\r\n");
  EXPECT_EQ(xtext_decode("+C3+B8"), "\xc3\xb8");
  EXPECT_EQ(xtext_decode("+00"), std::string("\0", 1));
}

TEST(Xtext, MalformedSequencesAreKept) {
  EXPECT_EQ(xtext_decode("+"), "+");
  EXPECT_EQ(xtext_decode("a+"), "a+");
  EXPECT_EQ(xtext_decode("+4"), "+4");
  EXPECT_EQ(xtext_decode("+2b"), "+2b");  // lowercase hex is not xtext
  EXPECT_EQ(xtext_decode("+G1"), "+G1");
  EXPECT_EQ(xtext_decode("+ 41"), "+ 41");
}

// ---------------------------------------------------------------------------------------
// Parsed by Python's email package (what the delivery integration test uses).

TEST(DsnPython, FailedHeadersOnly) {
  DsnInput in = base_input();
  in.recipients[0].original_recipient = "rfc822;bob@example.net";
  EXPECT_EQ(run_python_check(build_dsn(in)),
            expected_json({"multipart/report", "text/plain", "message/delivery-status", "text/plain", "text/plain",
                           "text/rfc822-headers"},
                          base_per_message(),
                          {expected_recipient("failed", "5.1.1", "rfc822; bob@example.net",
                                              "smtp; 550 5.1.1 <bob@example.net>: unknown user", "dns; mx.example.net",
                                              "rfc822;bob@example.net")}));
}

TEST(DsnPython, MixedActionsFullMessageWithEnvid) {
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  in.envid = "QQ314159";
  in.recipients = {failed_rcpt(), delayed_rcpt(), delivered_rcpt()};
  Fields per_message = base_per_message();
  per_message["original-envelope-id"] = "QQ314159";
  EXPECT_EQ(run_python_check(build_dsn(in)),
            expected_json({"multipart/report", "text/plain", "message/delivery-status", "text/plain", "text/plain",
                           "text/plain", "text/plain", "message/rfc822", "text/plain"},
                          per_message,
                          {expected_recipient("failed", "5.1.1", "rfc822; bob@example.net",
                                              "smtp; 550 5.1.1 <bob@example.net>: unknown user", "dns; mx.example.net"),
                           expected_recipient("delayed", "4.4.1", "rfc822; carol@example.com",
                                              "smtp; 451 4.4.1 try again later", "dns; mx.example.com"),
                           expected_recipient("delivered", "2.0.0", "rfc822; dave@example.com",
                                              "smtp; 250 2.0.0 Ok: queued as 4F2A", "dns; mx.example.com")}));
}

TEST(DsnPython, Smtputf8) {
  DsnInput in = base_input();
  in.smtputf8 = true;
  in.recipients[0].final_recipient = "j\xc3\xb8rn@eksempel.no";
  in.recipients[0].diagnostic = "550 5.1.1 ukjent bruker";
  for (DsnRet ret : {DsnRet::kFull, DsnRet::kHdrs}) {
    in.ret = ret;
    std::vector<std::string> types = {"multipart/report", "text/plain", "message/global-delivery-status",
                                      "text/plain"};
    if (ret == DsnRet::kFull) {
      types.insert(types.end(), {"message/global", "text/plain"});
    } else {
      types.insert(types.end(), {"message/global-headers", "text/plain"});
    }
    EXPECT_EQ(run_python_check(build_dsn(in)),
              expected_json(types, base_per_message(),
                            {expected_recipient("failed", "5.1.1", "utf-8; j\xc3\xb8rn@eksempel.no",
                                                "smtp; 550 5.1.1 ukjent bruker", "dns; mx.example.net")}));
  }
}

TEST(DsnPython, FoldedDiagnosticAndBoundaryCollision) {
  std::string diag = "550 5.7.1";
  for (int i = 0; i < 300; ++i) diag += " word" + std::to_string(i);
  const std::string original = std::string(kHeaderSection) + "\r\n--" + std::string(kBoundary) + "\r\n";
  DsnInput in = base_input();
  in.ret = DsnRet::kFull;
  in.original = original;
  in.recipients[0].diagnostic = diag;
  EXPECT_EQ(run_python_check(build_dsn(in)),
            expected_json({"multipart/report", "text/plain", "message/delivery-status", "text/plain", "text/plain",
                           "message/rfc822", "text/plain"},
                          base_per_message(),
                          {expected_recipient("failed", "5.1.1", "rfc822; bob@example.net", "smtp; " + diag,
                                              "dns; mx.example.net")}));
}

TEST(DsnPython, DelayedWithoutOptionalFields) {
  DsnInput in = base_input();
  in.arrival_us = 0;
  in.recipients = {delayed_rcpt()};
  in.recipients[0].remote_mta.clear();
  in.recipients[0].diagnostic.clear();
  Fields per_message = base_per_message();
  per_message["arrival-date"] = std::nullopt;
  EXPECT_EQ(run_python_check(build_dsn(in)),
            expected_json({"multipart/report", "text/plain", "message/delivery-status", "text/plain", "text/plain",
                           "text/rfc822-headers"},
                          per_message,
                          {expected_recipient("delayed", "4.4.1", "rfc822; carol@example.com", std::nullopt)}));
}

}  // namespace
}  // namespace correo
