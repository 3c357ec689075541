// config_policy.cc - load [policy], [policy.dnsbl], [policy.greylist] and [[policy.milter]],
// and the listener keys that switch checks (`checks`, `milters`).
#include "relay/config/config_policy.h"

#include <algorithm>

#include "relay/policy/dnsbl_site.h"


namespace correo {

namespace {

constexpr std::string_view kCheckNames[kCheckCount] = {
    "client_access", "connection_limit", "connection_rate", "pregreet", "dnsbl",        "helo",
    "sender_domain", "recipient_domain", "recipients",      "message_rate", "tarpit", "greylist",
    "header_checks", "milter"};

}  // namespace

std::string_view to_string(Check check) {
  const size_t i = static_cast<size_t>(check);
  return i < kCheckCount ? kCheckNames[i] : "unknown";
}

std::optional<Check> check_from_string(std::string_view name) {
  for (size_t i = 0; i < kCheckCount; ++i) {
    if (kCheckNames[i] == name) return static_cast<Check>(i);
  }
  return std::nullopt;
}

CheckSet default_checks(bool submission_like) {
  CheckSet all;
  all.set();
  if (!submission_like) return all;
  // Authenticated users: their HELO names, DNS and greylisting are not evidence of anything,
  // and their clients are not talkers before the greeting. Their mail is still content-checked.
  CheckSet s;
  for (Check c : {Check::kClientAccess, Check::kConnectionLimit, Check::kConnectionRate, Check::kMessageRate,
                  Check::kTarpit, Check::kHeaderChecks, Check::kMilter, Check::kRecipients}) {
    s.set(static_cast<size_t>(c));
  }
  return s;
}

namespace config_detail {
namespace {

void load_dnsbl(Diagnostics& d, const toml::value& table, DnsblConfig& out) {
  walk_table(d, table, "policy.dnsbl", {
    {"sites", [&](const toml::value& v, const std::string& key) {
       if (!v.is_array()) {
         d.add(v, key, "must be an array of \"zone[=filter][*weight]\" strings, not " + type_name(v));
         return;
       }
       const auto& elements = v.as_array();
       for (size_t i = 0; i < elements.size(); ++i) {
         const std::string k = key + "[" + std::to_string(i) + "]";
         auto s = read_string(d, elements[i], k);
         if (!s) continue;
         if (auto problem = dnsbl_site_problem(*s); !problem.empty()) {
           d.add(elements[i], k, problem);
           continue;
         }
         out.sites.push_back(*s);
       }
     }},
    {"threshold", integer_key(d, out.threshold, 1, 1000, "1..1000")},
    {"timeout", duration_key(d, out.timeout, false)},
  });
}

void load_greylist(Diagnostics& d, const toml::value& table, GreylistConfig& out) {
  walk_table(d, table, "policy.greylist", {
    {"enabled", bool_key(d, out.enabled)},
    {"delay", duration_key(d, out.delay, true)},
    {"retry_window", duration_key(d, out.retry_window, false)},
    {"pass_lifetime", duration_key(d, out.pass_lifetime, false)},
    {"auto_allow_clients", integer_key(d, out.auto_allow_clients, 0)},
  });
  if (out.delay >= out.retry_window) {
    d.add(table, "policy.greylist", "delay (" + format_duration(out.delay) + ") must be shorter than retry_window (" +
                                        format_duration(out.retry_window) + ")");
  }
}

// milter_address_problem - why text is not "inet:host:port", "inet:[v6]:port" or "unix:/path".
std::string milter_address_problem(std::string_view text) {
  constexpr std::string_view kHint = " (write \"inet:127.0.0.1:8891\", \"inet:[::1]:8891\" or \"unix:/path\")";
  if (text.starts_with("unix:")) {
    return text.size() > 5 && text[5] == '/' && text.size() < 108 ? "" : "unix: needs an absolute socket path" + std::string(kHint);
  }
  if (!text.starts_with("inet:")) return "unknown socket type" + std::string(kHint);
  std::string_view rest = text.substr(5);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || !valid_port(rest.substr(colon + 1))) return "needs a port" + std::string(kHint);
  std::string_view host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!IpAddress::parse(host)) return "the host must be an IP address literal" + std::string(kHint);
  return "";
}

void load_milters(Diagnostics& d, const toml::value& array, std::vector<MilterConfig>& out) {
  if (!array.is_array()) {
    d.add(array, "policy.milter", "must be an array of tables (write [[policy.milter]]), not " + type_name(array));
    return;
  }
  const auto& elements = array.as_array();
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string prefix = "policy.milter[" + std::to_string(i) + "]";
    if (!elements[i].is_table()) {
      d.add(elements[i], prefix, "must be a table, not " + type_name(elements[i]));
      continue;
    }
    MilterConfig m;
    walk_table(d, elements[i], prefix, {
      {"name", [&](const toml::value& v, const std::string& key) {
         auto s = read_string(d, v, key);
         if (s && (s->empty() || s->size() > 64)) d.add(v, key, "must be 1..64 characters");
         else if (s) m.name = *s;
       }},
      {"address", [&](const toml::value& v, const std::string& key) {
         auto s = read_string(d, v, key);
         if (!s) return;
         if (auto problem = milter_address_problem(*s); !problem.empty()) d.add(v, key, problem);
         else m.address = *s;
       }},
      {"connect_timeout", duration_key(d, m.connect_timeout, false)},
      {"timeout", duration_key(d, m.timeout, false)},
      {"default_action", [&](const toml::value& v, const std::string& key) {
         if (auto c = read_choice(d, v, key, {"accept", "tempfail", "reject"})) m.default_action = static_cast<MilterDefault>(*c);
       }},
    });
    if (m.address.empty()) d.add(elements[i], prefix, "address is required");
    if (m.name.empty()) m.name = "milter" + std::to_string(i);
    const bool duplicate = std::any_of(out.begin(), out.end(), [&](const MilterConfig& o) { return o.name == m.name; });
    if (duplicate) d.add(elements[i], prefix, "duplicate name " + in_quotes(m.name));
    out.push_back(std::move(m));
  }
}

}  // namespace

void load_policy(Diagnostics& d, const toml::value& table, PolicyConfig& out) {
  walk_table(d, table, "policy", {
    {"client_allow", [&](const toml::value& v, const std::string& key) { read_networks(d, v, key, out.client_allow); }},
    {"client_deny", [&](const toml::value& v, const std::string& key) { read_networks(d, v, key, out.client_deny); }},
    {"max_connections_per_client", integer_key(d, out.max_connections_per_client, 0)},
    {"max_connections", integer_key(d, out.max_connections, 0)},
    {"connection_rate", integer_key(d, out.connection_rate, 0)},
    {"greet_delay", duration_key(d, out.greet_delay, true)},
    {"reject_invalid_helo", bool_key(d, out.reject_invalid_helo)},
    {"require_fqdn_helo", bool_key(d, out.require_fqdn_helo)},
    {"verify_sender_domain", bool_key(d, out.verify_sender_domain)},
    {"verify_recipient_domain", bool_key(d, out.verify_recipient_domain)},
    {"recipients_file", path_key(d, out.recipients_file)},
    {"aliases_file", path_key(d, out.aliases_file)},
    {"max_alias_expansion", integer_key(d, out.max_alias_expansion, 1, 100000, "1..100000")},
    {"message_rate", integer_key(d, out.message_rate, 0)},
    {"user_message_rate", integer_key(d, out.user_message_rate, 0)},
    {"tarpit_after", integer_key(d, out.tarpit_after, 0)},
    {"tarpit_delay", duration_key(d, out.tarpit_delay, false)},
    {"header_checks", path_key(d, out.header_checks)},
    {"header_size", integer_key(d, out.header_size, 1024)},
    {"header_count", integer_key(d, out.header_count, 10)},
    {"tracked_clients", integer_key(d, out.tracked_clients, 16, 10000000, "16..10000000")},
    {"dnsbl", [&](const toml::value& v, const std::string& key) {
       if (require_table(d, v, key)) load_dnsbl(d, v, out.dnsbl);
     }},
    {"greylist", [&](const toml::value& v, const std::string& key) {
       if (require_table(d, v, key)) load_greylist(d, v, out.greylist);
     }},
    {"milter", [&](const toml::value& v, const std::string&) { load_milters(d, v, out.milters); }},
  });
  if (out.greet_delay > std::chrono::seconds(60)) {
    d.add(table.as_table().count("greet_delay") ? table.at("greet_delay") : table, "policy.greet_delay",
          "must be at most 60s (clients give up on a silent server)");
  }
}

KeyLoader listener_checks_key(Diagnostics& d, std::optional<CheckSet>& out) {
  return [&d, &out](const toml::value& v, const std::string& key) {
    if (!v.is_array()) {
      d.add(v, key, "must be an array of check names (or [\"all\"]), not " + type_name(v));
      return;
    }
    CheckSet set;
    bool ok = true;
    std::vector<std::string_view> known(std::begin(kCheckNames), std::end(kCheckNames));
    known.push_back("all");
    const auto& elements = v.as_array();
    for (size_t i = 0; i < elements.size(); ++i) {
      const std::string k = key + "[" + std::to_string(i) + "]";
      auto s = read_string(d, elements[i], k);
      if (!s) {
        ok = false;
        continue;
      }
      if (*s == "all") {
        set.set();
      } else if (auto c = check_from_string(*s)) {
        set.set(static_cast<size_t>(*c));
      } else {
        d.add(elements[i], k, unknown_problem("check", *s, known));
        ok = false;
      }
    }
    if (ok) out = set;
  };
}

KeyLoader listener_milters_key(Diagnostics& d, std::optional<std::vector<std::string>>& out) {
  return [&d, &out](const toml::value& v, const std::string& key) {
    if (!v.is_array()) {
      d.add(v, key, "must be an array of [[policy.milter]] names, not " + type_name(v));
      return;
    }
    std::vector<std::string> names;
    const auto& elements = v.as_array();
    for (size_t i = 0; i < elements.size(); ++i) {
      if (auto s = read_string(d, elements[i], key + "[" + std::to_string(i) + "]")) names.push_back(*s);
    }
    out = std::move(names);
  };
}

void resolve_listener_milters(Diagnostics& d, const toml::value& at, const std::string& prefix,
                              const std::optional<std::vector<std::string>>& names, const PolicyConfig& policy,
                              ListenerConfig& listener) {
  listener.milters.clear();
  if (!names) {
    for (uint32_t i = 0; i < policy.milters.size(); ++i) listener.milters.push_back(i);
    return;
  }
  for (const std::string& name : *names) {
    auto it = std::find_if(policy.milters.begin(), policy.milters.end(), [&](const MilterConfig& m) { return m.name == name; });
    if (it == policy.milters.end()) {
      d.add(at, prefix + ".milters", "no [[policy.milter]] is named " + in_quotes(name));
      continue;
    }
    listener.milters.push_back(static_cast<uint32_t>(it - policy.milters.begin()));
  }
}

std::string dnsbl_site_problem(std::string_view spec) {
  auto site = parse_dnsbl_site(spec);
  return site ? std::string() : site.error().message;
}

}  // namespace config_detail
}  // namespace correo
