// reply.h - SMTP replies as values, written straight into a session's output buffer.
//
// Every reply carries an RFC 3463 enhanced status code (RFC 2034 ENHANCEDSTATUSCODES), so
// the code is part of the call, never free text. Multi-line replies (EHLO) use "250-" on
// every line but the last (RFC 5321 §4.2.1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace correo {

struct Reply {
  uint16_t code = 0;
  std::string_view enhanced;  // "2.0.0"; always a literal
  std::string text;
  bool disconnect = false;    // close after sending (421, QUIT)
};

// append_reply - "CODE X.Y.Z text\r\n" onto out.
inline void append_reply(std::string& out, uint16_t code, std::string_view enhanced, std::string_view text) {
  char head[4] = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                  static_cast<char>('0' + code % 10), ' '};
  out.append(head, 4);
  out.append(enhanced);
  out.push_back(' ');
  out.append(text);
  out.append("\r\n", 2);
}

inline void append_reply(std::string& out, const Reply& r) { append_reply(out, r.code, r.enhanced, r.text); }

}  // namespace correo
