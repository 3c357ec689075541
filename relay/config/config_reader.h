// config_reader.h - the toolkit the config loader is built from: diagnostics that carry
// FILE:LINE, typed readers for TOML values, validators for the value syntaxes correo uses
// (durations, domains, next hops, DNS servers), and the walk over a table's keys that turns
// unknown keys into "did you mean" errors. Internal to relay/config (namespace config_detail).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <toml.hpp>
#include <utility>
#include <vector>

#include "relay/common/cidr.h"
#include "relay/config/config.h"

namespace correo::config_detail {

// A config file larger than this is not a config file (e.g. --config /dev/zero).
constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;

// Diagnostics - collects "FILE:LINE: key: problem" lines; take() returns them in file order.
class Diagnostics {
 public:
  explicit Diagnostics(const std::string& file) : file_(file) {}

  void add(unsigned line, std::string_view key, std::string_view problem) {
    entries_.push_back({line, file_ + ":" + std::to_string(line) + ": " + std::string(key) +
                                  ": " + std::string(problem)});
  }
  void add(const toml::value& at, std::string_view key, std::string_view problem) {
    add(at.location().line(), key, problem);
  }

  size_t count() const { return entries_.size(); }

  std::vector<ConfigError> take() {
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const Entry& a, const Entry& b) { return a.line < b.line; });
    std::vector<ConfigError> out;
    out.reserve(entries_.size());
    for (auto& e : entries_) out.push_back({std::move(e.text)});
    entries_.clear();
    return out;
  }

 private:
  struct Entry {
    unsigned line;
    std::string text;
  };
  const std::string& file_;
  std::vector<Entry> entries_;
};

// type_name - a TOML type with its article, for "must be an integer, not a string".
std::string type_name(const toml::value& v);

// in_quotes - "text" with quotes, for messages.
inline std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string lower(std::string_view s);

// edit_distance - Levenshtein distance with adjacent transpositions, for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b);

// unknown_problem - "unknown key", plus the closest known name when within 2 edits (and a
// third of the name, so "foo" does not suggest "log").
std::string unknown_problem(std::string_view what, std::string_view name,
                            const std::vector<std::string_view>& known);

// valid_domain_name - letters/digits/hyphen labels, no edge hyphens, label <= 63, total <= 253.
bool valid_domain_name(std::string_view name);

// valid_port - decimal 1..65535, nothing else.
bool valid_port(std::string_view text);

// next_hop_problem - why text is not "", host, host:port, [host] or [host]:port ("" = fine).
std::string next_hop_problem(std::string_view hop);

// dns_server_problem - why text is not "ip", "ip:port", "[ipv6]" or "[ipv6]:port" ("" = fine).
std::string dns_server_problem(std::string_view text);

// format_duration - the largest whole unit, for messages ("90m", "2h", "250ms").
std::string format_duration(Duration d);

// read_file - the whole file into text; on failure the reason (strerror or size).
std::optional<std::string> read_file(const std::string& path, std::string& text);

// TextProblem - where and why a document is refused before toml11 sees it.
struct TextProblem {
  unsigned line;
  std::string problem;
};
using NestingProblem = TextProblem;

// too_deep - find arrays/inline tables nested deeper than kMaxNesting, or a line with more
// than kMaxNesting dots (dotted keys). toml11 parses nesting by recursion, so "a = [[[[..."
// 100k deep overflows the stack, and 100k-part dotted keys take hours. Strings and comments
// are skipped, so brackets and dots inside them do not count. A config has no floats, so
// counting every dot on a line costs nothing real.
constexpr int kMaxNesting = 64;
std::optional<NestingProblem> too_deep(std::string_view text);

// invalid_utf8 - the first line that is not UTF-8 (TOML 1.0: "a TOML file must be a valid
// UTF-8 encoded Unicode document"). Checked before parsing because toml11 3.7 reads past
// the end of its buffer on a truncated multi-byte sequence inside a literal string (found
// by tests/fuzz/config_fuzz: the 4-byte file ' \xEA ' o).
std::optional<TextProblem> invalid_utf8(std::string_view text);

// summarize_toml_error - toml11's multi-line what() as one line: message (hint at the spot).
std::string summarize_toml_error(std::string_view what);

// KeySpec - one known key of a table and the function that loads it.
using KeyLoader = std::function<void(const toml::value& value, const std::string& key)>;

struct KeySpec {
  std::string_view name;
  KeyLoader load;
};

// sorted_entries - a table's entries in source order, so errors and duplicates are deterministic.
std::vector<std::pair<const std::string*, const toml::value*>> sorted_entries(
    const toml::value& table);

// walk_table - hand each key of a table to its loader; unknown keys are errors with a hint.
void walk_table(Diagnostics& d, const toml::value& table, const std::string& prefix,
                const std::vector<KeySpec>& specs);

// read_integer - an integer in [min, max]; else an error naming the range, and nullopt.
std::optional<int64_t> read_integer(Diagnostics& d, const toml::value& v, const std::string& key,
                                    int64_t min, int64_t max, std::string_view range = {});

// read_string - a string value; else an error naming the expected type.
std::optional<std::string> read_string(Diagnostics& d, const toml::value& v,
                                       const std::string& key);

// read_duration - a duration string ("30s"); zero only when allowed.
std::optional<Duration> read_duration(Diagnostics& d, const toml::value& v, const std::string& key,
                                      bool allow_zero);

// read_choice - a string that must be one of choices; returns its index.
std::optional<size_t> read_choice(Diagnostics& d, const toml::value& v, const std::string& key,
                                  const std::vector<std::string_view>& choices);

// integer_key - a loader storing an integer within [min, max] (default: what T holds).
template <typename T>
KeyLoader integer_key(Diagnostics& d, T& out, int64_t min,
                      int64_t max = static_cast<int64_t>(std::min<uint64_t>(
                          std::numeric_limits<T>::max(), std::numeric_limits<int64_t>::max())),
                      std::string range = {}) {
  return [&d, &out, min, max, range = std::move(range)](const toml::value& v,
                                                        const std::string& key) {
    if (auto n = read_integer(d, v, key, min, max, range)) out = static_cast<T>(*n);
  };
}

// path_key - a loader storing a file path ("" allowed: the feature is off).
KeyLoader path_key(Diagnostics& d, std::string& out);

// bool_key - a loader storing true/false.
KeyLoader bool_key(Diagnostics& d, bool& out);

// duration_key - a loader storing a duration.
KeyLoader duration_key(Diagnostics& d, Duration& out, bool allow_zero);

// read_networks - an array of CIDR strings ("10.0.0.0/8", "::1/128") appended to out.
void read_networks(Diagnostics& d, const toml::value& array, const std::string& prefix, std::vector<Cidr>& out);

// require_table - a section must be a table; says how to write it when not.
bool require_table(Diagnostics& d, const toml::value& v, const std::string& key);

}  // namespace correo::config_detail
