// spool_test.cc - the spool: group commit from two worker threads, recovery, back-pressure,
// stop(), corrupt records, a failed write (answered, then recovered), read-only access while
// the spool is open (same and other process).
//
// Thread rules: each simulated worker thread uses only its own worker index (submit,
// pop_completion, completion_fd), exactly as the daemon's workers do; the test thread is the
// control thread (open/start/stop). On-disk format: see queue/spool.cc (msg/env/sched CFs,
// 8-byte big-endian id keys); the corrupt-record test writes the env CF with raw RocksDB.
#include "queue/spool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "queue/queue_id.h"

namespace correo {
namespace {

// TempDir - a fresh directory removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "correo-spool-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string spool() const { return path_ + "/spool"; }

 private:
  std::string path_;
};

// body_for - deterministic body; every 7th message is large enough for a blob file.
std::string body_for(uint64_t id) {
  const size_t size = (id % 7 == 0) ? 9000 + id % 1000 : 100 + id % 500;
  std::string body = "Received: from test by correo; id " + format_queue_id(id) + "\r\n\r\n";
  while (body.size() < size) body.push_back(static_cast<char>('a' + (body.size() + id) % 26));
  return body;
}

Envelope envelope_for(uint64_t id, unsigned worker) {
  Envelope e;
  e.id = id;
  e.sender = (id % 5 == 0) ? "" : "sender" + std::to_string(id % 100) + "@example.org";
  e.body = BodyType::k8BitMime;
  e.smtputf8 = id % 2 == 0;
  e.ret = DsnRet::kFull;
  e.envid = "ENV" + std::to_string(id);
  e.arrival_us = static_cast<int64_t>(queue_id_micros(id));
  e.client_address = "192.0.2." + std::to_string(worker + 1);
  e.helo = "client.example";
  e.size = body_for(id).size();
  for (uint64_t i = 0; i < 1 + id % 3; ++i) {
    Recipient r;
    r.address = "rcpt" + std::to_string(i) + "@example.net";
    r.orcpt = i == 0 ? "rfc822;" + r.address : "";
    r.notify = static_cast<uint8_t>(i == 0 ? kNotifyFailure | kNotifyDelay : 0);
    e.recipients.push_back(r);
  }
  return e;
}

CommitRequest request_for(uint64_t id, unsigned worker, uint64_t cookie) {
  CommitRequest r;
  r.cookie = cookie;
  r.envelope = envelope_for(id, worker);
  r.body = body_for(id);
  r.submitted = std::chrono::steady_clock::now();
  return r;
}

void expect_same(const Envelope& x, const Envelope& y) {
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.sender, y.sender);
  EXPECT_EQ(x.body, y.body);
  EXPECT_EQ(x.smtputf8, y.smtputf8);
  EXPECT_EQ(x.ret, y.ret);
  EXPECT_EQ(x.envid, y.envid);
  EXPECT_EQ(x.arrival_us, y.arrival_us);
  EXPECT_EQ(x.client_address, y.client_address);
  EXPECT_EQ(x.helo, y.helo);
  EXPECT_EQ(x.size, y.size);
  ASSERT_EQ(x.recipients.size(), y.recipients.size());
  for (size_t i = 0; i < x.recipients.size(); ++i) {
    EXPECT_EQ(x.recipients[i].address, y.recipients[i].address);
    EXPECT_EQ(x.recipients[i].orcpt, y.recipients[i].orcpt);
    EXPECT_EQ(x.recipients[i].notify, y.recipients[i].notify);
    EXPECT_EQ(x.recipients[i].state, y.recipients[i].state);
    EXPECT_EQ(x.recipients[i].attempts, y.recipients[i].attempts);
    EXPECT_EQ(x.recipients[i].last_reply, y.recipients[i].last_reply);
  }
}

// wait_completion_fd - block until worker w's eventfd fires (or timeout), then reset it.
void wait_completion_fd(const Spool& spool, unsigned w, int timeout_ms) {
  pollfd p{spool.completion_fd(w), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) {
    uint64_t v = 0;
    ssize_t rc = ::read(p.fd, &v, sizeof v);
    (void)rc;
  }
}

struct WorkerResult {
  std::vector<uint64_t> ids;  // in submit order
  uint64_t completions = 0;
  uint64_t not_ok = 0;
  uint64_t wrong_cookie = 0;
  uint64_t rejected_submits = 0;  // back-pressure seen
};

// run_worker - one simulated worker: submit n messages with at most `window` outstanding,
// drain completions, sleep on the completion eventfd when nothing else can progress.
void run_worker(Spool& spool, unsigned w, size_t n, size_t window, WorkerResult& out) {
  QueueIdGenerator gen(w, 0);
  for (size_t i = 0; i < n; ++i) out.ids.push_back(gen.next());
  size_t submitted = 0;
  std::optional<CommitRequest> next;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (out.completions < n && std::chrono::steady_clock::now() < deadline) {
    bool progress = false;
    while (submitted < n && submitted - out.completions < window) {
      if (!next) next = request_for(out.ids[submitted], w, submitted);
      if (!spool.submit(w, *next)) {
        ++out.rejected_submits;
        break;
      }
      next.reset();
      ++submitted;
      progress = true;
    }
    CommitCompletion c;
    while (spool.pop_completion(w, c)) {
      ++out.completions;
      if (c.status != CommitStatus::kOk) ++out.not_ok;
      if (c.cookie >= n || out.ids[c.cookie] != c.id) ++out.wrong_cookie;
      progress = true;
    }
    if (!progress) wait_completion_fd(spool, w, 100);
  }
}

TEST(Spool, GroupCommitTwoWorkersThenRecover) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  constexpr size_t kPerWorker = 1000;  // N = 2000 in total
  SpoolOptions opts;
  opts.dir = tmp.spool();
  opts.workers = 2;
  opts.queue_capacity = 256;
  opts.sync = true;

  WorkerResult results[2];
  {
    Result<std::unique_ptr<Spool>> opened = Spool::open(opts);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    Spool& spool = **opened;
    EXPECT_EQ(spool.recovery().messages, 0u);
    spool.start();
    std::thread t0([&] { run_worker(spool, 0, kPerWorker, opts.queue_capacity, results[0]); });
    std::thread t1([&] { run_worker(spool, 1, kPerWorker, opts.queue_capacity, results[1]); });
    t0.join();
    t1.join();
    spool.stop();
    for (const WorkerResult& r : results) {
      EXPECT_EQ(r.completions, kPerWorker);
      EXPECT_EQ(r.not_ok, 0u);
      EXPECT_EQ(r.wrong_cookie, 0u);
    }
    const SpoolStats st = spool.stats_snapshot();
    EXPECT_EQ(st.messages, 2 * kPerWorker);
    EXPECT_EQ(st.failed, 0u);
    EXPECT_LT(st.batches, 2 * kPerWorker);           // group commit happened...
    EXPECT_GT(st.batch_size.max(), 1u);              // ...and some batch held several
    EXPECT_EQ(st.batch_size.count(), st.batches);
    EXPECT_EQ(st.batch_size.sum(), 2 * kPerWorker);
    std::printf("[ measured ] %zu messages, %llu batches, %.1f messages/batch (p50 %llu, max %llu), "
                "sync write latency p50 %llu us p99 %llu us\n",
                2 * kPerWorker, static_cast<unsigned long long>(st.batches), st.batch_size.mean(),
                static_cast<unsigned long long>(st.batch_size.quantile(0.5)),
                static_cast<unsigned long long>(st.batch_size.max()),
                static_cast<unsigned long long>(st.write_latency_us.quantile(0.5)),
                static_cast<unsigned long long>(st.write_latency_us.quantile(0.99)));
  }

  std::vector<uint64_t> expected = results[0].ids;
  expected.insert(expected.end(), results[1].ids.begin(), results[1].ids.end());
  std::sort(expected.begin(), expected.end());

  Result<std::unique_ptr<Spool>> reopened = Spool::open(opts);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  const RecoveryInfo& rec = (*reopened)->recovery();
  EXPECT_EQ(rec.messages, expected.size());
  EXPECT_EQ(rec.corrupt, 0u);
  EXPECT_EQ(rec.ids, expected);
  EXPECT_EQ(rec.max_id, expected.back());
  QueueIdGenerator after(0, rec.max_id);
  EXPECT_GT(after.next(), expected.back());
  // Recovery flushed the WAL: bodies >= 4096 bytes now live in blob files, so the reads
  // below also cover blob-file bodies through the read-only instance.
  size_t blob_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(opts.dir)) {
    if (e.path().extension() == ".blob") ++blob_files;
  }
  EXPECT_GT(blob_files, 0u);

  // Read-only access while the reopened spool holds the directory.
  Result<std::vector<Envelope>> envs = read_envelopes(opts.dir);
  ASSERT_TRUE(envs.ok()) << envs.error().message;
  ASSERT_EQ(envs->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned w = static_cast<unsigned>(expected[i] & 63);
    expect_same((*envs)[i], envelope_for(expected[i], w));
  }
  for (size_t i = 0; i < expected.size(); i += 97) {
    const uint64_t id = expected[i];
    Result<StoredMessage> m = read_message(opts.dir, id);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->body, body_for(id));
    expect_same(m->envelope, envelope_for(id, static_cast<unsigned>(id & 63)));
  }
}

TEST(Spool, BackPressureWhenQueueFull) {
  TempDir tmp;
  SpoolOptions opts;
  opts.dir = tmp.spool();
  opts.workers = 1;
  opts.queue_capacity = 4;
  Result<std::unique_ptr<Spool>> opened = Spool::open(opts);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Spool& spool = **opened;  // not started: nothing drains the ring
  QueueIdGenerator gen(0, 0);
  std::vector<uint64_t> ids;
  for (uint64_t i = 0; i < 4; ++i) {
    ids.push_back(gen.next());
    CommitRequest r = request_for(ids.back(), 0, i);
    ASSERT_TRUE(spool.submit(0, r)) << i;
  }
  CommitRequest fifth = request_for(gen.next(), 0, 4);
  const std::string body = fifth.body;
  EXPECT_FALSE(spool.submit(0, fifth));
  EXPECT_EQ(fifth.body, body);  // untouched on refusal
  EXPECT_EQ(fifth.cookie, 4u);
  CommitCompletion c;
  EXPECT_FALSE(spool.pop_completion(0, c));

  // stop() without start() still commits and answers the four accepted requests.
  spool.stop();
  std::set<uint64_t> answered;
  while (spool.pop_completion(0, c)) {
    EXPECT_EQ(c.status, CommitStatus::kOk);
    EXPECT_EQ(c.id, ids[c.cookie]);
    answered.insert(c.cookie);
  }
  EXPECT_EQ(answered.size(), 4u);
  EXPECT_FALSE(spool.submit(0, fifth));  // closed after stop()
}

TEST(Spool, StopAnswersEverythingSubmitted) {
  TempDir tmp;
  SpoolOptions opts;
  opts.dir = tmp.spool();
  opts.workers = 2;
  opts.queue_capacity = 512;
  Result<std::unique_ptr<Spool>> opened = Spool::open(opts);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Spool& spool = **opened;
  spool.start();
  QueueIdGenerator gen(1, 0);
  std::vector<uint64_t> ids;
  for (uint64_t i = 0; i < 300; ++i) {
    ids.push_back(gen.next());
    CommitRequest r = request_for(ids.back(), 1, i);
    ASSERT_TRUE(spool.submit(1, r));
  }
  spool.stop();  // immediately: some are surely still in the ring
  spool.stop();  // idempotent
  std::set<uint64_t> answered;
  CommitCompletion c;
  while (spool.pop_completion(1, c)) {
    EXPECT_EQ(c.status, CommitStatus::kOk) << c.error;
    EXPECT_EQ(c.id, ids[c.cookie]);
    answered.insert(c.cookie);
  }
  EXPECT_EQ(answered.size(), ids.size());
  EXPECT_FALSE(spool.pop_completion(0, c));
  pollfd p{spool.completion_fd(1), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 1);  // the worker was woken
  EXPECT_EQ(spool.stats_snapshot().messages, ids.size());
  opened.value().reset();

  Result<std::unique_ptr<Spool>> reopened = Spool::open(opts);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->recovery().ids, ids);
}

TEST(Spool, CorruptEnvelopeCountedNotFatal) {
  TempDir tmp;
  SpoolOptions opts;
  opts.dir = tmp.spool();
  std::vector<uint64_t> ids;
  {
    Result<std::unique_ptr<Spool>> opened = Spool::open(opts);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    (*opened)->start();
    QueueIdGenerator gen(0, 0);
    for (uint64_t i = 0; i < 3; ++i) {
      ids.push_back(gen.next());
      CommitRequest r = request_for(ids.back(), 0, i);
      ASSERT_TRUE((*opened)->submit(0, r));
    }
    (*opened)->stop();
  }
  // Garbage under env with raw RocksDB, at an id above every real one.
  const uint64_t bad_id = ids.back() + 64;
  {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"msg", {}}, {"env", {}}, {"sched", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::DBOptions o;
    ASSERT_TRUE(rocksdb::DB::Open(o, opts.dir, cfs, &handles, &db).ok());
    std::string key;
    for (int i = 7; i >= 0; --i) key.push_back(static_cast<char>((bad_id >> (8 * i)) & 0xff));
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[2], key, "\x01garbage").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  Result<std::unique_ptr<Spool>> reopened = Spool::open(opts);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  const RecoveryInfo& rec = (*reopened)->recovery();
  EXPECT_EQ(rec.corrupt, 1u);
  EXPECT_EQ(rec.messages, 3u);
  EXPECT_EQ(rec.ids, ids);
  EXPECT_EQ(rec.max_id, bad_id);  // the floor covers the corrupt key too
  Result<std::vector<Envelope>> envs = read_envelopes(opts.dir);
  ASSERT_TRUE(envs.ok()) << envs.error().message;
  EXPECT_EQ(envs->size(), 3u);
  Result<StoredMessage> m = read_message(opts.dir, bad_id);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("corrupt"), std::string::npos) << m.error().message;
}

TEST(Spool, ReadErrors) {
  TempDir tmp;
  Result<std::vector<Envelope>> envs = read_envelopes(tmp.path() + "/nowhere");
  ASSERT_FALSE(envs.ok());
  EXPECT_NE(envs.error().message.find("not a spool"), std::string::npos) << envs.error().message;
  envs = read_envelopes(tmp.path());  // exists, but is no RocksDB
  ASSERT_FALSE(envs.ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/CURRENT"));  // readers create nothing

  SpoolOptions opts;
  opts.dir = tmp.spool();
  Result<std::unique_ptr<Spool>> opened = Spool::open(opts);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Result<StoredMessage> m = read_message(opts.dir, 12345);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("no message"), std::string::npos) << m.error().message;

  opts.workers = 0;
  EXPECT_FALSE(Spool::open(opts).ok());
}

// dir_listing - file names in a directory, to prove readers write nothing there.
std::set<std::string> dir_listing(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// run_child - re-execute this test binary running only `test` (a DISABLED_ child half),
// with extra environment; returns its exit status (0 = the child test passed), -1 on error.
int run_child(const std::string& test, const std::vector<std::string>& extra_env) {
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {exe, "--gtest_filter=" + test, "--gtest_also_run_disabled_tests"};
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv, envp;  // built before fork: the child only calls execve
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (devnull >= 0) ::dup2(devnull, STDOUT_FILENO);  // keep the parent's output readable
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (devnull >= 0) ::close(devnull);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// The child half of ReadableWhileOpenSameAndOtherProcess; runs only when that test
// re-executes this binary with the environment below.
TEST(SpoolChild, DISABLED_ReadsOpenSpool) {
  const char* dir = std::getenv("CORREO_SPOOL_CHILD_DIR");
  const char* count = std::getenv("CORREO_SPOOL_CHILD_COUNT");
  const char* report = std::getenv("CORREO_SPOOL_CHILD_REPORT");
  ASSERT_TRUE(dir && count && report);
  Result<std::vector<Envelope>> envs = read_envelopes(dir);
  ASSERT_TRUE(envs.ok()) << envs.error().message;
  ASSERT_EQ(envs->size(), std::stoull(count));
  for (const Envelope& e : *envs) {
    Result<StoredMessage> m = read_message(dir, e.id);
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_EQ(m->body, body_for(e.id));
  }
  std::ofstream(report) << "ok " << envs->size() << "\n";
}

TEST(Spool, ReadableWhileOpenSameAndOtherProcess) {
  TempDir tmp;
  SpoolOptions opts;
  opts.dir = tmp.spool();
  opts.workers = 1;
  Result<std::unique_ptr<Spool>> opened = Spool::open(opts);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Spool& spool = **opened;
  spool.start();
  WorkerResult res;
  run_worker(spool, 0, 50, 64, res);  // committed, not flushed: the data is in the WAL only
  ASSERT_EQ(res.completions, 50u);
  ASSERT_EQ(res.not_ok, 0u);

  const std::set<std::string> before = dir_listing(opts.dir);
  // Same process, spool open and running.
  Result<std::vector<Envelope>> envs = read_envelopes(opts.dir);
  ASSERT_TRUE(envs.ok()) << envs.error().message;
  ASSERT_EQ(envs->size(), 50u);
  Result<StoredMessage> m = read_message(opts.dir, res.ids[17]);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->body, body_for(res.ids[17]));

  // Another process (this binary re-executed, running only the child test).
  const std::string report = tmp.path() + "/child-report";
  EXPECT_EQ(run_child("SpoolChild.DISABLED_ReadsOpenSpool",
                      {"CORREO_SPOOL_CHILD_DIR=" + opts.dir, "CORREO_SPOOL_CHILD_COUNT=50",
                       "CORREO_SPOOL_CHILD_REPORT=" + report}),
            0);
  std::string line;
  std::getline(std::ifstream(report), line);
  EXPECT_EQ(line, "ok 50");

  EXPECT_EQ(dir_listing(opts.dir), before);  // readers wrote nothing into the spool

  // The spool is still fully usable afterwards.
  WorkerResult more;
  run_worker(spool, 0, 10, 64, more);
  EXPECT_EQ(more.completions, 10u);
  EXPECT_EQ(more.not_ok, 0u);
  envs = read_envelopes(opts.dir);
  ASSERT_TRUE(envs.ok()) << envs.error().message;
  EXPECT_EQ(envs->size(), 60u);
}

// commit_one - submit one request as worker 0 and wait for its completion.
CommitCompletion commit_one(Spool& spool, uint64_t id, size_t body_size) {
  CommitRequest r = request_for(id, 0, id);
  r.body.assign(body_size, 'b');
  r.envelope.size = body_size;
  CommitCompletion c;
  c.status = CommitStatus::kShuttingDown;
  if (!spool.submit(0, r)) return c;
  while (!spool.pop_completion(0, c)) wait_completion_fd(spool, 0, 100);
  return c;
}

// The child half of FailedWriteAnsweredThenRecovered: it lowers RLIMIT_FSIZE, which is
// per process, so it runs in its own process.
TEST(SpoolChild, DISABLED_FailedWrite) {
  const char* dir = std::getenv("CORREO_SPOOL_CHILD_DIR");
  const char* report = std::getenv("CORREO_SPOOL_CHILD_REPORT");
  ASSERT_TRUE(dir && report);
  ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead of killing us
  SpoolOptions opts;
  opts.dir = dir;
  std::vector<uint64_t> good;
  uint64_t bad = 0;
  {
    Result<std::unique_ptr<Spool>> opened = Spool::open(opts);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    Spool& spool = **opened;
    spool.start();
    QueueIdGenerator gen(0, 0);
    good.push_back(gen.next());
    ASSERT_EQ(commit_one(spool, good.back(), 100).status, CommitStatus::kOk);

    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    rlimit low = old;
    low.rlim_cur = 64 * 1024;  // the WAL cannot take a 256 KiB record
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &low), 0);
    bad = gen.next();
    const CommitCompletion failed = commit_one(spool, bad, 256 * 1024);
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
    EXPECT_EQ(failed.status, CommitStatus::kIoError);
    EXPECT_NE(failed.error.find("File too large"), std::string::npos) << failed.error;

    // The spool keeps running: Resume() (or a reopen) before the next batch.
    for (int i = 0; i < 3; ++i) {
      good.push_back(gen.next());
      const CommitCompletion c = commit_one(spool, good.back(), 5000);
      EXPECT_EQ(c.status, CommitStatus::kOk) << c.error;
    }
    spool.stop();
    const SpoolStats st = spool.stats_snapshot();
    EXPECT_EQ(st.failed, 1u);
    EXPECT_EQ(st.messages, good.size());
  }
  Result<std::unique_ptr<Spool>> reopened = Spool::open(opts);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  std::vector<uint64_t> ids = (*reopened)->recovery().ids;
  ids.erase(std::remove(ids.begin(), ids.end(), bad), ids.end());  // never acknowledged: either way
  EXPECT_EQ(ids, good);
  if (!::testing::Test::HasFailure()) std::ofstream(report) << "ok\n";
}

TEST(Spool, FailedWriteAnsweredThenRecovered) {
  TempDir tmp;
  const std::string report = tmp.path() + "/child-report";
  EXPECT_EQ(run_child("SpoolChild.DISABLED_FailedWrite",
                      {"CORREO_SPOOL_CHILD_DIR=" + tmp.spool(), "CORREO_SPOOL_CHILD_REPORT=" + report}),
            0);
  std::string line;
  std::getline(std::ifstream(report), line);
  EXPECT_EQ(line, "ok");
}

}  // namespace
}  // namespace correo
