// outbound.cc - destinations, resolution, connections and the client dialogue on the ring.
#include "relay/server/outbound.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "queue/queue_id.h"
#include "relay/common/clock.h"
#include "relay/common/log.h"
#include "tls/tls_stream.h"
#include "relay/delivery/mime_downgrade.h"

namespace correo {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kRecvSize = 16384;
constexpr auto kTargetsTtl = std::chrono::seconds(10);  // the resolver caches longer, by TTL

ServerReply reply(std::string_view enhanced, std::string text) {
  ServerReply r;
  r.enhanced.assign(enhanced);
  r.text = std::move(text);
  return r;
}

// dns_failure - the reply recipients get when their next hop cannot be resolved.
ServerReply dns_failure(DnsStatus s, const std::string& name, const std::string& type, const std::string& error) {
  switch (s) {
    case DnsStatus::kNxDomain:
    case DnsStatus::kNoData:
      return reply("5.1.2", "Host or domain name not found. Name service error for name=" + name + " type=" + type +
                                ": Host not found");
    case DnsStatus::kNullMx:
      return reply("5.1.10", "Domain " + name + " does not accept mail (nullMX, RFC 7505)");
    default:
      return reply("4.4.3", "Host or domain name lookup failed for name=" + name + " type=" + type +
                                (error.empty() ? "" : ": " + error));
  }
}

}  // namespace

struct Outbound::Conn {
  uint32_t slot = 0;
  uint32_t generation = 0;
  int fd = -1;
  std::string dest_key;
  std::unique_ptr<SmtpClient> client;
  bool has_job = false;
  DeliveryJob job;
  std::vector<Target> targets;
  size_t target = 0;  // index of the target being tried
  std::string remote;
  sockaddr_storage addr{};
  socklen_t addrlen = 0;
  std::string sending;
  size_t sent = 0;
  std::string converted;  // the 7-bit version of the current job's body, when one was needed
  std::unique_ptr<TlsStream> tls;  // after STARTTLS
  bool tls_disabled = false;       // this address failed a handshake: clear text
  std::string tls_summary;         // for the delivery log: version, cipher, verification
  std::unique_ptr<char[]> buf;
  bool connect_inflight = false, recv_inflight = false, send_inflight = false;
  bool counted = false;  // in its destination's connections and in open_
  bool opening = false;  // counted and not yet ready for a first transaction
  bool idle = false;
  bool quitting = false;
  bool closing = false;
  uint32_t messages = 0;
  ServerReply last_failure;
  Clock::time_point deadline;
  Clock::time_point idle_since;

  Tag tag(Op op) const { return Tag{op, generation, slot}; }
};

Outbound::Outbound(unsigned worker, const LiveConfig& config, Ring& ring, Scheduler& scheduler, WorkerMetrics& metrics)
    : worker_(worker), config_(config), ring_(ring), scheduler_(scheduler), metrics_(metrics) {
  total_limit_ = std::max(1u, config->delivery.connections_total / std::max(1u, config->server.workers));
}

// ~Outbound - the resolver goes first: ares_destroy() reports closing sockets through
// watch(), which needs dns_watch_ and the ring.
Outbound::~Outbound() { resolver_.reset(); }

Status Outbound::init() {
  ResolverOptions o;
  o.servers = config_->dns.servers;
  o.cache_entries = config_->dns.cache_entries;
  o.timeout = config_->dns.timeout;
  o.metrics = &metrics_.dns;
  auto r = Resolver::create(o, *this);
  if (!r) return Error{"worker " + std::to_string(worker_) + ": DNS: " + r.error().message};
  resolver_ = std::move(r.value());
  if (config_->delivery.tls != OutboundTls::kNone) {
    auto ctx = TlsContext::client(config_->delivery.tls == OutboundTls::kVerify);
    if (!ctx) return Error{"worker " + std::to_string(worker_) + ": outbound TLS: " + ctx.error().message};
    client_tls_ = ctx.value();
  }
  return Ok{};
}

Outbound::Destination* Outbound::destination(const std::string& key) {
  auto it = dests_.find(key);
  return it == dests_.end() ? nullptr : &it->second;
}

Outbound::Conn* Outbound::lookup(Tag t) {
  if (t.slot >= conns_.size()) return nullptr;
  Conn* c = conns_[t.slot].get();
  if (c->fd < 0 || (c->generation & 0xffffff) != t.generation) return nullptr;
  return c;
}

void Outbound::take_jobs() {
  DeliveryJob job;
  while (scheduler_.pop_job(worker_, job)) {
    const std::string key = job.hop.key();
    auto [it, inserted] = dests_.try_emplace(key);
    if (inserted) it->second.hop = job.hop;
    it->second.queue.push_back(std::move(job));
    pump(it->second);
  }
  pump_waiting();
}

// pump_waiting - after a connection slot was released: every destination with queued jobs
// gets another chance (per-destination or total limits may have held it back). Called at
// the end of each entry point rather than from close(), which runs deep inside pump().
void Outbound::pump_waiting() {
  while (pump_pending_) {
    pump_pending_ = false;
    for (auto& [key, d] : dests_) {
      if (!d.queue.empty()) pump(d);
    }
  }
}

// pump - give queued jobs to idle connections, resolve, or open connections within limits.
void Outbound::pump(Destination& d) {
  while (!d.queue.empty()) {
    if (!d.idle.empty()) {
      Conn& c = *conns_[d.idle.back()];
      d.idle.pop_back();
      c.idle = false;
      start_next(c);
      continue;
    }
    if (d.targets.empty() || Clock::now() > d.targets_expire) {
      if (!d.resolving) resolve(d);  // may call pump() again when answered from the cache
      return;
    }
    if (d.connections >= config_->delivery.connections_per_destination || open_ >= total_limit_ ||
        d.opening >= d.queue.size()) {
      return;
    }
    open(d, 0);
  }
}

// resolve - MX (when the next hop asks for it), then the addresses of every host.
void Outbound::resolve(Destination& d) {
  d.resolving = true;
  const std::string key = d.hop.key();
  const NextHop hop = d.hop;
  if (auto ip = IpAddress::parse(hop.host)) {
    on_resolved(key, {Target{hop.host, *ip}}, ServerReply{});
    return;
  }
  if (!hop.mx) {
    resolver_->resolve_host(hop.host, [this, key, hop](const AddressAnswer& a) {
      std::vector<Target> targets;
      for (const IpAddress& ip : a.addresses) targets.push_back(Target{hop.host, ip});
      on_resolved(key, std::move(targets), dns_failure(a.status, hop.host, "A", a.error));
    });
    return;
  }
  resolver_->resolve_mx(hop.host, [this, key, hop](const MxAnswer& mx) {
    if (mx.status != DnsStatus::kOk || mx.hosts.empty()) {
      on_resolved(key, {}, dns_failure(mx.status, hop.host, "MX", mx.error));
      return;
    }
    // Resolve every MX host; assemble targets in MX order once all have answered.
    struct Gather {
      std::vector<MxHost> hosts;
      std::vector<AddressAnswer> answers;
      size_t remaining;
    };
    auto g = std::make_shared<Gather>(Gather{mx.hosts, std::vector<AddressAnswer>(mx.hosts.size()), mx.hosts.size()});
    for (size_t i = 0; i < g->hosts.size(); ++i) {
      resolver_->resolve_host(g->hosts[i].name, [this, key, g, i, hop](const AddressAnswer& a) {
        g->answers[i] = a;
        if (--g->remaining != 0) return;
        std::vector<Target> targets;
        bool temporary = false;
        std::string error;
        for (size_t k = 0; k < g->hosts.size(); ++k) {
          for (const IpAddress& ip : g->answers[k].addresses) targets.push_back(Target{g->hosts[k].name, ip});
          if (g->answers[k].status == DnsStatus::kTempFail) {
            temporary = true;
            error = g->answers[k].error;
          }
        }
        on_resolved(key, std::move(targets),
                    dns_failure(temporary ? DnsStatus::kTempFail : DnsStatus::kNxDomain, g->hosts.front().name, "A",
                                error));
      });
    }
  });
}

void Outbound::on_resolved(const std::string& key, std::vector<Target> targets, const ServerReply& failure) {
  Destination* d = destination(key);
  if (d == nullptr) return;
  d->resolving = false;
  if (targets.empty()) {
    LogLine(LogLevel::kInfo, "dns_failed").kv("destination", key).kv("reply", failure.enhanced + " " + failure.text);
    fail_queue(*d, failure, "");
    return;
  }
  d->targets = std::move(targets);
  d->targets_expire = Clock::now() + kTargetsTtl;
  pump(*d);
}

void Outbound::fail_queue(Destination& d, const ServerReply& r, const std::string& remote) {
  while (!d.queue.empty()) {
    DeliveryJob job = std::move(d.queue.front());
    d.queue.pop_front();
    answer(job, std::vector<ServerReply>(job.rcpts.size(), r), remote, false);
  }
}

void Outbound::answer(const DeliveryJob& job, const std::vector<ServerReply>& replies, const std::string& remote,
                      bool dsn, const std::string& tls) {
  DeliveryOutcome o;
  o.tls = tls;
  o.id = job.id;
  o.job = job.job;
  o.replies = replies;
  o.remote = remote;
  o.peer_dsn = dsn;
  scheduler_.push_outcome(worker_, std::move(o));
}

Outbound::Conn& Outbound::open(Destination& d, size_t first_target) {
  if (free_.empty()) {
    auto c = std::make_unique<Conn>();
    c->slot = static_cast<uint32_t>(conns_.size());
    conns_.push_back(std::move(c));
    free_.push_back(conns_.back()->slot);
  }
  Conn& c = *conns_[free_.back()];
  free_.pop_back();
  c.dest_key = d.hop.key();
  c.targets = d.targets;
  c.target = first_target < d.targets.size() ? first_target : 0;
  c.counted = c.opening = true;
  ++d.connections;
  ++d.opening;
  ++open_;
  metrics_.outbound_connections.add();
  connect_next(c);
  return c;
}

// connect_next - a fresh socket to targets[target]; the previous attempt has completed.
void Outbound::connect_next(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);
  const Target& t = c.targets[c.target];
  Destination* d = destination(c.dest_key);
  const uint16_t port = d ? d->hop.port : config_->delivery.port;
  c.addr = sockaddr_storage{};
  if (t.address.v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&c.addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    memcpy(&a->sin6_addr, t.address.bytes.data(), 16);
    c.addrlen = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&c.addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    memcpy(&a->sin_addr, t.address.bytes.data(), 4);
    c.addrlen = sizeof(sockaddr_in);
  }
  c.remote = t.host + "[" + t.address.to_string() + "]:" + std::to_string(port);
  c.tls_disabled = d && d->tls_broken.count(c.remote) > 0;
  c.fd = ::socket(t.address.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    c.last_failure = reply("4.4.1", "socket: " + std::string(strerror(errno)));
    const ServerReply why = c.last_failure;  // c may be recycled by close()
    close(c);
    if (d && d->connections == 0) fail_queue(*d, why, "");
    return;
  }
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_connect(sqe, c.fd, reinterpret_cast<sockaddr*>(&c.addr), c.addrlen);
  io_uring_sqe_set_data64(sqe, c.tag(Op::kOutConnect).pack());
  c.connect_inflight = true;
  c.deadline = Clock::now() + config_->delivery.connect_timeout;
}

void Outbound::handle(Tag tag, int res, uint32_t flags) {
  if (tag.op == Op::kDnsPoll) {
    auto it = dns_watch_.find(static_cast<int>(tag.slot));
    if (it == dns_watch_.end() || it->second.generation != tag.generation) return;
    DnsWatch& w = it->second;
    w.armed = false;
    if (res > 0) resolver_->on_fd_event(static_cast<int>(tag.slot), res & (POLLIN | POLLERR | POLLHUP), res & POLLOUT);
    auto again = dns_watch_.find(static_cast<int>(tag.slot));
    if (again != dns_watch_.end() && !again->second.armed && (again->second.readable || again->second.writable)) {
      arm_poll(static_cast<int>(tag.slot), again->second);
    }
    return;
  }
  Conn* c = lookup(tag);
  if (c == nullptr) return;
  switch (tag.op) {
    case Op::kOutConnect: on_connect(*c, res); break;
    case Op::kOutRecv: on_recv(*c, res); break;
    case Op::kOutSend: on_send(*c, res); break;
    default: break;
  }
  pump_waiting();
}

void Outbound::on_connect(Conn& c, int res) {
  c.connect_inflight = false;
  if (c.closing) return close(c);
  if (res < 0) {
    c.last_failure = reply("4.4.1", "connect to " + c.remote + ": " +
                                        (res == -ECANCELED ? std::string("Connection timed out") : strerror(-res)));
    LogLine(LogLevel::kDebug, "connect_failed").kv("remote", c.remote).kv("error", c.last_failure.text);
    if (++c.target < c.targets.size()) return connect_next(c);
    Destination* d = destination(c.dest_key);
    const ServerReply why = c.last_failure;
    close(c);
    // No connection to this destination is established (others may still be connecting to
    // the same dead hosts): defer what waits for it now. Waiting for those would let each
    // failure re-open for the queue while another attempt is pending, a connect storm. No
    // relay is named: none answered (as Postfix logs relay=none; the reply names the host).
    if (d && d->connections - d->opening == 0) fail_queue(*d, why, "");
    return;
  }
  ClientTls policy = ClientTls::kNone;
  if (client_tls_ && !c.tls_disabled) {
    policy = config_->delivery.tls == OutboundTls::kVerify ? ClientTls::kRequired : ClientTls::kOpportunistic;
  }
  c.client = std::make_unique<SmtpClient>(config_->server.hostname, policy);
  c.deadline = Clock::now() + config_->delivery.reply_timeout;
  arm_recv(c);
}

void Outbound::arm_recv(Conn& c) {
  if (c.recv_inflight || c.closing || c.fd < 0 || !c.client) return;  // closed or freed meanwhile
  if (!c.buf) c.buf.reset(new char[kRecvSize]);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, c.fd, c.buf.get(), kRecvSize, 0);
  io_uring_sqe_set_data64(sqe, c.tag(Op::kOutRecv).pack());
  c.recv_inflight = true;
}

void Outbound::on_recv(Conn& c, int res) {
  c.recv_inflight = false;
  if (c.closing) return close(c);
  if (res <= 0) {
    if (c.quitting) return close(c);
    if (c.tls && !c.tls->open()) return handshake_failed(c, "connection closed during the handshake");
    return conn_failed(c, reply("4.4.2", "lost connection with " + c.remote +
                                             (res < 0 ? std::string(": ") + strerror(-res) : std::string())));
  }
  const std::string_view bytes(c.buf.get(), static_cast<size_t>(res));
  if (c.tls) {
    if (!tls_input(c, bytes)) return;
  } else {
    c.client->feed(bytes);
  }
  c.deadline = Clock::now() +
               (c.client->phase() == ClientPhase::kDot ? config_->delivery.data_done_timeout : config_->delivery.reply_timeout);
  drive(c);
  if (!c.closing) arm_recv(c);
}

// begin_tls - the peer said 220 to STARTTLS and our STARTTLS has left: ClientHello.
void Outbound::begin_tls(Conn& c) {
  // The identity to present (SNI) and verify: the MX host or the next hop's name, or for
  // an address-only next hop ("[192.0.2.1]") the address itself.
  const Target& t = c.targets[c.target];
  const std::string peer = t.host.empty() ? t.address.to_string() : t.host;
  c.tls = TlsStream::client(client_tls_, peer, config_->delivery.tls == OutboundTls::kVerify);
  if (!c.tls) {
    metrics_.tls_outbound_failures[static_cast<size_t>(TlsFailure::kUnavailable)].add();
    return conn_failed(c, reply("4.7.5", "cannot create a TLS session for " + c.remote));
  }
  tls_plain_.clear();
  c.tls->read(tls_plain_);  // writes the ClientHello
  flush(c);
}

// handshake_failed - no TLS with this peer. Opportunistic: the same address again at once,
// in clear (RFC 7435: a broken TLS stack must not stop mail that flows in clear). verify:
// 4.7.5 and the next host, never clear text.
void Outbound::handshake_failed(Conn& c, const std::string& error) {
  const bool opportunistic = config_->delivery.tls == OutboundTls::kOpportunistic;
  const bool verify = error.find("verif") != std::string::npos;  // OpenSSL: "certificate verify failed"
  metrics_.tls_outbound_failures[static_cast<size_t>(verify ? TlsFailure::kVerify : TlsFailure::kHandshake)].add();
  LogLine(LogLevel::kInfo, "tls_failed").kv("remote", c.remote).kv("error", error)
      .kv("next", opportunistic ? "retry in clear" : "next host");
  Destination* d = destination(c.dest_key);
  if (opportunistic && d && !c.has_job) {
    d->tls_broken.insert(c.remote);
    const size_t same = c.target;
    close(c);
    open(*d, same);
    return;
  }
  conn_failed(c, reply("4.7.5", "TLS handshake with " + c.remote + " failed: " + error));
}

// tls_input - ciphertext from the peer; false when the connection was given up.
bool Outbound::tls_input(Conn& c, std::string_view ciphertext) {
  const bool was_open = c.tls->open();
  c.tls->put_ciphertext(ciphertext);
  tls_plain_.clear();
  const TlsStream::State state = c.tls->read(tls_plain_);
  if (state == TlsStream::State::kFailed) {
    if (was_open) {
      conn_failed(c, reply("4.4.2", "TLS error with " + c.remote + ": " + c.tls->error()));
    } else {
      handshake_failed(c, c.tls->error());
    }
    return false;
  }
  if (!was_open && c.tls->open()) {
    const TlsInfo info = c.tls->info();
    c.tls_summary = info.version + " " + info.cipher + " verify=" + c.tls->verify_result();
    metrics_.tls_outbound_handshakes.add();
    LogLine(LogLevel::kDebug, "tls").kv("remote", c.remote).kv("version", info.version).kv("cipher", info.cipher)
        .kv("verify", c.tls->verify_result());
    c.client->on_tls_established();
  }
  if (!tls_plain_.empty()) c.client->feed(tls_plain_);
  if (state == TlsStream::State::kClosed) {
    if (c.quitting) {
      close(c);
    } else {
      conn_failed(c, reply("4.4.2", "lost connection with " + c.remote + " (TLS closed)"));
    }
    return false;
  }
  return true;
}

// drive - act on the client's state after input.
void Outbound::drive(Conn& c) {
  if (c.client->failed()) return conn_failed(c, c.client->failure());
  if (c.client->starting_tls() && !c.tls) {
    if (!c.send_inflight) begin_tls(c);  // else from on_send, once STARTTLS has left
    return;
  }
  if (c.has_job && c.client->transaction_done()) finish_transaction(c);
  if (c.closing) return;
  if (!c.has_job && !c.idle && !c.quitting && c.client->ready()) {
    if (c.opening) {
      c.opening = false;
      if (Destination* d = destination(c.dest_key)) --d->opening;
      LogLine(LogLevel::kDebug, "connected").kv("remote", c.remote).kv("worker", worker_);
    }
    start_next(c);
  }
  if (c.closing) return;
  flush(c);
  if (c.client->closed()) close(c);
}

// start_next - the next job of this connection's destination, or idle, or QUIT.
void Outbound::start_next(Conn& c) {
  Destination* d = destination(c.dest_key);
  // delivery.reuse_messages bounds every connection, busy or not: retire it and let the
  // destination open a fresh one for what is queued (pump_waiting, once the slot is free).
  const bool worn_out = c.messages >= config_->delivery.reuse_messages;
  while (d && !d->queue.empty() && !worn_out) {
    c.job = std::move(d->queue.front());
    d->queue.pop_front();
    const MessageForDelivery& m = *c.job.message;
    OutboundMessage msg;
    msg.sender = m.envelope.sender;
    for (uint32_t i : c.job.rcpts) {
      const Recipient& r = m.envelope.recipients[i];
      msg.recipients.push_back(OutboundRecipient{r.address, r.notify, r.orcpt});
    }
    msg.body = m.body;
    msg.body_type = m.envelope.body;
    if (m.envelope.by_mode != ByMode::kNone) {  // the time that is left (RFC 2852 §4.1.4)
      const int64_t now = unix_now_us();
      msg.by_mode = m.envelope.by_mode;
      msg.by_seconds = (m.envelope.deliver_by_us - now) / 1'000'000;
      msg.by_trace = m.envelope.by_trace;
      if (msg.by_mode == ByMode::kReturn && msg.by_seconds <= 0) msg.by_mode = ByMode::kNone;  // expired: the scheduler returns it
    }
    // RFC 6152 §3: to a peer without 8BITMIME, 8-bit content is converted to 7-bit MIME, or
    // the message is returned when that cannot be done.
    if (!c.client->extensions().eightbitmime) {
      Downgrade dg = downgrade_to_7bit(m.body);
      if (dg.result == DowngradeResult::kImpossible) {
        ServerReply r;
        r.code = 554;
        r.enhanced = "5.6.3";
        r.text = "conversion to 7-bit required for " + c.remote + " but not possible: " + dg.reason;
        answer(c.job, std::vector<ServerReply>(c.job.rcpts.size(), r), c.remote, false);
        continue;
      }
      if (dg.result == DowngradeResult::kConverted) {
        c.converted = std::move(dg.message);
        msg.body = c.converted;
        msg.body_type = BodyType::k7Bit;
      }
    }
    msg.smtputf8 = m.envelope.smtputf8;
    msg.ret = m.envelope.ret;
    msg.envid = m.envelope.envid;
    ServerReply refusal;
    if (!c.client->start_transaction(msg, &refusal)) {
      answer(c.job, std::vector<ServerReply>(c.job.rcpts.size(), refusal), c.remote, false);
      continue;
    }
    if (c.messages > 0) metrics_.outbound_reused.add();
    c.has_job = true;
    c.deadline = Clock::now() + config_->delivery.reply_timeout;
    flush(c);
    return;
  }
  if (!worn_out && config_->delivery.reuse_time.count() > 0 && d) {
    c.idle = true;
    c.idle_since = Clock::now();
    d->idle.push_back(c.slot);
    return;
  }
  c.quitting = true;
  c.client->quit();
  flush(c);
}

void Outbound::finish_transaction(Conn& c) {
  TransactionResult result = c.client->take_result();
  ++c.messages;
  metrics_.outbound_transactions.add();
  c.has_job = false;
  answer(c.job, result.recipients, c.remote, c.client->extensions().dsn, c.tls_summary);
  c.job = DeliveryJob{};
  std::string().swap(c.converted);
}

// conn_failed - the connection is unusable: answer its job, try the next host if it never
// got going, and let the destination open new connections for what is queued.
void Outbound::conn_failed(Conn& c, ServerReply why) {  // by value: it may outlive c.client
  Destination* d = destination(c.dest_key);
  if (c.has_job) {
    std::vector<ServerReply> replies(c.job.rcpts.size(), why);
    if (c.client && c.client->transaction_done()) {
      TransactionResult r = c.client->take_result();
      for (size_t k = 0; k < replies.size() && k < r.recipients.size(); ++k) {
        if (r.recipients[k].code != 0) replies[k] = r.recipients[k];
      }
    }
    for (ServerReply& r : replies) {
      if (r.code == 0 && r.enhanced.empty()) r.enhanced = "4.4.2";
    }
    answer(c.job, replies, c.remote, false);
    c.has_job = false;
    close(c);
    if (d) pump(*d);
    return;
  }
  const bool setup = c.opening;
  const size_t next = c.target + 1;
  std::vector<Target> targets = c.targets;
  close(c);
  if (!setup || !d) {
    if (d) pump(*d);
    return;
  }
  // Greeting or EHLO refused (4xx/5xx) or broken: the next MX host (RFC 5321 §5.1).
  ServerReply r = why;
  r.text = "host " + c.remote + " refused to talk to me: " + why.to_string();
  r.code = 0;
  r.enhanced = "4.4.2";
  LogLine(LogLevel::kInfo, "host_refused").kv("remote", c.remote).kv("reply", why.to_string());
  if (next < targets.size() && next < d->targets.size() && !d->queue.empty()) {
    open(*d, next);
    return;
  }
  if (d->connections == 0) fail_queue(*d, r, "");
}

void Outbound::flush(Conn& c) {
  if (c.send_inflight || c.closing || !c.client) return;
  std::string& out = c.client->output();
  if (c.tls) {
    if (c.tls->open() && !out.empty() && !c.tls->write(out)) {
      out.clear();
      return conn_failed(c, reply("4.4.2", "TLS error with " + c.remote + ": " + c.tls->error()));
    }
    out.clear();
    std::string().swap(c.sending);
    if (!c.tls->take_ciphertext(c.sending)) return;
  } else {
    if (out.empty()) return;
    c.sending.swap(out);
    out.clear();
  }
  c.sent = 0;
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_send(sqe, c.fd, c.sending.data(), c.sending.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, c.tag(Op::kOutSend).pack());
  c.send_inflight = true;
}

void Outbound::on_send(Conn& c, int res) {
  c.send_inflight = false;
  if (c.closing) return close(c);
  if (res < 0) return conn_failed(c, reply("4.4.2", "lost connection with " + c.remote + " while sending: " + strerror(-res)));
  c.sent += static_cast<size_t>(res);
  if (c.sent < c.sending.size()) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, c.tag(Op::kOutSend).pack());
    c.send_inflight = true;
    return;
  }
  std::string().swap(c.sending);
  if (c.quitting && c.client->output().empty()) return close(c);  // QUIT is out: done
  if (c.client->starting_tls() && !c.tls) return begin_tls(c);
  flush(c);
}

// close - leave the destination's accounting now; free the slot once the kernel is done.
void Outbound::close(Conn& c) {
  if (c.counted) {
    if (Destination* d = destination(c.dest_key)) {
      --d->connections;
      if (c.opening) --d->opening;
      d->idle.erase(std::remove(d->idle.begin(), d->idle.end(), c.slot), d->idle.end());
    }
    --open_;
    c.counted = false;
    c.opening = false;
    pump_pending_ = true;  // a slot is free: destinations waiting for one may go on
  }
  if (!c.closing) {
    c.closing = true;
    if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);
    if (c.connect_inflight || c.recv_inflight) {
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(sqe, Tag{Op::kIgnore, 0, 0}.pack());
    }
  }
  if (c.connect_inflight || c.recv_inflight || c.send_inflight) return;
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  c.client.reset();
  c.tls.reset();
  c.tls_summary.clear();
  c.tls_disabled = false;
  c.buf.reset();
  c.job = DeliveryJob{};
  c.has_job = c.idle = c.quitting = c.closing = false;
  c.messages = 0;
  ++c.generation;
  free_.push_back(c.slot);
}

// tick - connect and reply timeouts, idle connections past reuse_time, c-ares timers.
void Outbound::tick() {
  if (resolver_) resolver_->on_tick();
  const auto now = Clock::now();
  // By index: conn_failed() may open connections, and conns_ may grow under us.
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = *conns_[i];
    if (c.fd < 0 || c.closing) continue;
    if (c.connect_inflight) {
      if (now > c.deadline) {  // the connect completes with -ECANCELED and moves on
        io_uring_sqe* sqe = ring_.sqe();
        io_uring_prep_cancel64(sqe, c.tag(Op::kOutConnect).pack(), 0);
        io_uring_sqe_set_data64(sqe, Tag{Op::kIgnore, 0, 0}.pack());
        c.deadline = now + config_->delivery.connect_timeout;
      }
    } else if (c.idle) {
      if (now - c.idle_since >= config_->delivery.reuse_time) {
        c.idle = false;
        if (Destination* d = destination(c.dest_key)) {
          d->idle.erase(std::remove(d->idle.begin(), d->idle.end(), c.slot), d->idle.end());
        }
        c.quitting = true;
        c.client->quit();
        flush(c);
      }
    } else if (now > c.deadline) {
      conn_failed(c, reply("4.4.2", "timeout waiting for a reply from " + c.remote));
    }
  }
  pump_waiting();
  for (auto it = dests_.begin(); it != dests_.end();) {
    const Destination& d = it->second;
    if (d.queue.empty() && d.connections == 0 && !d.resolving) {
      it = dests_.erase(it);
    } else {
      ++it;
    }
  }
}

void Outbound::shutdown() {
  const ServerReply stopping = reply("4.3.2", "delivery interrupted: the relay is shutting down");
  for (auto& [key, d] : dests_) fail_queue(d, stopping, "");
  for (auto& cp : conns_) {
    Conn& c = *cp;
    if (c.fd < 0 || c.closing) continue;
    if (c.has_job) {
      answer(c.job, std::vector<ServerReply>(c.job.rcpts.size(), stopping), c.remote, false);
      c.has_job = false;
    }
    close(c);
  }
}

// watch - c-ares wants (or no longer wants) to hear about a socket: one poll per socket.
void Outbound::watch(int fd, bool readable, bool writable) {
  DnsWatch& w = dns_watch_[fd];
  const bool changed = w.readable != readable || w.writable != writable;
  w.readable = readable;
  w.writable = writable;
  if (w.armed && changed) {  // drop the old poll; its completion carries a stale generation
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_poll_remove(sqe, Tag{Op::kDnsPoll, w.generation, static_cast<uint32_t>(fd)}.pack());
    io_uring_sqe_set_data64(sqe, Tag{Op::kIgnore, 0, 0}.pack());
    w.armed = false;
  }
  if (!readable && !writable) {
    dns_watch_.erase(fd);
    return;
  }
  if (!w.armed) arm_poll(fd, w);
}

void Outbound::arm_poll(int fd, DnsWatch& w) {
  w.generation = ++dns_generation_ & 0xffffff;
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_poll_add(sqe, fd, (w.readable ? POLLIN : 0) | (w.writable ? POLLOUT : 0));
  io_uring_sqe_set_data64(sqe, Tag{Op::kDnsPoll, w.generation, static_cast<uint32_t>(fd)}.pack());
  w.armed = true;
}

}  // namespace correo
