// main.cc - correod: load the config, open the spool (recovery), bind the listeners, run
// one worker per core and the spool thread, and stop cleanly on SIGTERM/SIGINT.
//
//   correod --config FILE          run in the foreground; logs to stderr
//   correod --check-config FILE    print every error as FILE:LINE: key: problem
//   correod --version
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "queue/queue_id.h"
#include "queue/spool.h"
#include "relay/auth/auth_service.h"
#include "relay/auth/users.h"
#include "relay/common/log.h"
#include "relay/common/snapshot.h"
#include "relay/config/config.h"
#include "relay/config/config_reload.h"
#include "relay/delivery/scheduler.h"
#include "relay/policy/greylist.h"
#include "relay/policy/policy.h"
#include "metrics/http_server.h"
#include "relay/admin/admin_server.h"
#include "relay/admin/queue_admin.h"
#include "relay/server/daemon_metrics.h"
#include "relay/server/listener.h"
#include "relay/server/worker.h"
#include "tls/tls_context.h"

namespace correo {
namespace {

void usage(FILE* f) {
  fprintf(f,
          "usage: correod --config FILE        run in the foreground\n"
          "       correod --check-config FILE  validate FILE and print every problem\n"
          "       correod --version\n");
}

// make_dirs - mkdir -p; the state directory and the queue below it.
bool make_dirs(const std::string& path, std::string& error) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && mkdir(cur.c_str(), 0750) != 0 && errno != EEXIST) {
        error = cur + ": " + strerror(errno);
        return false;
      }
    }
    if (i < path.size()) cur += path[i];
  }
  return true;
}

// load_certificate / load_users - the files the config names, read at start and on SIGHUP.
// An empty name means the feature is off (null, no error).
Result<std::shared_ptr<const TlsContext>> load_certificate(const Config& config) {
  if (config.tls.cert.empty()) return std::shared_ptr<const TlsContext>();
  auto ctx = TlsContext::server(config.tls.cert, config.tls.key);
  if (!ctx) return Error{config.path + ": tls: " + ctx.error().message};
  return ctx;
}

Result<std::shared_ptr<const UserTable>> load_users(const Config& config) {
  if (config.auth.users_file.empty()) return std::shared_ptr<const UserTable>();
  auto users = UserTable::load(config.auth.users_file);
  if (!users) return Error{config.path + ": auth.users_file: " + users.error().message};
  return users;
}

Result<std::shared_ptr<const PolicyTables>> load_tables(const Config& config) {
  auto tables = load_policy_tables(config.policy);
  if (!tables) return Error{config.path + ": policy: " + tables.error().message};
  return tables;
}

int check_config(const char* path) {
  ConfigLoad load = load_config(path);
  for (const auto& e : load.errors) fprintf(stderr, "%s\n", e.text.c_str());
  if (!load.errors.empty()) return 1;
  int rc = 0;
  if (auto cert = load_certificate(load.config); !cert) {
    fprintf(stderr, "%s\n", cert.error().message.c_str());
    rc = 1;
  }
  if (auto users = load_users(load.config); !users) {
    fprintf(stderr, "%s\n", users.error().message.c_str());
    rc = 1;
  }
  if (auto tables = load_tables(load.config); !tables) {
    fprintf(stderr, "%s\n", tables.error().message.c_str());
    rc = 1;
  }
  if (rc == 0) printf("%s: ok\n", path);
  return rc;
}

// reload_files - SIGHUP: certificates, users and policy maps are replaced only when the new
// files load; otherwise the old ones stay in service and the error is logged. Open sessions
// keep theirs. Returns false when any of them failed.
bool reload_files(const Config& config, TlsContextSlot& tls, AuthService* auth, Snapshot<UserTable>& users,
                  Policy& policy) {
  bool ok = true;
  if (auto tables = load_tables(config)) {
    policy.tables().set(tables.value());
    LogLine(LogLevel::kInfo, "reloaded").kv("what", "policy_maps");
  } else {
    ok = false;
    LogLine(LogLevel::kError, "reload_failed").kv("what", "policy_maps").kv("error", tables.error().message);
  }
  if (!config.tls.cert.empty()) {
    auto ctx = load_certificate(config);
    if (ctx) {
      tls.set(ctx.value());
      LogLine(LogLevel::kInfo, "reloaded").kv("what", "certificate").kv("certificate", ctx.value()->description());
    } else {
      ok = false;
      LogLine(LogLevel::kError, "reload_failed").kv("what", "certificate").kv("error", ctx.error().message);
    }
  }
  if (auth) {
    auto table = load_users(config);
    if (table) {
      users.set(table.value());
      auth->set_users(table.value());
      LogLine(LogLevel::kInfo, "reloaded").kv("what", "users").kv("users", static_cast<uint64_t>(table.value()->size()));
    } else {
      ok = false;
      LogLine(LogLevel::kError, "reload_failed").kv("what", "users").kv("error", table.error().message);
    }
  }
  return ok;
}

// reload - SIGHUP. The whole file is read and checked first: an invalid file changes
// nothing (every error is logged). A valid one is published as the running configuration -
// except the settings bound at start, which plan_reload keeps and the log names as
// restart_needed - and the certificate, users and policy maps are re-read from the paths it
// names. New sessions and the next scheduling decisions use it; sessions already open keep
// the configuration they started with.
bool reload(const std::string& path, std::shared_ptr<const Config>& running, Snapshot<Config>& slot,
            TlsContextSlot& tls, AuthService* auth, Snapshot<UserTable>& users, Policy& policy) {
  ConfigLoad next = load_config(path);
  if (!next.errors.empty()) {
    for (const auto& e : next.errors) {
      LogLine(LogLevel::kError, "reload_failed").kv("what", "config").kv("error", e.text);
    }
    LogLine(LogLevel::kError, "reload_rejected").kv("errors", static_cast<uint64_t>(next.errors.size()))
        .kv("kept", "the running configuration");
    return false;
  }
  ReloadPlan plan = plan_reload(*running, std::move(next.config));
  set_log_options(plan.config.log.level, plan.config.log.format);
  policy.apply_rates(plan.config.policy);
  running = std::make_shared<const Config>(std::move(plan.config));
  slot.set(running);
  const bool files_ok = reload_files(*running, tls, auth, users, policy);
  LogLine line(LogLevel::kInfo, "reloaded");
  line.kv("what", "config").kv("files_ok", files_ok);
  if (!plan.restart_needed.empty()) line.kv("restart_needed", join_names(plan.restart_needed));
  return files_ok;
}

// log_stats - the figures the ingest benchmark reads: fsync batch sizes and latencies.
void log_stats(const SpoolStats& spool, const std::vector<std::unique_ptr<Worker>>& workers, const Policy& policy,
               const DaemonTotals& t) {
  WorkerStats total;
  for (const auto& w : workers) total.commit_latency_us.merge(w->stats().commit_latency_us);
  LogLine(LogLevel::kInfo, "stats")
      .kv("connections", t.connections).kv("refused", t.refused).kv("messages", t.messages_accepted)
      .kv("tls_handshakes", t.tls_handshakes).kv("tls_resumed", t.tls_resumed).kv("tls_failed", t.tls_failed)
      .kv("spool_batches", spool.batches).kv("spool_messages", spool.messages).kv("spool_failed", spool.failed)
      .kv("batch_mean", spool.batch_size.mean()).kv("batch_p50", spool.batch_size.quantile(0.5))
      .kv("batch_p99", spool.batch_size.quantile(0.99)).kv("batch_max", spool.batch_size.max())
      .kv("fsync_us_p50", spool.write_latency_us.quantile(0.5)).kv("fsync_us_p99", spool.write_latency_us.quantile(0.99))
      .kv("commit_us_p50", total.commit_latency_us.quantile(0.5))
      .kv("commit_us_p90", total.commit_latency_us.quantile(0.9))
      .kv("commit_us_p99", total.commit_latency_us.quantile(0.99))
      .kv("commit_us_p999", total.commit_latency_us.quantile(0.999))
      .kv("commit_us_max", total.commit_latency_us.max());
  LogLine rejected(LogLevel::kInfo, "policy_stats");
  for (size_t r = 0; r < kRejectReasonCount; ++r) rejected.kv(std::string("rejected_") + std::string(reason_name(r)), policy.rejected(r));
}

int run(const char* config_path) {
  ConfigLoad load = load_config(config_path);
  if (!load.errors.empty()) {
    for (const auto& e : load.errors) fprintf(stderr, "%s\n", e.text.c_str());
    fprintf(stderr, "correod: not started: %zu configuration error(s)\n", load.errors.size());
    return 1;
  }
  // The running configuration: threads read it through a Snapshot, and SIGHUP publishes a
  // new one. `config` is the one the daemon started with, for what is bound at start.
  Snapshot<Config> config_slot;
  const auto initial = std::make_shared<const Config>(std::move(load.config));
  config_slot.set(initial);
  std::shared_ptr<const Config> running = initial;
  const Config& config = *initial;
  set_log_options(config.log.level, config.log.format);

  // Signals are taken by this thread only (sigwait); workers and the spool never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const std::string queue_dir = config.server.state_dir + "/queue";
  std::string error;
  if (!make_dirs(queue_dir, error)) {
    LogLine(LogLevel::kError, "start_failed").kv("reason", "state_dir").kv("error", error);
    return 1;
  }
  SpoolOptions spool_options;
  spool_options.dir = queue_dir;
  spool_options.workers = config.server.workers;
  spool_options.min_free_space = config.queue.min_free_space;
  spool_options.body_memtable = config.queue.body_memtable;
  auto spool_result = Spool::open(spool_options);
  if (!spool_result) {
    LogLine(LogLevel::kError, "start_failed").kv("reason", "spool").kv("error", spool_result.error().message);
    return 1;
  }
  std::unique_ptr<Spool> spool = std::move(spool_result.value());
  const RecoveryInfo& recovered = spool->recovery();
  for (uint64_t id : recovered.ids) LogLine(LogLevel::kDebug, "recovered").kv("id", format_queue_id(id));

  Scheduler scheduler(config_slot, *spool, config.server.workers, recovered.max_id);

  TlsContextSlot tls;
  Snapshot<UserTable> users;
  std::unique_ptr<AuthService> auth;
  {
    auto cert = load_certificate(config);
    auto table = load_users(config);
    for (const Status& st : {cert ? Status(Ok{}) : Status(cert.error()), table ? Status(Ok{}) : Status(table.error())}) {
      if (!st) {
        LogLine(LogLevel::kError, "start_failed").kv("reason", "config_files").kv("error", st.error().message);
        return 1;
      }
    }
    if (cert.value()) {
      tls.set(cert.value());
      LogLine(LogLevel::kInfo, "tls_ready").kv("certificate", cert.value()->description());
    }
    if (table.value()) {
      users.set(table.value());
      AuthOptions options;
      options.max_failures = config.auth.max_failures;
      options.failure_window = config.auth.failure_window;
      std::vector<int> wake_fds;
      for (unsigned w = 0; w < config.server.workers; ++w) wake_fds.push_back(spool->completion_fd(w));
      auth = std::make_unique<AuthService>(options, table.value(), std::move(wake_fds));
      auth->start();
      LogLine(LogLevel::kInfo, "auth_ready").kv("users", static_cast<uint64_t>(table.value()->size()));
    }
  }
  Policy policy(config);
  std::unique_ptr<GreylistService> greylist;
  {
    auto tables = load_tables(config);
    if (!tables) {
      LogLine(LogLevel::kError, "start_failed").kv("reason", "config_files").kv("error", tables.error().message);
      return 1;
    }
    policy.tables().set(tables.value());
    if (config.policy.greylist.enabled) {
      GreylistOptions options;
      options.dir = config.server.state_dir + "/greylist";
      options.delay = std::chrono::duration_cast<std::chrono::seconds>(config.policy.greylist.delay);
      options.retry_window = std::chrono::duration_cast<std::chrono::seconds>(config.policy.greylist.retry_window);
      options.pass_lifetime = std::chrono::duration_cast<std::chrono::seconds>(config.policy.greylist.pass_lifetime);
      options.auto_allow_clients = config.policy.greylist.auto_allow_clients;
      std::vector<int> wake_fds;
      for (unsigned w = 0; w < config.server.workers; ++w) wake_fds.push_back(spool->completion_fd(w));
      auto service = GreylistService::open(options, std::move(wake_fds));
      if (!service) {
        LogLine(LogLevel::kError, "start_failed").kv("reason", "greylist").kv("error", service.error().message);
        return 1;
      }
      greylist = std::move(service.value());
      greylist->start();
      policy.set_greylist(greylist.get());
    }
  }
  std::vector<std::string> listener_names;
  for (const auto& l : config.listeners) listener_names.push_back(listener_name(l));
  DaemonMetrics metrics(listener_names, config.server.workers);
  metrics.attach(spool.get(), &scheduler, &policy);
  WorkerServices services;
  services.policy = &policy;
  services.tls = config.tls.cert.empty() ? nullptr : &tls;
  services.auth = auth.get();
  services.users = auth ? &users : nullptr;

  // Every worker gets its own socket per listener (SO_REUSEPORT); bind errors stop the start.
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned w = 0; w < config.server.workers; ++w) {
    std::vector<ListenSocket> sockets;
    for (size_t i = 0; i < config.listeners.size(); ++i) {
      auto fd = open_listen_socket(config.listeners[i]);
      if (!fd) {
        LogLine(LogLevel::kError, "start_failed").kv("reason", "listen").kv("error", fd.error().message);
        return 1;
      }
      sockets.push_back(ListenSocket{fd.value(), i, listener_name(config.listeners[i])});
    }
    workers.push_back(
        std::make_unique<Worker>(w, config_slot, *spool, scheduler, std::move(sockets), recovered.max_id, metrics.worker(w),
                                 services));
  }
  spool->start();
  for (auto& w : workers) {
    Status st = w->start();
    if (!st) {
      LogLine(LogLevel::kError, "start_failed").kv("reason", "worker").kv("error", st.error().message);
      for (auto& other : workers) other->request_stop();
      workers.clear();
      spool->stop();
      return 1;
    }
  }
  scheduler.start();

  // Operations endpoints last: once they answer, everything they report on is running.
  std::unique_ptr<HttpServer> http;
  if (!config.metrics.listen.empty()) {
    HttpServerOptions options;
    options.listen = config.metrics.listen;
    Spool* spool_ptr = spool.get();
    auto server = HttpServer::start(
        options, [&metrics] { return metrics.render(); },
        [&metrics, spool_ptr]() -> Readiness {
          if (!metrics.ready()) return {false, "draining"};
          if (!spool_ptr->writable()) return {false, "spool not writable"};
          return {true, ""};
        });
    if (!server) {
      LogLine(LogLevel::kError, "start_failed").kv("reason", "metrics.listen").kv("error", server.error().message);
      scheduler.stop();
      for (auto& w : workers) w->request_stop();
      return 1;
    }
    http = std::move(server.value());
  }
  QueueAdmin queue_admin(*spool, scheduler, metrics);
  std::unique_ptr<AdminServer> admin;
  if (!config.admin.listen.empty()) {
    AdminServerOptions options;
    options.on_request = [&metrics](std::string_view command) { metrics.count_admin(command); };
    auto server = AdminServer::start(config.admin.listen, queue_admin, options);
    if (!server) {
      LogLine(LogLevel::kError, "start_failed").kv("reason", "admin.listen").kv("error", server.error().message);
      http.reset();
      scheduler.stop();
      for (auto& w : workers) w->request_stop();
      return 1;
    }
    admin = std::move(server.value());
  }
  metrics.set_ready(true);
  std::string listeners;
  for (const auto& l : config.listeners) {
    if (!listeners.empty()) listeners += ',';
    listeners += listener_name(l) + "/" + to_string(l.mode);
  }
  LogLine(LogLevel::kInfo, "started").kv("version", CORREO_VERSION).kv("hostname", config.server.hostname)
      .kv("workers", config.server.workers).kv("listeners", listeners).kv("queue", queue_dir)
      .kv("recovered", recovered.messages).kv("corrupt", recovered.corrupt)
      .kv("metrics", http ? config.metrics.listen + " port=" + std::to_string(http->port()) : std::string("off"))
      .kv("admin", admin ? admin->address() : std::string("off"));

  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      metrics.count_reload(reload(config_path, running, config_slot, tls, auth.get(), users, policy));
      continue;
    }
    LogLine(LogLevel::kInfo, "stopping").kv("signal", strsignal(sig))
        .kv("grace_s", std::chrono::duration<double>(running->shutdown.grace).count());
    break;
  }
  // Drain: readiness goes false at once (a load balancer stops sending), then the scheduler
  // stops (no new deliveries; admin requests waiting are answered), correoctl is closed, and
  // the workers stop accepting, finish transactions in progress within shutdown.grace (every
  // commit in flight is answered) and QUIT their outbound connections; then the spool.
  // /healthz keeps answering until the end: the process is alive while it drains.
  metrics.set_ready(false);
  scheduler.stop();
  admin.reset();
  for (auto& w : workers) w->request_stop();
  for (auto& w : workers) w->join();
  if (auth) auth->stop();  // after the workers: none is waiting for a verdict any more
  if (greylist) greylist->stop();
  spool->stop();
  const DaemonTotals totals = metrics.totals();
  log_stats(spool->stats_snapshot(), workers, policy, totals);
  const SchedulerStats ss = scheduler.stats();
  LogLine(LogLevel::kInfo, "delivery_stats").kv("dispatched", ss.dispatched).kv("delivered", ss.delivered)
      .kv("deferred", ss.deferred).kv("failed", ss.failed).kv("bounces", ss.bounces)
      .kv("connections", totals.outbound_connections).kv("transactions", totals.outbound_transactions)
      .kv("reused", totals.outbound_reused);
  http.reset();
  LogLine(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace correo

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("correod %s\n", CORREO_VERSION);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--config") == 0) return correo::run(argv[2]);
  if (argc == 3 && strcmp(argv[1], "--check-config") == 0) return correo::check_config(argv[2]);
  correo::usage(stderr);
  return 2;
}
