// data_reader.cc - the byte state machine; plain runs are scanned in a tight loop.
#include "relay/smtp/data_reader.h"

namespace correo {

const char* to_string(DataDefect d) {
  switch (d) {
    case DataDefect::kNone: return "none";
    case DataDefect::kBareLf: return "bare_lf";
    case DataDefect::kBareCr: return "bare_cr";
    case DataDefect::kNul: return "nul";
    case DataDefect::kLineTooLong: return "line_too_long";
    case DataDefect::kTooBig: return "too_big";
  }
  return "unknown";
}

void DataReader::begin(Mode mode, std::string* sink, uint64_t max_size, uint32_t max_line) {
  mode_ = mode;
  state_ = State::kLineStart;
  sink_ = sink;
  max_size_ = max_size;
  max_line_ = max_line;
  line_len_ = 0;
  size_ = 0;
  done_ = false;
  defect_ = DataDefect::kNone;
}

// emit - count content and store it while the message is still acceptable.
void DataReader::emit(const char* p, size_t n) {
  size_ += n;
  if (size_ > max_size_) flag(DataDefect::kTooBig);
  if (defect_ == DataDefect::kNone) sink_->append(p, n);
}

size_t DataReader::consume(std::string_view in) {
  const char* const begin = in.data();
  const char* p = begin;
  const char* const end = begin + in.size();
  const bool dot_mode = mode_ == Mode::kDot;
  while (p < end && !done_) {
    switch (state_) {
      case State::kLineStart:
        line_len_ = 0;
        if (dot_mode && *p == '.') {
          // The dot is removed (transparency, §4.5.2) and does not count toward the line
          // limit: §4.5.3.1.6 excludes "the leading dot duplicated for transparency".
          state_ = State::kDot;
          ++p;
          continue;
        }
        state_ = State::kInLine;
        continue;
      case State::kDot:
        // ".\r" may be the terminator; anything else is a stuffed dot, removed (§4.5.2).
        if (*p == '\r') {
          state_ = State::kDotCr;
          ++p;
          continue;
        }
        state_ = State::kInLine;
        continue;
      case State::kDotCr:
        if (*p == '\n') {  // <CRLF>.<CRLF>: the only end of data
          done_ = true;
          ++p;
          continue;
        }
        // ".\r" followed by something else: a bare CR after a (removed) dot.
        flag(DataDefect::kBareCr);
        state_ = State::kInLine;
        continue;
      case State::kCr:
        if (*p == '\n') {
          ++p;
          line_len_ += 1;
          if (line_len_ > max_line_) flag(DataDefect::kLineTooLong);
          emit("\r\n", 2);
          state_ = State::kLineStart;
          continue;
        }
        flag(DataDefect::kBareCr);
        emit("\r", 1);
        state_ = State::kInLine;
        continue;
      case State::kInLine: {
        // Tight loop over plain bytes: stop at CR, LF or NUL.
        const char* run = p;
        while (p < end && *p != '\r' && *p != '\n' && *p != '\0') ++p;
        const size_t n = static_cast<size_t>(p - run);
        if (n) {
          line_len_ += static_cast<uint32_t>(n > UINT32_MAX - line_len_ ? UINT32_MAX - line_len_ : n);
          if (line_len_ > max_line_) flag(DataDefect::kLineTooLong);
          emit(run, n);
        }
        if (p == end) break;
        if (*p == '\r') {
          state_ = State::kCr;
          ++line_len_;
          ++p;
        } else if (*p == '\n') {
          // A bare LF ends nothing: the line goes on, so "\n.\r\n" cannot end the data.
          flag(DataDefect::kBareLf);
          emit("\n", 1);
          ++p;
        } else {
          flag(DataDefect::kNul);
          emit(p, 1);
          ++p;
        }
        continue;
      }
    }
  }
  return static_cast<size_t>(p - begin);
}

void DataReader::finish_chunked() {
  if (state_ == State::kCr) {
    flag(DataDefect::kBareCr);
  } else if (state_ == State::kInLine && line_len_ > 0) {
    // The CRLF we add counts toward the limit as if the client had sent it.
    if (line_len_ + 2 > max_line_) flag(DataDefect::kLineTooLong);
    emit("\r\n", 2);
  }
  state_ = State::kLineStart;
  done_ = true;
}

}  // namespace correo
