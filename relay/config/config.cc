// config.cc - load correo.toml into a typed, validated Config.
//
// Key names, sections and their meaning come from shared/CONFIG.md; the typed fields and their
// defaults live in config.h. The loader walks the parsed TOML document in source order, checks
// each key's type and range, and collects every problem as "FILE:LINE: key: problem", so one
// --check-config run reports them all. Unknown keys are errors (with a "did you mean" hint when
// one is close), never silently ignored. toml11 throws on syntax errors; nothing escapes
// load_config.
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
#include "relay/config/config_ops.h"
#include "relay/config/config_policy.h"
#include "relay/config/config_reader.h"

namespace correo {
namespace {

using namespace config_detail;  // the reader toolkit (config_reader.h)

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
// milter_names[i] - listener i's `milters` list, resolved once [policy] is loaded.
using MilterNames = std::vector<std::optional<std::vector<std::string>>>;
void load_listeners(Diagnostics& d, const toml::value& array, std::vector<ListenerConfig>& out,
                    MilterNames& milter_names) {
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
    std::optional<bool> require_tls, auth, require_auth;  // unset = the mode's default
    std::optional<CheckSet> checks;
    std::optional<std::vector<std::string>> milters;
    auto optional_bool = [&](std::optional<bool>& out) -> KeyLoader {
      return [&d, &out](const toml::value& v, const std::string& key) {
        bool value = false;
        bool_key(d, value)(v, key);
        if (v.is_boolean()) out = value;
      };
    };
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
       }},
      {"require_tls", optional_bool(require_tls)},
      {"auth", optional_bool(auth)},
      {"require_auth", optional_bool(require_auth)},
      {"checks", listener_checks_key(d, checks)},
      {"milters", listener_milters_key(d, milters)},
    });
    listener.checks = checks.value_or(default_checks(listener.mode != ListenerMode::kSmtp));
    milter_names.push_back(std::move(milters));
    listener.require_tls = require_tls.value_or(listener.mode == ListenerMode::kSubmission);
    listener.auth = auth.value_or(listener.mode != ListenerMode::kSmtp);
    listener.require_auth = require_auth.value_or(listener.mode != ListenerMode::kSmtp);
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
    {"min_data_rate", integer_key(d, out.min_data_rate, 0)},
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

// load_relay - [relay]: who may relay and where accepted mail goes.
void load_relay(Diagnostics& d, const toml::value& table, RelayConfig& out) {
  walk_table(d, table, "relay", {
    {"domains", [&](const toml::value& v, const std::string& key) {
       load_domains(d, v, key, out.domains);
     }},
    {"networks", [&](const toml::value& v, const std::string& key) {
       read_networks(d, v, key, out.networks);
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
    {"body_memtable", integer_key(d, out.body_memtable, 4 << 20, int64_t{4} << 30, "4194304..4294967296 bytes")},
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
       if (auto i = read_choice(d, v, key, {"none", "opportunistic", "verify"})) out.tls = static_cast<OutboundTls>(*i);
     }},
    {"connect_timeout", duration_key(d, out.connect_timeout, false)},
    {"reply_timeout", duration_key(d, out.reply_timeout, false)},
    {"data_done_timeout", duration_key(d, out.data_done_timeout, false)},
    {"reuse_time", duration_key(d, out.reuse_time, true)},
    {"reuse_messages", integer_key(d, out.reuse_messages, 1)},
    {"in_flight_messages", integer_key(d, out.in_flight_messages, 1)},
    {"queue_only", bool_key(d, out.queue_only)},
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

// load_tls - [tls]: the server certificate; the files are loaded (and checked) at start.
void load_tls(Diagnostics& d, const toml::value& table, TlsConfig& out) {
  walk_table(d, table, "tls", {
    {"cert", path_key(d, out.cert)},
    {"key", path_key(d, out.key)},
  });
  if (out.cert.empty() != out.key.empty()) {
    d.add(table, "tls", out.cert.empty() ? "key is set but cert is not; set both or neither"
                                         : "cert is set but key is not; set both or neither");
  }
}

// load_auth - [auth]: the users file and the guessing limits.
void load_auth(Diagnostics& d, const toml::value& table, AuthConfig& out) {
  walk_table(d, table, "auth", {
    {"users_file", path_key(d, out.users_file)},
    {"allow_plaintext", bool_key(d, out.allow_plaintext)},
    {"max_failures", integer_key(d, out.max_failures, 1)},
    {"failure_window", duration_key(d, out.failure_window, false)},
  });
}

// load_submission - [submission]: RFC 6409 sender checks.
void load_submission(Diagnostics& d, const toml::value& table, SubmissionConfig& out) {
  walk_table(d, table, "submission", {
    {"enforce_sender", bool_key(d, out.enforce_sender)},
  });
}

// check_listener_needs - a listener's policy must be satisfiable by the rest of the file:
// TLS needs a certificate, AUTH needs users, and required AUTH must be offered somewhere.
void check_listener_needs(Diagnostics& d, const toml::value& root, const Config& config) {
  if (!root.contains("listener") || !root.at("listener").is_array()) return;
  const auto& elements = root.at("listener").as_array();
  for (size_t i = 0; i < config.listeners.size() && i < elements.size(); ++i) {
    const ListenerConfig& l = config.listeners[i];
    const std::string prefix = "listener[" + std::to_string(i) + "]";
    const toml::value& at = elements[i];
    const bool tls_needed = l.mode == ListenerMode::kSmtps || l.require_tls;
    if (tls_needed && config.tls.cert.empty()) {
      d.add(at, prefix, std::string(l.mode == ListenerMode::kSmtps ? "mode \"smtps\"" : "require_tls") +
                            " needs a certificate: set [tls] cert and key");
    }
    if ((l.auth || l.require_auth) && config.auth.users_file.empty()) {
      d.add(at, prefix, std::string(l.require_auth ? "require_auth" : "auth") +
                            " needs users: set [auth] users_file (or auth = false on this listener)");
    }
    if (l.require_auth && !l.auth) d.add(at, prefix, "require_auth = true needs auth = true");
    const bool tls_possible = l.mode == ListenerMode::kSmtps || !config.tls.cert.empty();
    if (l.auth && !tls_needed && !tls_possible && !config.auth.allow_plaintext && !config.auth.users_file.empty()) {
      d.add(at, prefix, "auth is offered only after TLS: set [tls] cert and key (or auth.allow_plaintext = true)");
    }
  }
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
  MilterNames milter_names;
  const std::vector<KeySpec> specs = {
      {"server", section(d, config.server, &load_server)},
      {"listener", [&](const toml::value& v, const std::string&) {
         load_listeners(d, v, config.listeners, milter_names);
       }},
      {"limits", section(d, config.limits, &load_limits)},
      {"relay", section(d, config.relay, &load_relay)},
      {"transport", section(d, config.transport, &load_transport)},
      {"dns", section(d, config.dns, &load_dns)},
      {"delivery", section(d, config.delivery, &load_delivery)},
      {"queue", section(d, config.queue, &load_queue)},
      {"tls", section(d, config.tls, &load_tls)},
      {"auth", section(d, config.auth, &load_auth)},
      {"submission", section(d, config.submission, &load_submission)},
      {"policy", section(d, config.policy, &load_policy)},
      {"log", section(d, config.log, &load_log)},
      {"metrics", section(d, config.metrics, &load_metrics)},
      {"admin", section(d, config.admin, &load_admin)},
      {"shutdown", section(d, config.shutdown, &load_shutdown)},
  };
  std::vector<std::string_view> known;
  for (const auto& spec : specs) known.push_back(spec.name);

  for (const auto& [name, value] : sorted_entries(root)) {
    const std::string& key = *name;  // a plain name: lambdas may not capture structured bindings before clang 16
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const KeySpec& s) { return s.name == key; });
    if (spec != specs.end()) {
      spec->load(*value, *name);
    } else {
      d.add(*value, *name, unknown_problem(value->is_table() ? "section" : "key", *name, known));
    }
  }
  check_listener_needs(d, root, config);
  for (size_t i = 0; i < config.listeners.size() && i < milter_names.size(); ++i) {
    resolve_listener_milters(d, root.at("listener").as_array()[i], "listener[" + std::to_string(i) + "]",
                             milter_names[i], config.policy, config.listeners[i]);
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
  if (!config.admin.listen_set) config.admin.listen = "unix:" + config.server.state_dir + "/correo.sock";
  if (config.server.workers == 0) {
    const unsigned cpus = std::thread::hardware_concurrency();
    config.server.workers = std::clamp(cpus, 1u, kMaxWorkers);
  }
  if (config.listeners.empty()) {
    config.listeners.push_back(ListenerConfig{});
    for (uint32_t i = 0; i < config.policy.milters.size(); ++i) config.listeners.back().milters.push_back(i);
  }
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
    if (auto bad = invalid_utf8(text)) {
      d.add(bad->line, "syntax error", bad->problem);
      load.errors = d.take();
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
