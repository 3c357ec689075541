// run_control.h - what every session thread asks before it starts a message: is there
// budget left, is the time up, and (with --rate) when may it start.
//
// The message budget is one shared atomic counter, so exactly --messages are attempted in
// total however the sessions race. --rate is a shared schedule of start slots: each claim
// takes the next slot, never one in the past, so a session that fell behind cannot cause
// a burst to "catch up" and the start rate never exceeds R.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "bench/blast/deadline.h"
#include "bench/blast/options.h"

namespace correo::blast {

class RunControl {
 public:
  // `interrupted` is set by the SIGINT/SIGTERM handler: start nothing new after it.
  RunControl(const Options& options, Deadline start, const std::atomic<bool>* interrupted);

  // claim - the right to start one more message (or handshake-only session), after waiting
  // for its --rate slot. false = the run is over for this session.
  bool claim();
  // claim_slot - claim() for an event loop, which must not sleep: the budget is taken now
  // and the start time of its --rate slot returned (now without --rate). nullopt = the run
  // is over. The caller waits for the slot, then checks still_running() (and release()s
  // the claim when the run ended meanwhile).
  std::optional<Deadline> claim_slot();
  bool still_running() const { return time_left(Clock::now()); }
  // release - give back a claim that started nothing (its connection failed), so exactly
  // --messages are still attempted.
  void release();

  // reply_deadline - for the next connect, handshake, write or reply: --timeout from now,
  // never past the hard cap.
  Deadline reply_deadline() const;
  Deadline hard_deadline() const { return hard_end_; }
  bool interrupted() const { return interrupted_->load(std::memory_order_relaxed); }

  // pause - sleep (back off after a failed connect) but wake for the end of the run.
  void pause(std::chrono::milliseconds how_long) const;

 private:
  bool time_left(Deadline now) const;
  bool take_budget();
  // next_slot - the start time for one message under --rate.
  Deadline next_slot();

  const Deadline start_;
  const std::optional<Deadline> duration_end_;
  const Deadline hard_end_;
  const std::chrono::milliseconds timeout_;
  const bool budget_limited_;
  std::atomic<int64_t> budget_;
  const int64_t slot_interval_ns_;        // 0 = no --rate
  std::atomic<int64_t> next_slot_ns_{0};  // since start_
  const std::atomic<bool>* interrupted_;
};

}  // namespace correo::blast
