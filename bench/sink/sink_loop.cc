// sink_loop.cc - correo-sink's per-thread io_uring event loop (see sink_loop.h).
#include "bench/sink/sink_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace correo::sink {

struct SinkLoop::Conn {
  explicit Conn(SinkContext& ctx) : session(ctx) {}
  int fd = -1;
  uint32_t slot = 0;
  uint32_t gen = 0;
  SinkSession session;
  std::unique_ptr<char[]> buf;
  std::string out;      // replies not yet handed to the kernel
  std::string sending;  // the send in flight
  size_t sent = 0;
  bool recv_inflight = false;
  bool send_inflight = false;
  bool delay_inflight = false;
  bool delayed = false;          // this batch of replies has waited --reply-delay
  bool close_after_send = false;
  bool closing = false;
  bool in_use = false;
};

Result<int> open_listener(const Options& o) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (o.address.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = family = AF_INET6;
    a->sin6_port = htons(o.port);
    if (inet_pton(AF_INET6, o.address.c_str(), &a->sin6_addr) != 1) return Error{"--listen: bad address " + o.address};
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(o.port);
    if (inet_pton(AF_INET, o.address.c_str(), &a->sin_addr) != 1) return Error{"--listen: bad address " + o.address};
    len = sizeof *a;
  }
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{std::string("socket: ") + std::strerror(errno)};
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 4096) != 0) {
    const std::string e = std::strerror(errno);
    ::close(fd);
    return Error{"listen on " + o.address + ":" + std::to_string(o.port) + ": " + e};
  }
  return fd;
}

SinkLoop::SinkLoop(const Options& o, unsigned index, int listen_fd, const std::atomic<bool>& stop)
    : options_(o), index_(index), listen_fd_(listen_fd), stop_(stop), dice_(o.seed + index) {
  ctx_.options = &options_;
  ctx_.counters = &counters_;
  ctx_.dice = &dice_;
  ctx_.thread = index;
  ctx_.ehlo_reply = build_ehlo_reply(o, &ctx_.chunking);
  tick_.tv_nsec = 100 * 1000 * 1000;
  delay_.tv_sec = o.faults.reply_delay_ms / 1000;
  delay_.tv_nsec = static_cast<long>(o.faults.reply_delay_ms % 1000) * 1000 * 1000;
}

SinkLoop::~SinkLoop() {
  for (auto& c : conns_) {
    if (c && c->fd >= 0) ::close(c->fd);
  }
}

uint64_t SinkLoop::pack(Kind k, uint32_t gen, uint32_t slot) {
  return (static_cast<uint64_t>(k) << 56) | (static_cast<uint64_t>(gen & 0xffffff) << 32) | slot;
}

void SinkLoop::run() {
  auto ring = Ring::create(4096);
  if (!ring) {
    error_ = ring.error().message;
    return;
  }
  ring_ = std::move(ring.value());
  arm_accept();
  arm_tick();
  io_uring* r = ring_->raw();
  while (!stop_.load(std::memory_order_relaxed)) {
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
      const Kind kind = static_cast<Kind>(data >> 56);
      const uint32_t gen = static_cast<uint32_t>((data >> 32) & 0xffffff);
      const uint32_t slot = static_cast<uint32_t>(data);
      if (kind == Kind::kAccept) {
        on_accept(cqe->res, cqe->flags);
        continue;
      }
      if (kind == Kind::kTick) {
        arm_tick();
        continue;
      }
      if (slot >= conns_.size() || (conns_[slot]->gen & 0xffffff) != gen) continue;
      Conn& c = *conns_[slot];
      if (kind == Kind::kRecv) {
        on_recv(c, cqe->res);
      } else if (kind == Kind::kSend) {
        on_send(c, cqe->res);
      } else if (kind == Kind::kDelay) {
        c.delay_inflight = false;
        c.delayed = true;
        if (c.closing) {
          maybe_free(c);
        } else {
          send_now(c);
        }
      }
    }
    io_uring_cq_advance(r, seen);
  }
}

void SinkLoop::arm_accept() {
  io_uring_sqe* sqe = ring_->sqe();
  if (ring_->features().multishot_accept) {
    io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } else {
    io_uring_prep_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  }
  io_uring_sqe_set_data64(sqe, pack(Kind::kAccept, 0, 0));
}

void SinkLoop::arm_tick() {
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_timeout(sqe, &tick_, 0, 0);
  io_uring_sqe_set_data64(sqe, pack(Kind::kTick, 0, 0));
}

void SinkLoop::on_accept(int res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) arm_accept();
  if (res < 0) return;  // EMFILE and friends: the next accept tries again
  const int fd = res;
  if (active_ >= options_.max_connections) {
    static const char kBusy[] = "421 4.3.2 Too many connections\r\n";
    (void)!::send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    counters_.refused.add();
    counters_.replies[421].add();
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(conns_.size());
    conns_.push_back(nullptr);
  }
  const uint32_t gen = conns_[slot] ? conns_[slot]->gen + 1 : 0;
  conns_[slot] = std::make_unique<Conn>(ctx_);  // a fresh session for every connection
  Conn& c = *conns_[slot];
  c.fd = fd;
  c.slot = slot;
  c.gen = gen;
  c.in_use = true;
  c.buf = std::make_unique<char[]>(kRecvSize);
  ++active_;
  counters_.connections.add();
  c.session.greet(c.out);
  flush(c);
  arm_recv(c);
}

void SinkLoop::arm_recv(Conn& c) {
  if (c.recv_inflight || c.closing || c.close_after_send) return;
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_recv(sqe, c.fd, c.buf.get(), kRecvSize, 0);
  io_uring_sqe_set_data64(sqe, pack(Kind::kRecv, c.gen, c.slot));
  c.recv_inflight = true;
}

void SinkLoop::on_recv(Conn& c, int res) {
  c.recv_inflight = false;
  if (c.closing) return maybe_free(c);
  if (res <= 0) return close(c);
  const SinkSession::Next next = c.session.feed(std::string_view(c.buf.get(), static_cast<size_t>(res)), c.out);
  if (next == SinkSession::Next::kDropNow) return close(c);
  if (next == SinkSession::Next::kCloseAfterSend) c.close_after_send = true;
  flush(c);
  if (c.out.size() + c.sending.size() < kMaxPendingOutput) arm_recv(c);  // else resumed by on_send
}

void SinkLoop::flush(Conn& c) {
  if (c.out.empty() || c.send_inflight || c.delay_inflight) return;
  if (options_.faults.reply_delay_ms > 0 && !c.delayed) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_timeout(sqe, &delay_, 0, 0);
    io_uring_sqe_set_data64(sqe, pack(Kind::kDelay, c.gen, c.slot));
    c.delay_inflight = true;
    return;
  }
  send_now(c);
}

void SinkLoop::send_now(Conn& c) {
  if (c.out.empty() || c.send_inflight) return;
  c.sending.swap(c.out);
  c.out.clear();
  c.sent = 0;
  c.delayed = false;  // the next batch waits again
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_send(sqe, c.fd, c.sending.data(), c.sending.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, pack(Kind::kSend, c.gen, c.slot));
  c.send_inflight = true;
}

void SinkLoop::on_send(Conn& c, int res) {
  c.send_inflight = false;
  if (c.closing) return maybe_free(c);
  if (res < 0) return close(c);
  c.sent += static_cast<size_t>(res);
  if (c.sent < c.sending.size()) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, pack(Kind::kSend, c.gen, c.slot));
    c.send_inflight = true;
    return;
  }
  c.sending.clear();
  if (!c.out.empty()) return flush(c);
  if (c.close_after_send) return close(c);
  arm_recv(c);
}

// close - wake the operations still in flight (shutdown), free the slot once they are back.
void SinkLoop::close(Conn& c) {
  if (c.closing) return;
  c.closing = true;
  ::shutdown(c.fd, SHUT_RDWR);
  maybe_free(c);
}

void SinkLoop::maybe_free(Conn& c) {
  if (c.recv_inflight || c.send_inflight || c.delay_inflight || !c.in_use) return;
  ::close(c.fd);
  c.fd = -1;
  c.in_use = false;
  c.buf.reset();
  std::string().swap(c.out);
  std::string().swap(c.sending);
  --active_;
  free_.push_back(c.slot);
}

}  // namespace correo::sink
