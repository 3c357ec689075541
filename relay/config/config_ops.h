// config_ops.h - the operations sections: [metrics], [admin], [shutdown]; internal to
// relay/config (used by config.cc).
#pragma once

#include "relay/config/config.h"
#include "relay/config/config_reader.h"

namespace correo::config_detail {

void load_metrics(Diagnostics& d, const toml::value& table, MetricsConfig& out);
void load_admin(Diagnostics& d, const toml::value& table, AdminConfig& out);
void load_shutdown(Diagnostics& d, const toml::value& table, ShutdownConfig& out);

}  // namespace correo::config_detail
