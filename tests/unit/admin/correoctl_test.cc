// correoctl_test.cc - the real correoctl binary against an in-process admin server: where
// output goes, and the exit status for each kind of outcome (0 ok, 1 failed, 2 usage,
// 3 cannot reach the daemon).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "queue/queue_id.h"
#include "relay/admin/admin_server.h"
#include "tests/unit/admin/admin_test_util.h"
#include "tests/unit/admin/fake_admin_backend.h"

namespace correo {
namespace {

struct CtlRun {
  int status = -1;  // exit status, -1 if it did not exit normally
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// run_correoctl - runs the binary with `args` and only the environment `env` (so a
// CORREO_ADMIN of the person running the tests cannot leak in).
CtlRun run_correoctl(const test::TempDir& dir, const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {}) {
  const std::string out_path = dir.path() + "/stdout", err_path = dir.path() + "/stderr";
  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::vector<std::string> argv_s = {CORREOCTL_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = env;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  CtlRun r;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

class CorreoctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend.entries = test::sample_queue(backend.now_us);
    Result<std::unique_ptr<AdminServer>> s = AdminServer::start("unix:" + dir.path() + "/admin.sock", backend);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server = std::move(s.value());
    admin = server->address();
  }
  CtlRun ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--admin", admin});
    return run_correoctl(dir, args);
  }
  std::string id(size_t i) const { return format_queue_id(backend.entries[i].envelope.id); }

  test::TempDir dir;
  test::FakeAdminBackend backend;
  std::unique_ptr<AdminServer> server;
  std::string admin;
};

TEST_F(CorreoctlTest, DataOnStdoutSummaryOnStderr) {
  CtlRun r = ctl({"queue", "list"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 5u);
  EXPECT_EQ(r.out.rfind("ID ", 0), 0u);
  EXPECT_EQ(r.err, "4 messages\n");

  CtlRun quiet = run_correoctl(dir, {"-q", "--admin=" + admin, "queue", "list", "--json"});
  EXPECT_EQ(quiet.status, 0);
  EXPECT_EQ(count_lines(quiet.out), 4u);
  EXPECT_EQ(quiet.err, "");
}

TEST_F(CorreoctlTest, AdminAddressFromEnvironment) {
  CtlRun r = run_correoctl(dir, {"stats"}, {"CORREO_ADMIN=" + admin});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("queue_active"), std::string::npos);
}

TEST_F(CorreoctlTest, DefaultAddressIsTheShippedSocket) {
  CtlRun r = run_correoctl(dir, {"stats"});  // nothing serves var/correo.sock in the test's cwd
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("cannot reach correod at unix:var/correo.sock"), std::string::npos) << r.err;
}

TEST_F(CorreoctlTest, FailuresExitOne) {
  CtlRun missing = ctl({"queue", "show", format_queue_id(test::make_id(test::kBaseUs, 9))});
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("correoctl: no message"), std::string::npos) << missing.err;

  const std::string unknown = format_queue_id(test::make_id(test::kBaseUs, 9));
  CtlRun partial = ctl({"hold", id(0), unknown});
  EXPECT_EQ(partial.status, 1);
  EXPECT_EQ(partial.out, id(0) + " done held\n" + unknown + " not_found no such message\n");
  EXPECT_EQ(partial.err, "correoctl: hold: 1 done, 0 pending, 0 skipped, 1 failed\n");

  CtlRun done = ctl({"release", id(0)});
  EXPECT_EQ(done.status, 0);
  EXPECT_EQ(done.err, "release: 1 done, 0 pending, 0 skipped, 0 failed\n");
}

TEST_F(CorreoctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(ctl({"frobnicate"}).status, 2);   // the daemon says usage
  EXPECT_EQ(ctl({"delete"}).status, 2);       // no selection: refused
  EXPECT_EQ(ctl({"queue", "show", "x"}).status, 2);
  EXPECT_EQ(ctl({}).status, 2);               // no command
  EXPECT_EQ(ctl({"stats", "a\tb"}).status, 2);
  EXPECT_EQ(run_correoctl(dir, {"--admin", "192.0.2.1:9466", "stats"}).status, 2);
  EXPECT_EQ(run_correoctl(dir, {"--admin"}).status, 2);
  EXPECT_EQ(run_correoctl(dir, {"--timeout", "0", "stats"}).status, 2);
  EXPECT_EQ(run_correoctl(dir, {"--frob", "stats"}).status, 2);
  EXPECT_TRUE(backend.acted.empty());
}

TEST_F(CorreoctlTest, Help) {
  CtlRun r = run_correoctl(dir, {"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("usage: correoctl", 0), 0u);
  EXPECT_NE(r.out.find("queue hold|release|delete|bounce"), std::string::npos);
  EXPECT_NE(r.out.find("exit status"), std::string::npos);
}

TEST_F(CorreoctlTest, UnreachableExitsThree) {
  CtlRun none = run_correoctl(dir, {"--admin", "unix:" + dir.path() + "/nothing.sock", "stats"});
  EXPECT_EQ(none.status, 3);
  EXPECT_NE(none.err.find("cannot reach correod"), std::string::npos);

  // A peer that accepts, hears the request, sends part of a reply and hangs up.
  Result<AdminListener> l = listen_admin(parse_admin_address("unix:" + dir.path() + "/cut.sock").value(), 4);
  ASSERT_TRUE(l.ok());
  std::thread peer([fd = l->fd] {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 5000);
    const int c = ::accept(fd, nullptr, nullptr);
    test::read_until_eof(c, 200);
    test::send_all(c, "D partial\n");
    ::close(c);
  });
  CtlRun cut = run_correoctl(dir, {"--admin", "unix:" + dir.path() + "/cut.sock", "queue", "list"});
  peer.join();
  EXPECT_EQ(cut.status, 3);
  EXPECT_EQ(cut.out, "partial\n");
  EXPECT_NE(cut.err.find("before the reply was complete"), std::string::npos) << cut.err;

  // A peer that never answers: --timeout bounds the wait.
  const auto t0 = std::chrono::steady_clock::now();
  CtlRun silent = run_correoctl(dir, {"--admin", "unix:" + dir.path() + "/cut.sock", "--timeout", "1", "stats"});
  EXPECT_EQ(silent.status, 3);
  EXPECT_NE(silent.err.find("within the timeout"), std::string::npos) << silent.err;
  EXPECT_LT(test::elapsed_ms(t0), 3000);
  ::close(l->fd);
}

}  // namespace
}  // namespace correo
