// resolver.h - MX and address lookups on c-ares, driven by the owning worker's event loop.
//
// Thread rules: one Resolver per worker, used only on that worker's thread. c-ares runs no
// threads of its own: it tells us (DnsEventSink::watch) which sockets to wait on, the worker
// arms io_uring polls for them and calls on_fd_event() when they fire, and on_tick() for
// timeouts. Answers are cached by TTL in a bounded LRU (dns.cache_entries).
//
// Delivery semantics (RFC 5321 §5.1, RFC 7505):
//   resolve_mx(domain): MX records sorted by preference, equal preferences shuffled; no MX
//   records (NODATA) -> one implicit MX, the domain itself at preference 0; a single
//   "0 ." record -> kNullMx (the domain accepts no mail: fail permanently, 5.1.10);
//   NXDOMAIN -> kNxDomain (permanent); SERVFAIL, REFUSED, timeouts -> kTempFail.
//   resolve_host(name): A and AAAA together; NXDOMAIN/NODATA for both -> kNxDomain/kNoData.
// Callbacks may run before resolve_*() returns (cache hit) or later from on_fd_event() /
// on_tick(); never from another thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/daemon_cells.h"
#include "relay/common/cidr.h"
#include "relay/common/result.h"

namespace correo {

enum class DnsStatus : uint8_t { kOk, kNxDomain, kNoData, kNullMx, kTempFail };
const char* to_string(DnsStatus s);

struct MxHost {
  std::string name;  // lower-case, no trailing dot
  uint16_t preference = 0;
};

struct MxAnswer {
  DnsStatus status = DnsStatus::kTempFail;
  std::vector<MxHost> hosts;  // sorted; implicit MX when the domain has none
  std::string error;          // for logs and DSN diagnostics, e.g. "SERVFAIL looking up MX for x.test"
};

struct AddressAnswer {
  DnsStatus status = DnsStatus::kTempFail;
  std::vector<IpAddress> addresses;  // IPv4 (A) first, then IPv6 (AAAA)
  std::string error;
};

// DnsEventSink - implemented by the worker: start/stop waiting on a c-ares socket.
class DnsEventSink {
 public:
  virtual ~DnsEventSink() = default;
  // watch - readable/writable interest for fd; both false = stop watching (socket closing).
  virtual void watch(int fd, bool readable, bool writable) = 0;
};

struct ResolverOptions {
  std::vector<std::string> servers;  // "127.0.0.1:5353", "[::1]:53", "10.0.0.1"; empty = /etc/resolv.conf
  size_t cache_entries = 100000;     // LRU bound over MX and address answers together
  std::chrono::milliseconds timeout{2000};  // per try
  int tries = 3;
  DnsMetrics* metrics = nullptr;     // the owner's cells (a worker's); null = the resolver's own
};

// ResolverStats - totals of the resolver's DnsMetrics cells.
struct ResolverStats {
  uint64_t lookups = 0;     // queries sent to a server
  uint64_t cache_hits = 0;
  uint64_t failures = 0;    // kTempFail answers
};

class Resolver {
 public:
  static Result<std::unique_ptr<Resolver>> create(const ResolverOptions& options, DnsEventSink& sink);
  ~Resolver();

  void resolve_mx(std::string_view domain, std::function<void(const MxAnswer&)> done);
  void resolve_host(std::string_view host, std::function<void(const AddressAnswer&)> done);
  // resolve_a - A records only, cached like resolve_host (DNSBL lookups: RFC 5782 lists answer
  // with A records, so asking AAAA too would double the queries for nothing).
  void resolve_a(std::string_view name, std::function<void(const AddressAnswer&)> done);

  // Driver side.
  void on_fd_event(int fd, bool readable, bool writable);
  void on_tick();  // call at least every 200 ms: c-ares timeouts and retries
  ResolverStats stats() const;

  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

 private:
  struct Impl;
  explicit Resolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace correo
