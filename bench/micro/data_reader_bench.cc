// data_reader_bench.cc - the DATA reader: end-of-data detection, dot-unstuffing and the
// CRLF/NUL/line-length checks on every byte a client sends. Fed in 16 KiB reads, the size
// of the worker's receive buffers, so the cost of resuming across reads is counted too.
// bytes/s is wire bytes per second.
//
// BM_DataPlain/<size>: text lines of 76 characters; BM_DataDots/<size>: every line starts
// with a dot (the worst case for unstuffing); BM_Chunked: BDAT content (no dot scanning).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>

#include "relay/smtp/data_reader.h"

namespace correo {
namespace {

constexpr size_t kReadSize = 16 * 1024;

// wire - `size` bytes of CRLF lines (dot-stuffed when `dots`), then the final ".\r\n".
std::string wire(size_t size, bool dots) {
  std::string out;
  out.reserve(size + 80);
  size_t n = 0;
  while (out.size() < size) {
    if (dots) out += "..";
    for (int i = 0; i < 74; ++i) out.push_back(static_cast<char>('a' + (n++ % 26)));
    out += "\r\n";
  }
  out += ".\r\n";
  return out;
}

void run(benchmark::State& state, const std::string& input, DataReader::Mode mode) {
  DataReader reader;
  std::string sink;
  sink.reserve(input.size());
  for (auto _ : state) {
    sink.clear();
    reader.begin(mode, &sink, 64u << 20, 1000);
    size_t off = 0;
    while (off < input.size() && !reader.done()) {
      const size_t n = std::min(kReadSize, input.size() - off);
      const size_t used = reader.consume(std::string_view(input).substr(off, n));
      if (used == 0) break;
      off += used;
    }
    if (mode == DataReader::Mode::kChunked) reader.finish_chunked();
    if (reader.defect() != DataDefect::kNone) state.SkipWithError(to_string(reader.defect()));
    benchmark::DoNotOptimize(sink.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
}

void BM_DataPlain(benchmark::State& state) {
  run(state, wire(static_cast<size_t>(state.range(0)), false), DataReader::Mode::kDot);
}
BENCHMARK(BM_DataPlain)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);

void BM_DataDots(benchmark::State& state) {
  run(state, wire(static_cast<size_t>(state.range(0)), true), DataReader::Mode::kDot);
}
BENCHMARK(BM_DataDots)->Arg(64 << 10)->Arg(1 << 20);

void BM_Chunked(benchmark::State& state) {
  std::string content = wire(static_cast<size_t>(state.range(0)), false);
  content.resize(content.size() - 3);  // BDAT has no terminating dot
  run(state, content, DataReader::Mode::kChunked);
}
BENCHMARK(BM_Chunked)->Arg(1 << 20);

}  // namespace
}  // namespace correo
