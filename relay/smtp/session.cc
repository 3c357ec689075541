// session.cc - the input loop, replies, error accounting and the session's lifecycle.
#include "relay/smtp/session.h"

#include <algorithm>
#include <cstring>

#include "relay/common/ascii.h"
#include "relay/common/log.h"
#include "relay/policy/policy.h"

namespace correo {

const char* to_string(SessionPhase phase) {
  switch (phase) {
    case SessionPhase::kCommand: return "command";
    case SessionPhase::kDiscardLine: return "discard_line";
    case SessionPhase::kData: return "data";
    case SessionPhase::kBdat: return "bdat";
    case SessionPhase::kAwaitCommit: return "await_commit";
    case SessionPhase::kStartTls: return "starttls";
    case SessionPhase::kAuthResponse: return "auth_response";
    case SessionPhase::kAwaitAuth: return "await_auth";
    case SessionPhase::kAwaitPolicy: return "await_policy";
    case SessionPhase::kAwaitMilter: return "await_milter";
    case SessionPhase::kClosed: return "closed";
  }
  return "unknown";
}

Session::Session(const Config& config, SessionHost& host, std::string client_ip, std::string listener,
                 const ListenerConfig* policy)
    // An owner that owns nothing: the caller keeps `config` alive.
    : Session(std::shared_ptr<const Config>(std::shared_ptr<const Config>(), &config), host, std::move(client_ip),
              std::move(listener), policy) {}

Session::Session(std::shared_ptr<const Config> config, SessionHost& host, std::string client_ip, std::string listener,
                 const ListenerConfig* policy)
    : config_owner_(std::move(config)),
      config_(*config_owner_),
      host_(host),
      metrics_(host.metrics()),
      client_ip_(std::move(client_ip)),
      listener_(std::move(listener)),
      policy_(policy ? *policy : ListenerConfig{}) {
  if (auto ip = IpAddress::parse(client_ip_)) {
    for (const Cidr& net : config_.relay.networks) {
      if (net.contains(*ip)) {
        relay_client_ = true;
        break;
      }
    }
  }
}

// SessionHost::metrics - hosts without metrics (tests) share one block of cells nobody reads.
SessionMetrics& SessionHost::metrics() {
  static SessionMetrics unread(0);
  return unread;
}

void Session::start(bool refuse) {
  if (refuse) {
    close_with(421, "4.3.2", config_.server.hostname + " Too many connections, try again later");
    return;
  }
  // The greeting carries no enhanced code (RFC 2034 §3 covers replies to commands).
  out_ += "220 ";
  out_ += config_.server.hostname;
  out_ += " ESMTP correo\r\n";
  count_reply(220);
}

void Session::start_refusing(std::string_view enhanced, std::string_view text) {
  refusing_ = true;
  append_reply(out_, 554, enhanced, text);
  count_reply(554);
}

void Session::reject_pregreet() {
  if (Policy* p = host_.policy()) p->count(reason_index(Check::kPregreet));
  LogLine(LogLevel::kInfo, "reject").kv("client", client_ip_).kv("check", "pregreet")
      .kv("reply", "554 5.5.1 Error: talked before the greeting");
  close_with(554, "5.5.1", "Error: talked before the greeting");
}

bool Session::paused() const {
  return phase_ == SessionPhase::kAwaitCommit || phase_ == SessionPhase::kStartTls ||
         phase_ == SessionPhase::kAwaitAuth || phase_ == SessionPhase::kAwaitPolicy ||
         phase_ == SessionPhase::kAwaitMilter || tarpit_ != Tarpit::kNone || out_.size() >= config_.limits.output_buffer;
}

std::chrono::milliseconds Session::timeout() const {
  if (phase_ == SessionPhase::kData || phase_ == SessionPhase::kBdat) return config_.limits.data_timeout;
  return config_.limits.idle_timeout;
}

void Session::feed(std::string_view bytes) {
  if (closed()) return;
  if (inbuf_.empty()) {
    const size_t used = process(bytes);
    if (used < bytes.size() && !closed()) inbuf_.assign(bytes.substr(used));
  } else {
    inbuf_.append(bytes);
    const size_t used = process(inbuf_);
    inbuf_.erase(0, used);
  }
  if (closed()) inbuf_.clear();
}

void Session::resume() {
  if (closed() || inbuf_.empty()) return;
  const size_t used = process(inbuf_);
  inbuf_.erase(0, used);
  if (closed()) inbuf_.clear();
}

// process - run the phase machine over `in` until it needs more input or must pause.
size_t Session::process(std::string_view in) {
  size_t pos = 0;
  while (pos < in.size() && !paused() && !closed()) {
    std::string_view rest = in.substr(pos);
    size_t n = 0;
    switch (phase_) {
      case SessionPhase::kCommand:
        n = process_command(rest);
        break;
      case SessionPhase::kDiscardLine: {
        const size_t lf = rest.find('\n');
        if (lf == std::string_view::npos) {
          n = rest.size();
        } else {
          n = lf + 1;
          phase_ = SessionPhase::kCommand;
          reply_error(500, "5.5.6", "Error: command line too long");
        }
        break;
      }
      case SessionPhase::kData:
        n = process_data(rest);
        break;
      case SessionPhase::kBdat:
        n = process_bdat(rest);
        break;
      case SessionPhase::kAuthResponse:
        n = process_auth_response(rest);
        break;
      case SessionPhase::kAwaitCommit:
      case SessionPhase::kStartTls:
      case SessionPhase::kAwaitAuth:
      case SessionPhase::kAwaitPolicy:
      case SessionPhase::kAwaitMilter:
      case SessionPhase::kClosed:
        break;
    }
    if (n == 0) break;
    pos += n;
    if (phase_ == SessionPhase::kStartTls) {
      // RFC 3207 §4.2 / CVE-2011-0411: what was sent after STARTTLS, before the handshake,
      // is not from the TLS peer; it is dropped, never executed.
      if (pos < in.size()) {
        LogLine(LogLevel::kWarn, "starttls_pipelined").kv("client", client_ip_)
            .kv("discarded_bytes", static_cast<uint64_t>(in.size() - pos));
      }
      return in.size();
    }
  }
  return closed() ? in.size() : pos;
}

// process_command - one complete line, or nothing until the line is complete.
size_t Session::process_command(std::string_view in) {
  const size_t lf = in.find('\n');
  // RFC 4954 §4: an AUTH line with its initial response may be 12288 octets.
  const size_t limit = istarts_with(in, "AUTH ") ? std::max<size_t>(kAuthLineLimit, config_.limits.command_line)
                                                 : config_.limits.command_line;
  if (lf == std::string_view::npos) {
    if (in.size() >= limit) {  // cannot fit even with its CRLF: skip to the next LF
      phase_ = SessionPhase::kDiscardLine;
      return in.size();
    }
    return 0;
  }
  std::string_view line = in.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() + 2 > limit) {
    reply_error(500, "5.5.6", "Error: command line too long");
  } else if (memchr(line.data(), '\0', line.size()) != nullptr) {
    reply_error(500, "5.5.2", "Error: NUL character in command");
  } else if (memchr(line.data(), '\r', line.size()) != nullptr) {
    reply_error(500, "5.5.2", "Error: bare CR in command");
  } else {
    dispatch(line);
  }
  return lf + 1;
}

void Session::reply(uint16_t code, std::string_view enhanced, std::string_view text) {
  append_reply(out_, code, enhanced, text);
  count_reply(code);
}

// reply_error - a reply that counts against limits.errors_per_session when it is 4xx/5xx.
void Session::reply_error(uint16_t code, std::string_view enhanced, std::string_view text) {
  append_reply(out_, code, enhanced, text);
  count_reply(code);
  if (code >= 400 && ++errors_ >= config_.limits.errors_per_session && !closed()) {
    close_with(421, "4.7.0", config_.server.hostname + " Error: too many errors");
  }
  // Tarpit (Postfix smtpd_soft_error_limit + smtpd_error_sleep_time): past tarpit_after
  // errors every further error costs the client tarpit_delay before anything else happens.
  if (code >= 400 && !closed() && check_on(Check::kTarpit)) {
    const uint32_t after = config_.policy.tarpit_after;
    if (after && errors_ > after) tarpit_ = Tarpit::kRequested;
  }
}

void Session::close_with(uint16_t code, std::string_view enhanced, std::string_view text) {
  append_reply(out_, code, enhanced, text);
  count_reply(code);
  phase_ = SessionPhase::kClosed;
}

void Session::reset_transaction() {
  txn_ = Transaction{};
  bdat_remaining_ = 0;
  bdat_discard_ = false;
}

void Session::on_timeout() {
  if (closed()) return;
  LogLine(LogLevel::kInfo, "timeout").kv("client", client_ip_).kv("phase", to_string(phase_));
  close_with(421, "4.4.2", config_.server.hostname + " Error: timeout exceeded");
}

void Session::on_shutdown() {
  if (closed()) return;
  close_with(421, "4.3.2", config_.server.hostname + " Service shutting down, try again later");
}

void Session::on_tls_established(const TlsInfo& info) {
  tls_ = info;
  if (phase_ != SessionPhase::kStartTls) return;  // implicit TLS: start() follows
  // RFC 3207 §4.2: discard any knowledge obtained from the client before TLS.
  helo_.clear();
  extended_ = false;
  reset_transaction();
  phase_ = SessionPhase::kCommand;
}

void Session::on_peer_closed() {
  if (txn_.active && (phase_ == SessionPhase::kData || phase_ == SessionPhase::kBdat || txn_.bdat)) {
    LogLine(LogLevel::kInfo, "lost_connection").kv("client", client_ip_).kv("phase", to_string(phase_));
  }
  reset_transaction();
  phase_ = SessionPhase::kClosed;
}

}  // namespace correo
