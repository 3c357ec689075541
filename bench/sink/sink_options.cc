// sink_options.cc - parse correo-sink's flags; every error names its flag.
#include "bench/sink/sink_options.h"

#include <cstdlib>
#include <string_view>
#include <type_traits>

namespace correo::sink {
namespace {

std::optional<uint64_t> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::optional<double> parse_rate(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(v >= 0 && v <= 1)) return std::nullopt;
  return v;
}

}  // namespace

const char* usage() {
  return "usage: correo-sink [options]\n"
         "An SMTP sink on io_uring: accepts mail and discards it (or writes it to a directory),\n"
         "counts it, and can fail on purpose. One thread per CPU, each with its own ring and its\n"
         "own SO_REUSEPORT listener.\n"
         "\n"
         "  --listen ADDR:PORT        where to listen (default 127.0.0.1:2526; [v6]:port for IPv6)\n"
         "  --threads N               event-loop threads (default: one per CPU)\n"
         "  --max-connections N       per thread; more get 421 and are closed (default 10000)\n"
         "  --hostname NAME           in the greeting and EHLO (default sink.correo.test)\n"
         "  --ehlo LIST               extensions to advertise, comma-separated, from PIPELINING,\n"
         "                            8BITMIME, SMTPUTF8, CHUNKING, SIZE, DSN, ENHANCEDSTATUSCODES\n"
         "                            (default: all; \"\" = none). BDAT is accepted only with CHUNKING.\n"
         "  --size BYTES              SIZE limit; bigger messages get 552 (default 104857600)\n"
         "  --discard                 keep nothing (the default)\n"
         "  --dir DIR                 write each accepted message to DIR/<thread>-<n>.eml (DIR is created\n"
         "                            if missing): X-Sink-Envelope-From and one X-Sink-Rcpt line per\n"
         "                            recipient, then the message as received (dot-unstuffed)\n"
         "  --stats-file PATH         JSON counters, rewritten every second and at exit\n"
         "  --max-messages N          exit 0 after N accepted messages\n"
         "  --seed N                  seed of the fault dice (default 1)\n"
         "faults (RATE is a probability from 0 to 1):\n"
         "  --rcpt-tempfail RATE      451 4.2.0 to a recipient\n"
         "  --rcpt-permfail RATE      550 5.1.1 to a recipient (checked first)\n"
         "  --tempfail-attempt RATE   451 4.3.0 at the end of the data\n"
         "  --permfail-attempt RATE   554 5.6.0 at the end of the data (checked first)\n"
         "  --disconnect-in-data RATE close the connection in the middle of DATA/BDAT, no reply\n"
         "  --reply-delay MS          hold every batch of replies this long (an io_uring timeout)\n"
         "\n"
         "SIGTERM or SIGINT: write the stats, print a summary line, exit 0. No STARTTLS.\n";
}

Result<Parsed> parse_options(int argc, char** argv) {
  Parsed p;
  Options& o = p.options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      p.outcome = ParseOutcome::kHelp;
      return p;
    }
    if (flag == "--discard") {
      o.dir.clear();
      continue;
    }
    if (i + 1 >= argc) return Error{flag + ": needs a value (see --help)"};
    const std::string value = argv[++i];
    auto need_uint = [&](uint64_t max) -> Result<uint64_t> {
      auto v = parse_uint(value);
      if (!v || *v > max) return Error{flag + ": wants a number up to " + std::to_string(max) + ", not " + value};
      return *v;
    };
    auto set_uint = [&](auto& into, uint64_t max) -> Status {
      auto v = need_uint(max);
      if (!v) return v.error();
      into = static_cast<std::remove_reference_t<decltype(into)>>(v.value());
      return Ok{};
    };
    auto need_rate = [&](double& into) -> Status {
      auto v = parse_rate(value);
      if (!v) return Error{flag + ": wants a probability from 0 to 1, not " + value};
      into = *v;
      return Ok{};
    };
    Status st = Ok{};
    if (flag == "--listen") {
      const size_t colon = value.rfind(':');
      auto port = colon == std::string::npos ? std::nullopt : parse_uint(value.substr(colon + 1));
      if (!port || *port == 0 || *port > 65535) return Error{"--listen: wants ADDR:PORT, not " + value};
      o.address = value.substr(0, colon);
      if (o.address.size() > 2 && o.address.front() == '[' && o.address.back() == ']') {
        o.address = o.address.substr(1, o.address.size() - 2);
      }
      o.port = static_cast<uint16_t>(*port);
    } else if (flag == "--threads") {
      st = set_uint(o.threads, 256);
    } else if (flag == "--max-connections") {
      st = set_uint(o.max_connections, 1000000);
    } else if (flag == "--hostname") {
      o.hostname = value;
    } else if (flag == "--ehlo") {
      o.ehlo = value;
    } else if (flag == "--size") {
      st = set_uint(o.message_size, UINT64_MAX / 2);
    } else if (flag == "--dir") {
      o.dir = value;
    } else if (flag == "--stats-file") {
      o.stats_file = value;
    } else if (flag == "--max-messages") {
      auto v = need_uint(UINT64_MAX / 2);
      if (!v) return v.error();
      o.max_messages = v.value();
    } else if (flag == "--seed") {
      st = set_uint(o.seed, UINT64_MAX / 2);
    } else if (flag == "--rcpt-tempfail") {
      st = need_rate(o.faults.rcpt_tempfail);
    } else if (flag == "--rcpt-permfail") {
      st = need_rate(o.faults.rcpt_permfail);
    } else if (flag == "--tempfail-attempt") {
      st = need_rate(o.faults.tempfail_attempt);
    } else if (flag == "--permfail-attempt") {
      st = need_rate(o.faults.permfail_attempt);
    } else if (flag == "--disconnect-in-data") {
      st = need_rate(o.faults.disconnect_in_data);
    } else if (flag == "--reply-delay") {
      st = set_uint(o.faults.reply_delay_ms, 600000);
    } else {
      return Error{"unknown option " + flag + " (see --help)"};
    }
    if (!st) return st.error();
  }
  return p;
}

}  // namespace correo::sink
