// http_server.cc - /metrics, /healthz and /readyz on civetweb.
//
// civetweb (Debian's libcivetweb, the server prometheus-cpp's own exposer uses) runs a
// fixed pool of threads; our handlers only call render() / ready() and write the answer.
// Everything but these three GET/HEAD paths is refused, and civetweb's file serving is off
// (no document_root), so nothing on disk is reachable.
#include "metrics/http_server.h"

#include <CivetServer.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "relay/common/log.h"

namespace correo {
namespace {

void respond(mg_connection* conn, int status, const char* reason, std::string_view content_type, std::string_view body,
             bool head) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n\r\n", status,
            reason, static_cast<int>(content_type.size()), content_type.data(), body.size());
  if (!head && !body.empty()) mg_write(conn, body.data(), body.size());
}

int log_message(const mg_connection*, const char* message) {
  LogLine(LogLevel::kWarn, "http_server").kv("message", message);
  return 1;  // handled: civetweb prints nothing itself
}

}  // namespace

struct HttpServer::Impl : public CivetHandler {
  HttpServer::Render render;
  HttpServer::ReadyCheck ready;
  std::unique_ptr<CivetServer> server;

  // Every path goes through here: the three endpoints, 404 or 405 for the rest.
  bool handle(CivetServer*, mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    const std::string_view method = info->request_method ? info->request_method : "";
    const std::string_view uri = info->local_uri ? info->local_uri : "";
    const bool head = method == "HEAD";
    if (uri != "/metrics" && uri != "/healthz" && uri != "/readyz") {
      respond(conn, 404, "Not Found", "text/plain; charset=utf-8", "not found\n", head);
      return true;
    }
    if (method != "GET" && !head) {
      respond(conn, 405, "Method Not Allowed", "text/plain; charset=utf-8", "GET or HEAD only\n", false);
      return true;
    }
    if (uri == "/metrics") {
      const std::string body = render();
      respond(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, head);
    } else if (uri == "/healthz") {
      respond(conn, 200, "OK", "text/plain; charset=utf-8", "ok\n", head);
    } else {
      const Readiness r = ready();
      if (r.ready) {
        respond(conn, 200, "OK", "text/plain; charset=utf-8", "ready\n", head);
      } else {
        respond(conn, 503, "Service Unavailable", "text/plain; charset=utf-8", "not ready: " + r.reason + "\n", head);
      }
    }
    return true;
  }
  bool handleGet(CivetServer* s, mg_connection* c) override { return handle(s, c); }
  bool handleHead(CivetServer* s, mg_connection* c) override { return handle(s, c); }
  bool handlePost(CivetServer* s, mg_connection* c) override { return handle(s, c); }
  bool handlePut(CivetServer* s, mg_connection* c) override { return handle(s, c); }
  bool handleDelete(CivetServer* s, mg_connection* c) override { return handle(s, c); }
  bool handleOptions(CivetServer* s, mg_connection* c) override { return handle(s, c); }
  bool handlePatch(CivetServer* s, mg_connection* c) override { return handle(s, c); }
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, Render render,
                                                      ReadyCheck ready) {
  auto impl = std::make_unique<Impl>();
  impl->render = std::move(render);
  impl->ready = std::move(ready);
  const std::vector<std::string> civet_options = {
      "listening_ports", options.listen,  // "IP:PORT" or "[::1]:PORT", as civetweb spells them
      "num_threads", std::to_string(options.threads == 0 ? 1 : options.threads),
      "request_timeout_ms", std::to_string(options.request_timeout_ms),
      "enable_keep_alive", "yes",
  };
  CivetCallbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.log_message = &log_message;
  try {
    impl->server = std::make_unique<CivetServer>(civet_options, &callbacks);
  } catch (const CivetException& e) {
    return Error{"metrics.listen " + options.listen + ": " + e.what()};
  }
  if (impl->server->getContext() == nullptr) return Error{"metrics.listen " + options.listen + ": cannot listen"};
  impl->server->addHandler("/", impl.get());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  if (impl_ && impl_->server) impl_->server->close();  // joins civetweb's threads
}

int HttpServer::port() const {
  const std::vector<int> ports = impl_->server->getListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace correo
