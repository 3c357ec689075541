// spool_bench.cc - the durable queue's group commit: a worker submits N messages, then waits
// for their N completions; the spool thread writes whatever is queued as one RocksDB
// WriteBatch with one WAL fsync (sync = true, as correod ships). items/s is messages made
// durable per second at batch sizes 1, 16 and 256 - the fsync cost spread over a batch is
// what lets ingest run far above 1/fsync-latency.
//
// Each benchmark has its own spool in a fresh temporary directory, removed afterwards.
// Messages: a 1 KiB body and one recipient.
#include <benchmark/benchmark.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "queue/queue_id.h"
#include "queue/spool.h"
#include "relay/common/log.h"

namespace correo {
namespace {

// The spool logs each open and close at info; the benchmark opens one per run.
const bool kQuiet = (set_log_options(LogLevel::kWarn, LogFormat::kKv), true);

CommitRequest request(uint64_t id, const std::string& body) {
  CommitRequest r;
  r.cookie = id;
  r.envelope.id = id;
  r.envelope.sender = "sender@example.org";
  r.envelope.arrival_us = static_cast<int64_t>(queue_id_micros(id));
  r.envelope.client_address = "192.0.2.1";
  r.envelope.helo = "client.example.org";
  r.envelope.size = body.size();
  Recipient rcpt;
  rcpt.address = "rcpt@example.net";
  r.envelope.recipients.push_back(rcpt);
  r.body = body;
  r.submitted = std::chrono::steady_clock::now();
  return r;
}

void BM_SpoolCommit(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  std::string dir = (std::filesystem::temp_directory_path() / "correo-spool-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return state.SkipWithError("mkdtemp failed");
  {
    SpoolOptions options;
    options.dir = dir + "/queue";
    options.workers = 1;
    options.queue_capacity = 1024;
    options.sync = true;
    auto opened = Spool::open(options);
    if (!opened) return state.SkipWithError(opened.error().message.c_str());
    std::unique_ptr<Spool> spool = std::move(opened.value());
    spool->start();
    QueueIdGenerator ids(0, 0);
    const std::string body = "Received: from bench\r\n\r\n" + std::string(1000, 'x') + "\r\n";
    uint64_t failed = 0;
    for (auto _ : state) {
      for (size_t i = 0; i < batch; ++i) {
        CommitRequest r = request(ids.next(), body);
        while (!spool->submit(0, r)) ::usleep(50);  // queue full: the spool thread catches up
      }
      size_t done = 0;
      while (done < batch) {
        pollfd p{spool->completion_fd(0), POLLIN, 0};
        ::poll(&p, 1, 1000);
        uint64_t wake;
        (void)!::read(spool->completion_fd(0), &wake, sizeof wake);
        CommitCompletion c;
        while (spool->pop_completion(0, c)) {
          ++done;
          if (c.status != CommitStatus::kOk) ++failed;
        }
      }
    }
    spool->stop();
    if (failed) state.SkipWithError("commits failed");
    const SpoolStats st = spool->stats_snapshot();
    state.counters["msgs_per_fsync"] = st.batch_size.mean();
    state.counters["fsync_us_p50"] = static_cast<double>(st.write_latency_us.quantile(0.5));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
}
BENCHMARK(BM_SpoolCommit)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace correo
