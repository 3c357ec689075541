// spool_main.cc - correo-spool: offline, read-only view of a spool (like postcat/mailq).
//
//   correo-spool DIR list       one line per message:
//                               ID ARRIVAL(UTC ISO-8601) SIZE <SENDER> NRCPT RCPT...
//   correo-spool DIR show ID    envelope as `key: value` lines, a blank line, the body bytes
//   correo-spool DIR count      number of messages
//
// Thread rules: single-threaded. It opens the spool through read_envelopes()/read_message(),
// i.e. a read-only RocksDB instance that takes no lock and writes nothing into DIR, so it is
// safe while correod runs. On-disk format: see queue/spool.cc and queue/envelope.cc.
// Exit status: 0 ok, 1 error (not a spool, unknown id, read failure), 2 usage.
// Envelope text fields are printed with control and non-ASCII bytes escaped as \xNN, so a
// hostile address cannot forge output lines; the body of `show` is written byte-exact.
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include "queue/envelope.h"
#include "queue/queue_id.h"
#include "queue/spool.h"
#include "relay/common/log.h"

namespace correo {
namespace {

int usage() {
  std::fprintf(stderr,
               "usage: correo-spool DIR list\n"
               "       correo-spool DIR show ID\n"
               "       correo-spool DIR count\n");
  return 2;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "correo-spool: %s\n", message.c_str());
  return 1;
}

// printable - escape bytes outside printable ASCII (and backslash) as \xNN.
std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// iso8601 - microseconds since the epoch as 2024-05-01T12:34:56.123456Z.
std::string iso8601(int64_t us) {
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  const time_t t = static_cast<time_t>(secs);
  struct tm tm_utc;
  if (gmtime_r(&t, &tm_utc) == nullptr) return "invalid-time";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm_utc.tm_year + 1900,
                tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string sender_text(const Envelope& e) { return "<" + printable(e.sender) + ">"; }

const char* body_text(BodyType b) {
  switch (b) {
    case BodyType::k7Bit: return "7BIT";
    case BodyType::k8BitMime: return "8BITMIME";
    case BodyType::kUnspecified: break;
  }
  return "unspecified";
}

const char* ret_text(DsnRet r) {
  switch (r) {
    case DsnRet::kFull: return "FULL";
    case DsnRet::kHdrs: return "HDRS";
    case DsnRet::kUnspecified: break;
  }
  return "unspecified";
}

const char* state_text(RecipientState s) {
  switch (s) {
    case RecipientState::kDelivered: return "delivered";
    case RecipientState::kFailed: return "failed";
    case RecipientState::kPending: break;
  }
  return "pending";
}

// notify_text - RFC 3461 NOTIFY keywords, "default" when none was given.
std::string notify_text(uint8_t bits) {
  if (bits == 0) return "default";
  std::string out;
  auto add = [&](uint8_t bit, const char* name) {
    if (!(bits & bit)) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(kNotifyNever, "NEVER");
  add(kNotifySuccess, "SUCCESS");
  add(kNotifyFailure, "FAILURE");
  add(kNotifyDelay, "DELAY");
  return out;
}

// cmd_list - one line per message, oldest first.
int cmd_list(const std::string& dir) {
  Result<std::vector<Envelope>> envs = read_envelopes(dir);
  if (!envs) return fail(envs.error().message);
  for (const Envelope& e : *envs) {
    std::string line = format_queue_id(e.id) + " " + iso8601(e.arrival_us) + " " + std::to_string(e.size) +
                       " " + sender_text(e) + " " + std::to_string(e.recipients.size());
    for (const Recipient& r : e.recipients) line += " " + printable(r.address);
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return 0;
}

// cmd_show - envelope fields, a blank line, the stored body exactly.
int cmd_show(const std::string& dir, const std::string& id_text) {
  std::optional<uint64_t> id = parse_queue_id(id_text);
  if (!id) return fail("invalid queue id: " + printable(id_text) + " (expected 13 base32 characters)");
  Result<StoredMessage> m = read_message(dir, *id);
  if (!m) return fail(m.error().message);
  const Envelope& e = m->envelope;
  std::string out;
  auto field = [&](const char* key, const std::string& value) {
    out += key;
    out += ": ";
    out += value;
    out += "\n";
  };
  field("id", format_queue_id(e.id));
  field("arrival", iso8601(e.arrival_us));
  field("size", std::to_string(e.size));
  field("sender", sender_text(e));
  field("body", body_text(e.body));
  field("smtputf8", e.smtputf8 ? "yes" : "no");
  field("ret", ret_text(e.ret));
  field("envid", printable(e.envid));
  field("client_address", printable(e.client_address));
  field("helo", printable(e.helo));
  field("held", e.held ? "yes" : "no");
  if (e.held) field("hold_reason", printable(e.hold_reason));
  field("recipients", std::to_string(e.recipients.size()));
  for (const Recipient& r : e.recipients) {
    std::string v = "<" + printable(r.address) + "> notify=" + notify_text(r.notify) +
                    " orcpt=" + (r.orcpt.empty() ? std::string("-") : printable(r.orcpt)) +
                    " state=" + state_text(r.state) + " attempts=" + std::to_string(r.attempts);
    if (!r.last_reply.empty()) v += " last_reply=" + printable(r.last_reply);
    field("recipient", v);
  }
  out += "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fwrite(m->body.data(), 1, m->body.size(), stdout);
  return 0;
}

// cmd_count - the number of (decodable) messages.
int cmd_count(const std::string& dir) {
  Result<std::vector<Envelope>> envs = read_envelopes(dir);
  if (!envs) return fail(envs.error().message);
  std::printf("%zu\n", envs->size());
  return 0;
}

}  // namespace
}  // namespace correo

int main(int argc, char** argv) {
  using namespace correo;
  // Tool output is the data; RocksDB-level trouble is reported through the exit status.
  set_log_options(LogLevel::kWarn, LogFormat::kKv);
  if (argc < 3) return usage();
  const std::string dir = argv[1];
  const std::string cmd = argv[2];
  int rc = 2;
  if (cmd == "list" && argc == 3) {
    rc = cmd_list(dir);
  } else if (cmd == "count" && argc == 3) {
    rc = cmd_count(dir);
  } else if (cmd == "show" && argc == 4) {
    rc = cmd_show(dir, argv[3]);
  } else {
    return usage();
  }
  if (std::fflush(stdout) != 0) return fail("write error on stdout");
  return rc;
}
