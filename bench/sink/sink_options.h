// sink_options.h - correo-sink's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "relay/common/result.h"

namespace correo::sink {

// Faults - what the sink does wrong on purpose, each a probability in [0, 1].
struct Faults {
  double rcpt_tempfail = 0;       // 451 4.2.0 for a recipient
  double rcpt_permfail = 0;       // 550 5.1.1 for a recipient
  double tempfail_attempt = 0;    // 451 4.3.0 at the end of the data
  double permfail_attempt = 0;    // 554 5.6.0 at the end of the data
  double disconnect_in_data = 0;  // close mid-DATA without a reply
  uint32_t reply_delay_ms = 0;    // every reply waits this long (slow server)
};

struct Options {
  std::string address = "127.0.0.1";
  uint16_t port = 2526;
  unsigned threads = 0;                  // 0 = one per CPU
  uint32_t max_connections = 10000;      // per thread; beyond: 421 and close
  std::string hostname = "sink.correo.test";
  std::string ehlo = "PIPELINING,8BITMIME,SMTPUTF8,CHUNKING,SIZE,DSN,ENHANCEDSTATUSCODES";
  uint64_t message_size = 104857600;     // SIZE; larger messages get 552
  std::string dir;                       // "" = discard; else one file per message
  std::string stats_file;                // JSON, rewritten every second and at exit
  std::optional<uint64_t> max_messages;  // exit after this many accepted
  uint64_t seed = 1;
  Faults faults;
};

enum class ParseOutcome { kRun, kHelp };
struct Parsed {
  ParseOutcome outcome = ParseOutcome::kRun;
  Options options;
};

Result<Parsed> parse_options(int argc, char** argv);
const char* usage();

}  // namespace correo::sink
