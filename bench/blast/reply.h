// reply.h - reading one SMTP reply (RFC 5321 §4.2), single- or multi-line.
//
// The session reads a reply after every command, many thousand per second: a Reply is
// reused, so reading one allocates nothing once its string has grown to a line's size.
#pragma once

#include <string>
#include <vector>

#include "bench/blast/deadline.h"
#include "bench/blast/stream.h"
#include "relay/common/result.h"

namespace correo::blast {

struct Reply {
  int code = 0;
  std::string first_line;  // "550 5.1.1 unknown user", for error and rejection reports

  int kind() const { return code / 100; }  // 2 ok, 3 go on, 4 transient, 5 permanent
};

// read_reply - the next reply into `out`. A line that is not "NNN", "NNN text" or
// "NNN-text", or a continuation with a different code, is a protocol error. When `extra`
// is given it receives the text of every line after the first (the EHLO keywords).
Status read_reply(Stream& stream, Deadline deadline, Reply& out, std::vector<std::string>* extra = nullptr);

// reply_text - the first line, cut to a length that keeps error reports to one line.
std::string reply_text(const Reply& reply);

}  // namespace correo::blast
