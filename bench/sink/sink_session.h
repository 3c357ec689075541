// sink_session.h - the server side of one SMTP connection to correo-sink, without I/O.
//
// feed() takes whatever bytes arrived and appends every reply they earn to `out`, so a
// pipelined batch of commands is answered with one send. Content goes through correo's own
// DataReader (dot-unstuffing, end-of-data detection); BDAT chunks are counted off by size.
// Faults are decided with the thread's dice as the transaction goes.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sink/sink_options.h"
#include "bench/sink/sink_stats.h"
#include "relay/smtp/data_reader.h"

namespace correo::sink {

// SinkContext - what every session of a thread shares.
struct SinkContext {
  const Options* options;
  Counters* counters;
  std::mt19937_64* dice;
  std::string ehlo_reply;  // built once from --ehlo
  bool chunking = false;
  unsigned thread = 0;
  uint64_t files = 0;      // messages written by this thread (--dir)
};

std::string build_ehlo_reply(const Options& o, bool* chunking);

class SinkSession {
 public:
  enum class Next : uint8_t { kContinue, kCloseAfterSend, kDropNow };

  explicit SinkSession(SinkContext& ctx) : ctx_(ctx) {}
  void greet(std::string& out);
  Next feed(std::string_view in, std::string& out);

 private:
  enum class Phase : uint8_t { kCommand, kData, kBdat, kSkipLine };
  Next command(std::string_view line, std::string& out);
  Next start_bdat(std::string_view arg, std::string& out);
  void end_message(std::string& out);
  void reply(std::string& out, uint16_t code, std::string_view text);
  bool roll(double rate);
  void store(uint64_t n);
  void reset();

  static constexpr size_t kMaxLine = 2048;

  SinkContext& ctx_;
  Phase phase_ = Phase::kCommand;
  std::string line_;
  DataReader reader_;
  std::string content_;   // the message (--dir), else scratch cleared after every read
  uint64_t bdat_left_ = 0;
  bool bdat_last_ = false;
  bool drop_in_data_ = false;
  bool in_bdat_message_ = false;
  bool have_mail_ = false;
  std::string sender_;
  std::vector<std::string> rcpts_;
};

}  // namespace correo::sink
