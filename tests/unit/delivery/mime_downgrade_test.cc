// mime_downgrade_test.cc - 8BITMIME -> 7-bit conversion: exact outputs for each MIME shape,
// the cases that must be refused, quoted-printable properties (line length, '=', trailing
// white space, leading dots, round trip through a decoder), work bounds, and a parse of
// input and output by Python's email package.
//
// Thread rules: single-threaded. The Python check runs /usr/bin/python3 -c with the message
// in a temporary file (TMPDIR or /tmp) and compares what it prints for the original and for
// the converted message: the same tree of content types and the same decoded leaf bytes.
#include "relay/delivery/mime_downgrade.h"
#include "tests/unit/test_util/run_on_file.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

namespace correo {
namespace {

// crlf - test text with "\n" line ends as a stored message with CRLF.
std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

bool has_8bit(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// qp_decode - RFC 2045 §6.7 decoder: "=" CRLF removed, "=XX" (uppercase) to the octet; fails
// the test on anything the encoder must never write.
std::string qp_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    if (s.substr(i + 1, 2) == "\r\n") {
      i += 2;
      continue;
    }
    const int hi = i + 1 < s.size() ? hex_digit(s[i + 1]) : -1;
    const int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      ADD_FAILURE() << "bad quoted-printable escape at " << i;
      out += s[i];
      continue;
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// lines - s split after each CRLF (a last line without CRLF included).
std::vector<std::string_view> lines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t eol = s.find("\r\n", pos);
    const size_t end = eol == std::string_view::npos ? s.size() : eol;
    out.push_back(s.substr(pos, end - pos));
    pos = eol == std::string_view::npos ? s.size() : eol + 2;
  }
  return out;
}

// check_qp_text - the properties of a quoted-printable encoded body: 7-bit printable lines
// <= 76 characters, none ending in white space, none made by a soft break starting with '-'.
void check_qp_text(std::string_view encoded) {
  EXPECT_FALSE(has_8bit(encoded));
  bool after_soft = false;
  for (std::string_view l : lines(encoded)) {
    EXPECT_LE(l.size(), 76u) << l;
    if (after_soft) {
      EXPECT_TRUE(l.empty() || l[0] != '-') << l;
    }
    after_soft = !l.empty() && l.back() == '=';
    if (!l.empty()) {
      EXPECT_TRUE(l.back() != ' ' && l.back() != '\t') << l;
    }
    for (char c : l) EXPECT_TRUE(c == '\t' || (c >= 32 && c < 127)) << static_cast<int>(c);
  }
}

// ---------------------------------------------------------------------------------------
// Python check.

// python_tree - what Python's email package makes of a message: one line per entity, the
// content type and for leaves the decoded payload in hex, then the number of defects.
std::string python_tree(const std::string& message) {
  const std::string cmd =
      "/usr/bin/python3 -c '"
      "import email,sys\n"
      "from email import policy\n"
      "m=email.message_from_bytes(open(sys.argv[1],\"rb\").read(),policy=policy.default)\n"
      "d=0\n"
      "for p in m.walk():\n"
      "  d+=len(p.defects)\n"
      "  if p.is_multipart(): print(p.get_content_type())\n"
      "  else: print(p.get_content_type(), p.get_payload(decode=True).hex())\n"
      "print(\"defects\", d)\n"
      "'";
  return test_util::run_on_file(message, cmd, "python3");
}

// ---------------------------------------------------------------------------------------
// The table.

constexpr std::string_view kReceived =
    "Received: from client.example (client.example [192.0.2.1])\n"
    "\tby relay.example with ESMTP id 4Q1; Tue, 14 Nov 2023 22:13:20 +0000\n";

struct Case {
  const char* name;
  std::string in;  // "\n" line ends; crlf() applied
  DowngradeResult want;
  std::string out;     // expected message for kConverted ("\n" line ends)
  std::string reason;  // a substring of the reason for kImpossible
};

std::string msg(std::string_view rest) { return std::string(kReceived) + std::string(rest); }

// PrintTo - gtest prints a failing case by its name, not as bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  using R = DowngradeResult;
  return {
      {"Pure7bit",
       msg("From: <a@example.org>\nSubject: hi\nMIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=us-ascii\n\nhello\n.\n..dots\n"),
       R::kUnchanged, "", ""},
      {"Pure7bitNoBody", msg("Subject: hi\n"), R::kUnchanged, "", ""},
      {"NonMime8bitBody",
       msg("From: <a@example.org>\nSubject: hi\n\ncaf\xc3\xa9\nplain\n"),
       R::kConverted,
       msg("From: <a@example.org>\nSubject: hi\nMIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=unknown-8bit\n"
           "Content-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9\nplain\n"),
       ""},
      {"NonMimeWith8bitCte",  // CTE alone does not make it MIME; replaced in place
       msg("Content-Transfer-Encoding: 8bit\nSubject: hi\n\n\xe9t\xe9\n"),
       R::kConverted,
       msg("Content-Transfer-Encoding: quoted-printable\nSubject: hi\nMIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=unknown-8bit\n\n=E9t=E9\n"),
       ""},
      {"SinglePartUtf8",
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: 8bit\nX-After: 1\n\nGr\xc3\xbc\xc3\x9f Gott\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\nX-After: 1\n\nGr=C3=BC=C3=9F Gott\n"),
       ""},
      {"FoldedCteWithCommentAndCase",
       msg("mime-version: 1.0\ncontent-type: TEXT/Plain;\n charset=\"utf-8\"\n"
           "CONTENT-TRANSFER-ENCODING:\n   8BIT (raw)\nX-After: 1\n\n\xc3\xa9\n"),
       R::kConverted,
       msg("mime-version: 1.0\ncontent-type: TEXT/Plain;\n charset=\"utf-8\"\n"
           "Content-Transfer-Encoding: quoted-printable\nX-After: 1\n\n=C3=A9\n"),
       ""},
      {"MimeWithoutCte",
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n\xc3\xa9\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"),
       ""},
      {"Mislabelled7bit",
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: 7bit\n\n\xc3\xa9\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"),
       ""},
      {"ContentTypeWithoutMimeVersion",
       msg("Content-Type: text/plain; charset=utf-8\n\n\xc3\xa9\n"),
       R::kConverted,
       msg("Content-Type: text/plain; charset=utf-8\nMIME-Version: 1.0\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"),
       ""},
      {"UnparsableContentTypeIsTextPlain",
       msg("MIME-Version: 1.0\nContent-Type: text\n\n\xc3\xa9\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: text\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"),
       ""},
      {"NonTextLeaf",
       msg("MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
           "Content-Transfer-Encoding: 8bit\n\n\x01\x02\xff\x7f\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: application/octet-stream\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=01=02=FF=7F\n"),
       ""},
      {"EqualsTrailingWhiteSpaceDots",
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: 8bit\n\n"
           "a=b \nc\t\nd  e  \n.\n..x\n.caf\xc3\xa9\n\nend \xc3\xa9 \t\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n"
           "a=3Db=20\nc=09\nd  e =20\n.\n..x\n.caf=C3=A9\n\nend =C3=A9 =09\n"),
       ""},
      {"MultipartAlternative",
       msg("From: <a@example.org>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/alternative; boundary=\"=_b1\"\n"
           "Content-Transfer-Encoding: 8bit\n\n"
           "preamble\n"
           "--=_b1\nContent-Type: text/plain; charset=us-ascii\n\nplain 7-bit\n\n"
           "--=_b1\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
           "<p>caf\xc3\xa9</p>\n"
           "--=_b1--\nepilogue\n"),
       R::kConverted,
       msg("From: <a@example.org>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/alternative; boundary=\"=_b1\"\n"
           "Content-Transfer-Encoding: 7bit\n\n"
           "preamble\n"
           "--=_b1\nContent-Type: text/plain; charset=us-ascii\n\nplain 7-bit\n\n"
           "--=_b1\nContent-Type: text/html; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n"
           "<p>caf=C3=A9</p>\n"
           "--=_b1--\nepilogue\n"),
       ""},
      {"NestedMixedAlternative",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n"
           "--outer\nContent-Type: multipart/alternative; boundary=\"inner\"\n\n"
           "--inner\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
           "\xc3\xa9t\xc3\xa9\n"
           "--inner\nContent-Type: text/html; charset=us-ascii\n\n<p>summer</p>\n"
           "--inner--\n"
           "--outer\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
           "JVBERi0xLjQK\n"
           "--outer--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n"
           "--outer\nContent-Type: multipart/alternative; boundary=\"inner\"\n\n"
           "--inner\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n"
           "=C3=A9t=C3=A9\n"
           "--inner\nContent-Type: text/html; charset=us-ascii\n\n<p>summer</p>\n"
           "--inner--\n"
           "--outer\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
           "JVBERi0xLjQK\n"
           "--outer--\n"),
       ""},
      {"MessageRfc822Attachment",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
           "Content-Transfer-Encoding: 8bit\n\n"
           "--b\nContent-Type: text/plain\n\nsee attached\n"
           "--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 8bit\n\n"
           "From: <c@example.org>\nSubject: inner\n\nna\xc3\xafve\n"
           "--b--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
           "Content-Transfer-Encoding: 7bit\n\n"
           "--b\nContent-Type: text/plain\n\nsee attached\n"
           "--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: 7bit\n\n"
           "From: <c@example.org>\nSubject: inner\nMIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=unknown-8bit\n"
           "Content-Transfer-Encoding: quoted-printable\n\nna=C3=AFve\n"
           "--b--\n"),
       ""},
      {"MessageRfc822WithMultipartInside",
       msg("MIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
           "From: <c@example.org>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=\"in ner\"\n\n"
           "--in ner\nContent-Type: text/plain; charset=utf-8\n\n\xc3\xa9\n"
           "--in ner--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: message/rfc822\n\n"
           "From: <c@example.org>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=\"in ner\"\n\n"
           "--in ner\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"
           "--in ner--\n"),
       ""},
      {"DigestPartDefaultsToMessage",
       msg("MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=d\n\n"
           "--d\n\nSubject: one\n\nfirst \xc3\xa9\n"
           "--d\n\nSubject: two\n\nsecond\n"
           "--d--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=d\n\n"
           "--d\n\nSubject: one\nMIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=unknown-8bit\n"
           "Content-Transfer-Encoding: quoted-printable\n\nfirst =C3=A9\n"
           "--d\n\nSubject: two\n\nsecond\n"
           "--d--\n"),
       ""},
      {"PartWithoutHeaders",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\n\n\xc3\xa9\n--b--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain; charset=unknown-8bit\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n--b--\n"),
       ""},
      {"MultipartWithoutMimeVersion",
       msg("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\xc3\xa9\n--b--\n"),
       R::kConverted,
       msg("Content-Type: multipart/mixed; boundary=b\nMIME-Version: 1.0\n\n"
           "--b\nContent-Type: text/plain; charset=unknown-8bit\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n--b--\n"),
       ""},
      {"BoundaryCaseSensitiveAndExact",
       // "--ab", "--AbX" and "--Ab-" are not delimiters of boundary "Ab": part content.
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=Ab\n\n"
           "--Ab\nContent-Type: text/plain; charset=utf-8\n\n"
           "--ab\n--AbX\n--Ab-\n\xc3\xa9\n--Ab--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=Ab\n\n"
           "--Ab\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n"
           "--ab\n--AbX\n--Ab-\n=C3=A9\n--Ab--\n"),
       ""},
      {"TransportPaddingAndEmptyParts",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\" (comment)\n\n"
           "--b \t\n--b\n\n\xc3\xa9 \n--b--  \n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\" (comment)\n\n"
           "--b \t\n--b\nContent-Type: text/plain; charset=unknown-8bit\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9=20\n--b--  \n"),
       ""},
      {"MissingCloseDelimiter",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain; charset=utf-8\n\n\xc3\xa9\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"),
       ""},
      {"SevenBitPartCopiedUnparsed",  // a 7-bit part is never parsed, so its oddities stay
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain\nContent-Type: text/html\n"
           "Content-Transfer-Encoding: binary\n\nx\n"
           "--b\nContent-Type: text/plain; charset=utf-8\n\n\xc3\xa9\n--b--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain\nContent-Type: text/html\n"
           "Content-Transfer-Encoding: binary\n\nx\n"
           "--b\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n--b--\n"),
       ""},
      {"SoftBreakNeverMakesADelimiter",
       // A soft break before "--b" would leave a line "--b": the delimiter of an enclosing
       // multipart. A '-' that starts a soft-broken line is escaped.
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain; charset=utf-8\n\n\xc3\xa9\n" +
           std::string(75, 'x') + "--b\n" + std::string(75, 'x') + "--b--\n--b--\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n" +
           std::string(75, 'x') + "=\n=2D-b\n" + std::string(75, 'x') + "=\n=2D-b--\n--b--\n"),
       ""},
      {"MessageGlobalConvertedInside",
       msg("MIME-Version: 1.0\nContent-Type: message/global\nContent-Transfer-Encoding: 8bit\n\n"
           "Subject: x\n\n\xc3\xa9\n"),
       R::kConverted,
       msg("MIME-Version: 1.0\nContent-Type: message/global\nContent-Transfer-Encoding: 7bit\n\n"
           "Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=unknown-8bit\n"
           "Content-Transfer-Encoding: quoted-printable\n\n=C3=A9\n"),
       ""},

      {"EightBitTopHeader", msg("Subject: caf\xc3\xa9\n\nbody\n"), R::kImpossible, "",
       "8-bit data in a header needs SMTPUTF8"},
      {"EightBitFoldedHeader", msg("Subject: a\n caf\xc3\xa9\n\nbody\n"), R::kImpossible, "",
       "header"},
      {"EightBitPartHeader",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: text/plain; name=\"\xc3\xa9.txt\"\n\nx\n--b--\n"),
       R::kImpossible, "", "header"},
      {"EightBitEmbeddedHeader",
       msg("MIME-Version: 1.0\nContent-Type: message/rfc822\n\nSubject: \xc3\xa9\n\nx\n"),
       R::kImpossible, "", "header"},
      {"Base64With8bit",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
           "JVBE\xff\n--b--\n"),
       R::kImpossible, "", "base64 or quoted-printable"},
      {"QuotedPrintableWith8bit",
       msg("MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: "
           "Quoted-Printable\n\n\xc3\xa9\n"),
       R::kImpossible, "", "base64 or quoted-printable"},
      {"BinaryLeaf",
       msg("MIME-Version: 1.0\nContent-Type: image/png\nContent-Transfer-Encoding: binary\n\n"
           "\x89PNG\n"),
       R::kImpossible, "", "binary"},
      {"BinaryMultipart",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
           "Content-Transfer-Encoding: binary\n\n--b\n\n\xc3\xa9\n--b--\n"),
       R::kImpossible, "", "binary"},
      {"UnknownEncoding",
       msg("MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n"
           "\n\xc3\xa9\n"),
       R::kImpossible, "", "unknown"},
      {"MultipartEncodedQp",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n"
           "Content-Transfer-Encoding: quoted-printable\n\n--b\n\n\xc3\xa9\n--b--\n"),
       R::kImpossible, "", "invalid encoding"},
      {"EightBitPreamble",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "pr\xc3\xa9\n--b\n\nx\n--b--\n"),
       R::kImpossible, "", "preamble"},
      {"EightBitEpilogue",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--b\n\nx\n--b--\n\xc3\xa9pilogue\n"),
       R::kImpossible, "", "epilogue"},
      {"BoundaryNeverOccurs",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
           "--c\n\n\xc3\xa9\n--c--\n"),
       R::kImpossible, "", "boundary"},
      {"MultipartWithoutBoundary",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--b\n\n\xc3\xa9\n--b--\n"),
       R::kImpossible, "", "boundary"},
      {"Rfc2231BoundaryOnly",
       msg("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary*0=b\n\n"
           "--b\n\n\xc3\xa9\n--b--\n"),
       R::kImpossible, "", "boundary"},
      {"DuplicateContentType",
       msg("MIME-Version: 1.0\nContent-Type: text/plain\nContent-Type: multipart/mixed; "
           "boundary=b\n\n\xc3\xa9\n"),
       R::kImpossible, "", "more than one"},
      {"DuplicateCte",
       msg("MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n"
           "Content-Transfer-Encoding: base64\n\n\xc3\xa9\n"),
       R::kImpossible, "", "more than one"},
      {"MessagePartial8bit",
       msg("MIME-Version: 1.0\nContent-Type: message/partial; id=\"x\"; number=1\n\n"
           "Subject: x\n\n\xc3\xa9\n"),
       R::kImpossible, "", "cannot be converted"},
      {"GlobalHeaders8bit",
       msg("MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
           "boundary=r\n\n--r\nContent-Type: message/global-headers\n\n"
           "Subject: \xc3\xa9\n--r--\n"),
       R::kImpossible, "", "cannot be converted"},
  };
}

class DowngradeTable : public testing::TestWithParam<Case> {};

TEST_P(DowngradeTable, Converts) {
  const Case& c = GetParam();
  const std::string in = crlf(c.in);
  const Downgrade d = downgrade_to_7bit(in);
  ASSERT_EQ(d.result, c.want) << d.reason;
  switch (c.want) {
    case DowngradeResult::kUnchanged:
      EXPECT_EQ(d.message, "");
      EXPECT_EQ(d.reason, "");
      break;
    case DowngradeResult::kConverted:
      EXPECT_EQ(d.message, crlf(c.out));
      EXPECT_EQ(d.reason, "");
      EXPECT_FALSE(has_8bit(d.message));
      for (std::string_view l : lines(d.message)) EXPECT_LE(l.size(), 998u);
      break;
    case DowngradeResult::kImpossible:
      EXPECT_EQ(d.message, "");
      EXPECT_NE(d.reason.find(c.reason), std::string::npos) << d.reason;
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(MimeDowngrade, DowngradeTable, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// converted_cases - the cases that convert, for the Python check.
std::vector<Case> converted_cases() {
  std::vector<Case> out;
  for (Case& c : cases()) {
    if (c.want == DowngradeResult::kConverted) out.push_back(std::move(c));
  }
  return out;
}

class DowngradePython : public testing::TestWithParam<Case> {};

// Python sees the same tree with the same decoded leaf contents before and after, and
// no more defects in the converted message than in the original.
TEST_P(DowngradePython, SeesTheSameContent) {
  const Case& c = GetParam();
  const std::string in = crlf(c.in);
  const Downgrade d = downgrade_to_7bit(in);
  ASSERT_EQ(d.result, DowngradeResult::kConverted);
  const std::string before = python_tree(in);
  const std::string after = python_tree(d.message);
  EXPECT_EQ(after, before);  // the last line counts Python's defects: none added either
}

INSTANTIATE_TEST_SUITE_P(MimeDowngrade, DowngradePython, testing::ValuesIn(converted_cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// ---------------------------------------------------------------------------------------
// Quoted-printable properties.

constexpr std::string_view kLeafHead =
    "Received: by relay.example\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";

// body_of - the body of a converted single-part message (after the first empty line).
std::string_view body_of(const std::string& m) {
  const size_t p = m.find("\r\n\r\n");
  return p == std::string::npos ? std::string_view() : std::string_view(m).substr(p + 4);
}

TEST(MimeDowngradeQp, LongLinesAreSoftBroken) {
  std::string body;
  for (int i = 0; i < 300; ++i) body += "\xc3\xa9";  // 600 octets, 1800 encoded characters
  body += "\r\n";
  for (int i = 0; i < 200; ++i) body += "x\xe2\x82\xac=";  // mixes 1- and 3-character tokens
  body += "\r\n";
  for (int i = 0; i < 73; ++i) body += 'y';  // 73 literal + a last escape = 76: no break
  body += "\xff\r\n";
  for (int i = 0; i < 74; ++i) body += 'v';  // 74 literal + a last escape = 77: break
  body += "\xff\r\n";
  for (int i = 0; i < 76; ++i) body += 'z';  // 76 literal, then an escape: must break
  body += "\xff\r\n";
  for (int i = 0; i < 74; ++i) body += 'w';  // a trailing space becomes =20 at the limit
  body += "\xc3 \r\n";
  const Downgrade d = downgrade_to_7bit(std::string(kLeafHead) + body);
  ASSERT_EQ(d.result, DowngradeResult::kConverted) << d.reason;
  const std::string_view enc = body_of(d.message);
  check_qp_text(enc);
  EXPECT_EQ(qp_decode(enc), body);
  EXPECT_NE(enc.find("\r\n" + std::string(73, 'y') + "=FF\r\n"), std::string::npos);
  EXPECT_NE(enc.find("\r\n" + std::string(74, 'v') + "=\r\n=FF\r\n"), std::string::npos);
  EXPECT_NE(enc.find("\r\n" + std::string(75, 'z') + "=\r\nz=FF\r\n"), std::string::npos);
  // The first line: 25 escapes (75 characters), then the soft break's "=".
  std::string first;
  for (int i = 0; i < 12; ++i) first += "=C3=A9";
  EXPECT_EQ(lines(enc)[0], first + "=C3=");
}

// Deterministic pseudo-random bodies: every octet value, CRLF, runs of spaces and tabs,
// '=', "--" and dots; the encoding must decode back to the same bytes.
TEST(MimeDowngradeQp, RandomBodiesRoundTrip) {
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 200; ++round) {
    std::string body;
    const size_t n = next() % 2000;
    bool has_high = false;
    while (body.size() < n) {
      const uint64_t r = next() % 16;
      if (r < 2) {
        body += "\r\n";
      } else if (r < 4) {
        body += (r == 2 ? ' ' : '\t');
      } else if (r == 4) {
        body += '.';
      } else if (r == 5) {
        body += (next() & 1) ? "=" : "--";
      } else {
        const char c = static_cast<char>(next() & 0xff);
        if (c == '\r' || c == '\n') continue;  // the stored message has only CRLF
        has_high = has_high || static_cast<unsigned char>(c) >= 0x80;
        body += c;
      }
    }
    if (!has_high) body += "\xc3\xa9";
    const Downgrade d = downgrade_to_7bit(std::string(kLeafHead) + body);
    ASSERT_EQ(d.result, DowngradeResult::kConverted) << d.reason;
    const std::string_view enc = body_of(d.message);
    check_qp_text(enc);
    ASSERT_EQ(qp_decode(enc), body) << "round " << round;
  }
}

TEST(MimeDowngradeQp, BareCrAndLfAreEscaped) {
  // The stored message never has them (DataReader refuses), but the function is pure and
  // must not let them through as line breaks.
  const std::string in = std::string(kLeafHead) + "a\rb\nc\xc3\xa9\r\n";
  const Downgrade d = downgrade_to_7bit(in);
  ASSERT_EQ(d.result, DowngradeResult::kConverted);
  EXPECT_EQ(body_of(d.message), "a=0Db=0Ac=C3=A9\r\n");
}

TEST(MimeDowngradeQp, PythonDecodesLongLines) {
  std::string body;
  for (int i = 0; i < 50; ++i) body += "ligne tr\xc3\xa8s longue = ";
  body += "\t\r\n.dot\r\n";
  const std::string in = std::string(kLeafHead) + body;
  const Downgrade d = downgrade_to_7bit(in);
  ASSERT_EQ(d.result, DowngradeResult::kConverted);
  std::string hex;
  for (unsigned char c : body) {
    constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  EXPECT_EQ(python_tree(d.message), "text/plain " + hex + "\ndefects 0\n");
}

// ---------------------------------------------------------------------------------------
// Bounds.

// nested - `levels` multiparts one inside the other around an 8-bit text/plain leaf.
std::string nested(int levels) {
  std::string inner = "Content-Type: text/plain; charset=utf-8\r\n\r\n\xc3\xa9\r\n";
  for (int i = levels - 1; i >= 0; --i) {
    const std::string b = "b" + std::to_string(i);
    inner = "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n" + inner +
            "\r\n--" + b + "--\r\n";
  }
  return "Received: by relay.example\r\nMIME-Version: 1.0\r\n" + inner;
}

TEST(MimeDowngradeBounds, DepthBombIsRefusedQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const Downgrade d = downgrade_to_7bit(nested(40));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(d.result, DowngradeResult::kImpossible);
  EXPECT_NE(d.reason.find("too deep"), std::string::npos) << d.reason;
  EXPECT_LT(elapsed, std::chrono::milliseconds(200));
}

TEST(MimeDowngradeBounds, DepthLimitIsInclusive) {
  // The leaf of nested(n) sits n levels below the top-level entity.
  EXPECT_EQ(downgrade_to_7bit(nested(32)).result, DowngradeResult::kConverted);
  EXPECT_EQ(downgrade_to_7bit(nested(33)).result, DowngradeResult::kImpossible);
  EXPECT_EQ(downgrade_to_7bit(nested(3), 3).result, DowngradeResult::kConverted);
  EXPECT_EQ(downgrade_to_7bit(nested(4), 3).result, DowngradeResult::kImpossible);
  EXPECT_EQ(downgrade_to_7bit(nested(1), 0).result, DowngradeResult::kImpossible);
  // A deep 7-bit structure is never parsed: unchanged at any depth.
  std::string seven = nested(1000);
  seven.replace(seven.find("\xc3\xa9"), 2, "e");
  EXPECT_EQ(downgrade_to_7bit(seven).result, DowngradeResult::kUnchanged);
}

TEST(MimeDowngradeBounds, LargeMessagesAreLinear) {
  // 6 MB of 8-bit text in one leaf, and 20000 small parts of which every other is 8-bit.
  std::string big(kLeafHead);
  for (int i = 0; i < 100000; ++i) {
    big += "une ligne fran\xc3\xa7" "aise de quatre-vingts octets environ, =\r\n";
  }
  std::string many = "Received: by relay.example\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 20000; ++i) {
    many += "--p\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
    many += (i % 2 == 0) ? "caf\xc3\xa9\r\n" : "cafe\r\n";
  }
  many += "--p--\r\n";
  const auto start = std::chrono::steady_clock::now();
  const Downgrade a = downgrade_to_7bit(big);
  const Downgrade b = downgrade_to_7bit(many);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(a.result, DowngradeResult::kConverted);
  ASSERT_EQ(b.result, DowngradeResult::kConverted);
  EXPECT_FALSE(has_8bit(a.message));
  EXPECT_FALSE(has_8bit(b.message));
  // Each 8-bit part gains the CTE field, and its two octets become the six of "=C3=A9".
  constexpr std::string_view kAdded = "Content-Transfer-Encoding: quoted-printable\r\n";
  EXPECT_EQ(b.message.size(), many.size() + 10000 * (kAdded.size() + 4));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

}  // namespace
}  // namespace correo
