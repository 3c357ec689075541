// policy.cc - the shared policy state: admission, rates, maps and counters.
#include "relay/policy/policy.h"

namespace correo {
namespace {

// A rate of N per minute is a bucket refilled at N/60 per second that holds N: a client may
// burst its whole minute at once, then waits (Postfix anvil counts per minute the same way).
double per_second(uint32_t per_minute) { return per_minute / 60.0; }

bool in_any(const std::vector<Cidr>& nets, const IpAddress& ip) {
  for (const Cidr& n : nets) {
    if (n.contains(ip)) return true;
  }
  return false;
}

}  // namespace

std::string_view reason_name(size_t index) {
  if (index < kCheckCount) return to_string(static_cast<Check>(index));
  if (index == reason_index(RejectReason::kRelay)) return "relay";
  if (index == reason_index(RejectReason::kSenderLogin)) return "sender_login";
  return "unknown";
}

Result<std::shared_ptr<const PolicyTables>> load_policy_tables(const PolicyConfig& config) {
  auto tables = std::make_shared<PolicyTables>();
  if (!config.recipients_file.empty()) {
    auto r = RecipientMap::load(config.recipients_file);
    if (!r) return r.error();
    tables->recipients = std::move(r.value());
  }
  if (!config.aliases_file.empty()) {
    auto a = AliasMap::load(config.aliases_file);
    if (!a) return a.error();
    tables->aliases = std::move(a.value());
  }
  if (!config.header_checks.empty()) {
    auto h = HeaderChecks::load(config.header_checks);
    if (!h) return h.error();
    tables->header_checks = std::move(h.value());
  }
  return std::shared_ptr<const PolicyTables>(std::move(tables));
}

Policy::Policy(const Config& config)
    : per_client_(config.policy.tracked_clients),
      connection_rate_(config.policy.tracked_clients, 0, 1),
      message_rate_(config.policy.tracked_clients, 0, 1),
      user_rate_(config.policy.tracked_clients, 0, 1) {
  apply_rates(config.policy);
  for (const std::string& spec : config.policy.dnsbl.sites) {
    if (auto site = parse_dnsbl_site(spec)) dnsbl_.push_back(std::move(site.value()));  // validated by the loader
  }
}

void Policy::apply_rates(const PolicyConfig& config) {
  // Rates are configured per minute; a bucket holds one minute's worth (at least 1).
  connection_rate_.set_rate(per_second(config.connection_rate), std::max<double>(1, config.connection_rate));
  message_rate_.set_rate(per_second(config.message_rate), std::max<double>(1, config.message_rate));
  user_rate_.set_rate(per_second(config.user_message_rate), std::max<double>(1, config.user_message_rate));
}

Policy::Admission Policy::acquire_connection(const PolicyConfig& config, const std::string& client, bool limit,
                                             bool rate, Clock::time_point now, ConnectionTicket& ticket) {
  ticket = {};
  if (rate && config.connection_rate && !connection_rate_.take(client, now)) return Admission::kRateExceeded;
  if (!limit) return Admission::kOk;
  // The total is counted even with no max_connections set, so a reload that sets one
  // starts from the true number of connections.
  uint32_t n = total_.load(std::memory_order_relaxed);
  do {
    if (config.max_connections && n >= config.max_connections) return Admission::kTooManyTotal;
  } while (!total_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  ticket.total = true;
  if (config.max_connections_per_client) {
    if (!per_client_.acquire(client, config.max_connections_per_client)) {
      total_.fetch_sub(1, std::memory_order_relaxed);
      ticket.total = false;
      return Admission::kTooManyFromClient;
    }
    ticket.per_client = true;
  }
  return Admission::kOk;
}

void Policy::release_connection(const std::string& client, ConnectionTicket ticket) {
  if (ticket.total) total_.fetch_sub(1, std::memory_order_relaxed);
  if (ticket.per_client) per_client_.release(client);
}

bool Policy::allowlisted(const PolicyConfig& config, const IpAddress& ip) { return in_any(config.client_allow, ip); }
bool Policy::denylisted(const PolicyConfig& config, const IpAddress& ip) { return in_any(config.client_deny, ip); }

bool Policy::take_message(const PolicyConfig& config, std::string_view client, std::string_view user,
                          Clock::time_point now) {
  if (!user.empty()) return !config.user_message_rate || user_rate_.take(user, now);
  return !config.message_rate || message_rate_.take(client, now);
}

}  // namespace correo
