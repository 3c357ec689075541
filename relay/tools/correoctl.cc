// correoctl.cc - the operator CLI of correod (like postqueue/postsuper): asks the daemon's
// admin server (admin_server.h) over its socket and prints the reply.
//
//   correoctl [--admin unix:PATH|HOST:PORT] [--timeout SECONDS] [--quiet] COMMAND [ARGS...]
//
// Output: data lines on stdout (a table, `key: value` lines or JSON lines), so pipes get
// only data; the daemon's closing summary ("12 messages", "hold: 3 done, ...") on stderr,
// unless --quiet; errors on stderr. Exit status: 0 ok, 1 the operation failed or found
// nothing, 2 usage error, 3 correod could not be reached or its reply was cut short.
// Everything from COMMAND on is passed to the daemon as is, so the daemon's version decides
// which commands and options exist; this program only knows its own options.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "relay/admin/admin_address.h"
#include "relay/admin/admin_client.h"
#include "relay/admin/admin_commands.h"
#include "relay/admin/admin_protocol.h"

namespace correo {
namespace {

constexpr const char* kDefaultAdmin = "unix:var/correo.sock";  // [admin] listen under state_dir "var"
constexpr int kDefaultTimeoutSeconds = 30;
constexpr int kMaxTimeoutSeconds = 86400;

void print_help(FILE* to) {
  std::fprintf(to,
               "usage: correoctl [--admin unix:PATH|HOST:PORT] [--timeout SECONDS] [--quiet] COMMAND [ARGS...]\n"
               "       correoctl --help | --version\n"
               "\n"
               "  --admin ADDR     correod's admin socket ([admin] listen); default $CORREO_ADMIN,\n"
               "                   else %s\n"
               "  --timeout SECS   give up when the daemon sends nothing for this long (default %d)\n"
               "  --quiet, -q      do not print the closing summary line on stderr\n"
               "\n"
               "commands:\n",
               kDefaultAdmin, kDefaultTimeoutSeconds);
  std::string_view help = kAdminCommandHelp;
  while (!help.empty()) {
    const size_t nl = help.find('\n');
    std::fprintf(to, "  %.*s\n", static_cast<int>(help.substr(0, nl).size()), help.data());
    help.remove_prefix(nl == std::string_view::npos ? help.size() : nl + 1);
  }
  std::fprintf(to,
               "\n"
               "exit status: 0 ok, 1 failed or not found, 2 usage error, 3 cannot reach correod\n");
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "correoctl: %s\ntry 'correoctl --help'\n", message.c_str());
  return kExitUsage;
}

// option_value - the value of `--name VALUE` or `--name=VALUE` at argv[i]; advances i.
const char* option_value(int argc, char** argv, int& i, std::string_view name) {
  const std::string_view arg = argv[i];
  if (arg.size() > name.size() && arg[name.size()] == '=') return argv[i] + name.size() + 1;
  if (i + 1 >= argc) return nullptr;
  return argv[++i];
}

bool parse_timeout(const char* text, int& seconds) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > kMaxTimeoutSeconds) return false;
  seconds = static_cast<int>(v);
  return true;
}

int run(int argc, char** argv) {
  const char* env_admin = std::getenv("CORREO_ADMIN");
  std::string admin = env_admin != nullptr && *env_admin != '\0' ? env_admin : kDefaultAdmin;
  int timeout_s = kDefaultTimeoutSeconds;
  bool quiet = false;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_help(stdout);
      return kExitOk;
    } else if (arg == "--version") {
      std::printf("correoctl %s\n", CORREO_VERSION);
      return kExitOk;
    } else if (arg == "--quiet" || arg == "-q") {
      quiet = true;
    } else if (arg == "--admin" || arg.starts_with("--admin=")) {
      const char* v = option_value(argc, argv, i, "--admin");
      if (v == nullptr) return usage_error("--admin needs an address");
      admin = v;
    } else if (arg == "--timeout" || arg.starts_with("--timeout=")) {
      const char* v = option_value(argc, argv, i, "--timeout");
      if (v == nullptr || !parse_timeout(v, timeout_s)) {
        return usage_error("--timeout wants whole seconds, 1 to " + std::to_string(kMaxTimeoutSeconds));
      }
    } else if (arg == "--") {
      ++i;
      break;
    } else if (arg.starts_with("-")) {
      return usage_error("unknown option " + std::string(arg));
    } else {
      break;
    }
  }
  if (i >= argc) return usage_error("no command given");
  const std::vector<std::string> words(argv + i, argv + argc);

  Result<AdminAddress> address = parse_admin_address(admin);
  if (!address) return usage_error(address.error().message);
  Result<std::string> request = encode_admin_request(words);
  if (!request) return usage_error(request.error().message);

  bool output_failed = false;
  Result<ReplyLine> reply = admin_exchange(*address, *request, timeout_s * 1000, [&](std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fputc('\n', stdout) == EOF) {
      output_failed = true;
    }
    return !output_failed;
  });
  if (std::fflush(stdout) != 0 || output_failed) {
    std::fprintf(stderr, "correoctl: write error on stdout\n");
    return kExitFailed;
  }
  if (!reply) {
    std::fprintf(stderr, "correoctl: %s\n", reply.error().message.c_str());
    return kExitUnreachable;
  }
  if (reply->kind == ReplyLine::Kind::kOk) {
    if (!quiet && !reply->text.empty()) std::fprintf(stderr, "%s\n", reply->text.c_str());
    return kExitOk;
  }
  std::fprintf(stderr, "correoctl: %s\n", reply->text.empty() ? to_string(reply->code).data() : reply->text.c_str());
  return exit_code_for(reply->code);
}

}  // namespace
}  // namespace correo

int main(int argc, char** argv) { return correo::run(argc, argv); }
