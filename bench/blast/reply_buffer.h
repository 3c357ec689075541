// reply_buffer.h - SMTP replies out of bytes that arrive in pieces (the io_uring engine).
//
// take_reply looks for one complete reply (single- or multi-line, RFC 5321 §4.2) at the
// front of `buffer`; when there is one, it fills `out` (and `extra` with the text of every
// line after the first: the EHLO keywords) and removes it from the buffer.
#pragma once

#include <string>
#include <vector>

#include "bench/blast/reply.h"

namespace correo::blast {

enum class TakeResult { kReply, kNeedMore, kProtocolError };

TakeResult take_reply(std::string& buffer, Reply& out, std::vector<std::string>* extra = nullptr);

}  // namespace correo::blast
