// message.h - the message a session sends, built once and reused for every send.
//
// Only the Message-ID and the length differ between messages, so the DATA payload is laid
// out once per session at the largest size the run sends: headers, then body lines of 76
// characters. A message of any smaller size is a prefix of it, ended in place by
// overwriting at most six bytes with the last line's end and the final "." (and restoring
// them for the next message); the ID's sequence digits are rewritten in place too. Sending
// a message allocates and copies nothing. No line starts with ".", so there is nothing to
// dot-stuff.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace correo::blast {

struct MessageSpec {
  std::string from;      // From: header
  std::string to;        // To: header (the first recipient)
  std::string id_domain; // right side of the Message-ID
  size_t size = 1024;    // the largest size of headers + body a message will have, in bytes
  uint32_t session = 0;  // session index: with run_id and the sequence, a unique Message-ID
  uint64_t run_id = 0;   // differs between runs, so IDs never repeat across runs either
};

class Message {
 public:
  explicit Message(const MessageSpec& spec);

  // next - the DATA payload (ending in CRLF "." CRLF) of a message of content_size(size)
  // bytes, with a new Message-ID. The view is valid until the next call.
  std::string_view next(size_t size);
  std::string_view next() { return next(max_size_); }
  // content_size - the size a message asked for as `size` really has: headers + body as a
  // reader sees them, without the final ".". That is `size`, except below the headers'
  // size (a message is never shorter than its headers), one byte above it (a line needs
  // its CRLF: the headers alone are sent) and above spec.size (clamped).
  size_t content_size(size_t size) const;
  size_t content_size() const { return content_size(max_size_); }
  size_t headers_size() const { return headers_size_; }
  // message_id - the last message's Message-ID, "<...>" (valid until the next call of next()).
  std::string_view message_id() const { return std::string_view(wire_).substr(id_offset_, id_size_); }

 private:
  static constexpr size_t kMaxPatch = 6;  // one character, CRLF, "." CRLF

  std::string wire_;            // headers + body lines, beyond the largest size
  size_t sequence_offset_ = 0;  // where the sequence digits of the Message-ID start
  size_t id_offset_ = 0;        // the Message-ID's "<", and its size through ">"
  size_t id_size_ = 0;
  size_t headers_size_ = 0;     // through the empty line that ends the headers
  size_t max_size_ = 0;
  uint64_t sequence_ = 0;
  // The bytes the last next() overwrote, to put back before the next one.
  size_t patch_at_ = 0;
  size_t patch_len_ = 0;
  char saved_[kMaxPatch] = {};
};

}  // namespace correo::blast
