// address_map.h - recipient verification (RecipientMap) and alias expansion (AliasMap) for
// the relay domains, both loaded from Postfix-style table files; plus the table-file reader
// they share with header_checks.
//
// Table files (Postfix readlline(3)): blank lines and lines whose first non-blank character is
// '#' are ignored; a line starting with whitespace continues the previous entry (the newline is
// dropped, the line is appended as it is); a continuation with no entry before it is an error.
// CRLF line ends are accepted. Errors read "PATH:LINE: problem", LINE being the entry's first.
//
// Case: lookups are ASCII case-insensitive for the whole address, local part included, as
// Postfix lowercases its lookup keys. RFC 5321 §2.4 lets a domain treat local parts
// case-sensitively, but no deployed mailbox pair differs only by case. Extensions: when
// "user+ext@domain" has no entry, "user@domain" is tried (recipient_delimiter "+", split at the
// first '+'); the extension is not carried over to alias targets.
//
// Both maps are immutable once built: a SIGHUP reload builds new ones and swaps the
// shared_ptr, so workers read them concurrently without locks.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "relay/common/result.h"

namespace correo {

namespace table_file {

constexpr size_t kMaxFileBytes = size_t{64} * 1024 * 1024;  // a typo'd path to a huge file must not eat memory
constexpr size_t kMaxEntryBytes = 64 * 1024;                // one logical entry, continuations included

// read - the whole file at path, refused past kMaxFileBytes. Errors read "PATH: problem".
Status read(const std::string& path, std::string& text);

// LogicalLines - walks text entry by entry (comments and blank lines skipped, continuation
// lines joined). Pure: the text must outlive the reader.
class LogicalLines {
 public:
  explicit LogicalLines(std::string_view text) : rest_(text) {}
  // next - advance to the next entry; false at the end or on a problem (see problem()).
  bool next();
  std::string_view text() const { return entry_; }
  size_t line() const { return entry_line_; }  // 1-based line where the entry starts
  const std::string& problem() const { return problem_; }
  size_t problem_line() const { return problem_line_; }

 private:
  std::string_view rest_;
  size_t line_number_ = 0;  // physical lines consumed so far
  std::string entry_;
  size_t entry_line_ = 0;
  std::string problem_;
  size_t problem_line_ = 0;
};

}  // namespace table_file

// PolicyStringHash - lets the sets and maps below be searched with a string_view.
struct PolicyStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PolicyStringSet = std::unordered_set<std::string, PolicyStringHash, std::equal_to<>>;

// RecipientMap - the valid recipients of the relay domains (Postfix relay_recipient_maps).
// One entry per line: "user@example.test", or "@example.test" for "any local part at this
// domain". A second column (Postfix's value, "user@example.test OK") is allowed and ignored.
class RecipientMap {
 public:
  static constexpr size_t kMaxEntries = 10'000'000;

  static Result<std::shared_ptr<const RecipientMap>> load(const std::string& path);
  // parse - the same from text in memory; origin stands in for PATH in errors.
  static Result<std::shared_ptr<const RecipientMap>> parse(std::string_view text, std::string_view origin);

  // known - address (as in RCPT TO, without <>) is listed: exactly, without its +extension,
  // or through a catch-all for its domain.
  bool known(std::string_view address) const;
  // covers_domain - the map lists at least one address (or a catch-all) at this domain, so
  // an unknown address there is to be rejected. A domain not in the map is not verified.
  bool covers_domain(std::string_view domain) const;
  size_t size() const { return addresses_.size() + catch_all_.size(); }

 private:
  RecipientMap() = default;

  PolicyStringSet addresses_;  // "local@domain", ASCII-lowercased
  PolicyStringSet catch_all_;  // "domain" from "@domain", lowercased
  PolicyStringSet domains_;    // every domain named by either
};

// AliasExpansion - what one address expands to. When loop or too_many is set, recipients is
// empty and the address must be refused (loop: a permanent configuration error; too_many:
// the expansion hit max_results or the depth limit, a temporary one as in Postfix).
struct AliasExpansion {
  std::vector<std::string> recipients;  // final recipients, duplicates removed, first seen first
  bool loop = false;
  bool too_many = false;
  bool aliased = false;  // the address had an entry (false: recipients == {address})
};

// AliasMap - Postfix virtual_alias_maps for the relay domains. Entries:
//   alias@example.test: a@x.test, b@y.test
//   alias@example.test a@x.test,b@y.test          (whitespace instead of ':')
// Targets are separated by commas and/or whitespace and may continue on indented lines.
// Targets that are aliases themselves are expanded in turn; an alias naming itself keeps
// itself as a final recipient (Postfix's "user: user, copy@elsewhere"); a cycle through other
// aliases (a -> b -> a) is a loop.
class AliasMap {
 public:
  using Expansion = AliasExpansion;
  static constexpr size_t kMaxEntries = 1'000'000;
  static constexpr size_t kMaxDepth = 20;  // Postfix virtual_alias_recursion_limit

  static Result<std::shared_ptr<const AliasMap>> load(const std::string& path);
  static Result<std::shared_ptr<const AliasMap>> parse(std::string_view text, std::string_view origin);

  // expand - the final recipients for address. max_results bounds the result (0 = only the
  // map's own size bounds it); each alias is expanded at most once per call, so the cost is
  // linear in the part of the map reached.
  AliasExpansion expand(std::string_view address, size_t max_results) const;
  size_t size() const { return entries_.size(); }

 private:
  // Lowercased alias -> targets as written. Node-based, so an Entry's address is stable.
  using Map = std::unordered_map<std::string, std::vector<std::string>, PolicyStringHash, std::equal_to<>>;
  using Entry = Map::value_type;
  struct Walk;

  AliasMap() = default;
  // find - the entry for address (or for it without its +extension), or nullptr.
  const Entry* find(std::string_view address) const;
  void expand_entry(const Entry& entry, Walk& walk) const;

  Map entries_;
};

}  // namespace correo
