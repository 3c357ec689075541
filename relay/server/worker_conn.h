// worker_conn.h - Worker::Conn, one client connection: socket, session, TLS, screening
// state and the I/O in flight for it. Private to the worker's translation units
// (worker.cc, worker_screen.cc, worker_policy.cc).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "relay/auth/password.h"
#include "relay/policy/policy.h"
#include "relay/server/worker.h"
#include "tls/tls_stream.h"

namespace correo {

// Conn - one client connection: socket, session and the I/O in flight for it.
struct Worker::Conn final : SessionHost {
  Worker* worker = nullptr;
  uint32_t slot = 0;
  uint32_t generation = 0;
  int fd = -1;
  size_t listener = 0;
  std::unique_ptr<Session> session;
  std::unique_ptr<TlsStream> tls;  // set from STARTTLS or, on smtps, from accept
  bool implicit_tls = false;       // smtps: the greeting waits for the handshake
  bool tls_notified = false;       // our close_notify is queued
  std::string sending;  // bytes handed to the kernel; never touched while send_inflight
  size_t sent = 0;
  std::unique_ptr<char[]> recv_buf;  // only without a buffer ring
  bool recv_inflight = false;
  bool send_inflight = false;
  bool commit_pending = false;
  bool closing = false;
  Clock::time_point connected_at;
  // The current request's deadline (Worker::refresh_deadline): the whole timeout when a
  // command line or a message starts, then only N / limits.min_data_rate per N bytes.
  Clock::time_point deadline;
  SessionPhase deadline_phase{};

  // Connection screening before the greeting (worker_screen.cc).
  bool screening = false;       // greeting held: pregreet wait and/or DNSBL lookups
  bool pregreet = false;        // bytes before the greeting are a violation (else not read)
  ConnectionTicket admission;  // the Policy connection slot it holds, released at close
  bool dnsbl_starting = false;  // lookups being started (answers from cache come inline)
  uint16_t dnsbl_pending = 0;
  int32_t dnsbl_score = 0;
  std::string dnsbl_zones;      // zones that listed the client, for the reply
  Clock::time_point greet_at;
  Clock::time_point screen_deadline;
  // Tarpit: output and input held until then (worker_policy.cc); epoch = none.
  Clock::time_point tarpit_until{};

  Tag tag(Op op) const { return Tag{op, generation, slot}; }
  size_t listener_index() const { return worker->sockets_[listener].listener_index; }  // in config.listeners

  uint64_t next_queue_id() override { return worker->ids_.next(); }
  bool submit(CommitRequest& request) override {
    request.cookie = Tag{Op::kIgnore, generation, slot}.pack();
    if (!worker->spool_.submit(worker->index_, request)) return false;
    commit_pending = true;
    return true;
  }
  bool storage_available(uint64_t bytes) override { return worker->spool_.has_room_for(bytes); }
  bool flush_domain(std::string_view domain, bool subdomains) override {
    return worker->scheduler_.request_flush_domain(domain, subdomains);
  }
  void on_accepted(uint64_t latency_us, uint64_t bytes) override {
    WorkerMetrics& m = worker->metrics_;
    m.messages_accepted[listener_index()].add();
    m.received_bytes.add(bytes);
    m.commit_duration.observe(static_cast<double>(latency_us) / 1e6);
    worker->stats_.commit_latency_us.record(latency_us);
  }
  SessionMetrics& metrics() override { return worker->metrics_; }
  bool verify_credentials(std::string& user, std::string& password) override {
    if (!worker->services_.auth) {
      wipe(password);
      return false;
    }
    AuthRequest request;
    request.worker = worker->index_;
    request.cookie = tag(Op::kIgnore).pack();
    request.client_ip = session->client_ip();
    request.user = user;
    request.password = std::move(password);
    wipe(password);
    return worker->services_.auth->submit(request);  // wipes request.password
  }
  bool sender_allowed(std::string_view user, std::string_view address) override {
    const auto& users = worker->users_.current();
    return users && users->owns(user, address);
  }
  Policy* policy() override { return worker->services_.policy; }
  const PolicyTables* policy_tables() override { return worker->policy_tables_.current().get(); }
  bool start_query(const PolicyQuery& query, std::optional<PolicyAnswer>& now) override;  // worker_policy.cc
  bool start_milters(const MilterRequest& request) override;                              // worker_policy.cc
};

}  // namespace correo
