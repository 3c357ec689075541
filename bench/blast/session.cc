// session.cc - the SMTP client side of one load session (see session.h).
#include "bench/blast/session.h"

#include "bench/blast/commands.h"

#include <atomic>
#include <cstdio>


namespace correo::blast {

namespace {

constexpr unsigned kMaxConsecutiveConnectFailures = 100;
constexpr auto kConnectBackoff = std::chrono::milliseconds(100);



}  // namespace

Session::Session(const SessionShared& shared, uint32_t index)
    : shared_(shared),
      options_(*shared.options),
      run_(*shared.run),
      message_(MessageSpec{options_.from, options_.recipients.front(), options_.helo, options_.size.max(), index,
                           shared.run_id}),
      size_random_(shared.run_id ^ (uint64_t{index} << 32)),
      ehlo_line_("EHLO " + options_.helo + "\r\n"),
      auth_line_(auth_plain_line(options_)) {}

Session::~Session() {
  if (tls_session_) SSL_SESSION_free(tls_session_);
}

void Session::run() {
  if (options_.handshake_only) run_handshake_only();
  else run_transactions();
}

void Session::run_transactions() {
  // The first message is claimed before connecting, so no connection is opened just to find
  // the budget spent by other sessions; a failed connection hands its claim back.
  while (run_.claim()) {
    if (Status opened = open_connection(); !opened) {
      run_.release();
      if (!connection_failed(opened.error(), /*claimed=*/false)) return;
      continue;
    }
    consecutive_connect_failures_ = 0;
    bool open = true;
    for (uint64_t n = 0; options_.per_conn == 0 || n < options_.per_conn; ++n) {
      if (n > 0 && !run_.claim()) break;
      const Outcome outcome = send_message();
      if (outcome == Outcome::kRejected) {
        if (Status reset_ok = reset(); !reset_ok) {
          note_error(reset_ok.error().message);
          close_connection(false);
          open = false;
          break;
        }
      } else if (outcome == Outcome::kRejectedClosing || outcome == Outcome::kFailed) {
        close_connection(false);  // 421: the server closes; errors: the state is unknown
        open = false;
        break;
      }
    }
    if (open) {
      Status quit_ok = quit();
      // A QUIT cut off by the run's end lost no message: not an error.
      if (!quit_ok && Clock::now() < run_.hard_deadline()) note_error(quit_ok.error().message);
      close_connection(quit_ok.ok());
    }
  }
}

void Session::run_handshake_only() {
  while (run_.claim()) {
    ++stats_.sent;
    const Clock::time_point started = Clock::now();
    if (Status opened = open_connection(); !opened) {
      if (!connection_failed(opened.error(), /*claimed=*/true)) return;
      continue;
    }
    consecutive_connect_failures_ = 0;
    // The handshake's latency: connect, greeting, EHLO, TLS, EHLO again, AUTH.
    stats_.latency_us.record(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count()));
    Status quit_ok = quit();
    if (quit_ok) ++stats_.accepted;
    else note_error(quit_ok.error().message);
    close_connection(quit_ok.ok());
  }
}

bool Session::connection_failed(const Error& error, bool claimed) {
  close_connection(false);
  // A set-up cut short by the run's end is the end, not a failure, unless it was the
  // claimed (counted as sent) handshake-only session itself.
  const bool run_over = Clock::now() >= run_.hard_deadline() || run_.interrupted();
  if (claimed || !run_over) note_error(run_over ? "cut off by the run's hard cap" : error.message);
  if (run_over) return false;
  if (++consecutive_connect_failures_ >= kMaxConsecutiveConnectFailures) {
    gave_up_ = true;
    return false;
  }
  run_.pause(kConnectBackoff);
  return true;
}

Status Session::open_connection() {
  if (Status connected = stream_.connect(options_.target, run_.reply_deadline()); !connected) return connected;
  ++stats_.connections;
  if (options_.implicit_tls) {
    if (Status secured = start_tls(); !secured) return secured;
  }
  if (Status greeted = read_reply(stream_, run_.reply_deadline(), reply_); !greeted) {
    return Error{"greeting: " + greeted.error().message};
  }
  if (reply_.code != 220) return Error{"greeting: " + reply_text(reply_)};
  if (Status hello = ehlo(); !hello) return hello;
  if (options_.starttls) {
    if (!caps_.starttls) return Error{"STARTTLS: not offered by the server"};
    if (Status ok = command("STARTTLS\r\n", 220, "STARTTLS"); !ok) return ok;
    // Bytes after the 220 came in plaintext; reading them as if protected would let an
    // attacker inject replies (the STARTTLS command-injection class of bugs).
    if (stream_.buffered() != 0) return Error{"STARTTLS: protocol: data after the 220 reply"};
    if (Status secured = start_tls(); !secured) return secured;
    if (Status hello = ehlo(); !hello) return hello;  // capabilities may change under TLS
  }
  if (options_.auth_user) {
    if (!caps_.auth_plain) return Error{"AUTH: PLAIN not offered by the server"};
    if (Status ok = command(auth_line_, 235, "AUTH"); !ok) return ok;
  }
  if (options_.pipelining && !caps_.pipelining) warn_once_no_pipelining();
  return Ok{};
}

Status Session::ehlo() {
  const Deadline deadline = run_.reply_deadline();
  if (Status sent = stream_.write_all(ehlo_line_, deadline); !sent) return Error{"EHLO: " + sent.error().message};
  if (Status got = read_reply(stream_, deadline, reply_, &ehlo_lines_); !got) {
    return Error{"EHLO: " + got.error().message};
  }
  if (reply_.code != 250) return Error{"EHLO: " + reply_text(reply_)};
  caps_ = parse_capabilities(ehlo_lines_);
  return Ok{};
}

Status Session::start_tls() {
  SSL_SESSION* offer = options_.tls_resume ? tls_session_ : nullptr;
  if (Status done = stream_.start_tls(shared_.tls, options_.sni, offer, run_.reply_deadline()); !done) return done;
  if (stream_.tls_resumed()) ++stats_.tls_resumed;
  return Ok{};
}

Status Session::command(std::string_view line, int expected_code, const char* name) {
  const Deadline deadline = run_.reply_deadline();
  if (Status sent = stream_.write_all(line, deadline); !sent) return Error{std::string(name) + ": " + sent.error().message};
  if (Status got = read_reply(stream_, deadline, reply_); !got) {
    return Error{std::string(name) + ": " + got.error().message};
  }
  if (reply_.code != expected_code) return Error{std::string(name) + ": " + reply_text(reply_)};
  return Ok{};
}

Status Session::quit() {
  if (Clock::now() >= run_.hard_deadline()) return Error{"QUIT: cut off by the run's hard cap"};
  return command("QUIT\r\n", 221, "QUIT");
}

Status Session::reset() { return command("RSET\r\n", 250, "RSET"); }

void Session::close_connection(bool graceful) {
  if (options_.tls_resume) {
    if (SSL_SESSION* latest = stream_.take_tls_session()) {
      if (tls_session_) SSL_SESSION_free(tls_session_);
      tls_session_ = latest;
    }
  }
  stream_.close(graceful);
}

Session::Outcome Session::send_message() {
  const size_t size = message_.content_size(options_.size.sample(next_random(size_random_)));
  envelope_.prepare(options_, size, caps_.size);
  const std::string_view payload = message_.next(size);
  const Clock::time_point started = Clock::now();
  ++stats_.sent;
  bool refused = false;  // some step got 4xx/5xx: the message is rejected
  bool closing = false;  // ... and it was 421: the server is closing the connection
  const size_t last = envelope_.lines.size() - 1;  // DATA
  auto step_name = [&](size_t i) { return i == 0 ? "MAIL" : i == last ? "DATA" : "RCPT"; };

  if (options_.pipelining && caps_.pipelining) {
    // RFC 2920: MAIL, RCPTs and DATA in one write, then their replies in order.
    if (Status sent = stream_.write_all(envelope_.all, run_.reply_deadline()); !sent) return fail("MAIL", sent.error());
    for (size_t i = 0; i <= last; ++i) {
      if (Status got = read_reply(stream_, run_.reply_deadline(), reply_); !got) return fail(step_name(i), got.error());
      if (Status ok = check_reply(step_name(i), i == last ? 354 : 250, &refused, &closing); !ok) {
        return fail(step_name(i), ok.error());
      }
      if (closing) return rejected(true);  // 421: no further replies will come
    }
    // DATA refused (no valid recipient, or the server's own reasons): no payload follows.
    if (reply_.code != 354) return rejected(closing);
    // Some RCPT refused but DATA accepted: the payload must still be sent to end the
    // transaction; the message counts as rejected (not all recipients took it).
  } else {
    for (size_t i = 0; i <= last; ++i) {
      const char* name = step_name(i);
      if (Status sent = stream_.write_all(envelope_.lines[i], run_.reply_deadline()); !sent) return fail(name, sent.error());
      if (Status got = read_reply(stream_, run_.reply_deadline(), reply_); !got) return fail(name, got.error());
      if (Status ok = check_reply(name, i == last ? 354 : 250, &refused, &closing); !ok) return fail(name, ok.error());
      if (refused) return rejected(closing);
    }
  }

  if (Status sent = stream_.write_all(payload, run_.reply_deadline()); !sent) return fail("data", sent.error());
  if (Status got = read_reply(stream_, run_.reply_deadline(), reply_); !got) return fail("end of data", got.error());
  if (Status ok = check_reply("end of data", 250, &refused, &closing); !ok) return fail("end of data", ok.error());
  if (refused) return rejected(closing);
  ++stats_.accepted;
  stats_.bytes += size;
  if (!options_.acked_log.empty()) stats_.acked_ids.emplace_back(message_.message_id());
  stats_.latency_us.record(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count()));
  return Outcome::kAccepted;
}

Status Session::check_reply(const char* name, int expected_code, bool* refused, bool* closing) {
  const bool positive = expected_code == 354 ? reply_.code == 354 : reply_.kind() == 2;
  if (positive) return Ok{};
  if (reply_.kind() == 4 || reply_.kind() == 5) {
    // The first refusal is the reason, not the 503s that follow it in a pipelined batch.
    if (!*refused) shared_.rejections->add(std::string(name) + ": " + reply_text(reply_));
    *refused = true;
    if (reply_.code == 421) *closing = true;
    return Ok{};
  }
  return Error{"protocol: unexpected reply " + reply_text(reply_)};
}

Session::Outcome Session::rejected(bool closing) {
  ++stats_.rejected;
  return closing ? Outcome::kRejectedClosing : Outcome::kRejected;
}

Session::Outcome Session::fail(const char* step, const Error& error) {
  if (Clock::now() >= run_.hard_deadline()) note_error(std::string(step) + ": cut off by the run's hard cap");
  else note_error(std::string(step) + ": " + error.message);
  return Outcome::kFailed;
}

void Session::note_error(const std::string& text) {
  ++stats_.errors;
  shared_.errors->add(text);
}

}  // namespace correo::blast
