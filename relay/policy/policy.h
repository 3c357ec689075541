// policy.h - the anti-spam policy state every worker shares: per-client tables, the file maps,
// the DNSBL sites, the greylisting service and the rejection counters.
//
// Thread rules: one Policy for the process, built by main before the workers start. The
// tables (ConnectionCounter, RateTable) are sharded and locked per shard, so workers only
// contend when two touch the same shard at the same moment; the file maps are a Snapshot
// (SIGHUP swaps them, workers read with one atomic load); counters are relaxed atomics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relay/common/cidr.h"
#include "relay/common/result.h"
#include "relay/common/snapshot.h"
#include "relay/config/config.h"
#include "relay/policy/address_map.h"
#include "relay/policy/dnsbl_site.h"
#include "relay/policy/header_checks.h"
#include "relay/policy/rate_table.h"

namespace correo {

class GreylistService;

// PolicyTables - the file-loaded maps, replaced together on SIGHUP. Each may be null (unset).
struct PolicyTables {
  std::shared_ptr<const RecipientMap> recipients;
  std::shared_ptr<const AliasMap> aliases;
  std::shared_ptr<const HeaderChecks> header_checks;
};

// load_policy_tables - read policy.recipients_file, aliases_file and header_checks; the error
// names the file and line.
Result<std::shared_ptr<const PolicyTables>> load_policy_tables(const PolicyConfig& config);

// RejectReason - what the rejection counters are keyed by: every Check, plus relay control.
enum class RejectReason : uint8_t { kRelay = kCheckCount, kSenderLogin, kCount };
constexpr size_t kRejectReasonCount = static_cast<size_t>(RejectReason::kCount);
inline size_t reason_index(Check c) { return static_cast<size_t>(c); }
inline size_t reason_index(RejectReason r) { return static_cast<size_t>(r); }
std::string_view reason_name(size_t index);

// ConnectionTicket - what acquire_connection counted, so release undoes exactly that even
// when a reload changed the limits in between.
struct ConnectionTicket {
  bool total = false;       // counted in the process-wide total
  bool per_client = false;  // counted in the per-client table
};

// Policy - the state behind the checks. The settings are not kept here: every call takes
// the caller's configuration snapshot (`config.policy`), so a SIGHUP applies new limits,
// rates and lists at once while the tables and counters carry on.
class Policy {
 public:
  using Clock = std::chrono::steady_clock;

  // config: sizes the per-client tables and sets the first rates (tracked_clients and the
  // DNSBL sites are bound at start; see config_reload.h).
  explicit Policy(const Config& config);
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  // apply_rates - SIGHUP: the rate tables refill at the new rates (buckets keep their tokens).
  void apply_rates(const PolicyConfig& config);

  // Connection screening (all workers together). A kOk admission fills `ticket`, which
  // release_connection gets back.
  enum class Admission : uint8_t { kOk, kTooManyTotal, kTooManyFromClient, kRateExceeded };
  Admission acquire_connection(const PolicyConfig& config, const std::string& client, bool limit, bool rate,
                               Clock::time_point now, ConnectionTicket& ticket);
  void release_connection(const std::string& client, ConnectionTicket ticket);
  static bool allowlisted(const PolicyConfig& config, const IpAddress& ip);
  static bool denylisted(const PolicyConfig& config, const IpAddress& ip);

  // take_message - one message from this client (or authenticated user); false = over the rate.
  bool take_message(const PolicyConfig& config, std::string_view client, std::string_view user, Clock::time_point now);

  const std::vector<DnsblSite>& dnsbl_sites() const { return dnsbl_; }

  Snapshot<PolicyTables>& tables() { return tables_; }
  const Snapshot<PolicyTables>& tables() const { return tables_; }

  void set_greylist(GreylistService* service) { greylist_ = service; }
  GreylistService* greylist() const { return greylist_; }

  // count - one rejection for this reason (logged by the caller, one line per rejection).
  void count(size_t reason) { rejected_[reason].fetch_add(1, std::memory_order_relaxed); }
  uint64_t rejected(size_t reason) const { return rejected_[reason].load(std::memory_order_relaxed); }

 private:
  ConnectionCounter per_client_;
  std::atomic<uint32_t> total_{0};
  RateTable connection_rate_;
  RateTable message_rate_;
  RateTable user_rate_;
  std::vector<DnsblSite> dnsbl_;
  Snapshot<PolicyTables> tables_;
  GreylistService* greylist_ = nullptr;
  std::array<std::atomic<uint64_t>, kRejectReasonCount> rejected_{};
};

}  // namespace correo
