// address_map.cc - table-file reading, recipient lookups and alias expansion.
#include "relay/policy/address_map.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "relay/smtp/address.h"

namespace correo {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// address_problem - why text is not a plain "local@domain" mailbox ("" = fine). The SMTP
// parser is reused so the map accepts exactly what RCPT TO can carry.
std::string address_problem(std::string_view text) {
  std::string path;
  path.reserve(text.size() + 2);
  path += '<';
  path += text;
  path += '>';
  const PathResult r = parse_path(path, false);
  if (!r.ok) return r.error;
  // A source route ("@a:b@c") is dropped by the parser; in a map it is a typo.
  if (r.path.consumed != path.size() || r.path.address.size() != text.size()) return "not a plain local@domain address";
  return "";
}

// without_extension - "user+ext@domain" -> "user@domain" (first '+', non-empty user), else "".
std::string without_extension(std::string_view address) {
  const size_t at = address.rfind('@');
  const size_t plus = address.find('+');
  if (at == std::string_view::npos || plus == std::string_view::npos || plus == 0 || plus > at) return "";
  std::string out(address.substr(0, plus));
  out += address.substr(at);
  return out;
}

std::string describe(std::string_view text) {
  // Entries are not secret; cut them so a binary file does not flood the log.
  return "'" + std::string(text.substr(0, 200)) + (text.size() > 200 ? "...'" : "'");
}

}  // namespace

namespace table_file {

Status read(const std::string& path, std::string& text) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": cannot open: " + strerror(errno)};
  const std::string too_big =
      path + ": larger than " + std::to_string(kMaxFileBytes / (1024 * 1024)) + " MiB; refusing to load it";
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(kMaxFileBytes)) {
    close(fd);
    return Error{too_big};
  }
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      return Error{path + ": cannot read: " + strerror(saved)};
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileBytes) {  // the file grew after fstat
      close(fd);
      return Error{too_big};
    }
  }
  close(fd);
  return Ok{};
}

bool LogicalLines::next() {
  if (!problem_.empty()) return false;
  entry_.clear();
  bool have = false;
  while (!rest_.empty()) {
    const size_t newline = rest_.find('\n');
    std::string_view raw = rest_.substr(0, newline);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    size_t first = 0;
    while (first < raw.size() && (is_blank(raw[first]) || raw[first] == '\r')) ++first;
    const bool skip = first == raw.size() || raw[first] == '#';
    const bool continuation = !skip && first > 0;
    // A line starting in column 0 begins the next entry: leave it for the next call.
    if (have && !skip && !continuation) break;
    rest_.remove_prefix(newline == std::string_view::npos ? rest_.size() : newline + 1);
    ++line_number_;
    if (skip) continue;  // comments and blank lines neither end nor join an entry (as Postfix)
    if (continuation && !have) {
      problem_ = "line starts with whitespace but continues no entry";
      problem_line_ = line_number_;
      return false;
    }
    if (!have) {
      have = true;
      entry_line_ = line_number_;
    }
    if (entry_.size() + raw.size() > kMaxEntryBytes) {
      problem_ = "entry longer than " + std::to_string(kMaxEntryBytes) + " bytes";
      problem_line_ = entry_line_;
      return false;
    }
    entry_.append(raw);
  }
  return have;
}

}  // namespace table_file

// ---- RecipientMap ----

Result<std::shared_ptr<const RecipientMap>> RecipientMap::load(const std::string& path) {
  std::string text;
  if (Status read = table_file::read(path, text); !read) return read.error();
  return parse(text, path);
}

Result<std::shared_ptr<const RecipientMap>> RecipientMap::parse(std::string_view text, std::string_view origin) {
  std::shared_ptr<RecipientMap> map(new RecipientMap);
  table_file::LogicalLines lines(text);
  auto fail = [&](size_t line, std::string_view problem) {
    return Error{std::string(origin) + ":" + std::to_string(line) + ": " + std::string(problem)};
  };
  while (lines.next()) {
    const std::string_view entry = trim(lines.text());
    size_t end = 0;
    while (end < entry.size() && !is_blank(entry[end])) ++end;
    const std::string_view key = entry.substr(0, end);  // the rest is Postfix's value column
    if (map->size() >= kMaxEntries) return fail(lines.line(), "more than " + std::to_string(kMaxEntries) + " entries");
    if (key.front() == '@') {
      const std::string_view domain = key.substr(1);
      if (!is_valid_domain(domain, true)) return fail(lines.line(), "invalid domain in " + describe(key));
      map->catch_all_.insert(lowercase_ascii(domain));
      map->domains_.insert(lowercase_ascii(domain));
      continue;
    }
    if (std::string problem = address_problem(key); !problem.empty()) {
      return fail(lines.line(), "invalid address " + describe(key) + ": " + problem);
    }
    std::string address = lowercase_ascii(key);
    map->domains_.insert(address.substr(address.rfind('@') + 1));
    map->addresses_.insert(std::move(address));  // a repeated line is harmless
  }
  if (!lines.problem().empty()) return fail(lines.problem_line(), lines.problem());
  return std::shared_ptr<const RecipientMap>(std::move(map));
}

bool RecipientMap::known(std::string_view address) const {
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  const std::string key = lowercase_ascii(address);
  if (addresses_.contains(key)) return true;
  if (const std::string base = without_extension(key); !base.empty() && addresses_.contains(base)) return true;
  return catch_all_.contains(std::string_view(key).substr(at + 1));
}

bool RecipientMap::covers_domain(std::string_view domain) const { return domains_.contains(lowercase_ascii(domain)); }

// ---- AliasMap ----

Result<std::shared_ptr<const AliasMap>> AliasMap::load(const std::string& path) {
  std::string text;
  if (Status read = table_file::read(path, text); !read) return read.error();
  return parse(text, path);
}

Result<std::shared_ptr<const AliasMap>> AliasMap::parse(std::string_view text, std::string_view origin) {
  std::shared_ptr<AliasMap> map(new AliasMap);
  table_file::LogicalLines lines(text);
  auto fail = [&](size_t line, std::string_view problem) {
    return Error{std::string(origin) + ":" + std::to_string(line) + ": " + std::string(problem)};
  };
  while (lines.next()) {
    std::string_view entry = trim(lines.text());
    // The alias ends at ':' or whitespace (so a quoted local part with either is not supported).
    size_t end = 0;
    while (end < entry.size() && entry[end] != ':' && !is_blank(entry[end])) ++end;
    const std::string_view alias = entry.substr(0, end);
    entry.remove_prefix(end);
    while (!entry.empty() && is_blank(entry.front())) entry.remove_prefix(1);
    if (!entry.empty() && entry.front() == ':') entry.remove_prefix(1);
    if (alias.empty()) return fail(lines.line(), "missing alias address before ':'");
    if (alias.front() == '@') {
      return fail(lines.line(), "domain-wide alias " + describe(alias) + " is not supported; list each address");
    }
    if (std::string problem = address_problem(alias); !problem.empty()) {
      return fail(lines.line(), "invalid alias " + describe(alias) + ": " + problem);
    }
    std::vector<std::string> targets;
    while (!entry.empty()) {
      size_t n = 0;
      while (n < entry.size() && entry[n] != ',' && !is_blank(entry[n])) ++n;
      const std::string_view target = entry.substr(0, n);
      entry.remove_prefix(n);
      while (!entry.empty() && (entry.front() == ',' || is_blank(entry.front()))) entry.remove_prefix(1);
      if (target.empty()) continue;
      if (std::string problem = address_problem(target); !problem.empty()) {
        return fail(lines.line(), "invalid target " + describe(target) + " for " + describe(alias) + ": " + problem);
      }
      targets.emplace_back(target);
    }
    if (targets.empty()) return fail(lines.line(), "alias " + describe(alias) + " has no targets");
    if (map->entries_.size() >= kMaxEntries) {
      return fail(lines.line(), "more than " + std::to_string(kMaxEntries) + " aliases");
    }
    if (!map->entries_.emplace(lowercase_ascii(alias), std::move(targets)).second) {
      return fail(lines.line(), "duplicate alias " + describe(alias));
    }
  }
  if (!lines.problem().empty()) return fail(lines.problem_line(), lines.problem());
  return std::shared_ptr<const AliasMap>(std::move(map));
}

const AliasMap::Entry* AliasMap::find(std::string_view address) const {
  const std::string key = lowercase_ascii(address);
  if (auto it = entries_.find(key); it != entries_.end()) return &*it;
  if (const std::string base = without_extension(key); !base.empty()) {
    if (auto it = entries_.find(base); it != entries_.end()) return &*it;
  }
  return nullptr;
}

// Walk - the state of one expand(): a depth-first search where `path` holds the aliases being
// expanded (a target among them closes a cycle) and `done` those finished (their recipients
// are already in, so a second way to reach one adds nothing and costs nothing).
struct AliasMap::Walk {
  size_t max_results = 0;
  std::vector<const Entry*> path;
  std::unordered_set<const Entry*> done;
  PolicyStringSet seen;  // lowercased final recipients, for duplicate removal
  AliasExpansion out;

  void emit(const std::string& address) {
    if (!seen.insert(lowercase_ascii(address)).second) return;
    out.recipients.push_back(address);
    if (max_results != 0 && out.recipients.size() > max_results) out.too_many = true;
  }
};

void AliasMap::expand_entry(const Entry& entry, Walk& walk) const {
  if (walk.path.size() >= kMaxDepth) {
    walk.out.too_many = true;
    return;
  }
  walk.path.push_back(&entry);
  for (const std::string& target : entry.second) {
    if (walk.out.loop || walk.out.too_many) break;
    const Entry* next = find(target);
    if (next == nullptr || next == &entry) {  // a plain address, or the alias naming itself
      walk.emit(target);
      continue;
    }
    if (walk.done.contains(next)) continue;
    if (std::find(walk.path.begin(), walk.path.end(), next) != walk.path.end()) {
      walk.out.loop = true;
      break;
    }
    expand_entry(*next, walk);
  }
  walk.path.pop_back();
  walk.done.insert(&entry);
}

AliasExpansion AliasMap::expand(std::string_view address, size_t max_results) const {
  const Entry* entry = find(address);
  if (entry == nullptr) {
    AliasExpansion plain;
    plain.recipients.emplace_back(address);
    return plain;
  }
  Walk walk;
  walk.max_results = max_results;
  walk.out.aliased = true;
  expand_entry(*entry, walk);
  if (walk.out.loop || walk.out.too_many) walk.out.recipients.clear();
  return std::move(walk.out);
}

}  // namespace correo
