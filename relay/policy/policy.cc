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
    : config_(config.policy),
      per_client_(config.policy.tracked_clients),
      connection_rate_(config.policy.tracked_clients, per_second(config.policy.connection_rate),
                       std::max<double>(1, config.policy.connection_rate)),
      message_rate_(config.policy.tracked_clients, per_second(config.policy.message_rate),
                    std::max<double>(1, config.policy.message_rate)),
      user_rate_(config.policy.tracked_clients, per_second(config.policy.user_message_rate),
                 std::max<double>(1, config.policy.user_message_rate)) {
  for (const std::string& spec : config_.dnsbl.sites) {
    if (auto site = parse_dnsbl_site(spec)) dnsbl_.push_back(std::move(site.value()));  // validated by the loader
  }
}

Policy::Admission Policy::acquire_connection(const std::string& client, bool limit, bool rate, Clock::time_point now) {
  if (rate && config_.connection_rate && !connection_rate_.take(client, now)) return Admission::kRateExceeded;
  if (!limit) return Admission::kOk;
  if (config_.max_connections) {
    uint32_t n = total_.load(std::memory_order_relaxed);
    do {
      if (n >= config_.max_connections) return Admission::kTooManyTotal;
    } while (!total_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  }
  if (config_.max_connections_per_client && !per_client_.acquire(client, config_.max_connections_per_client)) {
    if (config_.max_connections) total_.fetch_sub(1, std::memory_order_relaxed);
    return Admission::kTooManyFromClient;
  }
  return Admission::kOk;
}

void Policy::release_connection(const std::string& client, bool limited) {
  if (!limited) return;
  if (config_.max_connections) total_.fetch_sub(1, std::memory_order_relaxed);
  if (config_.max_connections_per_client) per_client_.release(client);
}

bool Policy::allowlisted(const IpAddress& ip) const { return in_any(config_.client_allow, ip); }
bool Policy::denylisted(const IpAddress& ip) const { return in_any(config_.client_deny, ip); }

bool Policy::take_message(std::string_view client, std::string_view user, Clock::time_point now) {
  if (!user.empty()) return !config_.user_message_rate || user_rate_.take(user, now);
  return !config_.message_rate || message_rate_.take(client, now);
}

}  // namespace correo
