// report.cc - printing the end-of-run report (see report.h).
#include "bench/blast/report.h"

#include <cinttypes>
#include <cstdio>

namespace correo::blast {

namespace {

double per_second(double amount, double elapsed_s) { return elapsed_s > 0 ? amount / elapsed_s : 0; }

double quantile_ms(const RunReport& report, double q) {
  return static_cast<double>(report.totals.latency_us.quantile(q)) / 1000.0;
}

void print_tally(const char* title, const TextTally& tally) {
  if (tally.entries().empty()) return;
  std::fprintf(stderr, "%s:\n", title);
  for (const auto& [text, count] : tally.entries()) std::fprintf(stderr, "  %8" PRIu64 "  %s\n", count, text.c_str());
  if (tally.others() > 0) std::fprintf(stderr, "  %8" PRIu64 "  (other texts)\n", tally.others());
}

}  // namespace

void print_json(const RunReport& report) {
  const SessionStats& t = report.totals;
  const double accepted = static_cast<double>(t.accepted);
  std::printf(
      "{\"sent\": %" PRIu64 ", \"accepted\": %" PRIu64 ", \"rejected\": %" PRIu64 ", \"errors\": %" PRIu64
      ", \"elapsed_s\": %.3f, \"msgs_per_s\": %.1f, \"bytes_per_s\": %.0f, "
      "\"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"p999\": %.3f}, "
      "\"connections\": %" PRIu64 ", \"tls_resumed\": %" PRIu64 ", \"bytes\": %" PRIu64 "}\n",
      t.sent, t.accepted, t.rejected, t.errors, report.elapsed_s, per_second(accepted, report.elapsed_s),
      per_second(static_cast<double>(t.bytes), report.elapsed_s), quantile_ms(report, 0.5), quantile_ms(report, 0.9),
      quantile_ms(report, 0.99), quantile_ms(report, 0.999), t.connections, t.tls_resumed, t.bytes);
}

void print_summary(const Options& options, const RunReport& report) {
  const SessionStats& t = report.totals;
  const double accepted = static_cast<double>(t.accepted);
  std::printf("correo-blast %s:%u: %u sessions, %s%s%s\n", options.target.host.c_str(), options.target.port,
              options.sessions,
              options.handshake_only ? "handshakes only"
                                     : (report.message_sizes + ", " + std::to_string(options.rcpts) + " rcpt").c_str(),
              options.pipelining ? ", pipelining" : "",
              options.implicit_tls ? ", implicit TLS" : options.starttls ? ", STARTTLS" : "");
  std::printf("  sent %" PRIu64 "  accepted %" PRIu64 "  rejected %" PRIu64 "  errors %" PRIu64
              "  connections %" PRIu64,
              t.sent, t.accepted, t.rejected, t.errors, t.connections);
  if (options.tls_resume) std::printf("  tls resumed %" PRIu64, t.tls_resumed);
  if (options.handshake_only) {
    std::printf("\n  %.3f s  %.1f sessions/s\n", report.elapsed_s, per_second(accepted, report.elapsed_s));
  } else {
    std::printf("\n  %.3f s  %.1f msgs/s  %.2f MB/s", report.elapsed_s, per_second(accepted, report.elapsed_s),
                per_second(static_cast<double>(t.bytes), report.elapsed_s) / 1e6);
    if (!options.size.fixed() && t.accepted > 0) std::printf("  mean size %" PRIu64 " bytes", t.bytes / t.accepted);
    std::printf("\n");
  }
  std::printf("  latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", quantile_ms(report, 0.5),
              quantile_ms(report, 0.9), quantile_ms(report, 0.99), quantile_ms(report, 0.999),
              static_cast<double>(t.latency_us.max()) / 1000.0);
}

void print_problems(const TextTally& errors, const TextTally& rejections, const RunReport& report) {
  print_tally("errors", errors);
  print_tally("rejections", rejections);
  if (report.sessions_gave_up > 0) {
    std::fprintf(stderr, "%u session(s) gave up after 100 consecutive connection errors\n", report.sessions_gave_up);
  }
}

}  // namespace correo::blast
