// milter_opendkim_test.cc - MilterSession against a real milter: Debian's opendkim signs a
// message, and the signature is then checked for real.
//
// The test makes a key with opendkim-genkey, runs `opendkim -f -x conf` on a free loopback
// port as a child process (always killed at the end), and drives a MilterSession over a plain
// blocking TCP socket. The client address is 127.0.0.1, which opendkim's default
// InternalHosts treats as ours, so it signs. Checks: a DKIM-Signature edit with d= and s=;
// its bh= equals the SHA-256 of the relaxed-canonical body (RFC 6376 §3.4.4) computed here;
// and opendkim's own verifier (`opendkim -t`, with the public key given by TestPublicKeys,
// so no DNS) passes the edited message and fails a tampered one.
// Skipped only when the opendkim binaries are not installed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "relay/common/ascii.h"
#include "relay/policy/milter/milter_session.h"

namespace correo {
namespace {

constexpr const char* kOpendkim = "/usr/sbin/opendkim";
constexpr const char* kGenkey = "/usr/sbin/opendkim-genkey";

constexpr std::string_view kContent =
    "From: Alice <alice@example.test>\r\n"
    "To: bob@example.org\r\n"
    "Subject: milter test\r\n"
    "  folded subject line\r\n"
    "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
    "Message-ID: <m1@example.test>\r\n"
    "\r\n"
    "Hello Bob,   with  spaces \r\n"
    "\r\n"
    "second paragraph\r\n"
    "\r\n"
    "\r\n";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& p, std::string_view s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

// run - a shell command's combined output.
std::string run(const std::string& command) {
  std::string out;
  if (FILE* p = popen((command + " 2>&1").c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

int connect_to(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{10, 0};  // a hung milter fails the test instead of hanging it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

// ChildProcess - the opendkim daemon; the destructor always stops and reaps it.
struct ChildProcess {
  pid_t pid = -1;
  ~ChildProcess() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  bool exited() {
    if (pid <= 0 || waitpid(pid, nullptr, WNOHANG) != pid) return false;
    pid = -1;  // reaped: nothing left to kill
    return true;
  }
};

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "correo_opendkim_XXXXXX").string();
    if (mkdtemp(t.data()) != nullptr) path = t;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// drive - one MilterSession over a blocking socket until done.
void drive(MilterSession& s, int fd) {
  s.start();
  char buf[8192];
  while (true) {
    std::string& out = s.output();
    while (!out.empty()) {
      const ssize_t n = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n <= 0) return s.on_closed();
      out.erase(0, static_cast<size_t>(n));
    }
    if (s.done()) return;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return s.on_closed();
    s.on_bytes(std::string_view(buf, static_cast<size_t>(n)));
  }
}

// relaxed_body_hash - base64(SHA-256) of the body in "relaxed" canonical form (RFC 6376
// §3.4.4): trailing WSP removed, WSP runs as one SP, trailing empty lines dropped.
std::string relaxed_body_hash(std::string_view body) {
  std::vector<std::string> lines;
  while (!body.empty()) {
    const size_t end = body.find("\r\n");
    std::string_view line = body.substr(0, end);
    std::string c;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == ' ' || line[i] == '\t') {
        while (i + 1 < line.size() && (line[i + 1] == ' ' || line[i + 1] == '\t')) ++i;
        if (i + 1 < line.size()) c.push_back(' ');
      } else {
        c.push_back(line[i]);
      }
    }
    lines.push_back(c);
    body.remove_prefix(end == std::string_view::npos ? body.size() : end + 2);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string canon;
  for (const auto& l : lines) canon += l + "\r\n";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canon.data()), canon.size(), digest);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, digest, sizeof digest);
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

// dkim_tag - a tag's value in a DKIM-Signature, white space removed.
std::string dkim_tag(std::string value, const std::string& tag) {
  std::erase_if(value, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
  const std::regex re("(^|;)" + tag + "=([^;]*)");
  std::smatch m;
  return std::regex_search(value, m, re) ? m[2].str() : "<absent>";
}

TEST(MilterOpendkim, SignsAndTheSignatureVerifies) {
  if (access(kOpendkim, X_OK) != 0 || access(kGenkey, X_OK) != 0) GTEST_SKIP() << "opendkim is not installed";
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string d = dir.path.string();
  const std::string genkey = run(std::string(kGenkey) + " -D '" + d + "' -d example.test -s sel");
  ASSERT_TRUE(std::filesystem::exists(dir.path / "sel.private")) << genkey;

  const uint16_t port = free_port();
  ASSERT_NE(port, 0);
  // RequireSafeKeys no: the key lives under the world-writable temp directory.
  write_file(dir.path / "sign.conf", "Mode s\nDomain example.test\nSelector sel\nKeyFile " + d +
                                         "/sel.private\nSocket inet:" + std::to_string(port) +
                                         "@127.0.0.1\nBackground no\nSyslog no\nPidFile " + d +
                                         "/opendkim.pid\nCanonicalization relaxed/relaxed\nRequireSafeKeys no\n");
  ChildProcess opendkim;
  opendkim.pid = fork();
  ASSERT_GE(opendkim.pid, 0);
  if (opendkim.pid == 0) {
    const int log = open((d + "/opendkim.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(log, 1);
    dup2(log, 2);
    const std::string conf = d + "/sign.conf";
    execl(kOpendkim, "opendkim", "-f", "-x", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; ++i) {
    ASSERT_FALSE(opendkim.exited()) << "opendkim exited: " << read_file(dir.path / "opendkim.log");
    fd = connect_to(port);
    if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(fd, 0) << "opendkim never listened: " << read_file(dir.path / "opendkim.log");

  MilterMessage m;
  m.client_name = "localhost";
  m.client_ip = "127.0.0.1";
  m.client_port = 40000;
  m.helo = "localhost";
  m.mail_from = "alice@example.test";
  m.rcpts = {"bob@example.org"};
  m.content = kContent;
  m.queue_id = "4Q1";
  m.our_hostname = "mx.example.test";
  MilterSession s(m, {});
  drive(s, fd);
  close(fd);
  const MilterResult& r = s.result();
  ASSERT_TRUE(s.done());
  ASSERT_FALSE(r.failed) << r.error << "\n" << read_file(dir.path / "opendkim.log");
  EXPECT_EQ(r.verdict, MilterVerdict::kContinue);
  const HeaderEdit* sig = nullptr;
  for (const auto& e : r.header_edits) {
    if (iequals(e.name, "DKIM-Signature")) sig = &e;
  }
  ASSERT_NE(sig, nullptr) << "no DKIM-Signature; log: " << read_file(dir.path / "opendkim.log");
  EXPECT_EQ(dkim_tag(sig->value, "d"), "example.test");
  EXPECT_EQ(dkim_tag(sig->value, "s"), "sel");
  EXPECT_EQ(dkim_tag(sig->value, "c"), "relaxed/relaxed");

  auto signed_message = apply_milter_result(kContent, r);
  ASSERT_TRUE(signed_message.ok());
  const HeaderSection hs = parse_header_section(*signed_message);
  EXPECT_EQ(dkim_tag(sig->value, "bh"), relaxed_body_hash(std::string_view(*signed_message).substr(hs.body_start)));

  // Verification by opendkim itself, the public key from sel.txt instead of DNS.
  std::string record;
  const std::string txt = read_file(dir.path / "sel.txt");
  const std::regex quoted("\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(txt.begin(), txt.end(), quoted); it != std::sregex_iterator(); ++it) {
    record += (*it)[1].str();
  }
  write_file(dir.path / "keys", "sel._domainkey.example.test " + record + "\n");
  write_file(dir.path / "verify.conf", "Mode v\nSyslog no\nRequireSafeKeys no\nTestPublicKeys " + d + "/keys\n");
  write_file(dir.path / "signed.eml", *signed_message);
  const std::string verify = std::string(kOpendkim) + " -x '" + d + "/verify.conf' -t ";
  const std::string good = run(verify + "'" + d + "/signed.eml'");
  EXPECT_NE(good.find("verification (s=sel, d=example.test"), std::string::npos) << good;
  EXPECT_NE(good.find("succeeded"), std::string::npos) << good;

  std::string tampered = *signed_message;
  tampered.replace(tampered.find("second"), 6, "SECOND");
  write_file(dir.path / "tampered.eml", tampered);
  const std::string bad = run(verify + "'" + d + "/tampered.eml'");
  EXPECT_EQ(bad.find("succeeded"), std::string::npos) << bad;
  EXPECT_NE(bad.find("failed"), std::string::npos) << bad;
}

}  // namespace
}  // namespace correo
