// admin_commands.h - the correoctl command interpreter, independent of sockets.
//
// run_admin_command() takes the argv words of one request (after the `correoctl/1` tag),
// asks the AdminBackend and writes the reply through a ReplyWriter: data lines, then exactly
// one ok() or error(). The admin server wires it to a socket; tests to a vector.
//
// Commands (words; options may come in any order after the command):
//   queue list [--domain D] [--sender S] [--state active|deferred|held] [--min-age 30s|5m|2h|1d] [--json]
//   queue show ID [--json]
//   queue flush [DOMAIN]                      (also: flush [DOMAIN])
//   queue hold|release|delete|bounce ID...    (also: hold|release|delete|bounce ID...)
//   queue hold|release|delete|bounce FILTERS... | --all [FILTERS...]
//   stats [--json]
//   help
// Safety rules: an action needs ids, a filter or --all, so nothing touches the whole queue
// by accident; ids and filters do not mix; a filter selects at most kMaxAdminSelection
// messages (more is refused before anything is done: narrow the filter).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "relay/admin/admin_backend.h"
#include "relay/admin/admin_protocol.h"

namespace correo {

inline constexpr size_t kMaxAdminSelection = 100000;

// ReplyWriter - where a command's reply goes. Exactly one of ok()/error() ends each reply.
class ReplyWriter {
 public:
  virtual ~ReplyWriter() = default;
  // data - one line of output (no newline in it). false = the client is gone: the command
  // stops early (a listing stops reading the queue, an action stops acting).
  virtual bool data(std::string_view text) = 0;
  virtual void ok(std::string_view text) = 0;
  virtual void error(AdminError code, std::string_view text) = 0;
};

void run_admin_command(AdminBackend& backend, const std::vector<std::string>& args, ReplyWriter& out);

// admin_command_name - the canonical name of the command in `args` ("queue list",
// "queue hold", "stats", ...; aliases map to their queue form), or "unknown". A small fixed
// set, so it can label a metric and a log line.
std::string_view admin_command_name(const std::vector<std::string>& args);

// kAdminCommandHelp - the command summary (lines), for `correoctl help` and --help.
extern const char* const kAdminCommandHelp;

}  // namespace correo
