// outbound.h - a worker's outbound side: destination queues, connection pool, DNS, and the
// SMTP client connections that deliver the scheduler's jobs.
//
// Thread rules: owned by one worker and driven by its ring (the worker forwards CQEs tagged
// kOutConnect/kOutRecv/kOutSend/kDnsPoll and calls tick()). Never blocks: DNS is c-ares
// driven by io_uring polls; connects, sends and receives are io_uring ops.
//
// Per destination (next-hop key): a FIFO of jobs, at most delivery.connections_per_destination
// connections, idle connections kept delivery.reuse_time for the next job (connection reuse,
// at most delivery.reuse_messages messages each). Resolution happens once per destination
// (cached by the resolver for the answer's TTL): MX hosts in preference order, each host's
// addresses; a connect failure or a 4xx/5xx greeting moves on to the next address/host.
// When no address of the destination answers, its queued jobs are deferred (4.4.1); an
// NXDOMAIN fails them (5.1.2), a null MX too (5.1.10, RFC 7505), a DNS timeout defers (4.4.3).
//
// TLS (delivery.tls): STARTTLS when offered (opportunistic) or always (verify: the chain
// and the host name must check out, else 4.7.5 and the next host). An opportunistic
// handshake that fails is retried at once in clear to the same address, which is then
// remembered for as long as the destination is active (RFC 7435: a broken TLS stack must
// not stop mail that would flow in clear).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dns/resolver.h"
#include "metrics/daemon_cells.h"
#include "relay/config/live_config.h"
#include "relay/delivery/delivery_types.h"
#include "relay/delivery/scheduler.h"
#include "relay/delivery/smtp_client.h"
#include "relay/reactor/ring.h"
#include "relay/reactor/tag.h"
#include "tls/tls_context.h"

namespace correo {


class Outbound final : public DnsEventSink {
 public:
  // metrics: the worker's cells (outbound connections, TLS, DNS).
  Outbound(unsigned worker, const LiveConfig& config, Ring& ring, Scheduler& scheduler, WorkerMetrics& metrics);
  ~Outbound() override;
  Status init();  // creates the resolver

  void take_jobs();  // drain the scheduler's queue for this worker
  void handle(Tag tag, int res, uint32_t flags);
  void tick();       // timeouts, idle connections, c-ares timers
  void shutdown();   // close everything (jobs in hand are answered as deferred)
  size_t active() const { return open_; }
  // resolver - the worker's c-ares channel, shared with the inbound policy checks.
  Resolver& resolver() { return *resolver_; }

  // DnsEventSink
  void watch(int fd, bool readable, bool writable) override;

 private:
  struct Target {
    std::string host;  // MX host name (or the next hop itself)
    IpAddress address;
  };
  struct Destination {
    NextHop hop;
    std::deque<DeliveryJob> queue;
    unsigned connections = 0;  // open or opening
    unsigned opening = 0;      // of those, not yet ready for a first transaction
    std::vector<uint32_t> idle;  // connection slots waiting for a job
    bool resolving = false;
    std::vector<Target> targets;
    std::chrono::steady_clock::time_point targets_expire;
    std::unordered_set<std::string> tls_broken;  // remotes whose TLS handshake failed (bounded by targets)
  };
  struct Conn;
  struct DnsWatch {
    bool readable = false, writable = false;
    bool armed = false;
    uint32_t generation = 0;
  };

  void pump(Destination& d);
  void pump_waiting();
  void resolve(Destination& d);
  void on_resolved(const std::string& key, std::vector<Target> targets, const ServerReply& failure);
  void fail_queue(Destination& d, const ServerReply& reply, const std::string& remote);
  void answer(const DeliveryJob& job, const std::vector<ServerReply>& replies, const std::string& remote, bool dsn,
              const std::string& tls = std::string());
  Conn& open(Destination& d, size_t first_target);
  void connect_next(Conn& c);
  void on_connect(Conn& c, int res);
  void on_recv(Conn& c, int res);
  void begin_tls(Conn& c);
  bool tls_input(Conn& c, std::string_view ciphertext);
  void handshake_failed(Conn& c, const std::string& error);
  void on_send(Conn& c, int res);
  void drive(Conn& c);
  void start_next(Conn& c);
  void finish_transaction(Conn& c);
  void conn_failed(Conn& c, ServerReply why);
  void close(Conn& c);
  void arm_recv(Conn& c);
  void flush(Conn& c);
  void arm_poll(int fd, DnsWatch& w);
  Conn* lookup(Tag t);
  Destination* destination(const std::string& key);

  const unsigned worker_;
  const LiveConfig& config_;
  Ring& ring_;
  Scheduler& scheduler_;
  std::unique_ptr<Resolver> resolver_;
  std::shared_ptr<const TlsContext> client_tls_;  // null with delivery.tls = none
  std::string tls_plain_;                         // scratch: plaintext of one receive
  std::unordered_map<std::string, Destination> dests_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<uint32_t> free_;
  std::unordered_map<int, DnsWatch> dns_watch_;
  size_t open_ = 0;
  uint32_t dns_generation_ = 0;
  bool pump_pending_ = false;  // a connection slot was released since the last pump_waiting()  // tags c-ares polls; a changed interest gets a new one
  unsigned total_limit_ = 1;
  WorkerMetrics& metrics_;
};

}  // namespace correo
