// config_policy.h - the [policy] loader and the listener keys that switch checks; internal to
// relay/config (used by config.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "relay/config/config.h"
#include "relay/config/config_reader.h"

namespace correo::config_detail {

void load_policy(Diagnostics& d, const toml::value& table, PolicyConfig& out);

// listener.checks = ["dnsbl", "helo", ...] or ["all"]: replaces the mode's default set.
KeyLoader listener_checks_key(Diagnostics& d, std::optional<CheckSet>& out);
// listener.milters = ["name", ...]: names of [[policy.milter]] tables, resolved after [policy].
KeyLoader listener_milters_key(Diagnostics& d, std::optional<std::vector<std::string>>& out);
void resolve_listener_milters(Diagnostics& d, const toml::value& at, const std::string& prefix,
                              const std::optional<std::vector<std::string>>& names, const PolicyConfig& policy,
                              ListenerConfig& listener);

// dnsbl_site_problem - why spec is not "zone[=filter][*weight]" ("" = fine).
std::string dnsbl_site_problem(std::string_view spec);

}  // namespace correo::config_detail
