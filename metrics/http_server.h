// http_server.h - the operations HTTP endpoint: /metrics, /healthz, /readyz.
//
// Served by civetweb (its own small thread pool, never a worker thread) on metrics.listen.
//   GET /metrics  -> 200, Prometheus text format 0.0.4, the body render() returns
//   GET /healthz  -> 200 "ok\n" while the process is alive and the server runs
//   GET /readyz   -> 200 "ready\n" when ready() says so, else 503 with the reason
//   anything else -> 404; methods other than GET/HEAD -> 405
// Bounded: a fixed number of serving threads, a request timeout and civetweb's request-size
// limit, so a hostile scraper cannot hold more than that.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "relay/common/result.h"

namespace correo {

struct Readiness {
  bool ready = false;
  std::string reason;  // why not (e.g. "draining", "spool not writable"); empty when ready
};

struct HttpServerOptions {
  std::string listen = "127.0.0.1:9465";  // host:port, IPv6 as [::1]:9465; port 0 = any free port
  unsigned threads = 2;
  unsigned request_timeout_ms = 5000;
};

class HttpServer {
 public:
  using Render = std::function<std::string()>;
  using ReadyCheck = std::function<Readiness()>;

  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, Render render, ReadyCheck ready);
  ~HttpServer();  // stops serving and joins civetweb's threads

  int port() const;  // the bound port (useful with port 0)

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace correo
