// milter_runner.h - runs a finished message through the listener's milters on the worker's
// ring: one connection per milter per message, the milters one after another, each seeing
// the message as the ones before it edited it.
//
// Thread rules: owned by one worker and driven by its ring (the worker forwards CQEs tagged
// kMilterConnect/kMilterRecv/kMilterSend and calls tick()). Never blocks: sockets are
// non-blocking and every connect, send and receive is an io_uring op.
//
// Why the whole conversation runs at the end of DATA (not at connect, HELO, MAIL and RCPT as
// the SMTP commands arrive): the relay has the complete transaction by then, a session
// waits for milters at one point only, and a message costs one milter connection no matter
// how long the client's session lasts. Milters still see every stage (connect, helo, mail,
// rcpt, header, body, eom); a per-recipient reject removes that recipient.
//
// Failure (connect refused, timeout, broken protocol) applies the milter's default_action:
// accept skips it, tempfail answers 451 4.7.1, reject 550 5.7.1 (Postfix's
// milter_default_action). Bounded: at most kMaxRuns runs at once per worker (beyond, the
// default action applies at once), one receive buffer per connection.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "relay/config/live_config.h"
#include "relay/policy/policy_types.h"
#include "relay/reactor/ring.h"
#include "relay/reactor/tag.h"

namespace correo {

struct MilterRunnerStats {
  uint64_t runs = 0;
  uint64_t failures = 0;  // a milter unreachable or broken (default_action applied)
};

class MilterRunner {
 public:
  using Done = std::function<void(MilterOutcome)>;
  static constexpr size_t kMaxRuns = 1024;

  MilterRunner(const LiveConfig& config, Ring& ring);
  ~MilterRunner();

  // start - run request.milters over the message; `done` is called exactly once, possibly
  // from inside start() (no milter reachable at all). The content is copied: the caller's
  // buffer may go away.
  void start(const MilterRequest& request, Done done);
  void handle(Tag tag, int res, uint32_t flags);
  void tick();  // timeouts
  void shutdown();  // end every run in flight with a temporary failure (daemon stopping)
  size_t active() const { return active_; }
  const MilterRunnerStats& stats() const { return stats_; }

  MilterRunner(const MilterRunner&) = delete;
  MilterRunner& operator=(const MilterRunner&) = delete;

 private:
  struct Run;
  void connect(Run& r);
  void on_connect(Run& r, int res);
  void on_recv(Run& r, int res);
  void on_send(Run& r, int res);
  void flush(Run& r);
  void arm_recv(Run& r);
  void milter_done(Run& r);
  void milter_failed(Run& r, const std::string& why);
  void finish(Run& r, MilterOutcome outcome);
  void close_socket(Run& r);
  void maybe_free(Run& r);
  Run* lookup(Tag tag);

  const LiveConfig& config_;
  Ring& ring_;
  std::vector<std::unique_ptr<Run>> runs_;
  std::vector<uint32_t> free_;
  size_t active_ = 0;
  MilterRunnerStats stats_;
};

}  // namespace correo
