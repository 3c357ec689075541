// data_reader_test.cc - end-of-data detection, dot-unstuffing and the smuggling variants.
#include "relay/smtp/data_reader.h"

#include <gtest/gtest.h>

namespace correo {
namespace {

struct Outcome {
  bool done;
  size_t used;
  DataDefect defect;
  std::string content;
};

Outcome read_dot(std::string_view in, uint64_t max_size = 1 << 20, uint32_t max_line = 1000) {
  std::string sink;
  DataReader r;
  r.begin(DataReader::Mode::kDot, &sink, max_size, max_line);
  size_t used = r.consume(in);
  return {r.done(), used, r.defect(), sink};
}

// The same input fed one byte at a time must give the same answer as in one piece.
Outcome read_dot_bytewise(std::string_view in) {
  std::string sink;
  DataReader r;
  r.begin(DataReader::Mode::kDot, &sink, 1 << 20, 1000);
  size_t used = 0;
  for (size_t i = 0; i < in.size() && !r.done(); ++i) used += r.consume(in.substr(i, 1));
  return {r.done(), used, r.defect(), sink};
}

TEST(DataReader, EndsOnlyAtCrLfDotCrLf) {
  Outcome o = read_dot("Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b>\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.used, 23u);
  EXPECT_EQ(o.defect, DataDefect::kNone);
  EXPECT_EQ(o.content, "Subject: x\r\n\r\nbody\r\n");
}

TEST(DataReader, EmptyMessage) {
  Outcome o = read_dot(".\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, "");
}

TEST(DataReader, DotUnstuffing) {
  Outcome o = read_dot("..leading\r\n...\r\n.x\r\nmid.dle\r\n.\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, ".leading\r\n..\r\nx\r\nmid.dle\r\n");
}

TEST(DataReader, SmugglingVariantsNeverEndTheData) {
  // Each of these has a fake terminator followed by a smuggled command; only the real
  // <CRLF>.<CRLF> at the very end may end the data, and every fake one is a defect.
  const char* variants[] = {
      "a\n.\nMAIL FROM:<x@y>\r\n.\r\n",      // LF . LF
      "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n",    // CRLF . LF
      "a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n",    // LF . CRLF
      "a\r.\rMAIL FROM:<x@y>\r\n.\r\n",      // CR . CR
      "a\r\n.\rMAIL FROM:<x@y>\r\n.\r\n",    // CRLF . CR
      "a\r.\r\nMAIL FROM:<x@y>\r\n.\r\n",    // CR . CRLF
      "a\r\r\n.\r\nMAIL FROM:<x@y>\r\n.\r\n",  // CR CRLF . CRLF: the CRLF.CRLF is real here
  };
  for (size_t i = 0; i + 1 < std::size(variants); ++i) {
    const std::string in = variants[i];
    Outcome o = read_dot(in);
    EXPECT_TRUE(o.done) << i;
    EXPECT_EQ(o.used, in.size()) << "variant " << i << " ended early";
    EXPECT_NE(o.defect, DataDefect::kNone) << i;
    Outcome b = read_dot_bytewise(in);
    EXPECT_EQ(b.used, in.size()) << i;
    EXPECT_EQ(b.defect, o.defect) << i;
  }
  // The last one: a bare CR before a genuine terminator - ends there, but is a defect.
  Outcome o = read_dot(variants[std::size(variants) - 1]);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.defect, DataDefect::kBareCr);
}

TEST(DataReader, BareLfAndCrAndNulAreDefects) {
  EXPECT_EQ(read_dot("a\nb\r\n.\r\n").defect, DataDefect::kBareLf);
  EXPECT_EQ(read_dot("a\rb\r\n.\r\n").defect, DataDefect::kBareCr);
  EXPECT_EQ(read_dot(std::string("a\0b\r\n.\r\n", 8)).defect, DataDefect::kNul);
}

TEST(DataReader, LineLengthIncludesCrLf) {
  std::string ok_line(998, 'x');
  EXPECT_EQ(read_dot(ok_line + "\r\n.\r\n").defect, DataDefect::kNone);
  std::string long_line(999, 'x');
  EXPECT_EQ(read_dot(long_line + "\r\n.\r\n").defect, DataDefect::kLineTooLong);
}

TEST(DataReader, TransparencyDotDoesNotCountTowardTheLineLimit) {
  // A 1000-octet line that starts with '.' arrives as 1001 octets after dot-stuffing.
  Outcome o = read_dot(".." + std::string(997, 'D') + "\r\n.\r\n");
  EXPECT_EQ(o.defect, DataDefect::kNone);
  EXPECT_EQ(o.content, "." + std::string(997, 'D') + "\r\n");
  EXPECT_EQ(read_dot(".." + std::string(998, 'D') + "\r\n.\r\n").defect, DataDefect::kLineTooLong);
}

TEST(DataReader, ChunkedFinalLineCountsTheAddedCrLf) {
  std::string sink;
  DataReader r;
  r.begin(DataReader::Mode::kChunked, &sink, 10000, 1000);
  r.consume(std::string(998, 'x'));
  r.finish_chunked();
  EXPECT_EQ(r.defect(), DataDefect::kNone);
  r.begin(DataReader::Mode::kChunked, &sink, 10000, 1000);
  r.consume(std::string(999, 'x'));
  r.finish_chunked();
  EXPECT_EQ(r.defect(), DataDefect::kLineTooLong);
}

TEST(DataReader, SizeLimitKeepsReadingToTheEnd) {
  std::string body(100, 'x');
  Outcome o = read_dot(body + "\r\n" + body + "\r\n.\r\nQUIT\r\n", 150);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.defect, DataDefect::kTooBig);
  EXPECT_EQ(o.used, 2 * 102 + 3u);
}

TEST(DataReader, SplitTerminatorAcrossReads) {
  std::string sink;
  DataReader r;
  r.begin(DataReader::Mode::kDot, &sink, 1000, 1000);
  EXPECT_EQ(r.consume("hello\r"), 6u);
  EXPECT_EQ(r.consume("\n."), 2u);
  EXPECT_FALSE(r.done());
  EXPECT_EQ(r.consume("\r"), 1u);
  EXPECT_EQ(r.consume("\nNOOP\r\n"), 1u);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(sink, "hello\r\n");
}

TEST(DataReader, ChunkedModeIgnoresDotsButChecksLines) {
  std::string sink;
  DataReader r;
  r.begin(DataReader::Mode::kChunked, &sink, 1000, 1000);
  EXPECT_EQ(r.consume(".\r\n..x\r\nlast"), 12u);
  r.finish_chunked();
  EXPECT_EQ(r.defect(), DataDefect::kNone);
  EXPECT_EQ(sink, ".\r\n..x\r\nlast\r\n");
  r.begin(DataReader::Mode::kChunked, &sink, 1000, 1000);
  r.consume("a\nb");
  EXPECT_EQ(r.defect(), DataDefect::kBareLf);
}

}  // namespace
}  // namespace correo

namespace correo {
namespace {

// Random messages (long and short lines, leading dots, runs longer than the 16-byte scan
// step), dot-stuffed and cut at random places: the content must come back exactly. Guards
// the batched appends and the vector scan against a reference made the obvious way.
TEST(DataReader, RandomMessagesInRandomPiecesRoundTrip) {
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  for (int round = 0; round < 300; ++round) {
    std::string content;
    const int lines = static_cast<int>(next() % 60);
    for (int l = 0; l < lines; ++l) {
      const size_t len = next() % 5 == 0 ? next() % 3 : next() % 200;
      for (size_t i = 0; i < len; ++i) content += (next() % 9 == 0) ? '.' : static_cast<char>('a' + next() % 26);
      content += "\r\n";
    }
    std::string wire;
    for (size_t i = 0; i < content.size();) {  // stuff every line that starts with '.'
      const size_t eol = content.find("\r\n", i) + 2;
      if (content[i] == '.') wire += '.';
      wire.append(content, i, eol - i);
      i = eol;
    }
    wire += ".\r\nNEXT";
    std::string sink;
    DataReader r;
    r.begin(DataReader::Mode::kDot, &sink, 1 << 20, 1000);
    size_t used = 0;
    while (!r.done()) {
      const size_t piece = 1 + next() % 40;
      used += r.consume(std::string_view(wire).substr(used, piece));
    }
    ASSERT_EQ(r.defect(), DataDefect::kNone) << round;
    ASSERT_EQ(sink, content) << round;
    ASSERT_EQ(wire.substr(used), "NEXT") << round;
  }
}

}  // namespace
}  // namespace correo

namespace correo {
namespace {

// defect_with_pieces - the first defect of `data` read in pieces of `piece` bytes.
DataDefect defect_with_pieces(DataReader::Mode mode, std::string_view data, size_t piece, uint64_t max_size,
                              uint32_t max_line) {
  DataReader r;
  std::string sink;
  r.begin(mode, &sink, max_size, max_line);
  for (size_t at = 0; at < data.size() && !r.done();) at += r.consume(data.substr(at, piece));
  return r.defect();
}

// Found by tests/fuzz/data_reader_fuzz: the size was counted only when a run of bytes was
// stored, so read whole "20 bytes then NUL" reported the NUL, read byte by byte the size.
// The first defect by position wins, however the network splits the data.
TEST(DataReader, FirstDefectDoesNotDependOnHowTheDataIsSplit) {
  const std::string over_then_nul = std::string(20, 'x') + std::string("\0y\r\n.\r\n", 7);
  const std::string nul_then_over = std::string("ab\0", 3) + std::string(40, 'x') + "\r\n.\r\n";
  const std::string long_line_then_over = std::string(30, 'x') + "\r\n" + std::string(30, 'y') + "\r\n.\r\n";
  for (const auto mode : {DataReader::Mode::kDot, DataReader::Mode::kChunked}) {
    for (const size_t piece : {size_t{1}, size_t{2}, size_t{7}, size_t{100}}) {
      EXPECT_EQ(defect_with_pieces(mode, over_then_nul, piece, 16, 1000), DataDefect::kTooBig) << piece;
      EXPECT_EQ(defect_with_pieces(mode, nul_then_over, piece, 16, 1000), DataDefect::kNul) << piece;
      // Line limit 20 crossed at byte 20, size limit 25 crossed at byte 25: the line first.
      EXPECT_EQ(defect_with_pieces(mode, long_line_then_over, piece, 25, 20), DataDefect::kLineTooLong) << piece;
      // Size limit 10 crossed before the line limit 20.
      EXPECT_EQ(defect_with_pieces(mode, long_line_then_over, piece, 10, 20), DataDefect::kTooBig) << piece;
    }
  }
}

}  // namespace
}  // namespace correo
