// options.cc - parsing and checking correo-blast's command line (see options.h).
#include "bench/blast/options.h"

#include <string_view>

#include "bench/blast/parse.h"

namespace correo::blast {

namespace {

constexpr const char* kUsage =
    "usage: correo-blast HOST:PORT [options]\n"
    "SMTP load generator: concurrent sessions send messages to HOST:PORT,\n"
    "an IPv4 literal or a bracketed IPv6 literal ([::1]:2525).\n"
    "\n"
    "  --sessions N        concurrent sessions (default 10)\n"
    "  --messages N        messages in total (default 1000; unbounded with only --duration)\n"
    "  --duration D        start no message after D (250ms, 30s, 5m); with --messages too,\n"
    "                      whichever ends first\n"
    "  --size SIZES        message size including headers (default 1024): BYTES, or\n"
    "                      MIN-MAX drawn log-uniformly, or a mix SIZE:WEIGHT,... (2k:70,\n"
    "                      20k:25,500k:5); k and m are KiB and MiB\n"
    "  --rcpts N           recipients per message (default 1; N > 1: sink1@.. sinkN@.. from --to)\n"
    "  --per-conn N        messages per connection before QUIT, 0 = unlimited (default 1)\n"
    "  --pipelining        MAIL, RCPTs and DATA in one write if the server offers PIPELINING\n"
    "  --starttls          STARTTLS after EHLO, then EHLO again\n"
    "  --implicit-tls      TLS from the first byte (RFC 8314, port 465 style)\n"
    "  --tls-resume        resume a session's previous TLS session when it reconnects\n"
    "  --sni NAME          TLS server name indication (default HOST)\n"
    "  --auth USER:PASS    AUTH PLAIN after EHLO (and after TLS)\n"
    "  --rate R            start at most R messages per second, all sessions together\n"
    "  --from ADDR         sender (default blast@load.test)\n"
    "  --to ADDR           recipient (default sink@example.test)\n"
    "  --helo NAME         EHLO name (default blast.load.test)\n"
    "  --timeout D         limit for each reply and the connect (default 30s)\n"
    "  --handshake-only    per session: connect, [TLS], EHLO, [AUTH], QUIT; no message;\n"
    "                      each completed session counts as one sent and accepted\n"
    "  --idle              each session connects, sends EHLO and holds the connection silent\n"
    "                      for --hold, then QUITs (connection scale); counts held sessions\n"
    "  --hold D            how long --idle holds (default 5s)\n"
    "  --threads N         io_uring event loops (default: one per CPU)\n"
    "  --engine E          uring (default: sessions as state machines on io_uring loops,\n"
    "                      TLS included) or threads (one blocking thread per session)\n"
    "  --json              print one JSON object instead of the summary; msgs_per_s and\n"
    "                      bytes_per_s count accepted messages, latency is MAIL to final 250\n"
    "  --acked-log FILE    write the Message-ID of every accepted message to FILE, one per\n"
    "                      line, at the end of the run (crash tests)\n"
    "  --help              this text\n"
    "\n"
    "On a terminal, a progress line on stderr shows msgs/s, errors and messages in flight\n"
    "every second (io_uring engine).\n"
    "The run always ends by itself: at --messages or --duration, at the latest after\n"
    "--duration plus --timeout, or after 10 minutes with --messages alone.\n"
    "Exit status: 0 if there were no errors, 1 if there were, 2 for bad arguments.\n";

constexpr unsigned kMaxSessions = 100000;        // io_uring engine (bounded by RLIMIT_NOFILE too)
constexpr unsigned kMaxThreadSessions = 5000;    // thread-per-session engine
constexpr size_t kMaxSize = 64ull << 20;  // each session holds a message of the largest size
constexpr unsigned kMaxRcpts = 10000;

Error flag_error(std::string_view flag, const std::string& problem) {
  return Error{std::string(flag) + ": " + problem};
}

// plain_token - an address or name that goes into a command line verbatim: no spaces,
// angle brackets or control bytes, which would break or inject SMTP syntax.
bool plain_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>') return false;
  }
  return true;
}

std::vector<std::string> derive_recipients(const std::string& to, unsigned count) {
  if (count == 1) return {to};
  const size_t at = to.rfind('@');
  const std::string local = to.substr(0, at);
  const std::string domain = at == std::string::npos ? "" : to.substr(at);
  std::vector<std::string> out;
  out.reserve(count);
  for (unsigned i = 1; i <= count; ++i) out.push_back(local + std::to_string(i) + domain);
  return out;
}

}  // namespace

const char* usage() { return kUsage; }

std::chrono::milliseconds Options::hard_cap() const {
  if (duration) return *duration + timeout;
  return std::chrono::minutes(10);
}

Result<Parsed> parse_options(int argc, char** argv) {
  Parsed parsed;
  Options& o = parsed.options;
  bool have_target = false;
  bool sni_given = false;

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      parsed.outcome = ParseOutcome::kHelp;
      return parsed;
    }
    if (arg.substr(0, 2) != "--") {
      if (have_target) return Error{"unexpected argument '" + std::string(arg) + "' (HOST:PORT given already)"};
      Result<Target> target = parse_target(arg);
      if (!target) return Error{"HOST:PORT: " + target.error().message};
      o.target = std::move(*target);
      have_target = true;
      continue;
    }
    // --flag=value or --flag value
    std::string_view flag = arg;
    std::optional<std::string_view> inline_value;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    auto bool_flag = [&](bool& field) -> Status {
      if (inline_value) return flag_error(flag, "takes no value");
      field = true;
      return Ok{};
    };
    auto value = [&]() -> Result<std::string_view> {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) return flag_error(flag, "needs a value");
      return std::string_view(argv[++i]);
    };
    // with_value - run `apply` on the flag's value; its error gets the flag's name.
    auto with_value = [&](auto apply) -> Status {
      Result<std::string_view> v = value();
      if (!v) return v.error();
      Status applied = apply(*v);
      if (!applied) return flag_error(flag, applied.error().message);
      return Ok{};
    };
    auto count_into = [&](auto& field, uint64_t min, uint64_t max) -> Status {
      return with_value([&](std::string_view v) -> Status {
        Result<uint64_t> n = parse_count(v, min, max);
        if (!n) return n.error();
        field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
        return Ok{};
      });
    };
    auto token_into = [&](std::string& field, const char* what) -> Status {
      return with_value([&](std::string_view v) -> Status {
        if (!plain_token(v)) return Error{std::string("expected ") + what + " without spaces, <, > or control bytes"};
        field = std::string(v);
        return Ok{};
      });
    };
    auto duration_into = [&](auto& field) -> Status {
      return with_value([&](std::string_view v) -> Status {
        Result<std::chrono::milliseconds> d = parse_duration(v);
        if (!d) return d.error();
        field = *d;
        return Ok{};
      });
    };

    Status status = Ok{};
    if (flag == "--sessions") status = count_into(o.sessions, 1, kMaxSessions);
    else if (flag == "--messages") {
      uint64_t n = 0;
      status = count_into(n, 1, UINT64_C(1) << 62);
      o.messages = n;
    } else if (flag == "--duration") status = duration_into(o.duration);
    else if (flag == "--size") {
      status = with_value([&](std::string_view v) -> Status {
        Result<SizeDistribution> d = SizeDistribution::parse(v, kMaxSize);
        if (!d) return d.error();
        o.size = std::move(*d);
        return Ok{};
      });
    }
    else if (flag == "--rcpts") status = count_into(o.rcpts, 1, kMaxRcpts);
    else if (flag == "--per-conn") status = count_into(o.per_conn, 0, UINT64_C(1) << 62);
    else if (flag == "--pipelining") status = bool_flag(o.pipelining);
    else if (flag == "--starttls") status = bool_flag(o.starttls);
    else if (flag == "--implicit-tls") status = bool_flag(o.implicit_tls);
    else if (flag == "--tls-resume") status = bool_flag(o.tls_resume);
    else if (flag == "--handshake-only") status = bool_flag(o.handshake_only);
    else if (flag == "--json") status = bool_flag(o.json);
    else if (flag == "--acked-log") status = token_into(o.acked_log, "a file name");
    else if (flag == "--idle") status = bool_flag(o.idle);
    else if (flag == "--hold") status = duration_into(o.hold);
    else if (flag == "--threads") status = count_into(o.threads, 1, 256);
    else if (flag == "--engine") {
      status = with_value([&](std::string_view v) -> Status {
        if (v == "uring") o.engine = Options::Engine::kUring;
        else if (v == "threads") o.engine = Options::Engine::kThreads;
        else return Error{"expected uring or threads"};
        return Ok{};
      });
    }
    else if (flag == "--sni") {
      status = token_into(o.sni, "a server name");
      sni_given = true;
    } else if (flag == "--auth") {
      status = with_value([&](std::string_view v) -> Status {
        const size_t colon = v.find(':');
        if (colon == std::string_view::npos || colon == 0) return Error{"expected USER:PASS"};
        o.auth_user = std::string(v.substr(0, colon));
        o.auth_pass = std::string(v.substr(colon + 1));  // may itself contain ':'
        return Ok{};
      });
    } else if (flag == "--rate") {
      status = with_value([&](std::string_view v) -> Status {
        Result<double> r = parse_rate(v);
        if (!r) return r.error();
        o.rate = *r;
        return Ok{};
      });
    } else if (flag == "--from") status = token_into(o.from, "an address");
    else if (flag == "--to") status = token_into(o.to, "an address");
    else if (flag == "--helo") status = token_into(o.helo, "a host name");
    else if (flag == "--timeout") status = duration_into(o.timeout);
    else return Error{"unknown flag " + std::string(flag) + " (see --help)"};
    if (!status) return status.error();
  }

  if (!have_target) return Error{"HOST:PORT: missing (see --help)"};
  if (o.starttls && o.implicit_tls) return Error{"--implicit-tls: cannot be combined with --starttls"};
  if (o.tls_resume && !o.tls()) return Error{"--tls-resume: needs --starttls or --implicit-tls"};
  if (sni_given && !o.tls()) return Error{"--sni: needs --starttls or --implicit-tls"};
  if (o.idle && o.handshake_only) return Error{"--idle: cannot be combined with --handshake-only"};
  if (o.idle && o.engine == Options::Engine::kThreads) return Error{"--idle: needs --engine uring"};
  if (o.engine == Options::Engine::kThreads && o.sessions > kMaxThreadSessions) {
    return Error{"--sessions: at most " + std::to_string(kMaxThreadSessions) + " with --engine threads"};
  }
  if (o.idle && !o.messages) o.messages = o.sessions;  // one held connection per session
  if (!o.messages && !o.duration) o.messages = 1000;
  if (!sni_given) o.sni = o.target.host;
  o.recipients = derive_recipients(o.to, o.rcpts);
  return parsed;
}

}  // namespace correo::blast
