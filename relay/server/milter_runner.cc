// milter_runner.cc - milter connections on the worker's ring (see milter_runner.h).
#include "relay/server/milter_runner.h"

#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "relay/common/cidr.h"
#include "relay/common/log.h"
#include "relay/policy/milter/milter_session.h"

namespace correo {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kRecvBufferSize = 16384;

// milter_sockaddr - "inet:1.2.3.4:port", "inet:[::1]:port" or "unix:/path" (validated by the loader).
bool milter_sockaddr(const std::string& address, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  if (address.starts_with("unix:")) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    const std::string path = address.substr(5);
    if (path.size() >= sizeof un->sun_path) return false;
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return true;
  }
  std::string_view rest = std::string_view(address).substr(5);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int port = std::atoi(std::string(rest.substr(colon + 1)).c_str());
  auto ip = IpAddress::parse(host);
  if (!ip || port <= 0 || port > 65535) return false;
  if (ip->v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&in6->sin6_addr, ip->bytes.data(), 16);
    len = sizeof *in6;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&ss);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&in4->sin_addr, ip->bytes.data(), 4);
    len = sizeof *in4;
  }
  return true;
}

}  // namespace

// Run - one message going through its milters; the socket is the current milter's.
struct MilterRunner::Run {
  uint32_t slot = 0;
  uint32_t generation = 0;
  bool in_use = false;
  MilterRequest request;  // content points into `content`
  std::string content;    // the message as edited so far
  bool edited = false;
  std::vector<std::string> add_rcpts, del_rcpts;
  Done done;
  size_t index = 0;       // position in request.milters
  std::unique_ptr<MilterSession> session;
  int fd = -1;
  sockaddr_storage addr{};
  socklen_t addrlen = 0;
  bool connect_inflight = false, recv_inflight = false, send_inflight = false;
  bool connected = false;
  bool closing = false;   // the socket is being torn down; the run goes on once the kernel is done
  std::string sending;
  size_t sent = 0;
  std::unique_ptr<char[]> buf;
  Clock::time_point deadline;

  Tag tag(Op op) const { return Tag{op, generation, slot}; }
  const MilterConfig& milter(const Config& c) const { return c.policy.milters[request.milters[index]]; }
};

MilterRunner::MilterRunner(const LiveConfig& config, Ring& ring) : config_(config), ring_(ring) {}

MilterRunner::~MilterRunner() {
  for (auto& r : runs_) {
    if (r->fd >= 0) ::close(r->fd);
  }
}

MilterRunner::Run* MilterRunner::lookup(Tag tag) {
  if (tag.slot >= runs_.size()) return nullptr;
  Run* r = runs_[tag.slot].get();
  if (!r->in_use || (r->generation & 0xffffff) != tag.generation) return nullptr;
  return r;
}

void MilterRunner::start(const MilterRequest& request, Done done) {
  ++stats_.runs;
  if (active_ >= kMaxRuns) {
    // Overloaded: every milter's default action, as if none answered.
    MilterOutcome o;
    for (uint32_t m : request.milters) {
      const MilterConfig& mc = config_->policy.milters[m];
      if (mc.default_action == MilterDefault::kAccept) continue;
      o.verdict = mc.default_action == MilterDefault::kReject ? MilterOutcome::Verdict::kReject
                                                             : MilterOutcome::Verdict::kTempFail;
      o.milter = mc.name;
      o.reason = "too many milter runs in progress";
      break;
    }
    ++stats_.failures;
    return done(std::move(o));
  }
  if (free_.empty()) {
    auto r = std::make_unique<Run>();
    r->slot = static_cast<uint32_t>(runs_.size());
    runs_.push_back(std::move(r));
    free_.push_back(runs_.back()->slot);
  }
  Run& r = *runs_[free_.back()];
  free_.pop_back();
  ++active_;
  r.in_use = true;
  r.request = request;
  r.content.assign(request.content);
  r.request.content = r.content;
  r.done = std::move(done);
  r.index = 0;
  connect(r);
}

// connect - a socket for the current milter; failures take the default action.
void MilterRunner::connect(Run& r) {
  const MilterConfig& m = r.milter(*config_);
  if (!milter_sockaddr(m.address, r.addr, r.addrlen)) return milter_failed(r, "bad address " + m.address);
  r.fd = ::socket(r.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (r.fd < 0) return milter_failed(r, std::string("socket: ") + strerror(errno));
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_connect(sqe, r.fd, reinterpret_cast<sockaddr*>(&r.addr), r.addrlen);
  io_uring_sqe_set_data64(sqe, r.tag(Op::kMilterConnect).pack());
  r.connect_inflight = true;
  r.deadline = Clock::now() + m.connect_timeout;
}

void MilterRunner::handle(Tag tag, int res, uint32_t flags) {
  Run* r = lookup(tag);
  if (!r) return;
  switch (tag.op) {
    case Op::kMilterConnect: return on_connect(*r, res);
    case Op::kMilterRecv: return on_recv(*r, res);
    case Op::kMilterSend: return on_send(*r, res);
    default: return;
  }
}

void MilterRunner::on_connect(Run& r, int res) {
  r.connect_inflight = false;
  if (r.closing) return maybe_free(r);
  if (res < 0) return milter_failed(r, std::string("connect: ") + strerror(-res));
  r.connected = true;
  MilterMessage msg;
  msg.client_ip = r.request.client_ip;
  msg.client_name = "[" + r.request.client_ip + "]";
  msg.client_v6 = r.request.client_ip.find(':') != std::string::npos;
  msg.helo = r.request.helo;
  msg.mail_from = r.request.sender;
  msg.mail_args = r.request.mail_args;
  msg.rcpts = r.request.recipients;
  msg.content = r.content;
  msg.queue_id = r.request.queue_id;
  msg.our_hostname = config_->server.hostname;
  msg.authenticated = !r.request.auth_user.empty();
  msg.auth_user = r.request.auth_user;
  r.session = std::make_unique<MilterSession>(msg, MilterLimits{});
  r.session->start();
  r.deadline = Clock::now() + r.milter(*config_).timeout;
  flush(r);
  arm_recv(r);
}

void MilterRunner::flush(Run& r) {
  if (r.send_inflight || r.closing) return;
  std::string& out = r.session->output();
  if (out.empty()) return;
  r.sending.swap(out);
  out.clear();
  r.sent = 0;
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_send(sqe, r.fd, r.sending.data(), r.sending.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, r.tag(Op::kMilterSend).pack());
  r.send_inflight = true;
}

void MilterRunner::on_send(Run& r, int res) {
  r.send_inflight = false;
  if (r.closing) return maybe_free(r);
  if (res < 0) return milter_failed(r, std::string("send: ") + strerror(-res));
  r.sent += static_cast<size_t>(res);
  if (r.sent < r.sending.size()) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_send(sqe, r.fd, r.sending.data() + r.sent, r.sending.size() - r.sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, r.tag(Op::kMilterSend).pack());
    r.send_inflight = true;
    return;
  }
  r.sending.clear();
  if (r.session->done()) return milter_done(r);
  flush(r);
}

void MilterRunner::arm_recv(Run& r) {
  if (r.recv_inflight || r.closing) return;
  if (!r.buf) r.buf.reset(new char[kRecvBufferSize]);
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_recv(sqe, r.fd, r.buf.get(), kRecvBufferSize, 0);
  io_uring_sqe_set_data64(sqe, r.tag(Op::kMilterRecv).pack());
  r.recv_inflight = true;
}

void MilterRunner::on_recv(Run& r, int res) {
  r.recv_inflight = false;
  if (r.closing) return maybe_free(r);
  if (res <= 0) {
    r.session->on_closed();
    if (r.session->done() && !r.session->result().failed) return milter_done(r);
    return milter_failed(r, res == 0 ? "connection closed by milter" : std::string("recv: ") + strerror(-res));
  }
  r.session->on_bytes(std::string_view(r.buf.get(), static_cast<size_t>(res)));
  r.deadline = Clock::now() + r.milter(*config_).timeout;
  if (r.session->done()) {
    if (r.session->result().failed) return milter_failed(r, r.session->result().error);
    flush(r);  // the QUIT
    if (!r.send_inflight) return milter_done(r);
    return;    // milter_done once the QUIT is sent
  }
  flush(r);
  arm_recv(r);
}

// milter_done - apply this milter's verdict and edits; then the next milter, or the end.
void MilterRunner::milter_done(Run& r) {
  const MilterResult& res = r.session->result();
  const MilterConfig& m = r.milter(*config_);
  using MV = MilterVerdict;
  MilterOutcome o;
  o.milter = m.name;
  o.reply = res.reply;
  switch (res.verdict) {
    case MV::kReject: o.verdict = MilterOutcome::Verdict::kReject; break;
    case MV::kTempFail: o.verdict = MilterOutcome::Verdict::kTempFail; break;
    case MV::kDiscard: o.verdict = MilterOutcome::Verdict::kDiscard; break;
    case MV::kQuarantine:
      o.verdict = MilterOutcome::Verdict::kHold;
      o.reason = res.quarantine_reason;
      break;
    default: break;
  }
  if (!res.header_edits.empty() || res.new_body) {
    Result<std::string> edited = apply_milter_result(r.content, res);
    if (!edited) return milter_failed(r, "edits not applicable: " + edited.error().message);
    r.content = std::move(edited.value());
    r.request.content = r.content;
    r.edited = true;
  }
  for (const std::string& a : res.added_rcpts) r.add_rcpts.push_back(a);
  for (const std::string& d : res.removed_rcpts) r.del_rcpts.push_back(d);
  for (const RejectedRecipient& rejected : res.rejected_rcpts) r.del_rcpts.push_back(rejected.address);
  LogLine(LogLevel::kDebug, "milter").kv("milter", m.name).kv("id", r.request.queue_id)
      .kv("verdict", to_string(res.verdict)).kv("edits", static_cast<uint64_t>(res.header_edits.size()));
  if (o.verdict != MilterOutcome::Verdict::kAccept) return finish(r, std::move(o));
  ++r.index;
  if (r.index < r.request.milters.size()) return close_socket(r);  // maybe_free connects the next
  finish(r, std::move(o));
}

// milter_failed - the milter is unreachable or broken: its default_action.
void MilterRunner::milter_failed(Run& r, const std::string& why) {
  ++stats_.failures;
  const MilterConfig& m = r.milter(*config_);
  LogLine(LogLevel::kWarn, "milter_failed").kv("milter", m.name).kv("id", r.request.queue_id).kv("error", why)
      .kv("default_action", m.default_action == MilterDefault::kAccept   ? "accept"
                            : m.default_action == MilterDefault::kReject ? "reject"
                                                                         : "tempfail");
  if (m.default_action == MilterDefault::kAccept) {
    ++r.index;
    if (r.index < r.request.milters.size()) return close_socket(r);  // maybe_free connects the next
    return finish(r, MilterOutcome{});
  }
  MilterOutcome o;
  o.milter = m.name;
  o.reason = why;
  o.verdict = m.default_action == MilterDefault::kReject ? MilterOutcome::Verdict::kReject
                                                        : MilterOutcome::Verdict::kTempFail;
  finish(r, std::move(o));
}

// finish - the run's answer; the socket goes away and the slot is released after it.
void MilterRunner::finish(Run& r, MilterOutcome o) {
  if (o.verdict == MilterOutcome::Verdict::kAccept || o.verdict == MilterOutcome::Verdict::kHold ||
      o.verdict == MilterOutcome::Verdict::kDiscard) {
    if (r.edited) o.content = std::move(r.content);
    o.add_rcpts = std::move(r.add_rcpts);
    o.del_rcpts = std::move(r.del_rcpts);
  }
  Done done = std::move(r.done);
  r.done = nullptr;
  r.index = r.request.milters.size();  // nothing more to run
  close_socket(r);
  if (done) done(std::move(o));
}

void MilterRunner::close_socket(Run& r) {
  if (r.fd >= 0 && !r.closing) {
    r.closing = true;
    ::shutdown(r.fd, SHUT_RDWR);
    if (r.connect_inflight || r.recv_inflight || r.send_inflight) {
      io_uring_sqe* sqe = ring_.sqe();
      io_uring_prep_cancel_fd(sqe, r.fd, IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(sqe, Tag{Op::kIgnore, 0, 0}.pack());
    }
  }
  maybe_free(r);
}

// maybe_free - once the kernel holds nothing of the socket: close it, then connect the next
// milter (a run still going) or release the run.
void MilterRunner::maybe_free(Run& r) {
  if (r.connect_inflight || r.recv_inflight || r.send_inflight) return;
  if (r.fd >= 0) {
    if (!r.closing) return;  // in use
    ::close(r.fd);
    r.fd = -1;
    r.closing = r.connected = false;
    r.session.reset();
    r.sending.clear();
  }
  if (r.done) {
    if (r.index < r.request.milters.size()) connect(r);
    return;
  }
  r.in_use = false;
  r.request = MilterRequest{};
  std::string().swap(r.content);
  r.add_rcpts.clear();
  r.del_rcpts.clear();
  r.buf.reset();
  r.edited = false;
  ++r.generation;
  free_.push_back(r.slot);
  --active_;
}

void MilterRunner::tick() {
  const auto now = Clock::now();
  for (auto& rp : runs_) {
    Run& r = *rp;
    if (!r.in_use || r.closing || r.fd < 0 || now <= r.deadline) continue;
    milter_failed(r, r.connected ? "timeout waiting for the milter" : "connect timeout");
  }
}

// shutdown - every run in flight ends now with 451: the message is not acknowledged, so
// the client keeps it and tries again (after the restart).
void MilterRunner::shutdown() {
  for (auto& rp : runs_) {
    Run& r = *rp;
    if (!r.in_use || !r.done) continue;
    MilterOutcome o;
    o.verdict = MilterOutcome::Verdict::kTempFail;
    o.milter = r.index < r.request.milters.size() ? r.milter(*config_).name : "";
    o.reason = "shutting down";
    finish(r, std::move(o));
  }
}

}  // namespace correo
