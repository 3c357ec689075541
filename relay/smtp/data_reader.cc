// data_reader.cc - the state machine; plain runs are scanned 16 bytes at a time and stored
// in as few appends as the dots allow.
#include "relay/smtp/data_reader.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

namespace {

// find_special - the first CR, LF or NUL in [p, end), or end. 16 bytes per step with SSE2
// (always there on x86-64): message lines are ~76 octets, so a byte loop costs ~5x more.
const char* find_special(const char* p, const char* end) {
#ifdef __SSE2__
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i nul = _mm_setzero_si128();
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)), _mm_cmpeq_epi8(v, nul));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && *p != '\r' && *p != '\n' && *p != '\0') ++p;
  return p;
}

}  // namespace

// consume - content is the input minus stuffed dots and the terminator, so bytes are not
// appended line by line: `run` marks where the pending content starts, and it is stored in
// one append when a byte must be left out (a dot, the terminator) or the input ends.
size_t DataReader::consume(std::string_view in) {
  const char* const begin = in.data();
  const char* p = begin;
  const char* const end = begin + in.size();
  const char* run = p;
  const bool dot_mode = mode_ == Mode::kDot;
  auto store_run = [&] {
    if (p > run) emit(run, static_cast<size_t>(p - run));
  };
  // defect_at - a defect found at byte q. If the content before q is already over the
  // size limit, that came first: bytes wait in the run and are only counted when stored,
  // and the reported defect (552 or 550 ...) must not depend on where the network split
  // the data (found by tests/fuzz/data_reader_fuzz).
  auto defect_at = [&](DataDefect d, const char* q) {
    if (size_ + static_cast<uint64_t>(q - run) > max_size_) flag(DataDefect::kTooBig);
    flag(d);
  };
  while (p < end && !done_) {
    switch (state_) {
      case State::kLineStart:
        line_len_ = 0;
        if (dot_mode && *p == '.') {
          // The dot is removed (transparency, §4.5.2) and does not count toward the line
          // limit: §4.5.3.1.6 excludes "the leading dot duplicated for transparency".
          store_run();
          state_ = State::kDot;
          run = ++p;
          continue;
        }
        state_ = State::kInLine;
        continue;
      case State::kDot:
        // ".\r" may be the terminator; anything else is a stuffed dot, removed (§4.5.2).
        if (*p == '\r') {
          state_ = State::kDotCr;
          run = ++p;  // not content: either the terminator or a defect (nothing stored)
          continue;
        }
        state_ = State::kInLine;
        continue;
      case State::kDotCr:
        if (*p == '\n') {  // <CRLF>.<CRLF>: the only end of data
          done_ = true;
          run = ++p;
          continue;
        }
        // ".\r" followed by something else: a bare CR after a (removed) dot.
        defect_at(DataDefect::kBareCr, p);
        state_ = State::kInLine;
        continue;
      case State::kCr:
        if (*p == '\n') {  // the CR is already part of the run (or was stored with the last input)
          line_len_ += 1;
          if (line_len_ > max_line_) defect_at(DataDefect::kLineTooLong, p);
          ++p;
          state_ = State::kLineStart;
          continue;
        }
        defect_at(DataDefect::kBareCr, p);
        state_ = State::kInLine;
        continue;
      case State::kInLine: {
        const char* stop = find_special(p, end);
        const size_t n = static_cast<size_t>(stop - p);
        const uint32_t before = line_len_;
        line_len_ += static_cast<uint32_t>(n > UINT32_MAX - line_len_ ? UINT32_MAX - line_len_ : n);
        if (line_len_ > max_line_) {
          // The byte that made the line too long: at the start when it already was.
          const char* crossing = before >= max_line_ ? p : p + (max_line_ - before);
          defect_at(DataDefect::kLineTooLong, crossing);
        }
        p = stop;
        if (p == end) break;
        if (*p == '\r') {
          state_ = State::kCr;
          ++line_len_;
        } else if (*p == '\n') {
          // A bare LF ends nothing: the line goes on, so "\n.\r\n" cannot end the data.
          defect_at(DataDefect::kBareLf, p);
        } else {
          defect_at(DataDefect::kNul, p);
        }
        ++p;
        continue;
      }
    }
  }
  if (!done_) store_run();
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
