// resolver_test.cc - Resolver against a real dnsmasq on loopback, driven by a small poll(2) loop
// standing in for the worker's ring (DnsEventSink + on_fd_event + on_tick).
//
// The dnsmasq zone (all flags, no config file):
//   multi.test      MX 10 mx1, 20 mx2, 20 mx3 (+ A records for the three hosts)
//   amx.test        A 127.0.0.21, AAAA ::1, no MX        -> implicit MX, resolve_host order
//   nullmx.test     MX "0 ." via --mx-host=nullmx.test,.,0
//   rawnull.test    MX "0 ." via --dns-rr (raw RDATA 0000 00)
//   short.test      A 127.0.0.31 with TTL 1              -> cache expiry
//   anything else under test.   NXDOMAIN (--local=/test/ answers only from local data)
//   big.test        40 MX records, too big for 512-byte UDP -> TC, retried over TCP
//   refused.example             REFUSED (outside the local zone, no upstream)
// SERVFAIL, silence and a dead port come from a tiny in-process UDP server or an unbound port.
#include "dns/resolver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace correo {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";
constexpr int kBigMxCount = 40;

// ---------------------------------------------------------------------------------------------
// Loopback helpers

// bind_loopback - a socket bound to 127.0.0.1:port (0 = any free port), or -1.
int bind_loopback(int type, uint16_t port) {
  const int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

// free_port - a port free for both UDP and TCP on 127.0.0.1 right now (dnsmasq needs both).
uint16_t free_port() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int udp = bind_loopback(SOCK_DGRAM, 0);
    if (udp < 0) continue;
    const uint16_t port = local_port(udp);
    const int tcp = bind_loopback(SOCK_STREAM, port);
    close(udp);
    if (tcp >= 0) {
      close(tcp);
      return port;
    }
  }
  return 0;
}

struct RawReply {
  int rcode = -1;
  int ancount = 0;
};

// raw_query - one hand-built UDP query, to check the fixture's zone independently of c-ares.
std::optional<RawReply> raw_query(uint16_t port, const std::string& name, uint16_t qtype,
                                  std::chrono::milliseconds wait = 500ms) {
  std::string pkt = {'\x12', '\x34', '\x01', '\x00', 0, 1, 0, 0, 0, 0, 0, 0};
  std::stringstream labels(name);
  for (std::string label; std::getline(labels, label, '.');) {
    pkt += static_cast<char>(label.size());
    pkt += label;
  }
  pkt += '\0';
  pkt += static_cast<char>(qtype >> 8);
  pkt += static_cast<char>(qtype & 0xff);
  pkt += '\0';
  pkt += '\1';
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  pollfd p{fd, POLLIN, 0};
  std::optional<RawReply> out;
  unsigned char buf[4096];
  if (poll(&p, 1, static_cast<int>(wait.count())) == 1) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n >= 12 && buf[0] == 0x12 && buf[1] == 0x34) out = RawReply{buf[3] & 0x0f, (buf[6] << 8) | buf[7]};
  }
  close(fd);
  return out;
}

// FakeDnsServer - a UDP "server" on 127.0.0.1 that answers every query with SERVFAIL, or never
// answers at all (kSilent), for failures dnsmasq cannot produce on demand.
class FakeDnsServer {
 public:
  enum class Mode { kServfail, kSilent };
  explicit FakeDnsServer(Mode mode) : mode_(mode) {
    fd_ = bind_loopback(SOCK_DGRAM, 0);
    port_ = fd_ >= 0 ? local_port(fd_) : 0;
    timeval tv{0, 50000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDnsServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mu_);
    return names_;
  }

 private:
  void serve() {
    unsigned char buf[1500];
    while (!stop_) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      record_name(buf, static_cast<size_t>(n));
      ++queries_;
      if (mode_ == Mode::kSilent) continue;
      // Same ID and question; QR + RA, RCODE 2; no answer, authority or additional records.
      buf[2] |= 0x80;
      buf[3] = static_cast<unsigned char>(0x80 | 2);
      for (int i = 6; i < 12; ++i) buf[i] = 0;
      sendto(fd_, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  // record_name - the question name as dotted text ("" for the root).
  void record_name(const unsigned char* buf, size_t n) {
    std::string name;
    for (size_t pos = 12; pos < n && buf[pos] != 0 && buf[pos] < 64; pos += 1 + buf[pos]) {
      if (!name.empty()) name += '.';
      name.append(reinterpret_cast<const char*>(buf + pos + 1), std::min<size_t>(buf[pos], n - pos - 1));
    }
    std::lock_guard<std::mutex> lock(mu_);
    names_.push_back(name);
  }

  Mode mode_;
  mutable std::mutex mu_;
  std::vector<std::string> names_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// PollLoop - the test's event loop: collects c-ares' sockets, polls them (100 ms), ticks.

class PollLoop : public DnsEventSink {
 public:
  void watch(int fd, bool readable, bool writable) override {
    ++watch_calls_;
    if (writable) saw_writable_ = true;
    if (!readable && !writable) {
      fds_.erase(fd);
    } else {
      fds_[fd] = {readable, writable};
    }
  }

  // run - drive r until done() is true or limit passes; true if done.
  bool run(Resolver& r, const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      std::vector<pollfd> polled;
      for (const auto& [fd, interest] : fds_) {
        const short events = static_cast<short>((interest.first ? POLLIN : 0) | (interest.second ? POLLOUT : 0));
        polled.push_back(pollfd{fd, events, 0});
      }
      poll(polled.data(), polled.size(), 100);
      for (const pollfd& p : polled) {
        if (p.revents == 0 || fds_.count(p.fd) == 0) continue;  // c-ares may have closed it meanwhile
        r.on_fd_event(p.fd, (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0, (p.revents & POLLOUT) != 0);
      }
      r.on_tick();
    }
    return true;
  }

  const std::map<int, std::pair<bool, bool>>& fds() const { return fds_; }
  int watch_calls() const { return watch_calls_; }
  bool saw_writable() const { return saw_writable_; }

 private:
  std::map<int, std::pair<bool, bool>> fds_;
  int watch_calls_ = 0;
  bool saw_writable_ = false;
};

// ---------------------------------------------------------------------------------------------
// Fixture: one dnsmasq for the whole suite.

class ResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kDnsmasq, X_OK) != 0) {
      skip_reason_ = std::string(kDnsmasq) + " not installed";
      return;
    }
    char log_template[] = "/tmp/correo_dnsmasq_log.XXXXXX";
    const int log_fd = mkstemp(log_template);
    if (log_fd < 0) {
      start_error_ = "mkstemp failed";
      return;
    }
    log_path_ = log_template;
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      const uint16_t port = free_port();
      if (port == 0) continue;
      if (start_dnsmasq(port, log_fd)) port_ = port;
    }
    close(log_fd);
    if (pid_ <= 0) start_error_ = "dnsmasq did not start; log:\n" + read_log();
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!log_path_.empty()) unlink(log_path_.c_str());
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_GT(pid_, 0) << start_error_;
  }

  // start_dnsmasq - spawn on port, wait until it answers; false (and reaped) if it died.
  static bool start_dnsmasq(uint16_t port, int log_fd) {
    std::vector<std::string> args = {
        kDnsmasq,
        "--no-daemon",
        "--no-resolv",
        "--no-hosts",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--log-facility=-",
        "--conf-file=/dev/null",
        "--local-ttl=60",
        "--port=" + std::to_string(port),
        "--local=/test/",  // answer test. from local data only: NXDOMAIN / NODATA, never REFUSED
        "--mx-host=multi.test,mx1.multi.test,10",
        "--mx-host=multi.test,mx2.multi.test,20",
        "--mx-host=multi.test,mx3.multi.test,20",
        "--host-record=mx1.multi.test,127.0.0.11",
        "--host-record=mx2.multi.test,127.0.0.12",
        "--host-record=mx3.multi.test,127.0.0.13",
        "--host-record=amx.test,127.0.0.21,::1",
        "--mx-host=nullmx.test,.,0",
        "--dns-rr=rawnull.test,15,000000",
        "--host-record=short.test,127.0.0.31,1",
    };
    for (int i = 0; i < kBigMxCount; ++i) {  // ~2 KB of MX records: truncated over UDP
      args.push_back("--mx-host=big.test,mail-exchanger-number-" + std::to_string(i) + ".big.test," +
                     std::to_string(10 + i));
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, kDnsmasq, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return false;
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) return false;  // died: port taken, bad flag...
      if (raw_query(port, "multi.test", 15, 100ms)) {
        // Answered - by ours, unless another test binary's dnsmasq won the port and ours died.
        if (waitpid(pid, &status, WNOHANG) == pid) return false;
        pid_ = pid;
        return true;
      }
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return false;
  }

  static std::string read_log() {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static std::string server() { return "127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<Resolver> make_resolver(ResolverOptions options = {}) {
    if (options.servers.empty()) options.servers = {server()};
    if (options.timeout == ResolverOptions{}.timeout) options.timeout = 1000ms;
    auto r = Resolver::create(options, loop_);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : nullptr;
  }

  MxAnswer mx(Resolver& r, std::string_view name) {
    std::optional<MxAnswer> out;
    r.resolve_mx(name, [&](const MxAnswer& a) { out = a; });
    EXPECT_TRUE(loop_.run(r, [&] { return out.has_value(); })) << "no MX answer for " << name;
    return out.value_or(MxAnswer{});
  }

  AddressAnswer host(Resolver& r, std::string_view name) {
    std::optional<AddressAnswer> out;
    r.resolve_host(name, [&](const AddressAnswer& a) { out = a; });
    EXPECT_TRUE(loop_.run(r, [&] { return out.has_value(); })) << "no address answer for " << name;
    return out.value_or(AddressAnswer{});
  }

  static std::vector<std::string> names(const MxAnswer& a) {
    std::vector<std::string> out;
    for (const MxHost& h : a.hosts) out.push_back(h.name);
    return out;
  }
  static std::vector<std::string> addresses(const AddressAnswer& a) {
    std::vector<std::string> out;
    for (const IpAddress& ip : a.addresses) out.push_back(ip.to_string());
    return out;
  }

  PollLoop loop_;

  static inline pid_t pid_ = -1;
  static inline uint16_t port_ = 0;
  static inline std::string skip_reason_;
  static inline std::string start_error_;
  static inline std::string log_path_;
};

// The zone really has the shapes the other tests rely on (NODATA vs NXDOMAIN vs REFUSED).
TEST_F(ResolverTest, FixtureZoneHasExpectedRcodes) {
  constexpr uint16_t kMx = 15, kAaaa = 28;
  const auto multi = raw_query(port_, "multi.test", kMx);
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->rcode, 0);
  EXPECT_EQ(multi->ancount, 3);
  const auto nodata = raw_query(port_, "amx.test", kMx);
  ASSERT_TRUE(nodata);
  EXPECT_EQ(nodata->rcode, 0);  // NOERROR, no answers
  EXPECT_EQ(nodata->ancount, 0);
  const auto nodata6 = raw_query(port_, "short.test", kAaaa);
  ASSERT_TRUE(nodata6);
  EXPECT_EQ(nodata6->rcode, 0);
  EXPECT_EQ(nodata6->ancount, 0);
  const auto nx = raw_query(port_, "nx.test", kMx);
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->rcode, 3);  // NXDOMAIN
  for (const char* n : {"nullmx.test", "rawnull.test"}) {
    const auto null_mx = raw_query(port_, n, kMx);
    ASSERT_TRUE(null_mx) << n;
    EXPECT_EQ(null_mx->rcode, 0) << n;
    EXPECT_EQ(null_mx->ancount, 1) << n;
  }
  const auto refused = raw_query(port_, "refused.example", kMx);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->rcode, 5);  // REFUSED
}

TEST_F(ResolverTest, MxSortedByPreference) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "multi.test");
  EXPECT_EQ(a.status, DnsStatus::kOk) << a.error;
  ASSERT_EQ(a.hosts.size(), 3u);
  EXPECT_EQ(a.hosts[0].name, "mx1.multi.test");
  EXPECT_EQ(a.hosts[0].preference, 10);
  EXPECT_EQ(a.hosts[1].preference, 20);
  EXPECT_EQ(a.hosts[2].preference, 20);
  EXPECT_EQ((std::set<std::string>{a.hosts[1].name, a.hosts[2].name}),
            (std::set<std::string>{"mx2.multi.test", "mx3.multi.test"}));
  EXPECT_TRUE(a.error.empty());
  EXPECT_EQ(r->stats().lookups, 1u);
}

// RFC 5321 §5.1: equal preferences in random order. Uncached, so every try is a fresh answer.
TEST_F(ResolverTest, EqualPreferencesShuffled) {
  ResolverOptions options;
  options.cache_entries = 0;
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  std::set<std::string> second;
  int tries = 0;
  while (second.size() < 2 && tries < 64) {  // P(same order 64 times) = 2^-63
    const MxAnswer a = mx(*r, "multi.test");
    ASSERT_EQ(a.hosts.size(), 3u);
    EXPECT_EQ(a.hosts[0].name, "mx1.multi.test");
    second.insert(a.hosts[1].name);
    ++tries;
  }
  EXPECT_EQ(second, (std::set<std::string>{"mx2.multi.test", "mx3.multi.test"}));
  EXPECT_EQ(r->stats().lookups, static_cast<uint64_t>(tries));
  EXPECT_EQ(r->stats().cache_hits, 0u);
}

// Cached answers are reshuffled on every delivery too.
TEST_F(ResolverTest, CachedAnswersShuffledToo) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  ASSERT_EQ(mx(*r, "multi.test").status, DnsStatus::kOk);
  std::set<std::string> second;
  for (int i = 0; i < 64 && second.size() < 2; ++i) {
    r->resolve_mx("multi.test", [&](const MxAnswer& a) {
      ASSERT_EQ(a.hosts.size(), 3u);
      second.insert(a.hosts[1].name);
    });
  }
  EXPECT_EQ(second.size(), 2u);
  EXPECT_EQ(r->stats().lookups, 1u);
}

// RFC 5321 §5.1: no MX records -> the domain itself, preference 0.
TEST_F(ResolverTest, ImplicitMxWhenNoMxRecords) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "amx.test");
  EXPECT_EQ(a.status, DnsStatus::kOk) << a.error;
  ASSERT_EQ(a.hosts.size(), 1u);
  EXPECT_EQ(a.hosts[0].name, "amx.test");
  EXPECT_EQ(a.hosts[0].preference, 0);
}

// RFC 7505: "0 ." -> kNullMx, whichever way the record was written.
TEST_F(ResolverTest, NullMx) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  for (const char* name : {"nullmx.test", "rawnull.test"}) {
    const MxAnswer a = mx(*r, name);
    EXPECT_EQ(a.status, DnsStatus::kNullMx) << name << ": " << a.error;
    EXPECT_TRUE(a.hosts.empty()) << name;
    EXPECT_NE(a.error.find(name), std::string::npos) << a.error;
  }
}

TEST_F(ResolverTest, NxDomainIsPermanentAndCached) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "nx.test");
  EXPECT_EQ(a.status, DnsStatus::kNxDomain) << a.error;
  EXPECT_NE(a.error.find("NXDOMAIN"), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("nx.test"), std::string::npos) << a.error;
  EXPECT_EQ(mx(*r, "deeper.nx.test").status, DnsStatus::kNxDomain);
  EXPECT_EQ(mx(*r, "nx.test").status, DnsStatus::kNxDomain);  // negative answer from the cache
  EXPECT_EQ(r->stats().lookups, 2u);
  EXPECT_EQ(r->stats().cache_hits, 1u);
  EXPECT_EQ(r->stats().failures, 0u);
}

TEST_F(ResolverTest, NamesNormalised) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "MULTI.Test.");
  EXPECT_EQ(a.status, DnsStatus::kOk) << a.error;
  ASSERT_EQ(a.hosts.size(), 3u);
  EXPECT_EQ(a.hosts[0].name, "mx1.multi.test");
  EXPECT_EQ(mx(*r, "multi.test").status, DnsStatus::kOk);  // same cache key
  EXPECT_EQ(r->stats().cache_hits, 1u);
  const MxAnswer implicit = mx(*r, "AMX.TEST");
  ASSERT_EQ(implicit.hosts.size(), 1u);
  EXPECT_EQ(implicit.hosts[0].name, "amx.test");
}

TEST_F(ResolverTest, InvalidNamesFailPermanentlyWithoutQuery) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  for (const std::string& name : {std::string(""), std::string("."), std::string("a..b"),
                                 std::string(64, 'x') + ".test", std::string(300, 'a')}) {
    bool called = false;
    r->resolve_mx(name, [&](const MxAnswer& a) {
      called = true;
      EXPECT_EQ(a.status, DnsStatus::kNxDomain) << name;
    });
    EXPECT_TRUE(called) << name;
  }
  EXPECT_EQ(r->stats().lookups, 0u);
}

TEST_F(ResolverTest, RefusedIsTempFailAndNotCached) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "refused.example");
  EXPECT_EQ(a.status, DnsStatus::kTempFail);
  EXPECT_NE(a.error.find("REFUSED"), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("refused.example"), std::string::npos) << a.error;
  EXPECT_EQ(mx(*r, "refused.example").status, DnsStatus::kTempFail);
  EXPECT_EQ(r->stats().lookups, 2u);  // not served from the cache
  EXPECT_EQ(r->stats().cache_hits, 0u);
  EXPECT_EQ(r->stats().failures, 2u);
}

TEST_F(ResolverTest, ServfailIsTempFail) {
  FakeDnsServer fake(FakeDnsServer::Mode::kServfail);
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(fake.port())};
  options.tries = 1;
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "example.test");
  EXPECT_EQ(a.status, DnsStatus::kTempFail);
  EXPECT_NE(a.error.find("SERVFAIL"), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("example.test"), std::string::npos) << a.error;
  const AddressAnswer h = host(*r, "example.test");
  EXPECT_EQ(h.status, DnsStatus::kTempFail);
  EXPECT_NE(h.error.find("SERVFAIL"), std::string::npos) << h.error;
  EXPECT_EQ(r->stats().failures, 2u);
  EXPECT_EQ(fake.queries(), 3) << "MX, A, AAAA";
}

// SERVFAIL from the first server is not the end: c-ares asks the next one.
TEST_F(ResolverTest, ServfailFailsOverToNextServer) {
  FakeDnsServer fake(FakeDnsServer::Mode::kServfail);
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(fake.port()), server()};
  options.tries = 1;
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "multi.test");
  EXPECT_EQ(a.status, DnsStatus::kOk) << a.error;
  EXPECT_EQ(a.hosts.size(), 3u);
  EXPECT_EQ(fake.queries(), 1);
}

// Nothing listens on the server port: a temporary failure, and quickly.
TEST_F(ResolverTest, DeadServerIsTempFailQuickly) {
  const int probe = bind_loopback(SOCK_DGRAM, 0);
  ASSERT_GE(probe, 0);
  const uint16_t dead = local_port(probe);
  close(probe);
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(dead)};
  options.timeout = 200ms;
  options.tries = 1;
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  const auto start = Clock::now();
  const MxAnswer a = mx(*r, "multi.test");
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(a.status, DnsStatus::kTempFail);
  EXPECT_NE(a.error.find("multi.test"), std::string::npos) << a.error;
  const AddressAnswer h = host(*r, "amx.test");
  EXPECT_EQ(h.status, DnsStatus::kTempFail);
  EXPECT_EQ(r->stats().failures, 2u);
}

// A server that never answers: kTempFail after timeout x tries, through on_tick().
TEST_F(ResolverTest, SilentServerTimesOut) {
  FakeDnsServer fake(FakeDnsServer::Mode::kSilent);
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(fake.port())};
  options.timeout = 200ms;
  options.tries = 2;
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  const auto start = Clock::now();
  const MxAnswer a = mx(*r, "multi.test");
  const auto took = Clock::now() - start;
  EXPECT_EQ(a.status, DnsStatus::kTempFail);
  EXPECT_NE(a.error.find("TIMEOUT"), std::string::npos) << a.error;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(fake.queries(), 2);
}

TEST_F(ResolverTest, HostIpv4First) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const AddressAnswer a = host(*r, "amx.test");
  EXPECT_EQ(a.status, DnsStatus::kOk) << a.error;
  EXPECT_EQ(addresses(a), (std::vector<std::string>{"127.0.0.21", "::1"}));
  ASSERT_EQ(a.addresses.size(), 2u);
  EXPECT_FALSE(a.addresses[0].v6);
  EXPECT_TRUE(a.addresses[1].v6);
  EXPECT_EQ(r->stats().lookups, 2u);  // A and AAAA
  const AddressAnswer v4only = host(*r, "mx2.multi.test.");
  EXPECT_EQ(addresses(v4only), (std::vector<std::string>{"127.0.0.12"}));
}

TEST_F(ResolverTest, HostNxDomainAndNoData) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const AddressAnswer nx = host(*r, "nx.test");
  EXPECT_EQ(nx.status, DnsStatus::kNxDomain) << nx.error;
  EXPECT_TRUE(nx.addresses.empty());
  const AddressAnswer nodata = host(*r, "multi.test");  // has MX records only
  EXPECT_EQ(nodata.status, DnsStatus::kNoData) << nodata.error;
  EXPECT_TRUE(nodata.addresses.empty());
  EXPECT_EQ(host(*r, "multi.test").status, DnsStatus::kNoData);  // cached
  EXPECT_EQ(r->stats().cache_hits, 1u);
  EXPECT_EQ(r->stats().failures, 0u);
}

// resolve_a - the DNSBL lookup: one A query, IPv4 only, NXDOMAIN as such, cached apart from
// resolve_host's A+AAAA answers.
TEST_F(ResolverTest, AOnlyAsksOneQueryAndCaches) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  auto a_only = [&](std::string_view name) {
    std::optional<AddressAnswer> out;
    r->resolve_a(name, [&](const AddressAnswer& a) { out = a; });
    EXPECT_TRUE(loop_.run(*r, [&] { return out.has_value(); })) << name;
    return out.value_or(AddressAnswer{});
  };
  const AddressAnswer a = a_only("amx.test");
  EXPECT_EQ(a.status, DnsStatus::kOk) << a.error;
  EXPECT_EQ(addresses(a), (std::vector<std::string>{"127.0.0.21"}));  // no AAAA asked or given
  EXPECT_EQ(r->stats().lookups, 1u);
  EXPECT_EQ(a_only("amx.test").status, DnsStatus::kOk);
  EXPECT_EQ(r->stats().cache_hits, 1u);
  EXPECT_EQ(a_only("nx.test").status, DnsStatus::kNxDomain);
  // resolve_host still asks for both families: the caches do not mix.
  EXPECT_EQ(addresses(host(*r, "amx.test")), (std::vector<std::string>{"127.0.0.21", "::1"}));
}

TEST_F(ResolverTest, IpLiteralAnsweredImmediately) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  for (const char* literal : {"192.0.2.7", "2001:db8::25"}) {
    std::optional<AddressAnswer> out;
    r->resolve_host(literal, [&](const AddressAnswer& a) { out = a; });
    ASSERT_TRUE(out) << literal;
    EXPECT_EQ(out->status, DnsStatus::kOk);
    EXPECT_EQ(addresses(*out), std::vector<std::string>{literal});
  }
  EXPECT_EQ(r->stats().lookups, 0u);
  EXPECT_TRUE(loop_.fds().empty());
}

TEST_F(ResolverTest, CacheHitIsSynchronousAndCounted) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  ASSERT_EQ(mx(*r, "multi.test").status, DnsStatus::kOk);
  ASSERT_EQ(host(*r, "amx.test").status, DnsStatus::kOk);
  EXPECT_EQ(r->stats().lookups, 3u);
  bool mx_called = false, host_called = false;
  r->resolve_mx("multi.test", [&](const MxAnswer& a) {
    mx_called = true;
    EXPECT_EQ(a.hosts.size(), 3u);
  });
  EXPECT_TRUE(mx_called);  // before resolve_mx returned
  r->resolve_host("amx.test", [&](const AddressAnswer& a) {
    host_called = true;
    EXPECT_EQ(addresses(a), (std::vector<std::string>{"127.0.0.21", "::1"}));
  });
  EXPECT_TRUE(host_called);
  EXPECT_EQ(r->stats().cache_hits, 2u);
  EXPECT_EQ(r->stats().lookups, 3u);
}

TEST_F(ResolverTest, LruBoundRespected) {
  ResolverOptions options;
  options.cache_entries = 2;
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  for (const char* name : {"multi.test", "amx.test", "nullmx.test"}) mx(*r, name);
  EXPECT_EQ(r->stats().lookups, 3u);
  mx(*r, "nullmx.test");  // newest two are cached
  mx(*r, "amx.test");
  EXPECT_EQ(r->stats().cache_hits, 2u);
  EXPECT_EQ(r->stats().lookups, 3u);
  mx(*r, "multi.test");  // the oldest was evicted
  EXPECT_EQ(r->stats().lookups, 4u);
  EXPECT_EQ(r->stats().cache_hits, 2u);
  mx(*r, "amx.test");  // multi.test pushed out nullmx.test, amx.test stayed
  EXPECT_EQ(r->stats().cache_hits, 3u);
  mx(*r, "nullmx.test");
  EXPECT_EQ(r->stats().lookups, 5u);
}

TEST_F(ResolverTest, CacheDisabledWithZeroEntries) {
  ResolverOptions options;
  options.cache_entries = 0;
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  mx(*r, "amx.test");
  mx(*r, "amx.test");
  host(*r, "amx.test");
  EXPECT_EQ(r->stats().lookups, 4u);
  EXPECT_EQ(r->stats().cache_hits, 0u);
}

// short.test has TTL 1 (--host-record ...,1): cached for a second, then asked again.
TEST_F(ResolverTest, CachedAnswerExpiresWithTtl) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  EXPECT_EQ(addresses(host(*r, "short.test")), std::vector<std::string>{"127.0.0.31"});
  EXPECT_EQ(addresses(host(*r, "short.test")), std::vector<std::string>{"127.0.0.31"});
  EXPECT_EQ(r->stats().lookups, 2u);
  EXPECT_EQ(r->stats().cache_hits, 1u);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(addresses(host(*r, "short.test")), std::vector<std::string>{"127.0.0.31"});
  EXPECT_EQ(r->stats().lookups, 4u);
  EXPECT_EQ(r->stats().cache_hits, 1u);
}

// The usual caller pattern: the MX callback starts the address lookup.
TEST_F(ResolverTest, LookupStartedFromCallback) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  std::optional<AddressAnswer> first_host;
  r->resolve_mx("multi.test", [&](const MxAnswer& a) {
    ASSERT_FALSE(a.hosts.empty());
    r->resolve_host(a.hosts[0].name, [&](const AddressAnswer& h) { first_host = h; });
  });
  ASSERT_TRUE(loop_.run(*r, [&] { return first_host.has_value(); }));
  EXPECT_EQ(addresses(*first_host), std::vector<std::string>{"127.0.0.11"});
}

// A truncated UDP answer is retried over TCP; the TCP socket goes through the sink as well
// (writable while connecting / sending).
TEST_F(ResolverTest, TruncatedAnswerRetriedOverTcp) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  const MxAnswer a = mx(*r, "big.test");
  EXPECT_EQ(a.status, DnsStatus::kOk) << a.error;
  ASSERT_EQ(a.hosts.size(), static_cast<size_t>(kBigMxCount));
  for (int i = 0; i < kBigMxCount; ++i) {
    EXPECT_EQ(a.hosts[static_cast<size_t>(i)].name, "mail-exchanger-number-" + std::to_string(i) + ".big.test");
  }
  EXPECT_TRUE(loop_.saw_writable());
}

// Names are fully qualified: no search domain is ever appended, even when the environment
// (LOCALDOMAIN, RES_OPTIONS, read by c-ares like resolv.conf) asks for one.
TEST_F(ResolverTest, NoSearchDomainExpansion) {
  FakeDnsServer fake(FakeDnsServer::Mode::kServfail);
  setenv("LOCALDOMAIN", "localdomain.invalid", 1);
  setenv("RES_OPTIONS", "ndots:5", 1);
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(fake.port())};
  options.tries = 1;
  auto r = make_resolver(options);
  unsetenv("LOCALDOMAIN");
  unsetenv("RES_OPTIONS");
  ASSERT_TRUE(r);
  EXPECT_EQ(mx(*r, "example.test").status, DnsStatus::kTempFail);
  EXPECT_EQ(host(*r, "Host.Example.Test.").status, DnsStatus::kTempFail);
  EXPECT_EQ(fake.names(),
            (std::vector<std::string>{"example.test", "host.example.test", "host.example.test"}));
}

// Destroying the resolver with queries in flight: no callback, no leak, no crash (ASan), and
// the sink hears about every socket closing.
TEST_F(ResolverTest, DestroyWithQueriesInFlight) {
  FakeDnsServer fake(FakeDnsServer::Mode::kSilent);
  ResolverOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(fake.port())};
  auto r = make_resolver(options);
  ASSERT_TRUE(r);
  auto token = std::make_shared<int>(0);  // captured by the callbacks: must be released
  int calls = 0;
  r->resolve_mx("multi.test", [&calls, token](const MxAnswer&) { ++calls; });
  r->resolve_host("amx.test", [&calls, token](const AddressAnswer&) { ++calls; });
  r->resolve_mx("amx.test", [&calls, token](const MxAnswer&) { ++calls; });
  loop_.run(*r, [&] { return fake.queries() >= 4; }, 2s);
  EXPECT_GE(fake.queries(), 4);
  EXPECT_FALSE(loop_.fds().empty());
  EXPECT_EQ(token.use_count(), 4);
  r.reset();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_TRUE(loop_.fds().empty());  // ares_destroy reported the closed socket
}

// The same right after issuing, before the loop ever ran.
TEST_F(ResolverTest, DestroyBeforeAnyProcessing) {
  auto r = make_resolver();
  ASSERT_TRUE(r);
  int calls = 0;
  r->resolve_mx("multi.test", [&](const MxAnswer&) { ++calls; });
  r->resolve_host("amx.test", [&](const AddressAnswer&) { ++calls; });
  r.reset();
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(loop_.fds().empty());
}

TEST_F(ResolverTest, ServerListForms) {
  for (const std::vector<std::string>& servers :
       {std::vector<std::string>{"127.0.0.1:5353"}, std::vector<std::string>{"[::1]:53"},
        std::vector<std::string>{"10.0.0.1"}, std::vector<std::string>{"10.0.0.1", "[::1]:5353", "127.0.0.1:53"}}) {
    ResolverOptions options;
    options.servers = servers;
    auto r = Resolver::create(options, loop_);
    EXPECT_TRUE(r.ok()) << servers[0] << ": " << (r.ok() ? "" : r.error().message);
  }
  ResolverOptions system;  // empty: /etc/resolv.conf (or c-ares' default when there is none)
  EXPECT_TRUE(Resolver::create(system, loop_).ok());
}

TEST_F(ResolverTest, BadOptionsRejected) {
  const std::vector<std::vector<std::string>> bad_servers = {
      {"not a server"}, {""}, {"10.0.0.1,10.0.0.2"}, {"dns.example.com"}};
  for (const auto& servers : bad_servers) {
    ResolverOptions options;
    options.servers = servers;
    auto r = Resolver::create(options, loop_);
    ASSERT_FALSE(r.ok()) << "accepted \"" << servers[0] << "\"";
    EXPECT_NE(r.error().message.find("dns"), std::string::npos) << r.error().message;
  }
  ResolverOptions no_tries;
  no_tries.tries = 0;
  EXPECT_FALSE(Resolver::create(no_tries, loop_).ok());
  ResolverOptions no_timeout;
  no_timeout.timeout = 0ms;
  EXPECT_FALSE(Resolver::create(no_timeout, loop_).ok());
}

TEST(DnsStatusTest, Names) {
  EXPECT_STREQ(to_string(DnsStatus::kOk), "ok");
  EXPECT_STREQ(to_string(DnsStatus::kNxDomain), "nxdomain");
  EXPECT_STREQ(to_string(DnsStatus::kNoData), "nodata");
  EXPECT_STREQ(to_string(DnsStatus::kNullMx), "null_mx");
  EXPECT_STREQ(to_string(DnsStatus::kTempFail), "tempfail");
}

}  // namespace
}  // namespace correo
