// config_ops.cc - [metrics], [admin] and [shutdown].
#include "relay/config/config_ops.h"

#include "relay/common/cidr.h"

namespace correo::config_detail {
namespace {

// split_host_port - "127.0.0.1:9465", "[::1]:9465"; the host must be an IP literal.
std::optional<std::pair<IpAddress, int>> split_host_port(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || s.find(':') != colon) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  auto ip = IpAddress::parse(host);
  if (!ip || port.empty() || port.size() > 5) return std::nullopt;
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + (c - '0');
  }
  if (p > 65535) return std::nullopt;
  return std::make_pair(*ip, p);
}

bool is_loopback(const IpAddress& ip) {
  static const Cidr v4 = *Cidr::parse("127.0.0.0/8");
  static const Cidr v6 = *Cidr::parse("::1/128");
  return v4.contains(ip) || v6.contains(ip);
}

}  // namespace

// [metrics] listen: where Prometheus scrapes /metrics, /healthz and /readyz. Any address
// (a pod's Prometheus is not on loopback); "" turns the endpoint off.
void load_metrics(Diagnostics& d, const toml::value& table, MetricsConfig& out) {
  walk_table(d, table, "metrics", {
    {"listen", [&](const toml::value& v, const std::string& key) {
       auto s = read_string(d, v, key);
       if (!s) return;
       if (!s->empty() && !split_host_port(*s)) {
         d.add(v, key, "must be \"IP:PORT\" (\"[::1]:9465\" for IPv6) or \"\" to turn the endpoint off");
         return;
       }
       out.listen = *s;
     }},
  });
}

// [admin] listen: what correoctl talks to. A Unix socket, or a loopback TCP address only:
// queue administration must never be reachable from the network.
void load_admin(Diagnostics& d, const toml::value& table, AdminConfig& out) {
  walk_table(d, table, "admin", {
    {"listen", [&](const toml::value& v, const std::string& key) {
       auto s = read_string(d, v, key);
       if (!s) return;
       if (s->rfind("unix:", 0) == 0) {
         if (s->size() == 5 || s->size() > 5 + 100) {  // sun_path holds 108 bytes
           d.add(v, key, "unix: needs a socket path of at most 100 bytes");
           return;
         }
       } else if (!s->empty()) {
         auto hp = split_host_port(*s);
         if (!hp) {
           d.add(v, key, "must be \"unix:PATH\", a loopback \"IP:PORT\", or \"\" to turn correoctl access off");
           return;
         }
         if (!is_loopback(hp->first)) {
           d.add(v, key, "must be a loopback address (127.0.0.0/8 or ::1): admin is never exposed to the network");
           return;
         }
       }
       out.listen = *s;
       out.listen_set = true;
     }},
  });
}

// [shutdown] grace: how long SIGTERM waits for transactions in progress.
void load_shutdown(Diagnostics& d, const toml::value& table, ShutdownConfig& out) {
  walk_table(d, table, "shutdown", {
    {"grace", duration_key(d, out.grace, true)},
  });
}

}  // namespace correo::config_detail
