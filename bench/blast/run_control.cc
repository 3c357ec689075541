// run_control.cc - shared budget, run time bounds and --rate pacing (see run_control.h).
#include "bench/blast/run_control.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace correo::blast {

namespace {

// Sleeps are cut into slices so an interrupt or the end of the run is noticed quickly.
constexpr auto kSleepSlice = std::chrono::milliseconds(50);

}  // namespace

RunControl::RunControl(const Options& options, Deadline start, const std::atomic<bool>* interrupted)
    : start_(start),
      duration_end_(options.duration ? std::optional<Deadline>(start + *options.duration) : std::nullopt),
      hard_end_(start + options.hard_cap()),
      timeout_(options.timeout),
      budget_limited_(options.messages.has_value()),
      budget_(options.messages ? static_cast<int64_t>(*options.messages) : 0),
      slot_interval_ns_(options.rate > 0 ? std::max<int64_t>(1, std::llround(1e9 / options.rate)) : 0),
      interrupted_(interrupted) {}

bool RunControl::time_left(Deadline now) const {
  if (interrupted()) return false;
  if (duration_end_ && now >= *duration_end_) return false;
  return now < hard_end_;
}

bool RunControl::take_budget() {
  if (!budget_limited_) return true;
  // Never below zero, so release() after an empty claim cannot lose a message.
  int64_t left = budget_.load(std::memory_order_relaxed);
  do {
    if (left <= 0) return false;
  } while (!budget_.compare_exchange_weak(left, left - 1, std::memory_order_relaxed));
  return true;
}

void RunControl::release() {
  if (budget_limited_) budget_.fetch_add(1, std::memory_order_relaxed);
}

bool RunControl::claim() {
  if (!time_left(Clock::now())) return false;
  if (!take_budget()) return false;
  if (slot_interval_ns_ == 0) return true;

  const Deadline slot = next_slot();
  for (Deadline now = Clock::now(); now < slot; now = Clock::now()) {
    if (!time_left(now) || (duration_end_ && slot >= *duration_end_) || slot >= hard_end_) {
      release();
      return false;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(slot - now, kSleepSlice));
  }
  if (time_left(Clock::now())) return true;
  release();
  return false;
}

std::optional<Deadline> RunControl::claim_slot() {
  const Deadline now = Clock::now();
  if (!time_left(now)) return std::nullopt;
  if (!take_budget()) return std::nullopt;
  if (slot_interval_ns_ == 0) return now;
  const Deadline slot = next_slot();
  if ((duration_end_ && slot >= *duration_end_) || slot >= hard_end_) {
    release();
    return std::nullopt;
  }
  return slot;
}

Deadline RunControl::next_slot() {
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  int64_t taken = next_slot_ns_.load(std::memory_order_relaxed);
  int64_t slot = 0;
  do {
    slot = std::max(taken, now_ns);  // a slot in the past is gone: no catch-up bursts
  } while (!next_slot_ns_.compare_exchange_weak(taken, slot + slot_interval_ns_, std::memory_order_relaxed));
  return start_ + std::chrono::nanoseconds(slot);
}

Deadline RunControl::reply_deadline() const { return std::min(Clock::now() + timeout_, hard_end_); }

void RunControl::pause(std::chrono::milliseconds how_long) const {
  const Deadline until = std::min(Clock::now() + how_long, hard_end_);
  for (Deadline now = Clock::now(); now < until && !interrupted(); now = Clock::now()) {
    std::this_thread::sleep_for(std::min<Clock::duration>(until - now, kSleepSlice));
  }
}

}  // namespace correo::blast
