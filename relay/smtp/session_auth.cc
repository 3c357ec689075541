// session_auth.cc - STARTTLS (RFC 3207) and AUTH PLAIN/LOGIN (RFC 4954, RFC 4616).
//
// What is offered depends on the listener: STARTTLS when a certificate is configured and
// the session is not encrypted yet; AUTH when the listener offers it and the session is
// encrypted (or auth.allow_plaintext). Passwords never reach a log line and are handed to
// the host for verification off the worker thread, which wipes them.
#include "relay/auth/base64.h"
#include "relay/auth/password.h"
#include "relay/auth/sasl.h"
#include "relay/common/ascii.h"
#include "relay/common/log.h"
#include "relay/smtp/session.h"

namespace correo {
namespace {

// RFC 4954 §4: challenges are base64; these are "Username:" and "Password:".
constexpr std::string_view kLoginUserChallenge = "334 VXNlcm5hbWU6\r\n";
constexpr std::string_view kLoginPasswordChallenge = "334 UGFzc3dvcmQ6\r\n";

}  // namespace

bool Session::tls_offered() const { return !tls_ && !config_.tls.cert.empty(); }

// auth_offered - never before TLS on a require_tls listener, whatever allow_plaintext says
// (RFC 3207 §4: such a server answers 530 to everything but EHLO, NOOP, STARTTLS, QUIT).
bool Session::auth_offered() const {
  return policy_.auth && !config_.auth.users_file.empty() &&
         (tls_ || (config_.auth.allow_plaintext && !policy_.require_tls));
}

void Session::cmd_starttls(const CommandLine& c) {
  if (!c.arg.empty()) return reply_error(501, "5.5.4", "Syntax: STARTTLS");
  if (tls_) return reply_error(503, "5.5.1", "Error: TLS already active");
  if (!tls_offered()) return reply_error(502, "5.5.1", "Error: command not implemented");
  if (txn_.active) return reply_error(503, "5.5.1", "Error: MAIL transaction in progress");
  if (!auth_user_.empty()) return reply_error(503, "5.5.1", "Error: STARTTLS not allowed after AUTH");
  out_ += "220 2.0.0 Ready to start TLS\r\n";
  count_reply(220);
  phase_ = SessionPhase::kStartTls;
}

void Session::cmd_auth(const CommandLine& c) {
  if (!auth_offered()) {
    // Offered on this listener once encrypted: say so (RFC 4954 §6, 538).
    if (policy_.auth && !config_.auth.users_file.empty() && !tls_) {
      return reply_error(538, "5.7.11", "Encryption required for requested authentication mechanism");
    }
    return reply_error(502, "5.5.1", "Error: authentication not enabled");
  }
  if (!extended_) return reply_error(503, "5.5.1", "Error: send EHLO first");
  if (!auth_user_.empty()) return reply_error(503, "5.5.1", "Error: already authenticated");
  if (txn_.active) return reply_error(503, "5.5.1", "Error: MAIL transaction in progress");
  std::string_view arg = c.arg;
  const size_t space = arg.find(' ');
  const std::string_view mech = arg.substr(0, space);
  std::string_view initial = space == std::string_view::npos ? std::string_view() : arg.substr(space + 1);
  if (mech.empty()) return reply_error(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  if (iequals(mech, "PLAIN")) {
    auth_mech_ = AuthMech::kPlain;
  } else if (iequals(mech, "LOGIN")) {
    auth_mech_ = AuthMech::kLogin;
  } else {
    return reply_error(504, "5.5.4", "Error: unsupported authentication mechanism (PLAIN and LOGIN are offered)");
  }
  if (space == std::string_view::npos) {  // no initial response: ask for it
    out_ += auth_mech_ == AuthMech::kPlain ? std::string_view("334 \r\n") : kLoginUserChallenge;
    count_reply(334);
    phase_ = SessionPhase::kAuthResponse;
    return;
  }
  // RFC 4954 §4: "=" is an empty initial response.
  auth_step(initial == "=" ? std::string_view() : initial);
}

// process_auth_response - one line answering a 334 challenge.
size_t Session::process_auth_response(std::string_view in) {
  const size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    if (in.size() >= kAuthLineLimit) {
      phase_ = SessionPhase::kDiscardLine;
      auth_login_user_.clear();
      auth_mech_ = AuthMech::kNone;
      return in.size();
    }
    return 0;
  }
  std::string_view line = in.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  phase_ = SessionPhase::kCommand;
  if (line == "*") {
    end_auth(501, "5.7.0", "Authentication aborted");
  } else {
    auth_step(line);
  }
  return lf + 1;
}

// auth_step - a base64 response (initial or to a challenge) for the current mechanism.
void Session::auth_step(std::string_view response) {
  std::optional<std::string> decoded = base64_decode(response);
  if (!decoded) return end_auth(501, "5.5.2", "Error: invalid base64 data");
  if (auth_mech_ == AuthMech::kPlain) {
    std::optional<PlainCredentials> creds = parse_sasl_plain(*decoded);
    wipe(*decoded);
    // Acting for another identity (authzid) is not supported: only oneself.
    if (!creds || (!creds->authzid.empty() && creds->authzid != creds->user)) {
      if (creds) wipe(creds->password);
      return end_auth(535, "5.7.8", "Error: authentication failed");
    }
    check_credentials(std::move(creds->user), std::move(creds->password));
    wipe(creds->password);  // a short password stays in a moved-from string's inline buffer
    return;
  }
  if (auth_login_user_.empty()) {  // LOGIN, first answer: the user name
    if (decoded->empty() || decoded->size() > 255) return end_auth(535, "5.7.8", "Error: authentication failed");
    auth_login_user_ = std::move(*decoded);
    out_ += kLoginPasswordChallenge;
    count_reply(334);
    phase_ = SessionPhase::kAuthResponse;
    return;
  }
  std::string user = std::move(auth_login_user_);
  auth_login_user_.clear();
  if (decoded->empty() || decoded->size() > 255) {
    wipe(*decoded);
    return end_auth(535, "5.7.8", "Error: authentication failed");
  }
  check_credentials(std::move(user), std::move(*decoded));
  wipe(*decoded);
}

void Session::check_credentials(std::string user, std::string password) {
  auth_mech_ = AuthMech::kNone;
  auth_pending_user_ = user;
  if (!host_.verify_credentials(user, password)) {
    wipe(password);
    auth_pending_user_.clear();
    return reply(454, "4.7.0", "Temporary authentication failure, try again later");
  }
  phase_ = SessionPhase::kAwaitAuth;
}

void Session::end_auth(uint16_t code, std::string_view enhanced, std::string_view text) {
  auth_mech_ = AuthMech::kNone;
  auth_login_user_.clear();
  phase_ = SessionPhase::kCommand;
  reply_error(code, enhanced, text);
}

void Session::on_auth_result(AuthVerdict verdict) {
  if (phase_ != SessionPhase::kAwaitAuth) return;  // closed meanwhile
  phase_ = SessionPhase::kCommand;
  std::string user = std::move(auth_pending_user_);
  auth_pending_user_.clear();
  switch (verdict) {
    case AuthVerdict::kOk:
      auth_user_ = std::move(user);
      LogLine(LogLevel::kInfo, "auth").kv("client", client_ip_).kv("user", auth_user_)
          .kv("tls", tls_ ? tls_->version : std::string("none"));
      return reply(235, "2.7.0", "Authentication successful");
    case AuthVerdict::kBadCredentials:
      return reply_error(535, "5.7.8", "Error: authentication failed");
    case AuthVerdict::kRateLimited:
      return reply_error(454, "4.7.0", "Too many failed authentications from your address, try again later");
  }
}

}  // namespace correo
