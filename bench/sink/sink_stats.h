// sink_stats.h - one thread's counters. Only that thread writes them (a relaxed load and
// store); main reads them for the stats file and the summary.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace correo::sink {

struct Cell {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct Counters {
  Cell connections;  // accepted
  Cell refused;      // over --max-connections
  Cell messages;     // accepted (250 at the end of the data)
  Cell recipients;   // of accepted messages
  Cell bytes;        // content bytes of accepted messages
  Cell dropped;      // connections closed mid-DATA on purpose
  std::array<Cell, 600> replies;  // by reply code
};

}  // namespace correo::sink
