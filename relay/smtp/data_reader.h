// data_reader.h - incremental reader of message content (DATA and BDAT), push style.
//
// DATA (RFC 5321 §4.1.1.4, §4.5.2): the content ends only at <CRLF>.<CRLF>; a line that
// starts with '.' has that dot removed. Nothing else ends the data: "\n.\n", "\r.\r",
// "\n.\r\n" and friends are NOT terminators (the SMTP smuggling class of attacks), and a
// bare LF or bare CR anywhere is a defect reported for that message, never converted.
// BDAT (RFC 3030): the chunk length delimits the data; dots mean nothing; lines are still
// checked so BDAT cannot carry what DATA refuses.
//
// Checks: bare LF, bare CR, NUL, text line > text_line octets incl. CRLF (§4.5.3.1.6),
// total content > message_size. After the first defect the reader keeps scanning for the end
// (so the session stays in step with the client) but stops storing bytes.
// Content is appended to a caller-owned string; each run of plain bytes is one append.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace correo {

enum class DataDefect : uint8_t { kNone, kBareLf, kBareCr, kNul, kLineTooLong, kTooBig };
const char* to_string(DataDefect d);

class DataReader {
 public:
  enum class Mode : uint8_t { kDot, kChunked };

  // begin - start a message. sink receives content; max_size bounds the content stored.
  void begin(Mode mode, std::string* sink, uint64_t max_size, uint32_t max_line);

  // consume - read from `in`; returns bytes used. In kDot mode stops right after the
  // terminating "<CRLF>.<CRLF>" (done() becomes true); in kChunked mode uses everything
  // given (the caller limits `in` to the chunk).
  size_t consume(std::string_view in);

  // finish_chunked - after BDAT LAST: a message must end with CRLF (a trailing bare CR is a
  // defect; a final line without CRLF gets one appended, as RFC 3030 expects of MTAs).
  void finish_chunked();

  bool done() const { return done_; }
  DataDefect defect() const { return defect_; }
  uint64_t content_size() const { return size_; }  // bytes of content seen (incl. discarded)

 private:
  enum class State : uint8_t { kLineStart, kDot, kDotCr, kInLine, kCr };
  void emit(const char* p, size_t n);
  void flag(DataDefect d) {
    if (defect_ == DataDefect::kNone) defect_ = d;
  }

  Mode mode_ = Mode::kDot;
  State state_ = State::kLineStart;
  std::string* sink_ = nullptr;
  uint64_t max_size_ = 0;
  uint32_t max_line_ = 1000;
  uint32_t line_len_ = 0;
  uint64_t size_ = 0;
  bool done_ = false;
  DataDefect defect_ = DataDefect::kNone;
};

}  // namespace correo
