// ring.h - a worker's io_uring: creation with the best flags the kernel takes, feature
// probes, SQE allocation that never fails, and the provided-buffer ring for receives.
//
// Ring flags (liburing 2.3 / kernel >= 6.1 where available):
//   IORING_SETUP_SINGLE_ISSUER  only the owning worker thread submits;
//   IORING_SETUP_DEFER_TASKRUN  completions are processed when we wait, not via interrupts
//                                of the thread - fewer context switches under load;
//   IORING_SETUP_CQSIZE         a CQ 4x the SQ so bursts of completions do not overflow.
// Each falls back cleanly (probe at start): a kernel without them still runs correod.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>

#include "relay/common/result.h"

namespace correo {

struct RingFeatures {
  bool defer_taskrun = false;
  bool multishot_accept = false;  // IORING_ACCEPT_MULTISHOT (5.19+)
  bool buffer_ring = false;       // IORING_REGISTER_PBUF_RING (5.19+)
  std::string describe() const;
};

class Ring {
 public:
  // create - must be called on the thread that will use the ring (SINGLE_ISSUER).
  static Result<std::unique_ptr<Ring>> create(unsigned entries);
  ~Ring();

  io_uring* raw() { return &ring_; }
  const RingFeatures& features() const { return features_; }

  // sqe - a free submission entry; submits pending ones first when the SQ is full.
  io_uring_sqe* sqe();

  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

 private:
  Ring() = default;
  io_uring ring_{};
  bool initialized_ = false;
  RingFeatures features_;
};

// BufferRing - a group of fixed-size receive buffers the kernel picks from
// (IOSQE_BUFFER_SELECT), so an idle connection holds no receive memory at all.
// liburing 2.3 has no io_uring_setup_buf_ring(): the ring memory is mmapped here.
class BufferRing {
 public:
  static Result<std::unique_ptr<BufferRing>> create(io_uring* ring, uint16_t group, unsigned count, unsigned size);
  ~BufferRing();

  char* buffer(uint16_t bid) { return base_ + static_cast<size_t>(bid) * size_; }
  unsigned buffer_size() const { return size_; }
  uint16_t group() const { return group_; }
  // recycle - give a buffer back to the kernel once its bytes are consumed.
  void recycle(uint16_t bid);

  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

 private:
  BufferRing() = default;
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  size_t ring_bytes_ = 0;
  char* base_ = nullptr;
  size_t base_bytes_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  uint16_t group_ = 0;
};

}  // namespace correo
