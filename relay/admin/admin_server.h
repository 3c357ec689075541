// admin_server.h - the daemon's end of correoctl: one thread serving admin requests.
//
// Listens on `unix:PATH` (mode 0660; the file mode is the access control) or a loopback
// `HOST:PORT` (see admin_address.h: anything reachable from the network is refused).
// One request per connection (admin_protocol.h), served one at a time on the admin thread:
// admin commands are rare, and serializing them keeps the mutations simple to reason about.
//
// Bounded everywhere, so a stuck or hostile local client costs little and never blocks the
// daemon: at most max_clients connections (the next one gets `ERR busy` and is closed), a
// request must arrive whole within request_timeout and fit kMaxAdminRequest, and every
// blocked write waits at most write_timeout before the client is dropped. The admin thread
// never touches worker state; the AdminBackend does the (thread-safe) work.
//
// Thread rules: start() and the destructor run on the owning thread; the backend and the
// on_request hook are called on the admin thread only. Nothing here throws across threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "relay/admin/admin_backend.h"
#include "relay/common/result.h"

namespace correo {

struct AdminServerOptions {
  unsigned max_clients = 16;
  std::chrono::milliseconds request_timeout{10000};  // connect -> whole request line
  std::chrono::milliseconds write_timeout{10000};    // per blocked write of the reply
  // on_request - called once per decoded request with its canonical command name
  // (admin_command_name(): "queue list", "stats", ..., "unknown"), e.g. to count requests
  // in a metric. A small fixed set of values, safe as a metric label.
  std::function<void(std::string_view command)> on_request;
};

class AdminServer {
 public:
  // start - binds `listen` and starts the admin thread. `backend` must outlive the server.
  static Result<std::unique_ptr<AdminServer>> start(const std::string& listen, AdminBackend& backend,
                                                    AdminServerOptions options = {});
  ~AdminServer();  // stops the thread (a reply in progress is abandoned), joins, removes the socket file

  // address - where it listens, in admin address form: "unix:PATH", "127.0.0.1:PORT" (the
  // real port when 0 was asked), "[::1]:PORT".
  std::string address() const;

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace correo
