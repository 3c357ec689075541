// session.h - one load session: a thread that connects, sends its share of the messages,
// and reconnects until the run is over.
//
// Per connection: 220 greeting, EHLO, [STARTTLS + EHLO | implicit TLS], [AUTH PLAIN], then
// up to --per-conn transactions (MAIL, RCPT..., DATA, payload), QUIT. A rejection is
// counted and the session RSETs and goes on (or reconnects after a 421); an error (connect,
// timeout, TLS, protocol) drops the connection and the session reconnects. A session whose
// connections keep failing before any transaction backs off 100 ms each time and gives up
// after 100 in a row, so an unreachable server ends the run instead of spinning.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "bench/blast/capabilities.h"
#include "bench/blast/commands.h"
#include "bench/blast/message.h"
#include "bench/blast/options.h"
#include "bench/blast/reply.h"
#include "bench/blast/run_control.h"
#include "bench/blast/stats.h"
#include "bench/blast/stream.h"
#include "relay/common/result.h"

namespace correo::blast {

struct SessionShared {
  const Options* options;
  RunControl* run;
  SSL_CTX* tls;             // null without --starttls / --implicit-tls
  TextTally* errors;
  TextTally* rejections;
  uint64_t run_id;          // for unique Message-IDs across runs
};

class Session {
 public:
  Session(const SessionShared& shared, uint32_t index);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // run - the thread body; returns when the run is over for this session.
  void run();
  const SessionStats& stats() const { return stats_; }
  bool gave_up() const { return gave_up_; }

 private:
  enum class Outcome { kAccepted, kRejected, kRejectedClosing, kFailed };

  void run_transactions();
  void run_handshake_only();
  // connection_failed - count a failed connection set-up (`claimed`: it was a counted
  // handshake-only session); false = the session ends.
  bool connection_failed(const Error& error, bool claimed);

  Status open_connection();
  Status ehlo();
  Status start_tls();
  Status authenticate();
  Status command(std::string_view line, int expected_code, const char* name);
  Status quit();
  Status reset();
  void close_connection(bool graceful);

  Outcome send_message();
  // check_reply - the reply to step `name` of a transaction: continue (Ok), a rejection
  // (noted in *refused / *closing), or a protocol error (returned).
  Status check_reply(const char* name, int expected_code, bool* refused, bool* closing);
  Outcome rejected(bool closing);
  Outcome fail(const char* step, const Error& error);

  void note_error(const std::string& text);

  const SessionShared shared_;
  const Options& options_;
  RunControl& run_;
  Stream stream_;
  Reply reply_;
  std::vector<std::string> ehlo_lines_;
  Capabilities caps_;
  Message message_;
  uint64_t size_random_;                  // this session's draws from --size
  SSL_SESSION* tls_session_ = nullptr;  // the last connection's, for --tls-resume

  // Built once: the command lines sent for every connection and every message.
  const std::string ehlo_line_;
  const std::string auth_line_;
  EnvelopeCommands envelope_;             // MAIL, RCPTs and DATA lines

  SessionStats stats_;
  unsigned consecutive_connect_failures_ = 0;
  bool gave_up_ = false;
};

}  // namespace correo::blast
