// admin_test_util.h - temp dirs and raw socket helpers for the admin server tests.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "relay/admin/admin_address.h"
#include "relay/admin/admin_client.h"
#include "relay/admin/admin_protocol.h"

namespace correo::test {

// TempDir - a fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/correo_admin_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Exchange - a whole reply as admin_exchange() gave it.
struct Exchange {
  bool reached = false;  // a final line came back
  std::string error;     // why not
  std::vector<std::string> lines;
  ReplyLine final;
};

inline Exchange call(const std::string& address, const std::vector<std::string>& words, int timeout_ms = 5000) {
  Exchange x;
  Result<AdminAddress> a = parse_admin_address(address);
  if (!a) {
    x.error = a.error().message;
    return x;
  }
  Result<std::string> request = encode_admin_request(words);
  if (!request) {
    x.error = request.error().message;
    return x;
  }
  Result<ReplyLine> r = admin_exchange(*a, *request, timeout_ms, [&](std::string_view t) {
    x.lines.emplace_back(t);
    return true;
  });
  if (!r) {
    x.error = r.error().message;
    return x;
  }
  x.reached = true;
  x.final = *r;
  return x;
}

inline int raw_connect(const std::string& address) {
  Result<AdminAddress> a = parse_admin_address(address);
  EXPECT_TRUE(a.ok());
  if (!a) return -1;
  Result<int> fd = connect_admin(*a, 2000);
  EXPECT_TRUE(fd.ok()) << fd.error().message;
  return fd ? *fd : -1;
}

inline void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// read_until_eof - what the peer sends until it closes, or until timeout_ms of silence.
// `closed` says which.
inline std::string read_until_eof(int fd, int timeout_ms, bool* closed = nullptr) {
  std::string out;
  char buf[65536];
  if (closed) *closed = false;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return out;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed) *closed = true;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

inline int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace correo::test
