// data_reader_fuzz.cc - libFuzzer target: the DATA/BDAT content reader (relay/smtp/data_reader.h).
//
// Differential: the same bytes read in one piece and read in pieces (split where the
// input's control bytes say) must give the same defect, end and bytes used, and the same
// content when there is no defect: the
// reader keeps its state across reads, and the network splits data anywhere. Also: the
// stored content never exceeds max_size, a DATA end is "<CRLF>.<CRLF>" and nothing else,
// and a finished clean message (no defect) contains no bare CR or LF.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "relay/smtp/data_reader.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

struct Outcome {
  std::string content;
  size_t used = 0;
  bool done = false;
  correo::DataDefect defect = correo::DataDefect::kNone;
  uint64_t seen = 0;
};

Outcome read_all(correo::DataReader::Mode mode, std::string_view data, uint64_t max_size, uint32_t max_line,
                 std::string_view splits, bool last) {
  correo::DataReader reader;
  Outcome o;
  reader.begin(mode, &o.content, max_size, max_line);
  size_t i = 0;
  while (o.used < data.size() && !reader.done()) {
    size_t piece = data.size() - o.used;
    if (i < splits.size()) piece = std::min<size_t>(piece, static_cast<uint8_t>(splits[i++]) % 17 + 1);
    const size_t n = reader.consume(data.substr(o.used, piece));
    if (n > piece) std::abort();
    o.used += n;
    if (n < piece && !reader.done()) std::abort();  // stops early only at the end of DATA
  }
  if (mode == correo::DataReader::Mode::kChunked && last) reader.finish_chunked();
  o.done = reader.done();
  o.defect = reader.defect();
  o.seen = reader.content_size();
  return o;
}

bool has_bare_cr_or_lf(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  correo::fuzz::FuzzInput in(bytes, size);
  const uint8_t control = in.byte();
  const auto mode = (control & 1) ? correo::DataReader::Mode::kChunked : correo::DataReader::Mode::kDot;
  const bool last = (control & 2) != 0;
  const uint64_t max_size = 16 + in.byte() * 8u;   // small limits reach the size checks
  const uint32_t max_line = 8 + in.byte();
  const std::string_view splits = in.take(in.byte() % 32);
  const std::string_view data = in.rest();

  const Outcome whole = read_all(mode, data, max_size, max_line, {}, last);
  const Outcome pieces = read_all(mode, data, max_size, max_line, splits, last);
  if (whole.used != pieces.used || whole.done != pieces.done || whole.defect != pieces.defect ||
      whole.seen != pieces.seen) {
    std::abort();
  }
  // After a defect the message is refused and what was stored is thrown away, so only clean
  // content must match (a read may have stored a run before the defect it found later).
  if (whole.defect == correo::DataDefect::kNone && whole.content != pieces.content) std::abort();
  if (whole.content.size() > max_size) std::abort();
  if (mode == correo::DataReader::Mode::kDot && whole.done) {
    // The bytes used end with the only terminator there is.
    const std::string_view used = data.substr(0, whole.used);
    if (used.size() < 3 || used.substr(used.size() - 3) != ".\r\n") std::abort();
    if (used.size() > 3 && (used.size() < 5 || used.substr(used.size() - 5, 2) != "\r\n")) std::abort();
  }
  // A finished clean message has no bare CR or LF. (Mid-stream, a BDAT chunk may end in a
  // CR whose LF starts the next chunk: only a finished message is checked.)
  const bool finished = mode == correo::DataReader::Mode::kDot ? whole.done : last;
  if (finished && whole.defect == correo::DataDefect::kNone && has_bare_cr_or_lf(whole.content)) std::abort();
  return 0;
}
