// sink_loop.h - one correo-sink thread: its own io_uring and its own SO_REUSEPORT listener,
// many connections as state machines (SinkSession), no blocking call on the hot path.
//
// Per connection at most one receive, one send and one reply-delay timeout are in flight.
// Output beyond kMaxPendingOutput pauses reading until it is sent, so a client pipelining
// 100,000 commands costs bounded memory. A closed connection keeps its slot until its last
// operation completes; slots carry a generation so a late completion is never applied to a
// newer connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <linux/time_types.h>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/sink/sink_options.h"
#include "bench/sink/sink_session.h"
#include "bench/sink/sink_stats.h"
#include "relay/common/result.h"
#include "relay/reactor/ring.h"

namespace correo::sink {

// open_listener - a non-blocking SO_REUSEPORT socket listening on the options' address.
Result<int> open_listener(const Options& o);

class SinkLoop {
 public:
  SinkLoop(const Options& o, unsigned index, int listen_fd, const std::atomic<bool>& stop);
  ~SinkLoop();
  // run - the thread body; returns when `stop` is set (checked every 100 ms).
  void run();
  Counters& counters() { return counters_; }
  const std::string& error() const { return error_; }

  SinkLoop(const SinkLoop&) = delete;
  SinkLoop& operator=(const SinkLoop&) = delete;

 private:
  enum class Kind : uint8_t { kAccept = 1, kRecv, kSend, kDelay, kTick };
  struct Conn;

  static uint64_t pack(Kind k, uint32_t gen, uint32_t slot);
  void arm_accept();
  void arm_tick();
  void on_accept(int res, uint32_t flags);
  void arm_recv(Conn& c);
  void on_recv(Conn& c, int res);
  void flush(Conn& c);
  void send_now(Conn& c);
  void on_send(Conn& c, int res);
  void close(Conn& c);
  void maybe_free(Conn& c);

  static constexpr size_t kRecvSize = 16 * 1024;
  static constexpr size_t kMaxPendingOutput = 256 * 1024;

  const Options& options_;
  const unsigned index_;
  const int listen_fd_;
  const std::atomic<bool>& stop_;
  Counters counters_;
  std::mt19937_64 dice_;
  SinkContext ctx_;
  std::unique_ptr<Ring> ring_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<uint32_t> free_;
  uint32_t active_ = 0;
  __kernel_timespec tick_{};
  __kernel_timespec delay_{};
  std::string error_;
};

}  // namespace correo::sink
