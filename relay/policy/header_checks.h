// header_checks.h - Postfix-style header_checks on RE2, and the header section size limits.
//
// File format (Postfix regexp_table(5), read as in address_map.h: '#' comments, blank lines
// ignored, indented lines continue the rule):
//   /regex/flags ACTION optional text
//   !/regex/flags ACTION optional text      (the rule fires when the regex does NOT match)
// Inside the pattern "\/" stands for '/'. Matching is a search (unanchored), case-INSENSITIVE
// by default as in Postfix. Flags: 'i' keeps the default; 'I' makes the rule case-sensitive.
// (Postfix's 'i' toggles case sensitivity; we do not copy that, since "/x/i" reading as
// case-sensitive surprises everyone not steeped in Postfix.) Patterns are RE2 syntax, so
// matching takes time linear in the header size whatever the pattern: no ReDoS. Patterns and
// headers are bytes (RE2 Latin-1), as for Postfix's regexp in the C locale: '.' matches any
// byte, so invalid UTF-8 cannot hide text from ".*"; UTF-8 text in a pattern matches the same
// bytes; case folding is for ASCII letters ("ü" and "Ü" are unrelated byte strings).
// Postfix's IF/ENDIF blocks are not supported.
//
// Actions (keywords case-insensitive):
//   REJECT [text]       refuse the message; text defaults to "5.7.1 Message content rejected"
//   HOLD [text]         accept and quarantine          DISCARD [text]  accept and drop
//   PREPEND Name: value add a header above the message
//   WARN [text]         log only
//   OK                  stop inspecting: no further header is checked
//   DUNNO               this header is done; go on with the next header
// Any other word is a load error "FILE:LINE: unknown action X".
//
// Matching (check): each LOGICAL header of the section is tested as its "Name: value" text with
// folding undone the way Postfix does it: only the CRLF before each continuation line is removed,
// its leading whitespace stays. For one header the first matching rule applies and later rules
// are not tried (Postfix). REJECT, HOLD and DISCARD end the scan: the first one met is the
// verdict. WARN, PREPEND and DUNNO let the scan go on with the next header; WARN texts and
// PREPEND headers are collected (at most kMaxCollected of each). OK ends the scan with whatever
// was collected so far. (Postfix treats OK like DUNNO; ours makes "trust this header" possible.)
//
// Thread rules: a loaded HeaderChecks is immutable and RE2 matching is thread-safe, so all
// workers share one through a Snapshot; SIGHUP loads a new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/common/result.h"

#include <re2/set.h>

namespace correo {

enum class HeaderAction : uint8_t { kNone, kReject, kHold, kDiscard, kPrepend, kWarn };

// HeaderRule - one parsed rule.
struct HeaderRule {
  enum class Kind : uint8_t { kReject, kHold, kDiscard, kPrepend, kWarn, kOk, kDunno };
  std::shared_ptr<const re2::RE2> regex;  // shared_ptr: destructible where RE2 is incomplete
  bool negated = false;
  Kind kind = Kind::kDunno;
  std::string text;  // the action's text (REJECT's default filled in); for PREPEND the header
  size_t line = 0;   // where the rule starts in its file
};

// HeaderVerdict - what check() decided. action is kNone unless a REJECT, HOLD or DISCARD rule
// fired (PREPEND and WARN are reported through the lists, never as the action).
struct HeaderVerdict {
  HeaderAction action = HeaderAction::kNone;
  std::string text;            // the deciding rule's text ("" when it has none, except REJECT)
  std::string matched_header;  // the unfolded header that decided
  std::vector<std::string> prepend;   // "Name: value" lines to add, in rule-match order
  std::vector<std::string> warnings;  // per WARN: the header, then "; text" when the rule has text
};

class HeaderChecks {
 public:
  static constexpr size_t kMaxRules = 10'000;        // each rule costs a pass over every header
  static constexpr size_t kMaxTextBytes = 400;       // a reply line stays under 512 octets (RFC 5321 §4.5.3.1.5)
  static constexpr size_t kMaxPrependBytes = 998;    // one header line (RFC 5322 §2.1.1)
  static constexpr size_t kMaxCollected = 100;       // WARN and PREPEND results kept per message
  static constexpr std::string_view kDefaultRejectText = "5.7.1 Message content rejected";

  ~HeaderChecks();
  static Result<std::shared_ptr<const HeaderChecks>> load(const std::string& path);
  // parse - the same from text in memory; origin stands in for the path in errors.
  static Result<std::shared_ptr<const HeaderChecks>> parse(std::string_view text, std::string_view origin);

  // check - run the rules over a header section (as header_section() returns it; CRLF or LF
  // line ends). Cost: O(rules x section bytes), so apply check_header_limits first.
  HeaderVerdict check(std::string_view header_section) const;
  size_t size() const { return rules_.size(); }
  const std::vector<HeaderRule>& rules() const { return rules_; }

 private:
  HeaderChecks() = default;
  // check_one - apply the rules to one logical header; true = stop scanning the message.
  bool check_one(std::string_view header, HeaderVerdict& verdict) const;
  void build_set();
  size_t first_match(std::string_view header) const;

  std::vector<HeaderRule> rules_;
  std::shared_ptr<const re2::RE2::Set> set_;  // non-negated rules in one automaton (null: rule by rule)
  std::vector<uint32_t> set_rule_;            // set pattern index -> rule index
  std::vector<uint32_t> negated_;             // negated rules, ascending
};

// header_section - the header fields at the start of content, through the line end of the last
// one, without the empty line. Like Postfix's cleanup, the section also ends at the first line
// that is neither a header field ("Name:" with printable ASCII name, WSP allowed before the
// colon) nor a continuation (leading SP/HTAB), so a message lacking the empty line is not read as
// all header. Lines end in CRLF or LF. No allocation, one pass.
std::string_view header_section(std::string_view content);

// HeaderLimitVerdict - check_header_limits' answer. On a violation, bytes and count are the
// values at the point the limit was crossed (scanning stops there).
struct HeaderLimitVerdict {
  uint64_t bytes = 0;   // header section bytes, line ends included
  uint32_t count = 0;   // logical headers
  bool too_big = false;
  bool too_many_headers = false;
  bool ok() const { return !too_big && !too_many_headers; }
};

// check_header_limits - does the header section of content (see header_section) exceed
// max_header_bytes or max_header_count (0 = no limit)? One pass (memchr per line), no
// allocation; it stops at the line that crosses a limit instead of reading a hostile section
// to its end.
HeaderLimitVerdict check_header_limits(std::string_view content, uint32_t max_header_bytes, uint32_t max_header_count);

}  // namespace correo
