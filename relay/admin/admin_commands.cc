// admin_commands.cc - parsing and running correoctl commands against an AdminBackend.
#include "relay/admin/admin_commands.h"

#include <cmath>
#include <cstdio>
#include <optional>

#include "queue/queue_id.h"
#include "relay/admin/admin_json.h"
#include "relay/admin/admin_queue_view.h"
#include "relay/admin/admin_text.h"

namespace correo {

const char* const kAdminCommandHelp =
    "queue list [--domain D] [--sender S] [--state active|deferred|held] [--min-age 30s|5m|2h|1d] [--json]\n"
    "queue show ID [--json]\n"
    "queue flush [DOMAIN]                       deferred mail (of DOMAIN) becomes due now\n"
    "queue hold|release|delete|bounce ID...\n"
    "queue hold|release|delete|bounce [--all] [--domain D] [--sender S] [--state STATE] [--min-age AGE]\n"
    "flush, hold, release, delete, bounce       short for queue flush, queue hold, ...\n"
    "stats [--json]\n"
    "help\n";

namespace {

// Options - what the option words of one command said. `allowed` lists the option names
// (without "--") a command takes; every other word starting with "--" is an error.
struct Options {
  QueueFilter filter;
  bool any_filter = false;
  bool all = false;
  bool json = false;
  std::vector<std::string> positional;
};

enum OptionBits : unsigned { kOptFilters = 1, kOptAll = 2, kOptJson = 4 };

Result<Options> parse_options(const std::vector<std::string>& args, size_t from, unsigned allowed) {
  Options o;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& w = args[i];
    if (!w.starts_with("--")) {
      o.positional.push_back(w);
      continue;
    }
    std::string name = w.substr(2);
    std::optional<std::string> inline_value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const bool is_filter = name == "domain" || name == "sender" || name == "state" || name == "min-age";
    const bool is_flag = name == "json" || name == "all";
    if ((is_filter && !(allowed & kOptFilters)) || (name == "json" && !(allowed & kOptJson)) ||
        (name == "all" && !(allowed & kOptAll)) || (!is_filter && !is_flag)) {
      return Error{"unknown option " + printable(w)};
    }
    if (is_flag) {
      if (inline_value) return Error{"option --" + name + " takes no value"};
      (name == "json" ? o.json : o.all) = true;
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Error{"option --" + name + " needs a value"};
    }
    if (value.empty()) return Error{"option --" + name + " needs a non-empty value"};
    o.any_filter = true;
    if (name == "domain") {
      o.filter.domain = value;
    } else if (name == "sender") {
      // Accept "<a@b>" as typed from a log line; "<>" stays: it means the null sender.
      if (value.size() > 2 && value.front() == '<' && value.back() == '>') value = value.substr(1, value.size() - 2);
      o.filter.sender = value;
    } else if (name == "state") {
      o.filter.state = parse_queue_state(value);
      if (!o.filter.state) return Error{"--state must be active, deferred or held, not " + printable(value)};
    } else {
      const std::optional<int64_t> secs = parse_age(value);
      if (!secs) return Error{"--min-age wants a duration like 30s, 5m, 2h or 1d, not " + printable(value)};
      o.filter.min_age_s = *secs;
    }
  }
  return o;
}

AdminError error_for(ActionResult r) {
  switch (r) {
    case ActionResult::kNotFound: return AdminError::kNotFound;
    case ActionResult::kNotApplicable: return AdminError::kNotApplicable;
    case ActionResult::kBusy: return AdminError::kBusy;
    case ActionResult::kDone:
    case ActionResult::kPending:
    case ActionResult::kFailed: break;
  }
  return AdminError::kFailed;
}

void cmd_list(AdminBackend& backend, const std::vector<std::string>& args, size_t from, ReplyWriter& out) {
  Result<Options> o = parse_options(args, from, kOptFilters | kOptJson);
  if (!o) return out.error(AdminError::kUsage, o.error().message);
  if (!o->positional.empty()) return out.error(AdminError::kUsage, "unexpected word " + printable(o->positional[0]));
  const bool json = o->json;
  if (!json && !out.data(queue_table_header())) return;
  uint64_t count = 0;
  bool client_gone = false;
  backend.for_each(o->filter, [&](const QueueEntry& e) {
    ++count;
    client_gone = !out.data(json ? queue_entry_json(e, false) : queue_table_row(e));
    return !client_gone;
  });
  if (client_gone) return;
  out.ok(std::to_string(count) + (count == 1 ? " message" : " messages"));
}

void cmd_show(AdminBackend& backend, const std::vector<std::string>& args, size_t from, ReplyWriter& out) {
  Result<Options> o = parse_options(args, from, kOptJson);
  if (!o) return out.error(AdminError::kUsage, o.error().message);
  if (o->positional.size() != 1) return out.error(AdminError::kUsage, "usage: queue show ID [--json]");
  const std::optional<uint64_t> id = parse_queue_id(o->positional[0]);
  if (!id) return out.error(AdminError::kUsage, "invalid queue id " + printable(o->positional[0]));
  const std::optional<QueueEntry> e = backend.find(*id);
  if (!e) return out.error(AdminError::kNotFound, "no message " + format_queue_id(*id) + " in the queue");
  if (o->json) {
    if (!out.data(queue_entry_json(*e, true))) return;
  } else {
    for (const std::string& line : queue_show_lines(*e)) {
      if (!out.data(line)) return;
    }
  }
  out.ok("");
}

void cmd_flush(AdminBackend& backend, const std::vector<std::string>& args, size_t from, ReplyWriter& out) {
  Result<Options> o = parse_options(args, from, 0);
  if (!o) return out.error(AdminError::kUsage, o.error().message);
  if (o->positional.size() > 1) return out.error(AdminError::kUsage, "usage: queue flush [DOMAIN]");
  const std::string domain = o->positional.empty() ? std::string() : o->positional[0];
  const ActionReply r = backend.flush(domain);
  const std::string what = domain.empty() ? "flush" : "flush " + printable(domain);
  std::string text = what + ": " + std::string(to_string(r.result));
  if (!r.detail.empty()) text += " (" + printable(r.detail) + ")";
  if (r.result == ActionResult::kDone || r.result == ActionResult::kPending) return out.ok(text);
  out.error(error_for(r.result), text);
}

// Tally - results of one action over several messages, for the final line.
struct Tally {
  uint64_t done = 0, pending = 0, skipped = 0, failed = 0;
  std::optional<AdminError> failure_code;  // common code of all failures, kFailed when mixed

  void add_failure(AdminError code) {
    ++failed;
    failure_code = (!failure_code || *failure_code == code) ? code : AdminError::kFailed;
  }
  std::string text(AdminAction a) const {
    return std::string(to_string(a)) + ": " + std::to_string(done) + " done, " + std::to_string(pending) +
           " pending, " + std::to_string(skipped) + " skipped, " + std::to_string(failed) + " failed";
  }
};

// select_ids - the ids named on the command line or, for filters, those the backend finds.
// Filters are resolved into ids before acting, so the listing iterator is not held open
// while mutations go through the scheduler, and the bound is checked before any change.
Result<std::vector<uint64_t>> select_ids(AdminBackend& backend, AdminAction action, const Options& o) {
  std::vector<uint64_t> ids;
  const bool selecting = o.any_filter || o.all;
  if (!o.positional.empty()) {
    if (selecting) return Error{"give queue ids or filters (--all, --domain, ...), not both"};
    for (const std::string& w : o.positional) {
      const std::optional<uint64_t> id = parse_queue_id(w);
      if (!id) return Error{"invalid queue id " + printable(w)};
      ids.push_back(*id);
    }
    return ids;
  }
  if (!selecting) {
    return Error{"refusing to " + std::string(to_string(action)) +
                 " without a selection: give queue ids, a filter (--domain, --sender, --state, --min-age) or --all"};
  }
  bool too_many = false;
  backend.for_each(o.filter, [&](const QueueEntry& e) {
    if (ids.size() >= kMaxAdminSelection) {
      too_many = true;
      return false;
    }
    ids.push_back(e.envelope.id);
    return true;
  });
  if (too_many) {
    return Error{"more than " + std::to_string(kMaxAdminSelection) +
                 " messages match; narrow the filter (--domain, --sender, --state, --min-age) and repeat"};
  }
  return ids;
}

void cmd_action(AdminBackend& backend, AdminAction action, const std::vector<std::string>& args, size_t from,
                ReplyWriter& out) {
  Result<Options> o = parse_options(args, from, kOptFilters | kOptAll);
  if (!o) return out.error(AdminError::kUsage, o.error().message);
  Result<std::vector<uint64_t>> ids = select_ids(backend, action, *o);
  if (!ids) return out.error(AdminError::kUsage, ids.error().message);
  // A message selected by a filter may leave the queue before we reach it (delivered):
  // that is not a failure of the request, unlike an id the operator named.
  const bool by_filter = o->positional.empty();
  Tally t;
  for (uint64_t id : *ids) {
    const ActionReply r = backend.act(action, id);
    switch (r.result) {
      case ActionResult::kDone: ++t.done; break;
      case ActionResult::kPending: ++t.pending; break;
      case ActionResult::kNotApplicable: ++t.skipped; break;
      case ActionResult::kNotFound:
        if (by_filter) {
          ++t.skipped;
        } else {
          t.add_failure(AdminError::kNotFound);
        }
        break;
      case ActionResult::kBusy:
      case ActionResult::kFailed: t.add_failure(error_for(r.result)); break;
    }
    std::string line = format_queue_id(id) + " " + std::string(to_string(r.result));
    if (!r.detail.empty()) line += " " + printable(r.detail);
    if (!out.data(line)) return;  // the operator interrupted correoctl: stop acting
  }
  if (t.failed > 0) return out.error(t.failure_code.value_or(AdminError::kFailed), t.text(action));
  out.ok(t.text(action));
}

// stat_value - counters print as integers, other values with up to 6 significant digits.
std::string stat_value(double v) {
  char buf[40];
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%g", v);
  }
  return buf;
}

void cmd_stats(AdminBackend& backend, const std::vector<std::string>& args, size_t from, ReplyWriter& out) {
  Result<Options> o = parse_options(args, from, kOptJson);
  if (!o) return out.error(AdminError::kUsage, o.error().message);
  if (!o->positional.empty()) return out.error(AdminError::kUsage, "usage: stats [--json]");
  const std::vector<std::pair<std::string, double>> stats = backend.stats();
  if (o->json) {
    JsonWriter j;
    j.begin_object();
    for (const auto& [name, value] : stats) j.key(name).value(value);
    j.end_object();
    if (!out.data(j.str())) return;
    return out.ok("");
  }
  size_t width = 0;
  for (const auto& s : stats) width = std::max(width, printable(s.first).size());
  for (const auto& [name, value] : stats) {
    std::string line = printable(name);
    line.append(width + 2 - line.size(), ' ');
    if (!out.data(line + stat_value(value))) return;
  }
  out.ok("");
}

void cmd_help(ReplyWriter& out) {
  std::string_view help = kAdminCommandHelp;
  while (!help.empty()) {
    const size_t nl = help.find('\n');
    if (!out.data(help.substr(0, nl))) return;
    help.remove_prefix(nl == std::string_view::npos ? help.size() : nl + 1);
  }
  out.ok("");
}

std::optional<AdminAction> parse_action(std::string_view w) {
  for (AdminAction a : {AdminAction::kHold, AdminAction::kRelease, AdminAction::kDelete, AdminAction::kBounce}) {
    if (w == to_string(a)) return a;
  }
  return std::nullopt;
}

constexpr std::string_view kShortHelp =
    "commands: queue list|show|flush|hold|release|delete|bounce, flush, hold, release, delete, bounce, stats, "
    "help";

}  // namespace

std::string_view admin_command_name(const std::vector<std::string>& args) {
  if (args.empty()) return "unknown";
  size_t i = 0;
  if (args[0] == "queue") {
    if (args.size() < 2) return "unknown";
    i = 1;
    if (args[1] == "list") return "queue list";
    if (args[1] == "show") return "queue show";
  } else if (args[0] == "stats") {
    return "stats";
  } else if (args[0] == "help") {
    return "help";
  }
  if (args[i] == "flush") return "queue flush";
  if (const std::optional<AdminAction> a = parse_action(args[i])) {
    switch (*a) {
      case AdminAction::kHold: return "queue hold";
      case AdminAction::kRelease: return "queue release";
      case AdminAction::kDelete: return "queue delete";
      case AdminAction::kBounce: return "queue bounce";
    }
  }
  return "unknown";
}

void run_admin_command(AdminBackend& backend, const std::vector<std::string>& args, ReplyWriter& out) {
  if (args.empty()) return out.error(AdminError::kUsage, "no command; " + std::string(kShortHelp));
  const std::string_view name = admin_command_name(args);
  const size_t from = args[0] == "queue" ? 2 : 1;  // first word after the command
  if (name == "queue list") return cmd_list(backend, args, from, out);
  if (name == "queue show") return cmd_show(backend, args, from, out);
  if (name == "queue flush") return cmd_flush(backend, args, from, out);
  if (name == "stats") return cmd_stats(backend, args, from, out);
  if (name == "help") return cmd_help(out);
  if (name != "unknown") return cmd_action(backend, *parse_action(args[from - 1]), args, from, out);
  std::string shown;
  for (size_t i = 0; i < args.size() && i < 2; ++i) shown += (i ? " " : "") + printable(args[i]);
  out.error(AdminError::kUsage, "unknown command \"" + shown + "\"; " + std::string(kShortHelp));
}

}  // namespace correo
