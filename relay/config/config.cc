// config.cc - load correo.toml into a typed, validated Config.
//
// Key names, sections and their meaning come from shared/CONFIG.md; the typed fields and their
// defaults live in config.h. The loader walks the parsed TOML document in source order, checks
// each key's type and range, and collects every problem as "FILE:LINE: key: problem", so one
// --check-config run reports them all. Unknown keys are errors (with a "did you mean" hint when
// one is close), never silently ignored. Sections CONFIG.md names but this build does not
// implement yet ([transport], [dns], [delivery], [tls], [auth], [metrics], [admin]) are rejected
// rather than accepted and ignored. toml11 throws on syntax errors; nothing escapes load_config.
#include "relay/config/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include <thread>
#include <toml.hpp>
#include <tuple>
#include <utility>

#include "queue/queue_id.h"

namespace correo {
namespace {

// A config file larger than this is not a config file (e.g. --config /dev/zero).
constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;

// Sections CONFIG.md defines that this build does not implement yet.
constexpr std::string_view kUnsupportedSections[] = {"tls", "auth", "metrics", "admin"};

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

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

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

// NestingProblem - where and how a document nests too deeply for toml11 to parse safely.
struct NestingProblem {
  unsigned line;
  std::string problem;
};

// too_deep - find arrays/inline tables nested deeper than kMaxNesting, or a line with more
// than kMaxNesting dots (dotted keys). toml11 parses nesting by recursion, so "a = [[[[..."
// 100k deep overflows the stack, and 100k-part dotted keys take hours. Strings and comments
// are skipped, so brackets and dots inside them do not count. A config has no floats, so
// counting every dot on a line costs nothing real.
constexpr int kMaxNesting = 64;
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

// KeySpec - one known key of a table and the function that loads it.
using KeyLoader = std::function<void(const toml::value& value, const std::string& key)>;
struct KeySpec {
  std::string_view name;
  KeyLoader load;
};

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
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const KeySpec& s) { return s.name == *name; });
    if (spec == specs.end()) {
      d.add(*value, key, unknown_problem("key", *name, known));
    } else {
      spec->load(*value, key);
    }
  }
}

// read_integer - an integer in [min, max]; else an error naming the range, and nullopt.
std::optional<int64_t> read_integer(Diagnostics& d, const toml::value& v, const std::string& key,
                                    int64_t min, int64_t max, std::string_view range = {}) {
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

// duration_key - a loader storing a duration.
KeyLoader duration_key(Diagnostics& d, Duration& out, bool allow_zero) {
  return [&d, &out, allow_zero](const toml::value& v, const std::string& key) {
    if (auto duration = read_duration(d, v, key, allow_zero)) out = *duration;
  };
}

// require_table - a section must be a table; says how to write it when not.
bool require_table(Diagnostics& d, const toml::value& v, const std::string& key) {
  if (v.is_table()) return true;
  d.add(v, key, "must be a table ([" + key + "]), not " + type_name(v));
  return false;
}

// load_server - [server]: identity, worker count and where state lives.
void load_server(Diagnostics& d, const toml::value& table, ServerConfig& out) {
  walk_table(d, table, "server", {
    {"hostname", [&](const toml::value& v, const std::string& key) {
       auto s = read_string(d, v, key);
       if (!s) return;
       const bool clean = std::none_of(s->begin(), s->end(), [](char c) {
         return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
       });
       if (s->empty() || s->size() > 255 || !clean) {
         d.add(v, key, "must be a host name (1..255 characters, no spaces or control characters)");
         return;
       }
       out.hostname = *s;
     }},
    {"workers", integer_key(d, out.workers, 0, kMaxWorkers,
                            "0.." + std::to_string(kMaxWorkers) + " (0 = one per CPU)")},
    {"state_dir", [&](const toml::value& v, const std::string& key) {
       auto s = read_string(d, v, key);
       if (!s) return;
       if (s->empty() || s->find('\0') != std::string::npos) {
         d.add(v, key, "must be a non-empty path");
         return;
       }
       out.state_dir = *s;
     }},
  });
}

// load_listeners - [[listener]]: where we accept connections; duplicates are errors.
void load_listeners(Diagnostics& d, const toml::value& array, std::vector<ListenerConfig>& out) {
  if (!array.is_array()) {
    d.add(array, "listener", "must be an array of tables (write [[listener]]), not " +
                                 type_name(array));
    return;
  }
  using Endpoint = std::tuple<bool, std::array<uint8_t, 16>, uint16_t>;
  std::map<Endpoint, size_t> seen;
  const auto& elements = array.as_array();
  for (size_t i = 0; i < elements.size(); ++i) {
    const toml::value& element = elements[i];
    const std::string prefix = "listener[" + std::to_string(i) + "]";
    if (!element.is_table()) {
      d.add(element, prefix, "must be a table, not " + type_name(element));
      continue;
    }
    ListenerConfig listener;
    std::optional<IpAddress> address = IpAddress::parse(listener.address);
    bool port_ok = true;
    walk_table(d, element, prefix, {
      {"address", [&](const toml::value& v, const std::string& key) {
         auto s = read_string(d, v, key);
         address = s ? IpAddress::parse(*s) : std::nullopt;
         if (s && !address) {
           d.add(v, key, in_quotes(*s) + " is not an IPv4 or IPv6 address literal");
         }
         if (address) listener.address = *s;
       }},
      {"port", [&](const toml::value& v, const std::string& key) {
         auto n = read_integer(d, v, key, 1, 65535, "1..65535");
         port_ok = n.has_value();
         if (n) listener.port = static_cast<uint16_t>(*n);
       }},
      {"mode", [&](const toml::value& v, const std::string& key) {
         auto choice = read_choice(d, v, key, {"smtp", "submission", "smtps"});
         if (!choice) return;
         listener.mode = static_cast<ListenerMode>(*choice);
         if (listener.mode != ListenerMode::kSmtp) {
           d.add(v, key, in_quotes(to_string(listener.mode)) +
                             " needs TLS and AUTH; TLS/AUTH support is not in this version yet");
         }
       }},
    });
    if (address && port_ok) {
      const Endpoint endpoint{address->v6, address->bytes, listener.port};
      auto [it, fresh] = seen.emplace(endpoint, i);
      if (!fresh) {
        d.add(element, prefix,
              "duplicate of listener[" + std::to_string(it->second) + "] (" + listener.address +
                  " port " + std::to_string(listener.port) + ")");
      }
    }
    out.push_back(std::move(listener));
  }
}

// load_limits - [limits]: every per-session and per-message bound.
void load_limits(Diagnostics& d, const toml::value& table, LimitsConfig& out) {
  walk_table(d, table, "limits", {
    {"message_size", integer_key(d, out.message_size, 1024)},
    {"recipients", integer_key(d, out.recipients, 1)},
    {"max_hops", integer_key(d, out.max_hops, 1)},
    {"idle_timeout", duration_key(d, out.idle_timeout, false)},
    {"data_timeout", duration_key(d, out.data_timeout, false)},
    {"sessions_per_worker", integer_key(d, out.sessions_per_worker, 1)},
    {"errors_per_session", integer_key(d, out.errors_per_session, 1)},
    {"command_line", integer_key(d, out.command_line, 512)},
    {"text_line", integer_key(d, out.text_line, 1000)},
    {"output_buffer", integer_key(d, out.output_buffer, 4096)},
  });
}

// load_domains - relay.domains: domain (case-insensitive) -> next hop ("" = by MX).
void load_domains(Diagnostics& d, const toml::value& table, const std::string& prefix,
                  std::map<std::string, std::string>& out) {
  if (!table.is_table()) {
    d.add(table, prefix, "must be a table of \"domain\" = \"next hop\", not " + type_name(table));
    return;
  }
  std::map<std::string, std::string> first_spelling;
  for (const auto& [name, value] : sorted_entries(table)) {
    const std::string key = prefix + "." + in_quotes(*name);
    const std::string domain = lower(*name);
    bool ok = true;
    if (!valid_domain_name(domain)) {
      d.add(*value, key,
            "not a valid domain name (letters, digits and hyphens in dot-separated labels)");
      ok = false;
    } else if (IpAddress::parse(domain)) {
      d.add(*value, key, "is an IP address, not a domain name");
      ok = false;
    } else if (auto [it, fresh] = first_spelling.emplace(domain, *name); !fresh) {
      d.add(*value, key,
            "duplicate of " + in_quotes(it->second) + " (domain names are case-insensitive)");
      ok = false;
    }
    auto hop = read_string(d, *value, key);
    if (!hop) continue;
    if (auto problem = next_hop_problem(*hop); !problem.empty()) {
      d.add(*value, key, problem);
      continue;
    }
    if (ok) out[domain] = *hop;
  }
}

// load_networks - relay.networks: CIDR networks allowed to relay anywhere.
void load_networks(Diagnostics& d, const toml::value& array, const std::string& prefix,
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

// load_relay - [relay]: who may relay and where accepted mail goes.
void load_relay(Diagnostics& d, const toml::value& table, RelayConfig& out) {
  walk_table(d, table, "relay", {
    {"domains", [&](const toml::value& v, const std::string& key) {
       load_domains(d, v, key, out.domains);
     }},
    {"networks", [&](const toml::value& v, const std::string& key) {
       load_networks(d, v, key, out.networks);
     }},
    {"relayhost", [&](const toml::value& v, const std::string& key) {
       auto s = read_string(d, v, key);
       if (!s) return;
       if (auto problem = next_hop_problem(*s); !problem.empty()) {
         d.add(v, key, problem);
         return;
       }
       out.relayhost = *s;
     }},
  });
}

// load_queue - [queue]: retry schedule and message lifetime.
void load_queue(Diagnostics& d, const toml::value& table, QueueConfig& out) {
  const size_t errors_before = d.count();
  walk_table(d, table, "queue", {
    {"retry_initial", duration_key(d, out.retry_initial, false)},
    {"retry_max", duration_key(d, out.retry_max, false)},
    {"max_lifetime", duration_key(d, out.max_lifetime, false)},
    {"delay_warning", duration_key(d, out.delay_warning, true)},
    {"min_free_space", integer_key(d, out.min_free_space, 0)},
  });
  // Compare only valid values: a bad retry_initial must not also be "greater than retry_max".
  if (d.count() == errors_before && out.retry_initial > out.retry_max) {
    // Blame retry_initial when the file sets it, else the retry_max that undercuts the default.
    const auto& entries = table.as_table();
    const std::string pair =
        " (" + format_duration(out.retry_initial) + " > " + format_duration(out.retry_max) + ")";
    if (auto at = entries.find("retry_initial"); at != entries.end()) {
      d.add(at->second, "queue.retry_initial", "must not exceed queue.retry_max" + pair);
    } else if (auto at_max = entries.find("retry_max"); at_max != entries.end()) {
      d.add(at_max->second, "queue.retry_max", "must not be below queue.retry_initial" + pair);
    }
  }
}

// load_transport - [transport]: "domain" or ".parent" -> next hop.
void load_transport(Diagnostics& d, const toml::value& table, TransportConfig& out) {
  for (const auto& [name, value] : sorted_entries(table)) {
    const std::string key = "transport." + *name;
    std::string pattern = *name;
    std::transform(pattern.begin(), pattern.end(), pattern.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string_view domain = pattern.size() > 1 && pattern[0] == '.' ? std::string_view(pattern).substr(1)
                                                                            : std::string_view(pattern);
    if (!valid_domain_name(domain)) {
      d.add(*value, key, "must be a domain (\"example.com\") or a parent domain (\".example.com\")");
      continue;
    }
    auto hop = read_string(d, *value, key);
    if (!hop) continue;
    if (hop->empty()) {
      d.add(*value, key, "next hop must not be empty");
      continue;
    }
    if (auto problem = next_hop_problem(*hop); !problem.empty()) {
      d.add(*value, key, problem);
      continue;
    }
    if (!out.routes.emplace(pattern, *hop).second) d.add(*value, key, "duplicate entry (names are case-insensitive)");
  }
}

// load_dns - [dns]: resolvers and the answer cache.
void load_dns(Diagnostics& d, const toml::value& table, DnsConfig& out) {
  walk_table(d, table, "dns", {
    {"servers", [&](const toml::value& v, const std::string& key) {
       if (!v.is_array()) {
         d.add(v, key, "must be an array of \"address[:port]\" strings, not " + type_name(v));
         return;
       }
       const auto& elements = v.as_array();
       for (size_t i = 0; i < elements.size(); ++i) {
         const std::string k = key + "[" + std::to_string(i) + "]";
         auto s = read_string(d, elements[i], k);
         if (!s) continue;
         if (auto problem = dns_server_problem(*s); !problem.empty()) {
           d.add(elements[i], k, problem);
           continue;
         }
         out.servers.push_back(*s);
       }
     }},
    {"cache_entries", integer_key(d, out.cache_entries, 0)},
    {"timeout", duration_key(d, out.timeout, false)},
  });
}

// load_delivery - [delivery]: outbound port, concurrency, TLS and timeouts.
void load_delivery(Diagnostics& d, const toml::value& table, DeliveryConfig& out) {
  walk_table(d, table, "delivery", {
    {"port", integer_key(d, out.port, 1, 65535, "1..65535")},
    {"connections_per_destination", integer_key(d, out.connections_per_destination, 1)},
    {"connections_total", integer_key(d, out.connections_total, 1)},
    {"tls", [&](const toml::value& v, const std::string& key) {
       if (auto i = read_choice(d, v, key, {"none", "opportunistic", "verify"})) {
         if (*i == 2) {
           d.add(v, key, "\"verify\" needs outbound TLS, which is not in this version yet (use \"none\" or \"opportunistic\")");
           return;
         }
         out.tls = static_cast<OutboundTls>(*i);
       }
     }},
    {"connect_timeout", duration_key(d, out.connect_timeout, false)},
    {"reply_timeout", duration_key(d, out.reply_timeout, false)},
    {"data_done_timeout", duration_key(d, out.data_done_timeout, false)},
    {"reuse_time", duration_key(d, out.reuse_time, true)},
    {"reuse_messages", integer_key(d, out.reuse_messages, 1)},
    {"in_flight_messages", integer_key(d, out.in_flight_messages, 1)},
    {"queue_only", [&](const toml::value& v, const std::string& key) {
       if (!v.is_boolean()) {
         d.add(v, key, "must be true or false, not " + type_name(v));
         return;
       }
       out.queue_only = v.as_boolean();
     }},
  });
}

// load_log - [log]: line format and threshold.
void load_log(Diagnostics& d, const toml::value& table, LogConfig& out) {
  walk_table(d, table, "log", {
    {"format", [&](const toml::value& v, const std::string& key) {
       if (auto i = read_choice(d, v, key, {"kv", "json"})) {
         out.format = *i == 0 ? LogFormat::kKv : LogFormat::kJson;
       }
     }},
    {"level", [&](const toml::value& v, const std::string& key) {
       if (auto i = read_choice(d, v, key, {"debug", "info", "warn", "error"})) {
         out.level = static_cast<LogLevel>(*i);
       }
     }},
  });
}

// section - a loader that checks for a table before handing it to load.
template <typename Out>
KeyLoader section(Diagnostics& d, Out& out,
                  void (*load)(Diagnostics&, const toml::value&, Out&)) {
  return [&d, &out, load](const toml::value& v, const std::string& key) {
    if (require_table(d, v, key)) load(d, v, out);
  };
}

// load_root - the top level: known sections, unsupported sections, unknown names.
void load_root(Diagnostics& d, const toml::value& root, Config& config) {
  const std::vector<KeySpec> specs = {
      {"server", section(d, config.server, &load_server)},
      {"listener", [&](const toml::value& v, const std::string&) {
         load_listeners(d, v, config.listeners);
       }},
      {"limits", section(d, config.limits, &load_limits)},
      {"relay", section(d, config.relay, &load_relay)},
      {"transport", section(d, config.transport, &load_transport)},
      {"dns", section(d, config.dns, &load_dns)},
      {"delivery", section(d, config.delivery, &load_delivery)},
      {"queue", section(d, config.queue, &load_queue)},
      {"log", section(d, config.log, &load_log)},
  };
  std::vector<std::string_view> known;
  for (const auto& spec : specs) known.push_back(spec.name);
  for (std::string_view name : kUnsupportedSections) known.push_back(name);

  for (const auto& [name, value] : sorted_entries(root)) {
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const KeySpec& s) { return s.name == *name; });
    if (spec != specs.end()) {
      spec->load(*value, *name);
    } else if (std::find(std::begin(kUnsupportedSections), std::end(kUnsupportedSections),
                         *name) != std::end(kUnsupportedSections)) {
      d.add(*value, *name, "section not supported by this version yet");
    } else {
      d.add(*value, *name, unknown_problem(value->is_table() ? "section" : "key", *name, known));
    }
  }
}

// default_hostname - gethostname(), or "localhost" when that fails.
std::string default_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// resolve_defaults - fill values that depend on the machine, and the default listener.
void resolve_defaults(Config& config) {
  if (config.server.hostname.empty()) config.server.hostname = default_hostname();
  if (config.server.workers == 0) {
    const unsigned cpus = std::thread::hardware_concurrency();
    config.server.workers = std::clamp(cpus, 1u, kMaxWorkers);
  }
  if (config.listeners.empty()) config.listeners.push_back(ListenerConfig{});
}

}  // namespace

const char* to_string(ListenerMode mode) {
  switch (mode) {
    case ListenerMode::kSmtp: return "smtp";
    case ListenerMode::kSubmission: return "submission";
    case ListenerMode::kSmtps: return "smtps";
  }
  return "unknown";
}

// parse_duration - digits then exactly one unit; overflow of milliseconds is rejected too.
std::optional<Duration> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000}};
  const std::string_view unit = text.substr(digits);
  const auto match = std::find_if(std::begin(kUnits), std::end(kUnits),
                                  [&](const auto& u) { return u.first == unit; });
  if (match == std::end(kUnits)) return std::nullopt;
  const int64_t scale = match->second;
  uint64_t count = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, count);
  if (ec != std::errc() || ptr != text.data() + digits) return std::nullopt;
  if (count > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / scale)) {
    return std::nullopt;
  }
  return Duration(static_cast<int64_t>(count) * scale);
}

// load_config - read, guard against pathological nesting, parse, walk, then fill defaults.
ConfigLoad load_config(const std::string& path) {
  ConfigLoad load;
  load.config.path = path;
  Diagnostics d(path);
  try {
    std::string text;
    if (auto problem = read_file(path, text)) {
      load.errors.push_back({path + ":0: cannot read: " + *problem});
      return load;
    }
    if (auto deep = too_deep(text)) {
      d.add(deep->line, "syntax error", deep->problem);
      load.errors = d.take();
      return load;
    }
    std::istringstream in(text);
    const toml::value root = toml::parse(in, path);
    load_root(d, root, load.config);
    resolve_defaults(load.config);
  } catch (const toml::syntax_error& e) {
    d.add(e.location().line(), "syntax error", summarize_toml_error(e.what()));
  } catch (const toml::exception& e) {
    d.add(e.location().line(), "toml", summarize_toml_error(e.what()));
  } catch (const std::exception& e) {
    d.add(0, "error", e.what());
  } catch (...) {
    d.add(0, "error", "unexpected failure while loading");
  }
  load.errors = d.take();
  return load;
}

}  // namespace correo
