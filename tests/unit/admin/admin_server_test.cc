// admin_server_test.cc - the admin server over a unix socket and loopback TCP: serving,
// where it refuses to listen, and its bounds (silent, oversized, slow and too many clients).
#include "relay/admin/admin_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "queue/queue_id.h"
#include "tests/unit/admin/admin_test_util.h"
#include "tests/unit/admin/fake_admin_backend.h"

namespace correo {
namespace {

using namespace std::chrono_literals;
using test::call;
using test::elapsed_ms;
using test::Exchange;

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend.entries = test::sample_queue(backend.now_us);
    socket_path = dir.path() + "/admin.sock";
  }

  std::unique_ptr<AdminServer> start(const std::string& listen, AdminServerOptions options = {}) {
    Result<std::unique_ptr<AdminServer>> s = AdminServer::start(listen, backend, std::move(options));
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s ? std::move(s.value()) : nullptr;
  }

  test::TempDir dir;
  std::string socket_path;
  test::FakeAdminBackend backend;
};

TEST_F(AdminServerTest, ServesOverUnixSocket) {
  std::mutex mu;
  std::vector<std::string> counted;
  AdminServerOptions options;
  options.on_request = [&](std::string_view command) {
    std::lock_guard lock(mu);
    counted.emplace_back(command);
  };
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path, options);
  ASSERT_TRUE(server);
  EXPECT_EQ(server->address(), "unix:" + socket_path);
  struct stat st;
  ASSERT_EQ(::lstat(socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  Exchange stats = call(server->address(), {"stats"});
  ASSERT_TRUE(stats.reached) << stats.error;
  EXPECT_EQ(stats.final.kind, ReplyLine::Kind::kOk);
  EXPECT_EQ(stats.lines.size(), 5u);

  Exchange list = call(server->address(), {"queue", "list", "--json"});
  ASSERT_TRUE(list.reached) << list.error;
  EXPECT_EQ(list.lines.size(), 4u);
  EXPECT_EQ(list.final.text, "4 messages");

  Exchange bad = call(server->address(), {"queue", "show", "nope"});
  ASSERT_TRUE(bad.reached);
  EXPECT_EQ(bad.final.kind, ReplyLine::Kind::kErr);
  EXPECT_EQ(bad.final.code, AdminError::kUsage);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(counted, (std::vector<std::string>{"stats", "queue list", "queue show"}));
  }
  server.reset();
  EXPECT_NE(::lstat(socket_path.c_str(), &st), 0) << "socket file removed at shutdown";
}

TEST_F(AdminServerTest, StreamsALargeListing) {
  backend.synthetic = 50000;
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path);
  ASSERT_TRUE(server);
  Exchange list = call(server->address(), {"queue", "list"});
  ASSERT_TRUE(list.reached) << list.error;
  EXPECT_EQ(list.lines.size(), 1u + 4u + 50000u);
  EXPECT_EQ(list.final.text, "50004 messages");
}

TEST_F(AdminServerTest, RefusesAPathThatIsNotASocket) {
  { std::ofstream(socket_path) << "precious"; }
  Result<std::unique_ptr<AdminServer>> s = AdminServer::start("unix:" + socket_path, backend);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a socket"), std::string::npos) << s.error().message;
  std::ifstream in(socket_path);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(AdminServerTest, ReplacesAStaleSocket) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, socket_path.c_str(), sizeof un.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  ::close(fd);  // the file stays: a crashed daemon's leftover
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path);
  ASSERT_TRUE(server);
  EXPECT_TRUE(call(server->address(), {"stats"}).reached);
}

TEST_F(AdminServerTest, RefusesASocketSomeoneServes) {
  std::unique_ptr<AdminServer> first = start("unix:" + socket_path);
  ASSERT_TRUE(first);
  Result<std::unique_ptr<AdminServer>> second = AdminServer::start("unix:" + socket_path, backend);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("another process"), std::string::npos) << second.error().message;
  EXPECT_TRUE(call(first->address(), {"stats"}).reached) << "the first server keeps its socket";
}

TEST_F(AdminServerTest, ServesOverLoopbackTcp) {
  std::unique_ptr<AdminServer> server = start("127.0.0.1:0");
  ASSERT_TRUE(server);
  const std::string address = server->address();
  EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(address, "127.0.0.1:0");
  Exchange show = call(address, {"queue", "show", format_queue_id(backend.entries[0].envelope.id)});
  ASSERT_TRUE(show.reached) << show.error;
  EXPECT_EQ(show.final.kind, ReplyLine::Kind::kOk);
  EXPECT_EQ(show.lines[0], "id: " + format_queue_id(backend.entries[0].envelope.id));
}

TEST_F(AdminServerTest, ServesOverIpv6Loopback) {
  Result<std::unique_ptr<AdminServer>> s = AdminServer::start("[::1]:0", backend);
  if (!s.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << s.error().message;
  EXPECT_EQ((*s)->address().rfind("[::1]:", 0), 0u);
  EXPECT_TRUE(call((*s)->address(), {"stats"}).reached);
}

TEST_F(AdminServerTest, RefusesAnythingButLoopback) {
  for (const char* listen : {"0.0.0.0:0", "192.0.2.1:0", "10.0.0.1:9466", "[::]:0", "[2001:db8::1]:0",
                             "[::ffff:127.0.0.1]:0", "localhost:0", "::1:0", "[127.0.0.1]:0", "127.0.0.1",
                             "127.0.0.1:99999", "127.0.0.1:x", ":0", "unix:", ""}) {
    Result<std::unique_ptr<AdminServer>> s = AdminServer::start(listen, backend);
    EXPECT_FALSE(s.ok()) << listen;
  }
  std::unique_ptr<AdminServer> other = start("127.1.2.3:0");  // all of 127/8 is loopback
  EXPECT_TRUE(other);
}

TEST_F(AdminServerTest, DropsASilentClient) {
  AdminServerOptions options;
  options.request_timeout = 200ms;
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path, options);
  ASSERT_TRUE(server);
  const int silent = test::raw_connect(server->address());
  const int partial = test::raw_connect(server->address());
  test::send_all(partial, "correoctl/1\tsta");  // never finished
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  EXPECT_EQ(test::read_until_eof(silent, 3000, &closed), "ERR protocol no complete request in time\n");
  EXPECT_TRUE(closed);
  EXPECT_EQ(test::read_until_eof(partial, 3000, &closed), "ERR protocol no complete request in time\n");
  EXPECT_TRUE(closed);
  EXPECT_LT(elapsed_ms(t0), 2000);
  ::close(silent);
  ::close(partial);
  EXPECT_TRUE(call(server->address(), {"stats"}).reached) << "still serving";
}

TEST_F(AdminServerTest, RejectsOversizedAndMalformedRequests) {
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path);
  ASSERT_TRUE(server);
  const std::pair<std::string, std::string> cases[] = {
      {std::string(5000, 'a'), "ERR protocol request too long (at most 4096 bytes)\n"},
      {"hello\n", "ERR protocol unsupported protocol (expected correoctl/1)\n"},
      {"correoctl/2\tstats\n", "ERR protocol unsupported protocol (expected correoctl/1)\n"},
      {"correoctl/1\tstats\r\n", "ERR protocol request contains CR, LF or NUL\n"},
      {std::string("correoctl/1\tst\0ats\n", 19), "ERR protocol request contains CR, LF or NUL\n"},
  };
  for (const auto& [request, reply] : cases) {
    const int fd = test::raw_connect(server->address());
    test::send_all(fd, request);
    bool closed = false;
    EXPECT_EQ(test::read_until_eof(fd, 3000, &closed), reply);
    EXPECT_TRUE(closed);
    ::close(fd);
  }
  EXPECT_TRUE(backend.acted.empty());
}

TEST_F(AdminServerTest, BoundsClientsAtSixteen) {
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path);
  ASSERT_TRUE(server);
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) {
    fds.push_back(test::raw_connect(server->address()));
    std::this_thread::sleep_for(5ms);  // let the server accept in order
  }
  // Wait (bounded) for the connections past the bound to be told busy and closed; a slow
  // machine may take a while to get there, so no single short read decides.
  int busy = 0;
  std::vector<bool> closed_fd(fds.size(), false);
  const auto t0 = std::chrono::steady_clock::now();
  while (busy < 4 && elapsed_ms(t0) < 5000) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (closed_fd[i]) continue;
      bool closed = false;
      const std::string got = test::read_until_eof(fds[i], 10, &closed);
      if (!closed) {
        EXPECT_EQ(got, "");
        continue;
      }
      EXPECT_EQ(got, "ERR busy too many admin connections; try again\n");
      closed_fd[i] = true;
      ++busy;
      ::close(fds[i]);
    }
  }
  std::vector<int> kept;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!closed_fd[i]) kept.push_back(fds[i]);
  }
  EXPECT_EQ(busy, 4);
  ASSERT_EQ(kept.size(), 16u);
  for (int fd : kept) {
    test::send_all(fd, encode_admin_request({"stats"}).value());
    bool closed = false;
    const std::string got = test::read_until_eof(fd, 3000, &closed);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(got.ends_with("OK\n")) << got;
    ::close(fd);
  }
}

TEST_F(AdminServerTest, TwentyClientsAtOnce) {
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path);
  ASSERT_TRUE(server);
  std::atomic<int> ok{0}, busy{0}, broken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      Exchange x = call(server->address(), {"queue", "list"});
      if (!x.reached) {
        ++broken;
      } else if (x.final.kind == ReplyLine::Kind::kOk && x.lines.size() == 5) {
        ++ok;
      } else if (x.final.kind == ReplyLine::Kind::kErr && x.final.code == AdminError::kBusy) {
        ++busy;
      } else {
        ++broken;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(broken.load(), 0);
  EXPECT_EQ(ok + busy, 20);
  EXPECT_GE(ok.load(), 16);
}

// A client that asks for a long listing and never reads must not hold the admin thread.
int stuck_lister(const std::string& address) {
  const int fd = test::raw_connect(address);
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  test::send_all(fd, encode_admin_request({"queue", "list", "--json"}).value());
  return fd;
}

TEST_F(AdminServerTest, DropsAClientThatDoesNotRead) {
  backend.synthetic = 300000;  // far more than the socket buffers hold
  AdminServerOptions options;
  options.write_timeout = 300ms;
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path, options);
  ASSERT_TRUE(server);
  const int stuck = stuck_lister(server->address());
  std::this_thread::sleep_for(50ms);
  const auto t0 = std::chrono::steady_clock::now();
  Exchange x = call(server->address(), {"stats"});
  EXPECT_TRUE(x.reached) << x.error;
  EXPECT_LT(elapsed_ms(t0), 3000);
  ::close(stuck);
}

TEST_F(AdminServerTest, StopsPromptlyWhileAClientIsStuck) {
  backend.synthetic = 300000;
  std::unique_ptr<AdminServer> server = start("unix:" + socket_path);  // write timeout 10 s
  ASSERT_TRUE(server);
  const int stuck = stuck_lister(server->address());
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  server.reset();
  EXPECT_LT(elapsed_ms(t0), 2000);
  ::close(stuck);
}

TEST(AdminAddress, ParsesAndFormats) {
  Result<AdminAddress> u = parse_admin_address("unix:var/correo.sock");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->is_unix);
  EXPECT_EQ(u->path, "var/correo.sock");
  EXPECT_EQ(u->to_string(), "unix:var/correo.sock");
  Result<AdminAddress> v4 = parse_admin_address("127.0.0.1:9466");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->port, 9466);
  EXPECT_EQ(v4->to_string(), "127.0.0.1:9466");
  Result<AdminAddress> v6 = parse_admin_address("[::1]:9466");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->to_string(), "[::1]:9466");
  Result<AdminAddress> far = parse_admin_address("192.0.2.1:9466");
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.error().message.find("not loopback"), std::string::npos);
  Result<AdminAddress> long_path = parse_admin_address("unix:/tmp/" + std::string(200, 'a'));
  ASSERT_TRUE(long_path.ok());
  Result<AdminListener> l = listen_admin(*long_path, 1);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message.find("unix socket path"), std::string::npos) << l.error().message;
}

}  // namespace
}  // namespace correo
