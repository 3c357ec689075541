// correo-sink - an SMTP sink on io_uring for correo's tests and benchmarks (sink_loop.h).
//
// main opens one SO_REUSEPORT listener per thread (so a bad address fails before anything
// runs), starts the loops, and then only handles signals, the stats file (rewritten every
// second, atomically) and --max-messages. Exit status: 0 after SIGTERM/SIGINT or
// --max-messages, 1 when a listener or a ring cannot be set up, 2 on a usage error.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/sink/sink_loop.h"
#include "bench/sink/sink_options.h"

namespace correo::sink {
namespace {

struct Totals {
  uint64_t connections = 0, refused = 0, messages = 0, recipients = 0, bytes = 0, dropped = 0;
  std::vector<uint64_t> replies = std::vector<uint64_t>(600, 0);
};

Totals sum(const std::vector<std::unique_ptr<SinkLoop>>& loops) {
  Totals t;
  for (const auto& l : loops) {
    const Counters& c = l->counters();
    t.connections += c.connections.get();
    t.refused += c.refused.get();
    t.messages += c.messages.get();
    t.recipients += c.recipients.get();
    t.bytes += c.bytes.get();
    t.dropped += c.dropped.get();
    for (size_t i = 0; i < t.replies.size(); ++i) t.replies[i] += c.replies[i].get();
  }
  return t;
}

std::string to_json(const Totals& t, double elapsed) {
  std::string out = "{\"messages\": " + std::to_string(t.messages) + ", \"recipients\": " + std::to_string(t.recipients) +
                    ", \"bytes\": " + std::to_string(t.bytes) + ", \"connections\": " + std::to_string(t.connections) +
                    ", \"refused\": " + std::to_string(t.refused) + ", \"dropped\": " + std::to_string(t.dropped) +
                    ", \"elapsed_s\": " + std::to_string(elapsed) + ", \"replies\": {";
  bool first = true;
  for (size_t code = 0; code < t.replies.size(); ++code) {
    if (t.replies[code] == 0) continue;
    out += (first ? "\"" : ", \"") + std::to_string(code) + "\": " + std::to_string(t.replies[code]);
    first = false;
  }
  return out + "}}\n";
}

void write_stats(const std::string& path, const std::string& json) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fputs(json.c_str(), f);
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());
  }
}

int run(const Options& o) {
  if (!o.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.dir, ec);
    if (ec) {
      std::fprintf(stderr, "correo-sink: --dir %s: %s\n", o.dir.c_str(), ec.message().c_str());
      return 1;
    }
  }
  const unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<int> fds;
  for (unsigned i = 0; i < threads; ++i) {
    auto fd = open_listener(o);
    if (!fd) {
      std::fprintf(stderr, "correo-sink: %s\n", fd.error().message.c_str());
      return 1;
    }
    fds.push_back(fd.value());
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<SinkLoop>> loops;
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < threads; ++i) loops.push_back(std::make_unique<SinkLoop>(o, i, fds[i], stop));
  for (auto& l : loops) workers.emplace_back([&l] { l->run(); });
  std::fprintf(stderr, "correo-sink: listening on %s:%u with %u thread(s)%s%s\n", o.address.c_str(), o.port, threads,
               o.dir.empty() ? ", discarding" : ", writing to ", o.dir.c_str());

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto next_stats = start;
  // With --max-messages a benchmark times the run by this process's exit: look often.
  const timespec wait{0, (o.max_messages ? 5 : 100) * 1000 * 1000};
  int rc = 0;
  while (true) {
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) break;
    bool failed = false;
    for (const auto& l : loops) failed = failed || !l->error().empty();
    if (failed) {
      rc = 1;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    const Totals t = sum(loops);
    if (now >= next_stats) {
      write_stats(o.stats_file, to_json(t, elapsed()));
      next_stats = now + std::chrono::seconds(1);
    }
    if (o.max_messages && t.messages >= *o.max_messages) break;
  }
  stop.store(true);
  for (auto& w : workers) w.join();
  for (const auto& l : loops) {
    if (!l->error().empty()) std::fprintf(stderr, "correo-sink: %s\n", l->error().c_str());
  }
  for (int fd : fds) ::close(fd);
  const Totals t = sum(loops);
  const double secs = elapsed();
  write_stats(o.stats_file, to_json(t, secs));
  std::fprintf(stderr, "correo-sink: %llu messages, %llu recipients, %llu bytes, %llu connections in %.1f s (%.0f msgs/s)\n",
               static_cast<unsigned long long>(t.messages), static_cast<unsigned long long>(t.recipients),
               static_cast<unsigned long long>(t.bytes), static_cast<unsigned long long>(t.connections), secs,
               secs > 0 ? t.messages / secs : 0.0);
  return rc;
}

}  // namespace
}  // namespace correo::sink

int main(int argc, char** argv) {
  auto parsed = correo::sink::parse_options(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "correo-sink: %s\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed->outcome == correo::sink::ParseOutcome::kHelp) {
    std::fputs(correo::sink::usage(), stdout);
    return 0;
  }
  return correo::sink::run(parsed->options);
}
