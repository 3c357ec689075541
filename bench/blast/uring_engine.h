// uring_engine.h - correo-blast's io_uring engine: load sessions as state machines.
//
// Each UringLoop is one thread with its own io_uring. It drives its share of the sessions.
// A session connects, reads the greeting and says EHLO, then STARTTLS and EHLO again with
// --starttls (with --implicit-tls, TLS comes first), and AUTH PLAIN with --auth. Then it
// runs transactions (MAIL, RCPTs and DATA in one write when pipelining, else lock-step),
// or a handshake, or it holds the connection idle (--idle). It QUITs after --per-conn
// messages and starts again until the run's budget or time is spent. This is the same
// protocol as the thread-per-session engine (session.h, --engine threads).
//
// TLS runs over memory buffers (correod's TlsStream): ciphertext goes through the ring
// like plaintext, so a TLS session costs no thread either.
//
// Waiting never blocks the thread:
// - a --rate slot, a hold or a connect back-off is a wake-up time;
// - every network step has a reply deadline;
// - a tick (1 ms with --rate, else 10 ms) checks both.
//
// Bounded: one receive buffer per connected session (4 KiB), and at most 64 KiB of reply
// bytes kept before they parse.
#pragma once

#include <linux/time_types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/blast/options.h"
#include "bench/blast/run_control.h"
#include "bench/blast/stats.h"
#include "relay/reactor/ring.h"
#include "tls/tls_context.h"

namespace correo::blast {

struct EngineShared {
  const Options* options;
  RunControl* run;
  TextTally* errors;
  TextTally* rejections;
  uint64_t run_id;
  std::shared_ptr<const TlsContext> tls;  // set for --starttls / --implicit-tls
};

class UringLoop {
 public:
  // Sessions [first, first + count) of the run (their index goes into Message-IDs).
  UringLoop(const EngineShared& shared, uint32_t first, uint32_t count);
  ~UringLoop();
  void run();  // the thread body; returns when every session is done
  const SessionStats& stats() const { return stats_; }
  uint32_t gave_up() const { return gave_up_; }
  const std::string& error() const { return error_; }
  // Progress - read by main's progress line while the loop runs (single writer: relaxed).
  struct Progress {
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> in_flight{0};  // messages started and not yet answered
  };
  const Progress& progress() const { return progress_; }

  UringLoop(const UringLoop&) = delete;
  UringLoop& operator=(const UringLoop&) = delete;

 private:
  struct Sess;
  enum class Kind : uint8_t { kConnect = 1, kRecv, kSend, kTick };

  void start_next(Sess& s);
  void begin(Sess& s);
  void connect(Sess& s);
  void on_connect(Sess& s, int res);
  void arm_recv(Sess& s);
  void on_recv(Sess& s, int res);
  void send(Sess& s, std::string_view bytes);  // encrypted first on a TLS connection
  void send_raw(Sess& s, std::string_view bytes);
  void on_send(Sess& s, int res);
  void begin_tls(Sess& s);
  void flush_tls(Sess& s);
  bool take_tls_input(Sess& s, std::string_view ciphertext);
  void on_tls_open(Sess& s);
  void on_reply(Sess& s);
  void after_setup(Sess& s);
  void start_message(Sess& s);
  void message_done(Sess& s, bool accepted);
  void next_on_connection(Sess& s);
  void quit(Sess& s);
  void fail(Sess& s, const std::string& what);
  void close(Sess& s, bool back_off);
  void finish_close(Sess& s);
  void on_tick();
  void arm_tick();
  void note_error(const std::string& text);

  const EngineShared shared_;
  const Options& options_;
  RunControl& run_;
  const std::string ehlo_line_;
  const std::string auth_line_;
  std::vector<std::unique_ptr<Sess>> sessions_;
  std::unique_ptr<Ring> ring_;
  __kernel_timespec tick_{};
  uint32_t done_ = 0;
  uint32_t gave_up_ = 0;
  SessionStats stats_;
  Progress progress_;
  void publish();  // copy the counters into progress_ (on every tick)
  std::string error_;
};

}  // namespace correo::blast
