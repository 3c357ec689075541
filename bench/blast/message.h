// message.h - the message a session sends, built once and reused for every send.
//
// Only the Message-ID differs between messages, so the whole DATA payload (headers, body,
// dot-stuffing, the final ".") is laid out once per session thread and the ID's sequence
// digits are rewritten in place: sending a message allocates and copies nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace correo::blast {

struct MessageSpec {
  std::string from;      // From: header
  std::string to;        // To: header (the first recipient)
  std::string id_domain; // right side of the Message-ID
  size_t size = 1024;    // target size of headers + body in bytes
  uint32_t session = 0;  // session index: with run_id and the sequence, a unique Message-ID
  uint64_t run_id = 0;   // differs between runs, so IDs never repeat across runs either
};

class Message {
 public:
  explicit Message(const MessageSpec& spec);

  // next - the DATA payload (dot-stuffed, ending in CRLF "." CRLF) with a new Message-ID.
  std::string_view next();
  // content_size - headers + body as a reader sees them: without stuffing and the final
  // ".". Equals spec.size unless the headers alone are larger (or spec.size is one byte
  // past a whole number of lines too few to pad).
  size_t content_size() const { return content_size_; }

 private:
  std::string wire_;
  size_t sequence_offset_ = 0;  // where the sequence digits of the Message-ID start
  size_t content_size_ = 0;
  uint64_t sequence_ = 0;
};

// dot_stuff - RFC 5321 §4.5.2: a line starting with "." gets another "." in front.
std::string dot_stuff(std::string_view content);

}  // namespace correo::blast
