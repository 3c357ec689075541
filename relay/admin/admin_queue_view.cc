// admin_queue_view.cc - list rows, show blocks and JSON objects for queue entries.
#include "relay/admin/admin_queue_view.h"

#include <cstdio>
#include <string_view>

#include "queue/queue_id.h"
#include "relay/admin/admin_json.h"
#include "relay/admin/admin_text.h"

namespace correo {
namespace {

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

const char* by_mode_text(ByMode m) {
  switch (m) {
    case ByMode::kReturn: return "R";
    case ByMode::kNotify: return "N";
    case ByMode::kNone: break;
  }
  return "none";
}

const char* rcpt_state_text(RecipientState s) {
  switch (s) {
    case RecipientState::kDelivered: return "delivered";
    case RecipientState::kFailed: return "failed";
    case RecipientState::kPending: break;
  }
  return "pending";
}

// notify_words - RFC 3461 NOTIFY keywords in a fixed order; empty when none was given.
std::vector<const char*> notify_words(uint8_t bits) {
  std::vector<const char*> out;
  if (bits & kNotifyNever) out.push_back("NEVER");
  if (bits & kNotifySuccess) out.push_back("SUCCESS");
  if (bits & kNotifyFailure) out.push_back("FAILURE");
  if (bits & kNotifyDelay) out.push_back("DELAY");
  return out;
}

std::string notify_text(uint8_t bits) {
  std::string out;
  for (const char* w : notify_words(bits)) out += (out.empty() ? "" : ",") + std::string(w);
  return out.empty() ? "default" : out;
}

std::string sender_text(const Envelope& e) { return "<" + printable(e.sender) + ">"; }

// pad - s followed by spaces up to `width` bytes, and always one separating space after.
std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s + "  ";
}

std::string next_attempt_text(const QueueEntry& e) {
  return e.next_attempt_us > 0 ? iso8601(e.next_attempt_us, false) : std::string("-");
}

}  // namespace

std::string queue_table_header() {
  return pad("ID", 13) + pad("ARRIVAL (UTC)", 20) + pad("SIZE", 10) + pad("STATE", 8) + pad("SENDER", 32) +
         "PENDING/RCPTS  FIRST PENDING";
}

std::string queue_table_row(const QueueEntry& e) {
  const Envelope& env = e.envelope;
  size_t pending = 0;
  const Recipient* first = nullptr;
  for (const Recipient& r : env.recipients) {
    if (r.state != RecipientState::kPending) continue;
    if (first == nullptr) first = &r;
    ++pending;
  }
  std::string size = std::to_string(env.size);
  if (size.size() < 10) size.insert(0, 10 - size.size(), ' ');  // numbers right-aligned
  std::string row = pad(format_queue_id(env.id), 13) + pad(iso8601(env.arrival_us, false), 20) + pad(size, 10) +
                    pad(std::string(to_string(e.state)), 8) + pad(sender_text(env), 32) +
                    pad(std::to_string(pending) + "/" + std::to_string(env.recipients.size()), 13);
  if (first != nullptr) {
    row += "<" + printable(first->address) + ">";
    if (pending > 1) row += " +" + std::to_string(pending - 1);
  } else {
    row += "-";
  }
  while (!row.empty() && row.back() == ' ') row.pop_back();
  return row;
}

std::string queue_entry_json(const QueueEntry& e, bool full) {
  const Envelope& env = e.envelope;
  JsonWriter j;
  j.begin_object();
  j.key("id").value(format_queue_id(env.id));
  j.key("arrival").value(iso8601(env.arrival_us, true));
  j.key("arrival_us").value(env.arrival_us);
  j.key("size").value(env.size);
  j.key("state").value(to_string(e.state));
  j.key("next_attempt");
  if (e.next_attempt_us > 0) {
    j.value(iso8601(e.next_attempt_us, true));
  } else {
    j.null();
  }
  j.key("sender").value(env.sender);
  j.key("held").value(env.held);
  j.key("hold_reason").value(env.hold_reason);
  if (full) {
    j.key("client_address").value(env.client_address);
    j.key("helo").value(env.helo);
    j.key("body").value(body_text(env.body));
    j.key("smtputf8").value(env.smtputf8);
    j.key("envid").value(env.envid);
    j.key("ret").value(ret_text(env.ret));
    j.key("deliver_by");
    if (env.deliver_by_us > 0) {
      j.value(iso8601(env.deliver_by_us, true));
    } else {
      j.null();
    }
    j.key("by_mode").value(by_mode_text(env.by_mode));
    j.key("delay_warned").value(env.delay_warned);
  }
  j.key("recipients").begin_array();
  for (const Recipient& r : env.recipients) {
    j.begin_object();
    j.key("address").value(r.address);
    if (full) {
      j.key("orcpt").value(r.orcpt);
      j.key("notify");
      if (r.notify == 0) {
        j.null();  // not given: the DSN default applies
      } else {
        j.begin_array();
        for (const char* w : notify_words(r.notify)) j.value(w);
        j.end_array();
      }
    }
    j.key("state").value(rcpt_state_text(r.state));
    j.key("attempts").value(r.attempts);
    j.key("last_reply").value(r.last_reply);
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

std::vector<std::string> queue_show_lines(const QueueEntry& e) {
  const Envelope& env = e.envelope;
  std::vector<std::string> out;
  auto field = [&](std::string_view key, const std::string& value) {
    out.push_back(std::string(key) + ": " + value);
  };
  auto or_dash = [](const std::string& s) { return s.empty() ? std::string("-") : printable(s); };
  field("id", format_queue_id(env.id));
  field("arrival", iso8601(env.arrival_us, true));
  field("size", std::to_string(env.size));
  field("state", std::string(to_string(e.state)));
  field("next_attempt", next_attempt_text(e));
  field("sender", sender_text(env));
  field("client_address", or_dash(env.client_address));
  field("helo", or_dash(env.helo));
  field("body", body_text(env.body));
  field("smtputf8", env.smtputf8 ? "yes" : "no");
  field("envid", or_dash(env.envid));
  field("ret", ret_text(env.ret));
  if (env.deliver_by_us > 0) {
    field("deliver_by", iso8601(env.deliver_by_us, false) + " mode=" + by_mode_text(env.by_mode) +
                            (env.by_trace ? " trace" : ""));
  }
  field("delay_warned", env.delay_warned ? "yes" : "no");
  field("held", env.held ? "yes" : "no");
  if (env.held) field("hold_reason", or_dash(env.hold_reason));
  field("recipients", std::to_string(env.recipients.size()));
  for (const Recipient& r : env.recipients) {
    field("recipient", "<" + printable(r.address) + ">");
    field("  state", rcpt_state_text(r.state));
    field("  attempts", std::to_string(r.attempts));
    field("  notify", notify_text(r.notify));
    field("  orcpt", or_dash(r.orcpt));
    field("  last_reply", or_dash(r.last_reply));
  }
  return out;
}

}  // namespace correo
