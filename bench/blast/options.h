// options.h - correo-blast's command line (the interface in CONFIG.md, plus its additions).
//
// Parsing returns errors as values; main prints the one-line error and exits 2, so every
// bad argument names its flag and nothing is half-configured.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/blast/size_dist.h"
#include "bench/blast/target.h"
#include "relay/common/result.h"

namespace correo::blast {

struct Options {
  Target target;
  unsigned sessions = 10;
  std::optional<uint64_t> messages;                // unset with only --duration: unbounded count
  std::optional<std::chrono::milliseconds> duration;
  SizeDistribution size{1024};                     // --size: fixed, a range or a mix
  unsigned rcpts = 1;
  uint64_t per_conn = 1;                           // 0 = unlimited
  bool pipelining = false;
  bool starttls = false;
  bool implicit_tls = false;
  bool tls_resume = false;
  bool handshake_only = false;
  // --idle: every session connects, says EHLO, then holds the connection silent for
  // --hold before QUIT (connection-scale tests: correod's memory per idle session).
  bool idle = false;
  std::chrono::milliseconds hold{5000};
  // The engine: io_uring loops (--threads, default one per CPU), plaintext and TLS alike;
  // or one blocking thread per session with --engine threads (the reference it is checked
  // against).
  enum class Engine : uint8_t { kUring, kThreads };
  Engine engine = Engine::kUring;
  unsigned threads = 0;
  bool json = false;
  // --acked-log FILE: the Message-ID of every message the server accepted, one per line,
  // written at the end (crash tests match them against what arrived downstream). Kept in
  // memory until then: about 70 bytes per message.
  std::string acked_log;
  std::optional<std::string> auth_user;            // set with --auth
  std::string auth_pass;
  double rate = 0;                                 // messages/s, 0 = unpaced
  std::string from = "blast@load.test";
  std::string to = "sink@example.test";
  std::string helo = "blast.load.test";
  std::string sni;                                 // default: the HOST literal
  std::chrono::milliseconds timeout{30000};

  std::vector<std::string> recipients;             // derived: to, or rcpt1..N from it

  bool tls() const { return starttls || implicit_tls; }
  // hard_cap - the run ends by then whatever happens: --duration plus one reply timeout
  // for the messages in flight, else 10 minutes.
  std::chrono::milliseconds hard_cap() const;
};

enum class ParseOutcome { kRun, kHelp };

struct Parsed {
  ParseOutcome outcome = ParseOutcome::kRun;
  Options options;
};

Result<Parsed> parse_options(int argc, char** argv);

// usage - the help text (--help prints it to stdout).
const char* usage();

}  // namespace correo::blast
