// admin_backend.cc - the names of queue states, actions and results, as correoctl prints them.
//
// These strings are part of the operator interface (scripts match them in `queue list`
// output, the JSON `state` field and the per-message result lines): change none of them.
#include "relay/admin/admin_backend.h"

#include "relay/common/ascii.h"

namespace correo {

std::string_view to_string(QueueState s) {
  switch (s) {
    case QueueState::kActive: return "active";
    case QueueState::kDeferred: return "deferred";
    case QueueState::kHeld: return "held";
  }
  return "active";
}

std::optional<QueueState> parse_queue_state(std::string_view s) {
  // Case-insensitive: an operator typing --state HELD means the same thing.
  for (QueueState st : {QueueState::kActive, QueueState::kDeferred, QueueState::kHeld}) {
    if (iequals(s, to_string(st))) return st;
  }
  return std::nullopt;
}

std::string_view to_string(AdminAction a) {
  switch (a) {
    case AdminAction::kHold: return "hold";
    case AdminAction::kRelease: return "release";
    case AdminAction::kDelete: return "delete";
    case AdminAction::kBounce: return "bounce";
  }
  return "hold";
}

std::string_view to_string(ActionResult r) {
  switch (r) {
    case ActionResult::kDone: return "done";
    case ActionResult::kPending: return "pending";
    case ActionResult::kNotFound: return "not_found";
    case ActionResult::kNotApplicable: return "not_applicable";
    case ActionResult::kBusy: return "busy";
    case ActionResult::kFailed: return "failed";
  }
  return "failed";
}

}  // namespace correo
