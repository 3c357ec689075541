// config_reader.cc - diagnostics, typed readers and value validators for the config loader.
#include "relay/config/config_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>
#include <tuple>

namespace correo::config_detail {

// type_name - a TOML type with its article, for "must be an integer, not a string".
std::string type_name(const toml::value& v) {
  switch (v.type()) {
    case toml::value_t::boolean: return "a boolean";
    case toml::value_t::integer: return "an integer";
    case toml::value_t::floating: return "a float";
    case toml::value_t::string: return "a string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time: return "a date/time";
    case toml::value_t::array: return "an array";
    case toml::value_t::table: return "a table";
    default: return "empty";
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// edit_distance - Levenshtein distance with adjacent transpositions, for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// unknown_problem - "unknown key", plus the closest known name when within 2 edits (and a
// third of the name, so "foo" does not suggest "log").
std::string unknown_problem(std::string_view what, std::string_view name,
                            const std::vector<std::string_view>& known) {
  std::string problem = "unknown " + std::string(what);
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view candidate : known) {
    const size_t distance = edit_distance(name, candidate);
    if (distance < best_distance && distance * 3 <= name.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best.empty()) problem += " (did you mean " + std::string(best) + "?)";
  return problem;
}

// valid_domain_name - letters/digits/hyphen labels, no edge hyphens, label <= 63, total <= 253.
bool valid_domain_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// valid_port - decimal 1..65535, nothing else.
bool valid_port(std::string_view text) {
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size() && port >= 1 &&
         port <= 65535;
}

// next_hop_problem - why text is not "", host, host:port, [host] or [host]:port ("" = fine).
std::string next_hop_problem(std::string_view hop) {
  if (hop.empty()) return "";
  std::string reason;
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (hop.front() == '[') {
    const size_t close = hop.find(']');
    if (close == std::string_view::npos) {
      reason = "missing ']'";
    } else {
      host = hop.substr(1, close - 1);
      const std::string_view rest = hop.substr(close + 1);
      if (!rest.empty() && rest.front() != ':') {
        reason = "unexpected " + in_quotes(rest) + " after ']'";
      } else if (!rest.empty()) {
        has_port = true;
        port = rest.substr(1);
      }
    }
  } else {
    const size_t colon = hop.find(':');
    if (colon != std::string_view::npos && hop.find(':', colon + 1) != std::string_view::npos) {
      reason = "an IPv6 address needs brackets, as in [::1]:25";
    } else if (colon != std::string_view::npos) {
      host = hop.substr(0, colon);
      has_port = true;
      port = hop.substr(colon + 1);
    } else {
      host = hop;
    }
  }
  if (reason.empty()) {
    if (host.empty()) {
      reason = "empty host";
    } else if (!IpAddress::parse(host) && !valid_domain_name(host)) {
      reason = in_quotes(host) + " is not a host name or IP address";
    } else if (has_port && !valid_port(port)) {
      reason = "port " + in_quotes(port) + " is not 1..65535";
    }
  }
  if (reason.empty()) return "";
  return in_quotes(hop) + " is not a next hop: " + reason +
         " (use host, host:port, [host] or [host]:port)";
}

// dns_server_problem - why text is not "ip", "ip:port", "[ipv6]" or "[ipv6]:port" ("" = fine).
std::string dns_server_problem(std::string_view text) {
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return in_quotes(text) + ": missing ']'";
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return in_quotes(text) + ": expected ':port' after ']'";
      port = text.substr(close + 2);
    }
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) {
      return in_quotes(text) + ": an IPv6 server needs brackets, as in [::1]:53";
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!IpAddress::parse(host)) return in_quotes(text) + ": a DNS server must be an IP address";
  if (!port.empty() && !valid_port(port)) return in_quotes(text) + ": port is not 1..65535";
  return "";
}

// format_duration - the largest whole unit, for messages ("90m", "2h", "250ms").
std::string format_duration(Duration d) {
  const int64_t ms = d.count();
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
  for (const auto& [size, unit] : kUnits) {
    if (ms != 0 && ms % size == 0) return std::to_string(ms / size) + unit;
  }
  return std::to_string(ms) + "ms";
}

// read_file - the whole file into text; on failure the reason (strerror or size).
std::optional<std::string> read_file(const std::string& path, std::string& text) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string(strerror(errno));
  char buf[65536];
  std::optional<std::string> problem;
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem = strerror(errno);
      break;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      problem = "larger than " + std::to_string(kMaxConfigBytes / (1024 * 1024)) + " MiB";
      break;
    }
  }
  close(fd);
  return problem;
}

std::optional<TextProblem> invalid_utf8(std::string_view text) {
  unsigned line = 1;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    // RFC 3629: lead byte, then continuation bytes; no overlongs, no surrogates, <= U+10FFFF.
    size_t len = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, low = 0xA0;
    else if (c == 0xED) len = 3, high = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, low = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, high = 0x8F;
    bool ok = len != 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = k == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
    }
    if (!ok) return TextProblem{line, "not valid UTF-8 (TOML files are UTF-8)"};
    i += len;
  }
  return std::nullopt;
}

// too_deep - find arrays/inline tables nested deeper than kMaxNesting, or a line with more
// than kMaxNesting dots (dotted keys). toml11 parses nesting by recursion, so "a = [[[[..."
// 100k deep overflows the stack, and 100k-part dotted keys take hours. Strings and comments
// are skipped, so brackets and dots inside them do not count. A config has no floats, so
// counting every dot on a line costs nothing real.
std::optional<NestingProblem> too_deep(std::string_view text) {
  int depth = 0;
  int dots = 0;
  unsigned line = 1;
  size_t i = 0;
  // skip_to - advance past the closing delimiter, counting lines; escapes only in "strings".
  auto skip_to = [&](std::string_view close, bool escapes) {
    while (i < text.size() && !text.substr(i).starts_with(close)) {
      if (text[i] == '\n') ++line;
      if (escapes && text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        if (text[i] == '\n') ++line;
      }
      ++i;
    }
    i += close.size();
  };
  while (i < text.size()) {
    const std::string_view rest = text.substr(i);
    const char c = text[i];
    if (rest.starts_with("\"\"\"") || rest.starts_with("'''")) {
      i += 3;
      skip_to(rest.substr(0, 3), c == '"');
    } else if (c == '"' || c == '\'') {
      ++i;
      skip_to(rest.substr(0, 1), c == '"');
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else {
      if (c == '\n') {
        ++line;
        dots = 0;
      } else if (c == '.' && ++dots > kMaxNesting) {
        return NestingProblem{line, "more than " + std::to_string(kMaxNesting) +
                                        " dotted key parts on one line"};
      } else if (c == '[' || c == '{') {
        if (++depth > kMaxNesting) {
          return NestingProblem{line, "arrays or inline tables nested deeper than " +
                                          std::to_string(kMaxNesting) + " levels"};
        }
      } else if ((c == ']' || c == '}') && depth > 0) {
        --depth;
      }
      ++i;
    }
  }
  return std::nullopt;
}

// summarize_toml_error - toml11's multi-line what() as one line: message (hint at the spot).
std::string summarize_toml_error(std::string_view what) {
  std::string_view first = what.substr(0, what.find('\n'));
  if (first.starts_with("[error] ")) first.remove_prefix(8);
  if (first.starts_with("toml::")) {
    const size_t sep = first.find(": ");
    if (sep != std::string_view::npos) first.remove_prefix(sep + 2);
  }
  // The hint is the text after the last "^---" / "~~~" marker under a source line.
  std::string_view hint;
  size_t pos = 0;
  while (pos < what.size()) {
    const size_t end = std::min(what.find('\n', pos), what.size());
    std::string_view line = what.substr(pos, end - pos);
    pos = end + 1;
    const size_t bar = line.find(" | ");
    if (bar == std::string_view::npos) continue;
    line.remove_prefix(bar + 3);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || (line.front() != '^' && line.front() != '~')) continue;
    while (!line.empty() && (line.front() == '^' || line.front() == '~' || line.front() == '-')) {
      line.remove_prefix(1);
    }
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (!line.empty()) hint = line;
  }
  std::string out(first);
  if (!hint.empty()) out += " (" + std::string(hint) + ")";
  return out;
}

// sorted_entries - a table's entries in source order, so errors and duplicates are deterministic.
std::vector<std::pair<const std::string*, const toml::value*>> sorted_entries(
    const toml::value& table) {
  std::vector<std::tuple<unsigned, unsigned, const std::string*, const toml::value*>> rows;
  for (const auto& [name, value] : table.as_table()) {
    const auto where = value.location();
    rows.emplace_back(where.line(), where.column(), &name, &value);
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), *std::get<2>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), *std::get<2>(b));
  });
  std::vector<std::pair<const std::string*, const toml::value*>> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.emplace_back(std::get<2>(row), std::get<3>(row));
  return out;
}

// walk_table - hand each key of a table to its loader; unknown keys are errors with a hint.
void walk_table(Diagnostics& d, const toml::value& table, const std::string& prefix,
                const std::vector<KeySpec>& specs) {
  std::vector<std::string_view> known;
  for (const auto& spec : specs) known.push_back(spec.name);
  for (const auto& [name, value] : sorted_entries(table)) {
    const std::string key = prefix.empty() ? *name : prefix + "." + *name;
    const std::string& own_name = *name;  // lambdas may not capture structured bindings before clang 16
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const KeySpec& s) { return s.name == own_name; });
    if (spec == specs.end()) {
      d.add(*value, key, unknown_problem("key", *name, known));
    } else {
      spec->load(*value, key);
    }
  }
}

// read_integer - an integer in [min, max]; else an error naming the range, and nullopt.
std::optional<int64_t> read_integer(Diagnostics& d, const toml::value& v, const std::string& key,
                                    int64_t min, int64_t max, std::string_view range) {
  if (!v.is_integer()) {
    d.add(v, key, "must be an integer, not " + type_name(v));
    return std::nullopt;
  }
  const int64_t n = v.as_integer();
  if (n >= min && n <= max) return n;
  if (!range.empty()) {
    d.add(v, key, "must be " + std::string(range));
  } else if (n < min) {
    d.add(v, key, "must be an integer >= " + std::to_string(min));
  } else {
    d.add(v, key, "must be an integer <= " + std::to_string(max));
  }
  return std::nullopt;
}

// read_string - a string value; else an error naming the expected type.
std::optional<std::string> read_string(Diagnostics& d, const toml::value& v,
                                       const std::string& key) {
  if (!v.is_string()) {
    d.add(v, key, "must be a string, not " + type_name(v));
    return std::nullopt;
  }
  return v.as_string().str;
}

// read_duration - a duration string ("30s"); zero only when allowed.
std::optional<Duration> read_duration(Diagnostics& d, const toml::value& v, const std::string& key,
                                      bool allow_zero) {
  if (!v.is_string()) {
    d.add(v, key, "must be a duration string like \"30s\" (units ms, s, m, h, d), not " +
                      type_name(v));
    return std::nullopt;
  }
  const std::string& text = v.as_string().str;
  const auto duration = parse_duration(text);
  if (!duration) {
    d.add(v, key, in_quotes(text) +
                      " is not a duration: use a whole number and one unit of ms, s, m, h, d "
                      "(like \"30s\")");
    return std::nullopt;
  }
  if (!allow_zero && duration->count() == 0) {
    d.add(v, key, "must be greater than 0");
    return std::nullopt;
  }
  return duration;
}

// read_choice - a string that must be one of choices; returns its index.
std::optional<size_t> read_choice(Diagnostics& d, const toml::value& v, const std::string& key,
                                  const std::vector<std::string_view>& choices) {
  std::string list;
  for (std::string_view c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  if (!v.is_string()) {
    d.add(v, key, "must be a string, one of " + list + ", not " + type_name(v));
    return std::nullopt;
  }
  const std::string& text = v.as_string().str;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i] == text) return i;
  }
  d.add(v, key, "must be one of " + list + " (got " + in_quotes(text) + ")");
  return std::nullopt;
}

// duration_key - a loader storing a duration.
KeyLoader duration_key(Diagnostics& d, Duration& out, bool allow_zero) {
  return [&d, &out, allow_zero](const toml::value& v, const std::string& key) {
    if (auto duration = read_duration(d, v, key, allow_zero)) out = *duration;
  };
}

KeyLoader path_key(Diagnostics& d, std::string& out) {
  return [&d, &out](const toml::value& v, const std::string& key) {
    auto s = read_string(d, v, key);
    if (!s) return;
    if (s->find('\0') != std::string::npos) {
      d.add(v, key, "must be a file path");
      return;
    }
    out = *s;
  };
}

KeyLoader bool_key(Diagnostics& d, bool& out) {
  return [&d, &out](const toml::value& v, const std::string& key) {
    if (!v.is_boolean()) {
      d.add(v, key, "must be true or false, not " + type_name(v));
      return;
    }
    out = v.as_boolean();
  };
}

// require_table - a section must be a table; says how to write it when not.
bool require_table(Diagnostics& d, const toml::value& v, const std::string& key) {
  if (v.is_table()) return true;
  d.add(v, key, "must be a table ([" + key + "]), not " + type_name(v));
  return false;
}

// read_networks - an array of CIDR strings (relay.networks, policy.client_allow).
void read_networks(Diagnostics& d, const toml::value& array, const std::string& prefix,
                   std::vector<Cidr>& out) {
  if (!array.is_array()) {
    d.add(array, prefix, "must be an array of CIDR strings, not " + type_name(array));
    return;
  }
  const auto& elements = array.as_array();
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string key = prefix + "[" + std::to_string(i) + "]";
    auto text = read_string(d, elements[i], key);
    if (!text) continue;
    auto cidr = Cidr::parse(*text);
    if (!cidr) {
      d.add(elements[i], key,
            in_quotes(*text) + " is not a CIDR network (like \"10.0.0.0/8\" or \"::1/128\"; " +
                "host bits must be zero)");
      continue;
    }
    out.push_back(*cidr);
  }
}

}  // namespace correo::config_detail
