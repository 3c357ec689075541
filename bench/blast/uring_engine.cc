// uring_engine.cc - correo-blast's io_uring engine (see uring_engine.h).
#include "bench/blast/uring_engine.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "bench/blast/capabilities.h"
#include "bench/blast/commands.h"
#include "bench/blast/message.h"
#include "bench/blast/reply_buffer.h"
#include "tls/tls_stream.h"

namespace correo::blast {
namespace {

constexpr size_t kRecvSize = 4096;
constexpr size_t kMaxBuffered = 64 * 1024;
constexpr unsigned kMaxConsecutiveConnectFailures = 100;
constexpr auto kConnectBackoff = std::chrono::milliseconds(100);


// positive - the reply a step wants: 354 to DATA, any 2xx otherwise.
bool positive(const Reply& r, int expected) { return expected == 354 ? r.code == 354 : r.kind() == 2; }

uint64_t micros_since(Clock::time_point t) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count());
}

}  // namespace

enum class St : uint8_t {
  kIdle, kWaitSlot, kConnecting, kTlsHandshake, kGreeting, kEhlo, kStartTls, kAuth, kEnvelope, kData, kRset, kHold,
  kQuit, kClosing, kBackoff, kDone
};

static const char* step_name(St st) {
  switch (st) {
    case St::kConnecting: return "connect";
    case St::kGreeting: return "greeting";
    case St::kEhlo: return "EHLO";
    case St::kStartTls: return "STARTTLS";
    case St::kTlsHandshake: return "TLS handshake";
    case St::kAuth: return "AUTH";
    case St::kEnvelope: return "MAIL";
    case St::kData: return "end of data";
    case St::kRset: return "RSET";
    case St::kQuit: return "QUIT";
    default: return "session";
  }
}

struct UringLoop::Sess {
  uint32_t index = 0;
  uint32_t slot = 0;
  uint32_t gen = 0;
  int fd = -1;
  St st = St::kIdle;
  Deadline wake_at{};
  Deadline deadline{};
  bool claim_held = false;   // a claim taken whose message has not started
  bool connected = false;
  bool set_up = false;       // greeting, EHLO (and AUTH) done on this connection
  bool connect_inflight = false;
  bool recv_inflight = false;
  bool send_inflight = false;
  bool back_off = false;     // after this close, wait before reconnecting
  bool pipelined = false;
  bool refused = false;
  bool closing421 = false;
  unsigned consecutive_failures = 0;
  size_t step = 0;
  uint64_t msgs_on_conn = 0;
  Clock::time_point started{};
  std::unique_ptr<char[]> buf;
  std::string in;
  bool gave_up = false;
  std::string queued;            // bytes waiting for the send in flight to finish
  std::string owned;             // queued bytes being sent
  std::string_view sending;
  size_t sent = 0;
  Reply reply;
  std::vector<std::string> ehlo_lines;
  Capabilities caps;
  std::unique_ptr<Message> message;  // made on the first transaction
  std::unique_ptr<TlsStream> tls;    // this connection's TLS, once started
  SSL_SESSION* tls_session = nullptr;  // the last connection's, offered again with --tls-resume
  std::string_view payload;
  size_t payload_size = 0;           // headers + body of the message in flight
  uint64_t size_random = 0;          // this session's draws from --size
  EnvelopeCommands envelope;
};

UringLoop::UringLoop(const EngineShared& shared, uint32_t first, uint32_t count)
    : shared_(shared),
      options_(*shared.options),
      run_(*shared.run),
      ehlo_line_("EHLO " + options_.helo + "\r\n"),
      auth_line_(auth_plain_line(options_)) {
  for (uint32_t i = 0; i < count; ++i) {
    auto s = std::make_unique<Sess>();
    s->index = first + i;
    s->slot = i;
    s->size_random = shared.run_id ^ (uint64_t{s->index} << 32);
    sessions_.push_back(std::move(s));
  }
  const auto tick = options_.rate > 0 ? std::chrono::milliseconds(1) : std::chrono::milliseconds(10);
  tick_.tv_nsec = std::chrono::duration_cast<std::chrono::nanoseconds>(tick).count();
}

UringLoop::~UringLoop() {
  for (auto& s : sessions_) {
    if (s->fd >= 0) ::close(s->fd);
    if (s->tls_session != nullptr) SSL_SESSION_free(s->tls_session);
  }
}

static uint64_t pack(uint8_t kind, uint32_t gen, uint32_t slot) {
  return (static_cast<uint64_t>(kind) << 56) | (static_cast<uint64_t>(gen & 0xffffff) << 32) | slot;
}

void UringLoop::run() {
  auto ring = Ring::create(4096);
  if (!ring) {
    error_ = ring.error().message;
    return;
  }
  ring_ = std::move(ring.value());
  arm_tick();
  for (auto& s : sessions_) start_next(*s);
  io_uring* r = ring_->raw();
  while (done_ < sessions_.size()) {
    const int rc = io_uring_submit_and_wait(r, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      error_ = std::string("io_uring: ") + std::strerror(-rc);
      return;
    }
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(r, head, cqe) {
      ++seen;
      const uint64_t data = cqe->user_data;
      const auto kind = static_cast<Kind>(data >> 56);
      if (kind == Kind::kTick) {
        on_tick();
        continue;
      }
      const uint32_t slot = static_cast<uint32_t>(data);
      const uint32_t gen = static_cast<uint32_t>((data >> 32) & 0xffffff);
      if (slot >= sessions_.size()) continue;
      Sess& s = *sessions_[slot];
      if ((s.gen & 0xffffff) != gen) continue;
      if (kind == Kind::kConnect) on_connect(s, cqe->res);
      else if (kind == Kind::kRecv) on_recv(s, cqe->res);
      else if (kind == Kind::kSend) on_send(s, cqe->res);
    }
    io_uring_cq_advance(r, seen);
  }
}

void UringLoop::arm_tick() {
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_timeout(sqe, &tick_, 0, 0);
  io_uring_sqe_set_data64(sqe, pack(static_cast<uint8_t>(Kind::kTick), 0, 0));
}

// start_next - claim the next message (or handshake, or hold): start it now, or wait for
// its --rate slot; with the budget or the time spent, QUIT or finish.
void UringLoop::start_next(Sess& s) {
  std::optional<Deadline> slot = run_.claim_slot();
  if (!slot) {
    if (s.connected) return quit(s);
    s.st = St::kDone;
    ++done_;
    return;
  }
  s.claim_held = true;
  if (*slot > Clock::now()) {
    s.st = St::kWaitSlot;
    s.wake_at = *slot;
    return;
  }
  begin(s);
}

void UringLoop::begin(Sess& s) {
  if (!run_.still_running()) {
    run_.release();
    s.claim_held = false;
    if (s.connected) return quit(s);
    s.st = St::kDone;
    ++done_;
    return;
  }
  if (s.connected) return start_message(s);
  if (options_.handshake_only || options_.idle) {
    // The claim is the session itself: it counts as sent from here (as in session.cc).
    s.claim_held = false;
    ++stats_.sent;
    s.started = Clock::now();
  }
  connect(s);
}

void UringLoop::connect(Sess& s) {
  const Target& t = options_.target;
  s.fd = ::socket(t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return fail(s, std::string("connect: socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_connect(sqe, s.fd, reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len);
  io_uring_sqe_set_data64(sqe, pack(static_cast<uint8_t>(Kind::kConnect), s.gen, s.slot));
  s.connect_inflight = true;
  s.st = St::kConnecting;
  s.deadline = run_.reply_deadline();
}

void UringLoop::on_connect(Sess& s, int res) {
  s.connect_inflight = false;
  if (s.st == St::kClosing) return finish_close(s);
  if (res < 0) return fail(s, std::string("connect: ") + std::strerror(-res));
  s.connected = true;
  ++stats_.connections;
  s.buf = std::make_unique<char[]>(kRecvSize);
  s.st = St::kGreeting;
  s.deadline = run_.reply_deadline();
  if (options_.implicit_tls) begin_tls(s);  // RFC 8314: TLS before the greeting
  if (s.connected && s.st != St::kClosing) arm_recv(s);
}

void UringLoop::arm_recv(Sess& s) {
  if (s.recv_inflight || !s.connected) return;
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_recv(sqe, s.fd, s.buf.get(), kRecvSize, 0);
  io_uring_sqe_set_data64(sqe, pack(static_cast<uint8_t>(Kind::kRecv), s.gen, s.slot));
  s.recv_inflight = true;
}

void UringLoop::on_recv(Sess& s, int res) {
  s.recv_inflight = false;
  if (s.st == St::kClosing) return finish_close(s);
  if (res <= 0) {
    return fail(s, std::string(step_name(s.st)) + ": " + (res == 0 ? "connection closed by the server" : std::strerror(-res)));
  }
  const uint32_t gen = s.gen;
  const std::string_view received(s.buf.get(), static_cast<size_t>(res));
  if (s.tls) {
    if (!take_tls_input(s, received)) return;
    if (s.gen != gen || !s.connected || s.st == St::kClosing) return;
  } else {
    s.in.append(received);
  }
  if (s.st == St::kHold && !s.in.empty()) {
    return fail(s, "idle: the server sent something while the session was idle");
  }
  if (s.in.size() > kMaxBuffered) return fail(s, std::string(step_name(s.st)) + ": protocol: reply too long");
  while (s.gen == gen && s.connected && s.st != St::kClosing) {
    const TakeResult got = take_reply(s.in, s.reply, s.st == St::kEhlo ? &s.ehlo_lines : nullptr);
    if (got == TakeResult::kNeedMore) break;
    if (got == TakeResult::kProtocolError) return fail(s, std::string(step_name(s.st)) + ": protocol: malformed reply");
    on_reply(s);
  }
  if (s.gen != gen || !s.connected || s.st == St::kClosing) return;
  if (s.tls && s.tls->state() == TlsStream::State::kClosed) {
    return fail(s, std::string(step_name(s.st)) + ": the server closed the TLS session");
  }
  arm_recv(s);
}

// take_tls_input - ciphertext in, plaintext appended to s.in; the handshake advances and
// what it has to say goes out. False when the session failed (already closed).
bool UringLoop::take_tls_input(Sess& s, std::string_view ciphertext) {
  s.tls->put_ciphertext(ciphertext);
  const bool was_open = s.tls->open();
  const TlsStream::State state = s.tls->read(s.in);
  flush_tls(s);
  if (state == TlsStream::State::kFailed) {
    fail(s, std::string(step_name(s.st)) + ": TLS: " + s.tls->error());
    return false;
  }
  // A close_notify may arrive with the last reply (221 to QUIT): that reply is read first.
  if (!was_open && state == TlsStream::State::kOpen) on_tls_open(s);
  return true;
}

// begin_tls - after the 220 to STARTTLS, or on connect with --implicit-tls: the
// ClientHello goes out, offering the last connection's session with --tls-resume.
void UringLoop::begin_tls(Sess& s) {
  s.tls = TlsStream::client(shared_.tls, options_.sni, false);
  if (!s.tls) return fail(s, std::string(step_name(s.st)) + ": TLS: cannot create a session: " + openssl_error());
  if (options_.tls_resume) s.tls->offer_session(s.tls_session);
  s.st = St::kTlsHandshake;
  s.deadline = run_.reply_deadline();
  std::string none;
  if (s.tls->read(none) == TlsStream::State::kFailed) return fail(s, "TLS handshake: " + s.tls->error());
  flush_tls(s);
}

// on_tls_open - the handshake is done: the greeting follows (implicit TLS), or EHLO again
// (RFC 3207 §4.2: the server forgets what the client said before STARTTLS).
void UringLoop::on_tls_open(Sess& s) {
  if (s.tls->info().resumed) ++stats_.tls_resumed;
  s.deadline = run_.reply_deadline();
  if (options_.implicit_tls) {
    s.st = St::kGreeting;
    return;
  }
  s.st = St::kEhlo;
  s.ehlo_lines.clear();
  send(s, ehlo_line_);
}

void UringLoop::send(Sess& s, std::string_view bytes) {
  if (!s.tls) return send_raw(s, bytes);
  if (!s.tls->write(bytes)) return fail(s, std::string(step_name(s.st)) + ": TLS: " + s.tls->error());
  flush_tls(s);
}

// flush_tls - the ciphertext TLS produced goes out: now, or after the send in flight.
void UringLoop::flush_tls(Sess& s) {
  if (s.send_inflight) {
    s.tls->take_ciphertext(s.queued);
    return;
  }
  s.owned.clear();
  if (s.tls->take_ciphertext(s.owned)) send_raw(s, s.owned);
}

void UringLoop::send_raw(Sess& s, std::string_view bytes) {
  if (s.send_inflight) {
    s.queued.append(bytes);
    return;
  }
  s.sending = bytes;
  s.sent = 0;
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_send(sqe, s.fd, s.sending.data(), s.sending.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, pack(static_cast<uint8_t>(Kind::kSend), s.gen, s.slot));
  s.send_inflight = true;
}

void UringLoop::on_send(Sess& s, int res) {
  s.send_inflight = false;
  if (s.st == St::kClosing) return finish_close(s);
  if (res < 0) return fail(s, std::string(step_name(s.st)) + ": " + std::strerror(-res));
  s.sent += static_cast<size_t>(res);
  if (s.sent < s.sending.size()) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_send(sqe, s.fd, s.sending.data() + s.sent, s.sending.size() - s.sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, pack(static_cast<uint8_t>(Kind::kSend), s.gen, s.slot));
    s.send_inflight = true;
    return;
  }
  if (!s.queued.empty()) {
    // A reply was handled before our own previous write's completion (both in one batch):
    // what it sent waited in `queued`; it goes out from `owned`, stable until completed.
    s.owned.swap(s.queued);
    s.queued.clear();
    send_raw(s, s.owned);
  }
}

void UringLoop::on_reply(Sess& s) {
  const Reply& r = s.reply;
  // refusal - a 4xx/5xx to a step of the transaction: counted once per message (the
  // first reason); anything else is a protocol error.
  auto refusal = [&](const char* name) -> bool {
    if (r.kind() != 4 && r.kind() != 5) {
      fail(s, std::string(name) + ": protocol: unexpected reply " + reply_text(r));
      return false;
    }
    if (!s.refused) shared_.rejections->add(std::string(name) + ": " + reply_text(r));
    s.refused = true;
    if (r.code == 421) s.closing421 = true;
    return true;
  };
  s.deadline = run_.reply_deadline();
  switch (s.st) {
    case St::kGreeting:
      if (r.code != 220) return fail(s, "greeting: " + reply_text(r));
      s.st = St::kEhlo;
      return send(s, ehlo_line_);
    case St::kEhlo:
      if (r.code != 250) return fail(s, "EHLO: " + reply_text(r));
      s.caps = parse_capabilities(s.ehlo_lines);
      if (options_.starttls && !s.tls) {
        if (!s.caps.starttls) return fail(s, "STARTTLS: not offered by the server");
        s.st = St::kStartTls;
        return send(s, "STARTTLS\r\n");
      }
      if (options_.auth_user) {
        if (!s.caps.auth_plain) return fail(s, "AUTH: PLAIN not offered by the server");
        s.st = St::kAuth;
        return send(s, auth_line_);
      }
      return after_setup(s);
    case St::kStartTls:
      if (r.code != 220) return fail(s, "STARTTLS: " + reply_text(r));
      // Bytes after the 220 came in plaintext; reading them as if protected would let an
      // attacker inject replies (the STARTTLS command-injection class of bugs).
      if (!s.in.empty()) return fail(s, "STARTTLS: protocol: data after the 220 reply");
      return begin_tls(s);
    case St::kAuth:
      if (r.code != 235) return fail(s, "AUTH: " + reply_text(r));
      return after_setup(s);
    case St::kEnvelope: {
      const size_t last = s.envelope.lines.size() - 1;
      const char* name = s.step == 0 ? "MAIL" : s.step == last ? "DATA" : "RCPT";
      if (!positive(r, s.step == last ? 354 : 250) && !refusal(name)) return;
      if (s.closing421) return message_done(s, false);
      if (s.step == last) {
        if (r.code != 354) return message_done(s, false);  // DATA refused: no payload follows
        s.st = St::kData;  // (a refused RCPT with DATA accepted: the payload ends the transaction)
        return send(s, s.payload);
      }
      ++s.step;
      if (!s.pipelined) {
        if (s.refused) return message_done(s, false);
        return send(s, s.envelope.lines[s.step]);
      }
      return;
    }
    case St::kData:
      if (!positive(r, 250) && !refusal("end of data")) return;
      return message_done(s, !s.refused);
    case St::kRset:
      if (r.code != 250) return fail(s, "RSET: " + reply_text(r));
      return next_on_connection(s);
    case St::kQuit:
      // 221, or whatever the server says: the connection ends here either way.
      if (options_.handshake_only || options_.idle) {
        if (r.code == 221) ++stats_.accepted;
        else note_error("QUIT: " + reply_text(r));
      }
      // A TLS connection that ends without our close_notify counts as broken to OpenSSL,
      // which then marks its session not resumable (ssl_clear_bad_session in SSL_free).
      if (s.tls) s.tls->close_notify();
      return close(s, false);
    default:
      return fail(s, std::string(step_name(s.st)) + ": protocol: unexpected reply " + reply_text(r));
  }
}

void UringLoop::after_setup(Sess& s) {
  s.set_up = true;
  s.consecutive_failures = 0;
  if (options_.pipelining && !s.caps.pipelining) warn_once_no_pipelining();
  if (options_.handshake_only) {
    stats_.latency_us.record(micros_since(s.started));  // connect, greeting, EHLO, AUTH
    return quit(s);
  }
  if (options_.idle) {
    s.st = St::kHold;
    s.wake_at = std::min(Clock::now() + options_.hold, run_.hard_deadline());
    return;  // the receive stays armed: a server that closes or talks is noticed
  }
  if (!s.message) {
    s.message = std::make_unique<Message>(MessageSpec{options_.from, options_.recipients.front(), options_.helo,
                                                      options_.size.max(), s.index, shared_.run_id});
  }
  start_message(s);
}

void UringLoop::start_message(Sess& s) {
  s.claim_held = false;
  ++stats_.sent;
  s.started = Clock::now();
  s.payload_size = s.message->content_size(options_.size.sample(next_random(s.size_random)));
  s.envelope.prepare(options_, s.payload_size, s.caps.size);
  s.payload = s.message->next(s.payload_size);
  s.refused = s.closing421 = false;
  s.step = 0;
  s.pipelined = options_.pipelining && s.caps.pipelining;
  s.st = St::kEnvelope;
  s.deadline = run_.reply_deadline();
  send(s, s.pipelined ? std::string_view(s.envelope.all) : s.envelope.lines[0]);
}

void UringLoop::message_done(Sess& s, bool accepted) {
  ++s.msgs_on_conn;
  if (accepted) {
    ++stats_.accepted;
    stats_.bytes += s.payload_size;
    if (!options_.acked_log.empty()) stats_.acked_ids.emplace_back(s.message->message_id());
    stats_.latency_us.record(micros_since(s.started));
  } else {
    ++stats_.rejected;
  }
  if (s.closing421) return close(s, false);  // the server is closing: reconnect
  if (!accepted) {
    s.st = St::kRset;
    return send(s, "RSET\r\n");
  }
  next_on_connection(s);
}

void UringLoop::next_on_connection(Sess& s) {
  if (options_.per_conn != 0 && s.msgs_on_conn >= options_.per_conn) return quit(s);
  start_next(s);
}

void UringLoop::quit(Sess& s) {
  if (Clock::now() >= run_.hard_deadline()) return close(s, false);  // cut off: no QUIT
  s.st = St::kQuit;
  s.deadline = run_.reply_deadline();
  send(s, "QUIT\r\n");
}

void UringLoop::note_error(const std::string& text) {
  ++stats_.errors;
  shared_.errors->add(text);
}

// fail - an error on this session's connection: counted (unless the run's end cut it
// short), the connection closed; a failure before the session was set up backs off and
// gives up after kMaxConsecutiveConnectFailures in a row.
void UringLoop::fail(Sess& s, const std::string& what) {
  const bool run_over = Clock::now() >= run_.hard_deadline() || run_.interrupted();
  const bool counted_session = (options_.handshake_only || options_.idle) && !s.set_up;
  if (!run_over || counted_session || s.st == St::kEnvelope || s.st == St::kData) {
    note_error(run_over ? std::string(step_name(s.st)) + ": cut off by the run's hard cap" : what);
  }
  if (s.claim_held) {
    run_.release();
    s.claim_held = false;
  }
  bool back_off = false;
  if (!s.set_up && !run_over) {
    back_off = true;
    if (++s.consecutive_failures >= kMaxConsecutiveConnectFailures) {
      ++gave_up_;
      s.gave_up = true;
    }
  }
  close(s, back_off);
}

void UringLoop::close(Sess& s, bool back_off) {
  s.back_off = back_off;
  s.st = St::kClosing;
  if (s.fd >= 0) ::shutdown(s.fd, SHUT_RDWR);  // wakes a receive or connect in flight
  finish_close(s);
}

// finish_close - once nothing is in flight: close the socket, forget the connection, and
// go on (reconnect, back off, or finish).
void UringLoop::finish_close(Sess& s) {
  if (s.connect_inflight || s.recv_inflight || s.send_inflight) return;
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  ++s.gen;
  s.connected = s.set_up = false;
  if (s.tls && options_.tls_resume) {
    if (SSL_SESSION* latest = s.tls->take_session()) {
      if (s.tls_session != nullptr) SSL_SESSION_free(s.tls_session);
      s.tls_session = latest;
    }
  }
  s.tls.reset();
  s.buf.reset();
  s.in.clear();
  s.queued.clear();
  s.msgs_on_conn = 0;
  const bool run_over = Clock::now() >= run_.hard_deadline() || run_.interrupted();
  if (s.gave_up || run_over) {
    s.st = St::kDone;
    ++done_;
    return;
  }
  if (s.back_off) {
    s.st = St::kBackoff;
    s.wake_at = Clock::now() + kConnectBackoff;
    return;
  }
  s.st = St::kIdle;
  start_next(s);
}

void UringLoop::publish() {
  progress_.accepted.store(stats_.accepted, std::memory_order_relaxed);
  progress_.errors.store(stats_.errors, std::memory_order_relaxed);
  // Errors include failed connects, which started no message: clamp at zero.
  const int64_t open = static_cast<int64_t>(stats_.sent) - static_cast<int64_t>(stats_.accepted + stats_.rejected) -
                       static_cast<int64_t>(stats_.errors);
  progress_.in_flight.store(static_cast<uint64_t>(std::max<int64_t>(0, open)), std::memory_order_relaxed);
}

void UringLoop::on_tick() {
  arm_tick();
  publish();
  const Deadline now = Clock::now();
  const bool run_over = now >= run_.hard_deadline() || run_.interrupted();
  for (auto& sp : sessions_) {
    Sess& s = *sp;
    switch (s.st) {
      case St::kDone:
      case St::kClosing:
        break;
      case St::kIdle:
        break;
      case St::kWaitSlot:
        if (run_over || now >= s.wake_at) begin(s);
        break;
      case St::kBackoff:
        if (run_over) {
          s.st = St::kDone;
          ++done_;
        } else if (now >= s.wake_at) {
          s.st = St::kIdle;
          start_next(s);
        }
        break;
      case St::kHold:
        if (run_over || now >= s.wake_at) quit(s);
        break;
      default:  // waiting for the network
        if (run_over) {
          if (s.st == St::kQuit) close(s, false);
          else fail(s, std::string(step_name(s.st)) + ": cut off by the run's hard cap");
        } else if (now >= s.deadline) {
          fail(s, std::string(step_name(s.st)) + ": timed out");
        }
        break;
    }
  }
}

}  // namespace correo::blast
