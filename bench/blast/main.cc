// main.cc - correo-blast: an SMTP load generator for correo (and any SMTP server).
//
// Runs go to the io_uring engine: --threads event loops, each driving its share of the
// sessions as state machines, TLS included (uring_engine.h), so one process holds 10,000
// sessions and out-runs the server it measures. --engine threads keeps one blocking thread
// per session (session.h), the simple reference the engine's counts are checked against.
// Either way main waits for the engine and reports what it counted.
// The run always ends by itself (see Options::hard_cap); SIGINT/SIGTERM end it early and
// still print the report. Exit status: 0 without errors, 1 with any, 2 for bad arguments.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "bench/blast/message.h"
#include "bench/blast/options.h"
#include "bench/blast/report.h"
#include "bench/blast/run_control.h"
#include "bench/blast/session.h"
#include "bench/blast/stats.h"
#include "bench/blast/tls_client.h"
#include "bench/blast/uring_engine.h"
#include "relay/common/clock.h"

namespace correo::blast {
namespace {

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void on_interrupt(int) { g_interrupted.store(true); }

void install_signal_handlers() {
  // A server closing mid-write must be an error value from write, not a dead process.
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

void* session_thread(void* session) {
  static_cast<Session*>(session)->run();
  return nullptr;
}

// Session threads need little stack (no recursion; buffers are on the heap), and a small
// one keeps a few thousand sessions within reason.
constexpr size_t kThreadStack = 1u << 20;

// run_threads - one blocking thread per session (TLS runs, or --engine threads).
int run_threads(const Options& options, const SessionShared& shared, RunReport& report) {
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<pthread_t> threads;
  sessions.reserve(options.sessions);
  threads.reserve(options.sessions);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kThreadStack);
  int start_failure = 0;
  for (unsigned i = 0; i < options.sessions; ++i) {
    sessions.push_back(std::make_unique<Session>(shared, i));
    pthread_t thread;
    start_failure = pthread_create(&thread, &attr, session_thread, sessions.back().get());
    if (start_failure != 0) {
      sessions.pop_back();
      g_interrupted.store(true);  // the run would not be what was asked for: stop it
      std::fprintf(stderr, "correo-blast: cannot start session thread %u: %s\n", i, std::strerror(start_failure));
      break;
    }
    threads.push_back(thread);
  }
  pthread_attr_destroy(&attr);
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  for (const auto& session : sessions) {
    report.totals.merge(session->stats());
    if (session->gave_up()) ++report.sessions_gave_up;
  }
  return start_failure;
}

// run_uring - the sessions spread over --threads io_uring loops (uring_engine.h).
int run_uring(const Options& options, const EngineShared& shared, RunReport& report) {
  const unsigned loops = std::min(options.sessions,
                                  options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::unique_ptr<UringLoop>> engines;
  uint32_t first = 0;
  for (unsigned i = 0; i < loops; ++i) {
    const uint32_t count = options.sessions / loops + (i < options.sessions % loops ? 1 : 0);
    engines.push_back(std::make_unique<UringLoop>(shared, first, count));
    first += count;
  }
  std::atomic<unsigned> running{static_cast<unsigned>(engines.size())};
  std::vector<std::thread> threads;
  for (auto& e : engines) {
    threads.emplace_back([&e, &running] {
      e->run();
      running.fetch_sub(1);
    });
  }
  // A live progress line on a terminal (stderr): messages/s over the last second, errors,
  // messages in flight. Not on a pipe or file, where it would only clutter a log.
  if (::isatty(STDERR_FILENO)) {
    uint64_t last = 0;
    auto last_at = Clock::now();
    while (running.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const auto now = Clock::now();
      if (now - last_at < std::chrono::seconds(1) && running.load() > 0) continue;
      uint64_t accepted = 0, errors = 0, in_flight = 0;
      for (const auto& e : engines) {
        accepted += e->progress().accepted.load(std::memory_order_relaxed);
        errors += e->progress().errors.load(std::memory_order_relaxed);
        in_flight += e->progress().in_flight.load(std::memory_order_relaxed);
      }
      const double rate = (accepted - last) / std::chrono::duration<double>(now - last_at).count();
      std::fprintf(stderr, "\r%10.0f msgs/s  accepted %llu  errors %llu  in flight %llu   ", rate,
                   static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(errors),
                   static_cast<unsigned long long>(in_flight));
      last = accepted;
      last_at = now;
    }
    std::fputs("\n", stderr);
  }
  for (auto& t : threads) t.join();
  int failure = 0;
  for (const auto& e : engines) {
    if (!e->error().empty()) {
      std::fprintf(stderr, "correo-blast: %s\n", e->error().c_str());
      failure = 1;
    }
    report.totals.merge(e->stats());
    report.sessions_gave_up += e->gave_up();
  }
  return failure;
}

// write_acked_log - --acked-log: one Message-ID per line.
bool write_acked_log(const std::string& path, const std::vector<std::string>& ids) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  bool ok = f != nullptr;
  for (size_t i = 0; ok && i < ids.size(); ++i) ok = std::fprintf(f, "%s\n", ids[i].c_str()) > 0;
  if (f != nullptr && std::fclose(f) != 0) ok = false;
  if (!ok) std::fprintf(stderr, "correo-blast: --acked-log %s: %s\n", path.c_str(), std::strerror(errno));
  return ok;
}

int run(int argc, char** argv) {
  Result<Parsed> parsed = parse_options(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "correo-blast: %s\n", parsed.error().message.c_str());
    return 2;
  }
  if (parsed->outcome == ParseOutcome::kHelp) {
    std::fputs(usage(), stdout);
    return 0;
  }
  const Options& options = parsed->options;
  install_signal_handlers();

  // TLS contexts are made before the clock starts: loading the trust store takes time.
  std::shared_ptr<const TlsContext> uring_tls;
  if (options.tls() && options.engine == Options::Engine::kUring) {
    Result<std::shared_ptr<const TlsContext>> made = TlsContext::load_generator_client();
    if (!made) {
      std::fprintf(stderr, "correo-blast: TLS context: %s\n", made.error().message.c_str());
      return 1;
    }
    uring_tls = std::move(*made);
    // --tls-resume keeps each session's last SSL_SESSION itself (TlsStream::take_session),
    // as the threaded engine does; OpenSSL's own client cache stays out of it.
    SSL_CTX_set_session_cache_mode(uring_tls->raw(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  }
  std::unique_ptr<TlsClientContext> tls;
  if (options.tls() && options.engine == Options::Engine::kThreads) {
    Result<std::unique_ptr<TlsClientContext>> created = TlsClientContext::create();
    if (!created) {
      std::fprintf(stderr, "correo-blast: %s\n", created.error().message.c_str());
      return 1;
    }
    tls = std::move(*created);
  }

  TextTally errors;
  TextTally rejections;
  const Deadline start = Clock::now();
  RunControl run_control(options, start, &g_interrupted);
  const SessionShared shared{&options, &run_control, tls ? tls->raw() : nullptr, &errors, &rejections,
                             static_cast<uint64_t>(unix_now_us()) ^ (static_cast<uint64_t>(::getpid()) << 44)};

  RunReport report;
  int start_failure = 0;
  if (options.engine == Options::Engine::kUring) {
    start_failure = run_uring(options, EngineShared{&options, &run_control, &errors, &rejections, shared.run_id,
                                                   std::move(uring_tls)}, report);
  } else {
    start_failure = run_threads(options, shared, report);
  }
  report.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (options.size.fixed()) {
    const Message sample(MessageSpec{options.from, options.recipients.front(), options.helo, options.size.max(), 0, 0});
    report.message_sizes = std::to_string(sample.content_size()) + "-byte messages";
  } else {
    report.message_sizes = "messages of " + options.size.describe();
  }
  if (options.json) print_json(report);
  else print_summary(options, report);
  print_problems(errors, rejections, report);
  if (!options.acked_log.empty() && !write_acked_log(options.acked_log, report.totals.acked_ids)) return 1;
  if (start_failure != 0) return 1;
  return report.totals.errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace correo::blast

int main(int argc, char** argv) { return correo::blast::run(argc, argv); }
