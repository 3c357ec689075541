// admin_client.h - the client side of the admin protocol (correoctl, tests).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "relay/admin/admin_address.h"
#include "relay/admin/admin_protocol.h"
#include "relay/common/result.h"

namespace correo {

// admin_exchange - connects, sends `request` (from encode_admin_request), passes each data
// line's text to on_data as it arrives (so a long listing streams to the terminal), and
// returns the final OK/ERR line. An Error means the daemon could not be reached or the reply
// was not a whole one (closed early, garbled, a line over kMaxAdminReplyLine, or no byte for
// timeout_ms): correoctl exits kExitUnreachable then. on_data returning false stops reading
// and returns an Error (the caller's own output failed).
Result<ReplyLine> admin_exchange(const AdminAddress& address, std::string_view request, int timeout_ms,
                                 const std::function<bool(std::string_view text)>& on_data);

}  // namespace correo
