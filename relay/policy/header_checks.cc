// header_checks.cc - rule parsing, the header scanner, and the size limits.
#include "relay/policy/header_checks.h"

#include <re2/re2.h>

#include "relay/common/ascii.h"
#include "relay/policy/address_map.h"

namespace correo {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// LineSpan - one line of a header section: [start, end) is its text without the line end,
// next is where the following line starts.
struct LineSpan {
  size_t start = 0;
  size_t end = 0;
  size_t next = 0;
  bool empty() const { return start == end; }
};

LineSpan line_at(std::string_view s, size_t pos) {
  LineSpan l;
  l.start = pos;
  const size_t newline = s.find('\n', pos);
  if (newline == std::string_view::npos) {
    l.end = l.next = s.size();
  } else {
    l.next = newline + 1;
    l.end = newline > pos && s[newline - 1] == '\r' ? newline - 1 : newline;
  }
  return l;
}

std::string_view text_of(std::string_view s, const LineSpan& l) { return s.substr(l.start, l.end - l.start); }

// is_field_start - "Name:" (RFC 5322 §2.2 field-name: printable ASCII but ':'), tolerating
// whitespace before the colon (obs-optional, RFC 5322 §4.5.8) as Postfix's is_header() does.
bool is_field_start(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] > ' ' && line[i] < 127 && line[i] != ':') ++i;
  if (i == 0) return false;
  while (i < line.size() && is_blank(line[i])) ++i;
  return i < line.size() && line[i] == ':';
}

bool is_continuation(std::string_view line) { return !line.empty() && is_blank(line.front()); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string shown(std::string_view s, size_t max = 100) {
  return std::string(s.substr(0, max)) + (s.size() > max ? "..." : "");
}

// parse_rule - one logical line into rule; the problem ("" = fine).
std::string parse_rule(std::string_view s, HeaderRule& rule) {
  using Kind = HeaderRule::Kind;
  s = trim(s);
  if (!s.empty() && s.front() == '!') {
    rule.negated = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() != '/') return "expected /regex/ at the start of the rule";
  size_t close = 1;
  while (close < s.size() && s[close] != '/') close += s[close] == '\\' && close + 1 < s.size() ? 2 : 1;
  if (close >= s.size()) return "missing closing '/' after the regex";
  // "\/" is handed to RE2 as it is: RE2 reads an escaped punctuation character as itself.
  const std::string_view pattern = s.substr(1, close - 1);
  s.remove_prefix(close + 1);

  bool case_sensitive = false;  // Postfix's default
  for (; !s.empty() && !is_blank(s.front()); s.remove_prefix(1)) {
    if (s.front() == 'i') {
      case_sensitive = false;
    } else if (s.front() == 'I') {
      case_sensitive = true;
    } else {
      return "unknown flag '" + shown(s.substr(0, 1)) + "' after /regex/ (i: case-insensitive, the default; "
             "I: case-sensitive)";
    }
  }
  s = trim(s);
  size_t word_end = 0;
  while (word_end < s.size() && !is_blank(s[word_end])) ++word_end;
  const std::string_view action = s.substr(0, word_end);
  const std::string_view text = trim(s.substr(word_end));
  if (action.empty()) return "missing action after /regex/";
  static constexpr std::pair<std::string_view, Kind> kActions[] = {
      {"REJECT", Kind::kReject}, {"HOLD", Kind::kHold}, {"DISCARD", Kind::kDiscard}, {"PREPEND", Kind::kPrepend},
      {"WARN", Kind::kWarn},     {"OK", Kind::kOk},     {"DUNNO", Kind::kDunno}};
  bool found = false;
  for (const auto& [name, kind] : kActions) {
    if (iequals(action, name)) {
      rule.kind = kind;
      found = true;
    }
  }
  if (!found) return "unknown action " + shown(action, 50);

  // The text reaches SMTP replies, logs and the message header: no line breaks or controls.
  for (unsigned char c : text) {
    if ((c < ' ' && c != '\t') || c == 127) return "control character in the action's text";
  }
  switch (rule.kind) {
    case Kind::kOk:
    case Kind::kDunno:
      if (!text.empty()) return shown(action, 50) + " takes no text";
      break;
    case Kind::kPrepend:
      if (text.empty()) return "PREPEND needs a header: PREPEND Name: value";
      if (!is_field_start(text)) return "PREPEND text is not a header (Name: value): " + shown(text);
      if (text.size() > HeaderChecks::kMaxPrependBytes) {
        return "PREPEND header longer than " + std::to_string(HeaderChecks::kMaxPrependBytes) + " bytes";
      }
      break;
    default:
      if (text.size() > HeaderChecks::kMaxTextBytes) {
        return "text longer than " + std::to_string(HeaderChecks::kMaxTextBytes) + " bytes";
      }
      break;
  }
  rule.text = text.empty() && rule.kind == Kind::kReject ? std::string(HeaderChecks::kDefaultRejectText)
                                                          : std::string(text);

  RE2::Options options;
  options.set_log_errors(false);  // the error goes back to the caller with file and line
  options.set_case_sensitive(case_sensitive);
  // Bytes, not UTF-8: in UTF-8 mode '.' does not match an invalid byte, so "\xff" would stop
  // ".*" and hide what follows. Postfix's regexp (C locale) sees bytes too.
  options.set_encoding(RE2::Options::EncodingLatin1);
  auto regex = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!regex->ok()) return "invalid regex /" + shown(pattern) + "/: " + regex->error();
  rule.regex = std::move(regex);
  return "";
}

}  // namespace

HeaderChecks::~HeaderChecks() = default;

Result<std::shared_ptr<const HeaderChecks>> HeaderChecks::load(const std::string& path) {
  std::string text;
  if (Status read = table_file::read(path, text); !read) return read.error();
  return parse(text, path);
}

Result<std::shared_ptr<const HeaderChecks>> HeaderChecks::parse(std::string_view text, std::string_view origin) {
  std::shared_ptr<HeaderChecks> checks(new HeaderChecks);
  auto fail = [&](size_t line, std::string_view problem) {
    return Error{std::string(origin) + ":" + std::to_string(line) + ": " + std::string(problem)};
  };
  table_file::LogicalLines lines(text);
  while (lines.next()) {
    if (checks->rules_.size() >= kMaxRules) {
      return fail(lines.line(), "more than " + std::to_string(kMaxRules) + " rules");
    }
    HeaderRule rule;
    rule.line = lines.line();
    if (std::string problem = parse_rule(lines.text(), rule); !problem.empty()) return fail(lines.line(), problem);
    checks->rules_.push_back(std::move(rule));
  }
  if (!lines.problem().empty()) return fail(lines.problem_line(), lines.problem());
  checks->build_set();
  return std::shared_ptr<const HeaderChecks>(std::move(checks));
}

// build_set - one RE2::Set over every non-negated rule, so a header costs one DFA pass instead
// of one per rule (bench/policy.py: 50 rules were most of the policy's CPU). Each pattern
// carries its own case flag inline; the set is Latin-1 like the rules. Without a set (it
// failed to compile: too big) check_one tries the rules one by one, with the same result.
void HeaderChecks::build_set() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_max_mem(int64_t{64} << 20);
  auto set = std::make_shared<RE2::Set>(options, RE2::UNANCHORED);
  for (uint32_t i = 0; i < rules_.size(); ++i) {
    const HeaderRule& rule = rules_[i];
    if (rule.negated) {
      negated_.push_back(i);
      continue;
    }
    const std::string pattern = (rule.regex->options().case_sensitive() ? "" : "(?i)") + rule.regex->pattern();
    if (set->Add(pattern, nullptr) < 0) return;  // keep matching rule by rule
    set_rule_.push_back(i);
  }
  if (!set->Compile()) return;
  set_ = std::move(set);
}

// first_match - the index of the first rule that fires for subject, or rules_.size().
size_t HeaderChecks::first_match(std::string_view header) const {
  const re2::StringPiece subject(header.data(), header.size());
  if (set_) {
    thread_local std::vector<int> hits;
    hits.clear();
    RE2::Set::ErrorInfo error;
    if (set_->Match(subject, &hits, &error) || error.kind == RE2::Set::kNoError) {
      size_t first = rules_.size();
      for (int h : hits) first = std::min<size_t>(first, set_rule_[static_cast<size_t>(h)]);
      for (uint32_t n : negated_) {  // ascending: only those before the best match matter
        if (n >= first) break;
        if (!RE2::PartialMatch(subject, *rules_[n].regex)) return n;
      }
      return first;
    }
    // The set's DFA ran out of memory on this input: fall back to rule by rule.
  }
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (RE2::PartialMatch(subject, *rules_[i].regex) != rules_[i].negated) return i;
  }
  return rules_.size();
}

bool HeaderChecks::check_one(std::string_view header, HeaderVerdict& verdict) const {
  using Kind = HeaderRule::Kind;
  const size_t index = first_match(header);
  if (index < rules_.size()) {
    const HeaderRule& rule = rules_[index];
    switch (rule.kind) {
      case Kind::kOk:
        return true;
      case Kind::kDunno:
        return false;
      case Kind::kWarn:
        if (verdict.warnings.size() < kMaxCollected) {
          std::string warning(header.substr(0, 200));
          if (!rule.text.empty()) warning += "; " + rule.text;
          verdict.warnings.push_back(std::move(warning));
        }
        return false;
      case Kind::kPrepend:
        if (verdict.prepend.size() < kMaxCollected) verdict.prepend.push_back(rule.text);
        return false;
      case Kind::kReject:
      case Kind::kHold:
      case Kind::kDiscard:
        verdict.action = rule.kind == Kind::kReject ? HeaderAction::kReject
                         : rule.kind == Kind::kHold ? HeaderAction::kHold
                                                    : HeaderAction::kDiscard;
        verdict.text = rule.text;
        verdict.matched_header = std::string(header);
        return true;
    }
  }
  return false;
}

HeaderVerdict HeaderChecks::check(std::string_view section) const {
  HeaderVerdict verdict;
  std::string unfolded;  // reused for every folded header; unfolded ones are matched in place
  size_t pos = 0;
  while (pos < section.size()) {
    const LineSpan first = line_at(section, pos);
    if (first.empty()) break;  // the empty line: a caller passed the whole message
    std::string_view header = text_of(section, first);
    size_t next = first.next;
    bool folded = false;
    while (next < section.size() && is_blank(section[next])) {
      const LineSpan more = line_at(section, next);
      if (!folded) unfolded.assign(header);
      folded = true;
      unfolded.append(text_of(section, more));  // drop only the CRLF; keep the WSP (Postfix)
      next = more.next;
    }
    if (folded) header = unfolded;
    pos = next;
    if (check_one(header, verdict)) break;
  }
  return verdict;
}

std::string_view header_section(std::string_view content) {
  size_t pos = 0;
  while (pos < content.size()) {
    const LineSpan l = line_at(content, pos);
    const std::string_view text = text_of(content, l);
    if (!is_field_start(text) && (pos == 0 || !is_continuation(text))) break;
    pos = l.next;
  }
  return content.substr(0, pos);
}

HeaderLimitVerdict check_header_limits(std::string_view content, uint32_t max_header_bytes, uint32_t max_header_count) {
  HeaderLimitVerdict v;
  size_t pos = 0;
  while (pos < content.size()) {
    const LineSpan l = line_at(content, pos);
    const std::string_view text = text_of(content, l);
    const bool field = is_field_start(text);
    if (!field && (pos == 0 || !is_continuation(text))) break;
    v.bytes = l.next;
    if (field && ++v.count > max_header_count && max_header_count != 0) {
      v.too_many_headers = true;
      return v;
    }
    if (max_header_bytes != 0 && v.bytes > max_header_bytes) {
      v.too_big = true;
      return v;
    }
    pos = l.next;
  }
  return v;
}

}  // namespace correo
