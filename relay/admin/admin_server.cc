// admin_server.cc - the admin thread: accept, read one request line, run it, reply, close.
#include "relay/admin/admin_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "relay/admin/admin_address.h"
#include "relay/admin/admin_commands.h"
#include "relay/admin/admin_protocol.h"
#include "relay/admin/admin_socket_writer.h"
#include "relay/common/eventfd.h"
#include "relay/common/log.h"

namespace correo {
namespace {

using Clock = std::chrono::steady_clock;

// Connections accepted per wake-up: a flood of connects cannot starve the clients we have.
constexpr int kAcceptBurst = 32;
// Listen backlog: larger than max_clients, since connections past the bound are accepted
// only to be told `ERR busy` at once - better than a client hanging in the backlog.
constexpr int kListenBacklog = 64;
// How long accepting pauses after accept() fails for lack of descriptors or memory.
constexpr std::chrono::milliseconds kAcceptPause{100};
// How much of the argv the log line shows; the full request is at most 4 KiB anyway.
constexpr size_t kLoggedArgsBytes = 512;

struct Client {
  int fd = -1;
  std::string buffer;  // request bytes so far (< kMaxAdminRequest)
  Clock::time_point deadline;
  std::string peer;
};

// peer_text - who connected, for the log: the uid/pid of a unix peer, ip:port of a TCP one.
std::string peer_text(int fd, bool is_unix) {
  if (is_unix) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      return "uid=" + std::to_string(cred.uid) + " pid=" + std::to_string(cred.pid);
    }
    return "unix";
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  const std::optional<IpAddress> ip = IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  const uint16_t port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                       : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return (ip ? ip->to_string() : std::string("?")) + ":" + std::to_string(port);
}

// say_and_close - a last line to a client we are dropping, without waiting for it.
void say_and_close(int fd, const std::string& line) {
  [[maybe_unused]] const ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
}

std::string joined_args(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty()) out += ' ';
    out += a;
    if (out.size() > kLoggedArgsBytes) {
      out.resize(kLoggedArgsBytes);
      out += "...";
      break;
    }
  }
  return out;
}

}  // namespace

struct AdminServer::Impl {
  AdminBackend& backend;
  AdminServerOptions options;
  AdminListener listener;
  int stop_fd = -1;
  std::vector<Client> clients;
  Clock::time_point accept_paused_until{};
  std::thread thread;

  Impl(AdminBackend& b, AdminServerOptions o) : backend(b), options(std::move(o)) {}

  ~Impl() {
    for (Client& c : clients) ::close(c.fd);
    if (listener.fd >= 0) {
      ::close(listener.fd);
      unlink_admin_socket(listener);
    }
    if (stop_fd >= 0) ::close(stop_fd);
  }

  void run();
  void accept_clients();
  // read_from - false when the client is done with (served, dropped or gone).
  bool read_from(Client& c);
  void serve(Client& c, std::string_view line);
  void log_rejected(const Client& c, std::string_view result, std::string_view why) {
    LogLine(LogLevel::kWarn, "admin").kv("command", "-").kv("result", result).kv("reason", why).kv("peer", c.peer);
  }
};

void AdminServer::Impl::run() {
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    const Clock::time_point now = Clock::now();
    const bool accepting = now >= accept_paused_until;
    fds.push_back({listener.fd, static_cast<short>(accepting ? POLLIN : 0), 0});
    int timeout_ms = accepting ? -1 : static_cast<int>(kAcceptPause.count());
    for (const Client& c : clients) {
      fds.push_back({c.fd, POLLIN, 0});
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(c.deadline - now).count();
      const int ms = static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    const int rc = ::poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      // Cannot happen short of a kernel out of memory; the daemon keeps running without admin.
      LogLine(LogLevel::kError, "admin_poll_failed").kv("error", std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) return;  // stop requested
    // Clients first: a request that arrived while we were serving another counts, even if
    // its deadline passed meanwhile.
    std::vector<Client> kept;
    kept.reserve(clients.size());
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const bool readable = fds[i + 2].revents != 0;
      const bool expired = Clock::now() >= c.deadline;
      // An expired client gets one last read: its request may have come in while we served.
      if ((readable || expired) && !read_from(c)) continue;
      if (expired) {
        log_rejected(c, "timeout", "no complete request in time");
        say_and_close(c.fd, encode_err_line(AdminError::kProtocol, "no complete request in time"));
        continue;
      }
      kept.push_back(std::move(c));
    }
    clients = std::move(kept);
    if (fds[1].revents != 0) accept_clients();
  }
}

void AdminServer::Impl::accept_clients() {
  for (int i = 0; i < kAcceptBurst; ++i) {
    const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        // Out of descriptors or memory: the listener stays readable, so pause accepting
        // rather than spin on poll().
        LogLine(LogLevel::kWarn, "admin_accept_failed").kv("error", std::strerror(errno));
        accept_paused_until = Clock::now() + kAcceptPause;
      }
      return;
    }
    Client c;
    c.fd = fd;
    c.peer = peer_text(fd, listener.bound.is_unix);
    c.deadline = Clock::now() + options.request_timeout;
    if (clients.size() >= options.max_clients) {
      log_rejected(c, "busy", "too many admin connections");
      say_and_close(fd, encode_err_line(AdminError::kBusy, "too many admin connections; try again"));
      continue;
    }
    clients.push_back(std::move(c));
  }
}

bool AdminServer::Impl::read_from(Client& c) {
  char chunk[kMaxAdminRequest];
  // Never hold more than one request's worth: read only what could still complete one.
  const size_t room = kMaxAdminRequest - c.buffer.size();
  const ssize_t n = ::recv(c.fd, chunk, room, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  if (n <= 0) {  // gone before sending a whole request
    ::close(c.fd);
    return false;
  }
  const size_t old = c.buffer.size();
  c.buffer.append(chunk, static_cast<size_t>(n));
  const size_t nl = c.buffer.find('\n', old);
  if (nl != std::string::npos) {
    // Bytes after the newline are ignored: one request per connection.
    serve(c, std::string_view(c.buffer).substr(0, nl + 1));
    ::close(c.fd);
    return false;
  }
  if (c.buffer.size() >= kMaxAdminRequest) {
    log_rejected(c, "protocol", "request too long");
    say_and_close(c.fd, encode_err_line(AdminError::kProtocol, "request too long (at most 4096 bytes)"));
    return false;
  }
  return true;
}

void AdminServer::Impl::serve(Client& c, std::string_view line) {
  const Clock::time_point started = Clock::now();
  SocketReplyWriter out(c.fd, stop_fd, options.write_timeout);
  Result<std::vector<std::string>> args = decode_admin_request(line);
  std::string_view name = "-";
  if (!args) {
    out.error(AdminError::kProtocol, args.error().message);
  } else {
    name = admin_command_name(*args);
    if (options.on_request) options.on_request(name);
    run_admin_command(backend, *args, out);
  }
  out.finish();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  LogLine log(LogLevel::kInfo, "admin");
  log.kv("command", name);
  if (args) log.kv("args", joined_args(*args));
  log.kv("result", out.result()).kv("lines", out.data_lines()).kv("ms", static_cast<int64_t>(ms)).kv("peer", c.peer);
  if (out.failed()) log.kv("dropped", out.failure());
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& listen, AdminBackend& backend,
                                                        AdminServerOptions options) {
  Result<AdminAddress> address = parse_admin_address(listen);
  if (!address) return address.error();
  if (options.max_clients == 0) return Error{"admin max_clients must be at least 1"};
  auto impl = std::make_unique<Impl>(backend, std::move(options));
  Result<AdminListener> listener = listen_admin(*address, kListenBacklog);
  if (!listener) return listener.error();
  impl->listener = *listener;
  impl->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->stop_fd < 0) return Error{std::string("admin eventfd: ") + std::strerror(errno)};
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  LogLine(LogLevel::kInfo, "admin_listening").kv("address", impl->listener.bound.to_string());
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::~AdminServer() {
  signal_eventfd(impl_->stop_fd);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string AdminServer::address() const { return impl_->listener.bound.to_string(); }

}  // namespace correo
