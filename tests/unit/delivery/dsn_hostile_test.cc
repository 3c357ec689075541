// dsn_hostile_test.cc - the DSN builder against awkward input: SMTPUTF8 originals, long and
// hostile remote text (folding, control characters), boundary collisions, xtext, and the
// round trip through Python's email package.
#include "relay/delivery/dsn.h"

#include <gtest/gtest.h>

#include "tests/unit/delivery/dsn_test_util.h"

namespace correo {
namespace {

using namespace dsn_test;

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
