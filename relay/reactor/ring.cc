// ring.cc - ring setup with fallbacks, and the buffer ring.
#include "relay/reactor/ring.h"

#include <sys/mman.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace correo {
namespace {

// kernel_at_least - multishot accept has no opcode of its own, so probe by version.
bool kernel_at_least(int major, int minor) {
  struct utsname u;
  if (uname(&u) != 0) return false;
  int ma = 0, mi = 0;
  if (sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

}  // namespace

std::string RingFeatures::describe() const {
  std::string s;
  s += defer_taskrun ? "defer_taskrun" : "no_defer_taskrun";
  s += multishot_accept ? ",multishot_accept" : ",single_accept";
  s += buffer_ring ? ",buffer_ring" : ",no_buffer_ring";
  return s;
}

namespace {

// basic_features_forced - CORREO_RING_FEATURES=basic runs the old-kernel path (plain ring,
// single-shot accept, per-connection receive buffers) so tests cover the fallbacks too.
bool basic_features_forced() {
  const char* v = getenv("CORREO_RING_FEATURES");
  return v != nullptr && strcmp(v, "basic") == 0;
}

}  // namespace

Result<std::unique_ptr<Ring>> Ring::create(unsigned entries) {
  std::unique_ptr<Ring> r(new Ring());
  const bool basic = basic_features_forced();
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | (basic ? 0 : IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
  p.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  if (rc == -EINVAL && !basic) {  // kernel before 6.1: no SINGLE_ISSUER / DEFER_TASKRUN
    p = io_uring_params{};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, &r->ring_, &p);
  } else if (rc == 0 && !basic) {
    r->features_.defer_taskrun = true;
  }
  if (rc < 0) return Error{std::string("io_uring_queue_init: ") + strerror(-rc)};
  r->initialized_ = true;
  io_uring_probe* probe = io_uring_get_probe_ring(&r->ring_);
  if (probe) {
    const bool has_accept = io_uring_opcode_supported(probe, IORING_OP_ACCEPT);
    const bool has_recv = io_uring_opcode_supported(probe, IORING_OP_RECV);
    io_uring_free_probe(probe);
    if (!has_accept || !has_recv) return Error{"io_uring lacks ACCEPT/RECV (kernel too old)"};
  }
  r->features_.multishot_accept = !basic && kernel_at_least(5, 19);
  r->features_.buffer_ring = !basic && kernel_at_least(5, 19);
  return r;
}

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  while (s == nullptr) {
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

Result<std::unique_ptr<BufferRing>> BufferRing::create(io_uring* ring, uint16_t group, unsigned count, unsigned size) {
  std::unique_ptr<BufferRing> b(new BufferRing());
  b->ring_ = ring;
  b->count_ = count;  // must be a power of two
  b->size_ = size;
  b->group_ = group;
  b->ring_bytes_ = count * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, b->ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return Error{std::string("mmap buffer ring: ") + strerror(errno)};
  b->br_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = count;
  reg.bgid = group;
  const int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) {
    munmap(mem, b->ring_bytes_);
    b->br_ = nullptr;
    return Error{std::string("io_uring_register_buf_ring: ") + strerror(-rc)};
  }
  b->base_bytes_ = static_cast<size_t>(count) * size;
  void* bufs = mmap(nullptr, b->base_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (bufs == MAP_FAILED) return Error{std::string("mmap buffers: ") + strerror(errno)};
  b->base_ = static_cast<char*>(bufs);
  io_uring_buf_ring_init(b->br_);
  const int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(b->br_, b->buffer(static_cast<uint16_t>(i)), size, static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(b->br_, static_cast<int>(count));
  return b;
}

BufferRing::~BufferRing() {
  if (br_) {
    io_uring_unregister_buf_ring(ring_, group_);
    munmap(br_, ring_bytes_);
  }
  if (base_) munmap(base_, base_bytes_);
}

void BufferRing::recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, buffer(bid), size_, bid, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(br_, 1);
}

}  // namespace correo
