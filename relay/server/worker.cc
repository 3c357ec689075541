// worker.cc - the event loop: accept, receive, feed the session, send its replies, hand
// messages to the spool and answer when the spool says they are durable.
#include "relay/server/worker.h"
#include "relay/server/worker_conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "relay/auth/password.h"
#include "relay/common/log.h"
#include "tls/tls_stream.h"

namespace correo {
namespace {

constexpr unsigned kRingEntries = 4096;
constexpr uint16_t kBufferGroup = 1;
constexpr unsigned kRecvBuffers = 512;       // power of two; shared by all connections
constexpr unsigned kRecvBufferSize = 16384;  // one receive at most; bounds a session's input
constexpr auto kTickInterval = std::chrono::milliseconds(200);
constexpr size_t kKeepSendCapacity = 16384;  // larger send buffers are released when idle

// peer_ip - the client's address as text (IPv4-mapped IPv6 shown as IPv4).
std::string peer_ip(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  auto ip = IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  return ip ? ip->to_string() : "unknown";
}

}  // namespace

Worker::Worker(unsigned index, const Snapshot<Config>& config, Spool& spool, Scheduler& scheduler,
               std::vector<ListenSocket> sockets, uint64_t id_floor, WorkerMetrics& metrics, WorkerServices services)
    : index_(index),
      config_(config),
      spool_(spool),
      scheduler_(scheduler),
      sockets_(std::move(sockets)),
      ids_(index, id_floor),
      services_(services),
      tls_ctx_(services.tls),
      users_(services.users),
      policy_tables_(services.policy ? &services.policy->tables() : nullptr),
      metrics_(metrics) {
  if (services_.policy) {
    for (const DnsblSite& site : services_.policy->dnsbl_sites()) {
      auto it = std::find(dnsbl_zones_.begin(), dnsbl_zones_.end(), site.zone);
      if (it == dnsbl_zones_.end()) {
        dnsbl_zones_.push_back(site.zone);
        dnsbl_sites_by_zone_.emplace_back();
        it = dnsbl_zones_.end() - 1;
      }
      dnsbl_sites_by_zone_[static_cast<size_t>(it - dnsbl_zones_.begin())].push_back(&site);
    }
  }
}

Worker::~Worker() {
  request_stop();
  join();
  for (auto& s : sockets_) {
    if (s.fd >= 0) close(s.fd);
  }
}

Status Worker::start() {
  std::promise<Status> ready;
  std::future<Status> result = ready.get_future();
  thread_ = std::thread([this, &ready] { run(ready); });
  Status st = result.get();
  if (!st.ok()) join();
  return st;
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run(std::promise<Status>& ready) {
  Status st = setup();
  const bool ok = st.ok();
  ready.set_value(std::move(st));  // `ready` dies with start(): do not touch it again
  if (ok) loop();
  outbound_.reset();
  milters_.reset();
  buffers_.reset();
  ring_.reset();
}

// setup - the ring must be created on this thread (IORING_SETUP_SINGLE_ISSUER).
Status Worker::setup() {
  auto ring = Ring::create(kRingEntries);
  if (!ring) return Error{"worker " + std::to_string(index_) + ": " + ring.error().message};
  ring_ = std::move(ring.value());
  if (ring_->features().buffer_ring) {
    auto br = BufferRing::create(ring_->raw(), kBufferGroup, kRecvBuffers, kRecvBufferSize);
    if (br) {
      buffers_ = std::move(br.value());
    } else {
      LogLine(LogLevel::kWarn, "buffer_ring_unavailable").kv("worker", index_).kv("error", br.error().message);
    }
  }
  outbound_ = std::make_unique<Outbound>(index_, config_, *ring_, scheduler_, metrics_);
  milters_ = std::make_unique<MilterRunner>(config_, *ring_);
  if (Status st = outbound_->init(); !st) return st;
  LogLine(LogLevel::kInfo, "worker_ready").kv("worker", index_).kv("ring", ring_->features().describe())
      .kv("buffer_ring", buffers_ != nullptr);
  tick_.tv_sec = 0;
  tick_.tv_nsec = std::chrono::duration_cast<std::chrono::nanoseconds>(kTickInterval).count();
  for (size_t i = 0; i < sockets_.size(); ++i) arm_accept(i);
  arm_tick();
  arm_spool_wake();
  io_uring_submit(ring_->raw());
  return Ok{};
}

void Worker::loop() {
  io_uring* ring = ring_->raw();
  while (true) {
    const int rc = io_uring_submit_and_wait(ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      LogLine(LogLevel::kError, "ring_failed").kv("worker", index_).kv("error", strerror(-rc));
      break;
    }
    config_.refresh();  // a SIGHUP's configuration, for what happens from here on
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
      handle(cqe);
      ++seen;
    }
    io_uring_cq_advance(ring, seen);  // one CQ advance per batch
    if (!starved_.empty()) {  // buffers were recycled by this batch: try again
      std::vector<Tag> retry;
      retry.swap(starved_);
      for (Tag t : retry) {
        if (Conn* c = lookup(t); c && !c->closing && !c->recv_inflight) arm_recv(*c);
      }
    }
    if (shutting_down_ && active_ == 0 && outbound_->active() == 0 && milters_->active() == 0) break;
  }
}

void Worker::handle(io_uring_cqe* cqe) {
  const Tag tag = Tag::unpack(io_uring_cqe_get_data64(cqe));
  switch (tag.op) {
    case Op::kAccept:
      return on_accept(tag.slot, cqe->res, cqe->flags);
    case Op::kRecv: {
      Conn* c = lookup(tag);
      if (c) return on_recv(*c, cqe->res, cqe->flags);
      if (buffers_ && (cqe->flags & IORING_CQE_F_BUFFER)) buffers_->recycle(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
      return;
    }
    case Op::kSend:
      if (Conn* c = lookup(tag)) on_send(*c, cqe->res);
      return;
    case Op::kTick:
      return on_tick();
    case Op::kSpoolWake:
      return on_spool_wake();
    case Op::kOutConnect:
    case Op::kOutRecv:
    case Op::kOutSend:
    case Op::kDnsPoll:
      return outbound_->handle(tag, cqe->res, cqe->flags);
    case Op::kMilterConnect:
    case Op::kMilterRecv:
    case Op::kMilterSend:
      return milters_->handle(tag, cqe->res, cqe->flags);
    case Op::kIgnore:
      return;
  }
}

Worker::Conn* Worker::lookup(Tag tag) {
  if (tag.slot >= conns_.size()) return nullptr;
  Conn* c = conns_[tag.slot].get();
  if (c->fd < 0 || (c->generation & 0xffffff) != tag.generation) return nullptr;
  return c;
}

Worker::Conn& Worker::allocate() {
  if (free_slots_.empty()) {
    auto c = std::make_unique<Conn>();
    c->worker = this;
    c->slot = static_cast<uint32_t>(conns_.size());
    conns_.push_back(std::move(c));
    free_slots_.push_back(conns_.back()->slot);
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  ++active_;
  return *conns_[slot];
}

void Worker::arm_accept(size_t listener) {
  io_uring_sqe* sqe = ring_->sqe();
  const int fd = sockets_[listener].fd;
  if (ring_->features().multishot_accept) {
    io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } else {
    io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }
  io_uring_sqe_set_data64(sqe, Tag{Op::kAccept, 0, static_cast<uint32_t>(listener)}.pack());
}

void Worker::on_accept(size_t listener, int res, uint32_t flags) {
  // Multishot stays armed while IORING_CQE_F_MORE is set; otherwise arm again (the one
  // place that decides re-arming for accepts).
  if (!(flags & IORING_CQE_F_MORE) && !shutting_down_ && res != -ECANCELED) arm_accept(listener);
  if (res < 0) {
    if (res != -ECANCELED) LogLine(LogLevel::kWarn, "accept_failed").kv("worker", index_).kv("error", strerror(-res));
    return;
  }
  const int fd = res;
  if (shutting_down_ || active_ >= config_->limits.sessions_per_worker) {
    // Refuse without allocating a session: one non-blocking send, then close. Not on an
    // smtps listener: nothing goes out there in clear (RFC 8314), the close says enough.
    if (config_->listeners[sockets_[listener].listener_index].mode != ListenerMode::kSmtps) {
      std::string msg = "421 4.3.2 " + config_->server.hostname +
                        (shutting_down_ ? " Service shutting down\r\n" : " Too many connections, try again later\r\n");
      ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)n;
    }
    close(fd);
    (shutting_down_ ? metrics_.refused_shutdown : metrics_.refused_capacity).add();
    LogLine(LogLevel::kWarn, "refused").kv("worker", index_).kv("reason", shutting_down_ ? "shutdown" : "sessions_per_worker");
    return;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // replies are already batched
  Conn& c = allocate();
  c.fd = fd;
  c.listener = listener;
  c.connected_at = Clock::now();
  const ListenerConfig& policy = config_->listeners[sockets_[listener].listener_index];
  c.session = std::make_unique<Session>(config_.shared(), c, peer_ip(fd), sockets_[listener].name, &policy);
  c.deadline = c.connected_at + c.session->timeout();
  c.deadline_phase = c.session->phase();
  metrics_.connections_accepted[c.listener_index()].add();
  metrics_.connections_open[c.listener_index()].add(1);
  LogLine(LogLevel::kDebug, "connect").kv("client", c.session->client_ip()).kv("listener", sockets_[listener].name)
      .kv("worker", index_);
  screen(c, policy);  // starts the session, or holds/refuses its greeting
}

// begin_tls - a server-side TLS stream on the current certificate (SIGHUP may have
// replaced it; sessions already open keep theirs).
bool Worker::begin_tls(Conn& c) {
  const std::shared_ptr<const TlsContext>& ctx = tls_ctx_.current();
  if (ctx) c.tls = TlsStream::server(ctx);
  if (!c.tls) {
    metrics_.tls_inbound_failures[static_cast<size_t>(TlsFailure::kUnavailable)].add();
    LogLine(LogLevel::kError, "tls_unavailable").kv("client", c.session->client_ip()).kv("worker", index_);
    c.session->on_peer_closed();
    return false;
  }
  return true;
}

// on_tls_recv - ciphertext in; handshake progress, then plaintext to the session.
void Worker::on_tls_recv(Conn& c, std::string_view ciphertext) {
  TlsStream& tls = *c.tls;
  const bool was_open = tls.open();
  tls.put_ciphertext(ciphertext);
  tls_plain_.clear();
  const TlsStream::State state = tls.read(tls_plain_);
  if (state == TlsStream::State::kFailed) {
    metrics_.tls_inbound_failures[static_cast<size_t>(TlsFailure::kHandshake)].add();
    LogLine(LogLevel::kInfo, was_open ? "tls_error" : "tls_handshake_failed").kv("client", c.session->client_ip())
        .kv("error", tls.error());
    c.session->on_peer_closed();
    return begin_close(c);
  }
  if (!was_open && tls.open()) {
    const TlsInfo info = tls.info();
    metrics_.tls_inbound_handshakes.add();
    if (info.resumed) metrics_.tls_inbound_resumed.add();
    LogLine(LogLevel::kDebug, "tls").kv("client", c.session->client_ip()).kv("version", info.version)
        .kv("cipher", info.cipher).kv("resumed", info.resumed);
    c.session->on_tls_established(info);
    if (c.implicit_tls && !c.session->closed()) c.session->start();
  }
  if (!tls_plain_.empty()) {
    c.session->feed(tls_plain_);
    wipe(tls_plain_);  // it may have held an AUTH line; the session copied what it keeps
  }
  if (state == TlsStream::State::kClosed) {
    c.session->on_peer_closed();
    return begin_close(c);
  }
  service(c);
}

void Worker::arm_recv(Conn& c) {
  io_uring_sqe* sqe = ring_->sqe();
  if (buffers_) {
    io_uring_prep_recv(sqe, c.fd, nullptr, buffers_->buffer_size(), 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers_->group();
  } else {
    if (!c.recv_buf) c.recv_buf.reset(new char[kRecvBufferSize]);
    io_uring_prep_recv(sqe, c.fd, c.recv_buf.get(), kRecvBufferSize, 0);
  }
  io_uring_sqe_set_data64(sqe, c.tag(Op::kRecv).pack());
  c.recv_inflight = true;
}

void Worker::on_recv(Conn& c, int res, uint32_t flags) {
  c.recv_inflight = false;
  const bool has_buffer = buffers_ && (flags & IORING_CQE_F_BUFFER);
  const uint16_t bid = has_buffer ? static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT) : 0;
  if (c.closing) {
    if (has_buffer) buffers_->recycle(bid);
    return maybe_free(c);
  }
  if (res == -ENOBUFS) {  // all receive buffers busy: back-pressure, retry after this batch
    starved_.push_back(c.tag(Op::kRecv));
    return;
  }
  if (res <= 0) {  // 0 = the client closed; < 0 = reset or error
    if (has_buffer) buffers_->recycle(bid);
    c.session->on_peer_closed();
    return begin_close(c);
  }
  const char* data = has_buffer ? buffers_->buffer(bid) : c.recv_buf.get();
  if (c.screening) {  // only armed for the pregreet test: the client spoke first
    if (has_buffer) buffers_->recycle(bid);
    c.screening = false;
    c.session->reject_pregreet();
    return service(c);
  }
  const std::string_view bytes(data, static_cast<size_t>(res));
  if (c.tls) {
    on_tls_recv(c, bytes);  // TLS copied the ciphertext
    if (has_buffer) buffers_->recycle(bid);
    if (c.session) refresh_deadline(c, bytes.size());
    return;
  }
  c.session->feed(bytes);
  if (has_buffer) buffers_->recycle(bid);  // the session copied what it keeps
  refresh_deadline(c, bytes.size());
  service(c);
}

// refresh_deadline - after a read of `bytes`: a per-request deadline, as Postfix's
// smtpd_per_request_deadline with smtpd_min_data_rate. A new request (a command line
// begins with nothing half-received, or the phase changed: DATA began or ended) gets the
// whole timeout. While one is incomplete, a read only buys bytes / limits.min_data_rate
// seconds, never past now + timeout: a client that trickles a byte at a time (slowloris)
// cannot hold a session longer than a silent one.
void Worker::refresh_deadline(Conn& c, size_t bytes) {
  const Session& s = *c.session;
  const auto now = Clock::now();
  const auto cap = now + s.timeout();
  const uint32_t rate = config_->limits.min_data_rate;
  const bool new_request =
      rate == 0 || s.phase() != c.deadline_phase || (s.phase() == SessionPhase::kCommand && !s.has_pending_input());
  if (new_request) {
    c.deadline = cap;
  } else {
    const auto credit = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate)));
    c.deadline = std::min(cap, c.deadline + credit);
  }
  c.deadline_phase = s.phase();
}

// flush - hand the session's pending replies to the kernel (one send in flight at most).
// With TLS, replies are encrypted once the handshake is done; until then only handshake
// records leave. A closing session says close_notify after its last reply.
void Worker::flush(Conn& c) {
  std::string& out = c.session->output();
  if (c.send_inflight) return;
  if (c.tls) {
    if (c.tls->open()) {
      if (!out.empty() && !c.tls->write(out)) c.session->on_peer_closed();  // service() closes
      out.clear();
      if (c.session->closed() && !c.tls_notified) {
        c.tls->close_notify();
        c.tls_notified = true;
      }
    }
    c.sending.clear();
    if (!c.tls->take_ciphertext(c.sending)) return;
  } else {
    if (out.empty()) return;
    c.sending.swap(out);
    out.clear();
  }
  c.sent = 0;
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_send(sqe, c.fd, c.sending.data(), c.sending.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, c.tag(Op::kSend).pack());
  c.send_inflight = true;
}

void Worker::on_send(Conn& c, int res) {
  c.send_inflight = false;
  if (res < 0) {
    c.session->on_peer_closed();
    return begin_close(c);
  }
  c.sent += static_cast<size_t>(res);
  if (c.sent < c.sending.size() && !c.closing) {  // short send: the rest, same buffer
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, c.tag(Op::kSend).pack());
    c.send_inflight = true;
    return;
  }
  if (c.sending.capacity() > kKeepSendCapacity) std::string().swap(c.sending);
  else c.sending.clear();
  if (c.closing) return maybe_free(c);
  service(c);
}

// service - after any event: send replies, continue paused input, read more or close.
void Worker::service(Conn& c) {
  if (c.closing) return maybe_free(c);
  Session& s = *c.session;
  if (hold_for_tarpit(c)) return;
  if (c.screening) {  // no greeting yet; read only to catch early talkers
    if (c.pregreet && !c.recv_inflight) arm_recv(c);
    return;
  }
  flush(c);
  if (!s.paused() && s.has_pending_input()) {
    s.resume();
    flush(c);
  }
  // STARTTLS: the handshake starts once "220 Ready to start TLS" has left in the clear.
  if (s.starting_tls() && !c.tls && !c.send_inflight && s.output().empty() && !begin_tls(c)) return begin_close(c);
  if (s.closed()) {
    if (!c.send_inflight) begin_close(c);
    return;
  }
  const bool handshaking = c.tls && !c.tls->open();
  if (!c.recv_inflight && (!s.paused() || handshaking)) arm_recv(c);
}

void Worker::begin_close(Conn& c) {
  if (!c.closing) {
    c.closing = true;
    // Wake a pending receive; the last reply is already in the kernel (no send in flight or
    // the peer is gone), and the FIN goes out after it.
    shutdown(c.fd, SHUT_RDWR);
    if (c.recv_inflight) {
      io_uring_sqe* sqe = ring_->sqe();
      io_uring_prep_cancel64(sqe, c.tag(Op::kRecv).pack(), 0);
      io_uring_sqe_set_data64(sqe, Tag{Op::kIgnore, 0, 0}.pack());
    }
  }
  // Also when it was closing already: the caller may have just seen the last operation
  // in flight come back (a failed send to a client that left), and the slot must be freed
  // now - nothing else will come for it.
  maybe_free(c);
}

// maybe_free - release the slot once the kernel and the spool hold nothing of it.
void Worker::maybe_free(Conn& c) {
  if (!c.closing || c.recv_inflight || c.send_inflight || c.commit_pending) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - c.connected_at).count();
  LogLine(LogLevel::kInfo, "disconnect").kv("client", c.session->client_ip()).kv("worker", index_)
      .kv("messages", c.session->messages_accepted()).kv("duration_ms", static_cast<int64_t>(ms));
  close(c.fd);
  c.fd = -1;
  metrics_.connections_open[c.listener_index()].add(-1);
  release_admission(c);
  c.screening = c.pregreet = c.dnsbl_starting = false;
  c.dnsbl_pending = 0;
  c.dnsbl_score = 0;
  c.dnsbl_zones.clear();
  c.tarpit_until = {};
  c.session.reset();
  c.tls.reset();
  c.implicit_tls = c.tls_notified = false;
  c.recv_buf.reset();
  std::string().swap(c.sending);
  c.recv_inflight = c.send_inflight = c.commit_pending = c.closing = false;
  ++c.generation;  // stale CQEs for this slot are now ignored
  free_slots_.push_back(c.slot);
  --active_;
}

void Worker::arm_tick() {
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_timeout(sqe, &tick_, 0, 0);
  tick_armed_ = Clock::now();
  io_uring_sqe_set_data64(sqe, Tag{Op::kTick, 0, 0}.pack());
}

// on_tick - timeouts (RFC 5321 §4.5.3.2) and the shutdown check; a scan is cheap next to
// the session count a worker holds (20,000 comparisons every 200 ms).
void Worker::on_tick() {
  if (stop_.load(std::memory_order_relaxed) && !shutting_down_) begin_shutdown();
  const auto now = Clock::now();
  metrics_.loop_lag.observe(std::max(0.0, std::chrono::duration<double>(now - tick_armed_ - kTickInterval).count()));
  // Past the grace period a milter still thinking gets its default action: the daemon stops.
  if (shutting_down_ && now >= shutdown_deadline_ && milters_->active() > 0) milters_->shutdown();
  for (auto& cp : conns_) {
    Conn& c = *cp;
    if (c.fd < 0 || c.closing || c.commit_pending) continue;
    if (c.screening) {
      screen_tick(c, now);
      continue;
    }
    if (c.tarpit_until != Clock::time_point{}) {
      tarpit_tick(c, now);
      if (c.fd < 0 || c.closing) continue;
    }
    if (shutting_down_ && (now >= shutdown_deadline_ || c.session->phase() == SessionPhase::kCommand)) {
      // Between transactions: 421 now. Past the grace period an unfinished message is
      // dropped unacknowledged (the client keeps responsibility for it).
      c.session->on_shutdown();
      service(c);
      if (now >= shutdown_deadline_) begin_close(c);  // a client that does not read
      continue;
    }
    if (now > c.deadline) {
      c.session->on_timeout();
      service(c);
    }
  }
  outbound_->tick();
  milters_->tick();
  arm_tick();
}

void Worker::arm_spool_wake() {
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_read(sqe, spool_.completion_fd(index_), &spool_wake_value_, sizeof spool_wake_value_, 0);
  io_uring_sqe_set_data64(sqe, Tag{Op::kSpoolWake, 0, 0}.pack());
}

// on_spool_wake - completions for commits: only now may a session say 250.
void Worker::on_spool_wake() {
  CommitCompletion done;
  const auto now = Clock::now();
  while (spool_.pop_completion(index_, done)) {
    const Tag t = Tag::unpack(done.cookie);
    if (t.slot >= conns_.size()) continue;
    Conn& c = *conns_[t.slot];
    if (c.fd < 0 || (c.generation & 0xffffff) != t.generation || !c.commit_pending) continue;
    c.commit_pending = false;
    c.session->on_commit_result(done, now);
    service(c);
  }
  // The scheduler and the AUTH verifier wake us through the same eventfd.
  take_auth_results();
  take_greylist_results();
  if (!shutting_down_) outbound_->take_jobs();
  arm_spool_wake();
}

// take_auth_results - verdicts for sessions waiting in AUTH; a session that went away
// meanwhile has a new generation and its verdict is dropped.
void Worker::take_auth_results() {
  if (!services_.auth) return;
  AuthResult result;
  while (services_.auth->pop_result(index_, result)) {
    Conn* c = lookup(Tag::unpack(result.cookie));
    if (!c || c->closing) continue;
    AuthVerdict verdict = AuthVerdict::kBadCredentials;
    if (result.outcome == AuthOutcome::kOk) verdict = AuthVerdict::kOk;
    if (result.outcome == AuthOutcome::kRateLimited) verdict = AuthVerdict::kRateLimited;
    c->session->on_auth_result(verdict);
    service(*c);
  }
}

// begin_shutdown - stop accepting; idle sessions get 421 now, busy ones when their
// transaction ends (bounded by shutdown.grace). Nothing acknowledged is dropped: a commit
// in flight is always answered first.
void Worker::begin_shutdown() {
  shutting_down_ = true;
  outbound_->shutdown();
  shutdown_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(config_->shutdown.grace);
  for (auto& s : sockets_) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_cancel_fd(sqe, s.fd, 0);
    io_uring_sqe_set_data64(sqe, Tag{Op::kIgnore, 0, 0}.pack());
  }
  for (auto& cp : conns_) {
    Conn& c = *cp;
    if (c.fd < 0 || c.closing || c.commit_pending) continue;
    if (c.session->phase() == SessionPhase::kCommand) {
      c.session->on_shutdown();
      service(c);
    }
  }
}

}  // namespace correo
