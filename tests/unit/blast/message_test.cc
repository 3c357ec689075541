// message_test.cc - correo-blast's message payload: exact sizes from one buffer, a valid
// DATA stream every time, and a Message-ID of its own per message.
#include "bench/blast/message.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace correo::blast {
namespace {

MessageSpec spec(size_t size) { return MessageSpec{"from@load.test", "to@example.test", "blast.test", size, 3, 0xabc}; }

// content_of - checks the payload is a well-formed DATA stream and returns the content a
// server stores: CRLF line ends only, no line longer than 998, no line starting with "."
// (so no stuffing is needed), and exactly one terminating "." line at the end.
std::string content_of(std::string_view payload) {
  EXPECT_GE(payload.size(), 3u);
  EXPECT_EQ(payload.substr(payload.size() - 3), ".\r\n");
  const std::string_view content = payload.substr(0, payload.size() - 3);
  EXPECT_EQ(content.substr(content.size() - 2), "\r\n");
  size_t line_start = 0;
  for (size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\n') {
      EXPECT_GT(i, 0u);
      EXPECT_EQ(content[i - 1], '\r') << "bare LF at " << i;
      EXPECT_LE(i + 1 - line_start, 1000u);
      line_start = i + 1;
    } else if (content[i] == '\r') {
      EXPECT_TRUE(i + 1 < content.size() && content[i + 1] == '\n') << "bare CR at " << i;
    } else if (i == line_start) {
      EXPECT_NE(content[i], '.') << "line starting with '.' at " << i;
    }
  }
  return std::string(content);
}

std::string message_id(const std::string& content) {
  const size_t at = content.find("Message-ID: <");
  return content.substr(at, content.find('>', at) - at);
}

TEST(BlastMessage, FixedSizeIsExact) {
  for (size_t size : {1024u, 10240u, 102400u}) {
    Message m(spec(size));
    EXPECT_EQ(m.content_size(), size);
    EXPECT_EQ(content_of(m.next()).size(), size);
  }
}

TEST(BlastMessage, EverySizeFromOneBufferIsExactAndValid) {
  // Every size from the headers alone through a few lines past, in an order that makes each
  // message end in a different place than the one before (the undo must be complete).
  Message m(spec(2000));
  const size_t headers = m.headers_size();
  std::string first_at_max(content_of(m.next(2000)));
  for (size_t size = headers; size <= headers + 3 * 78 + 5; ++size) {
    for (size_t s : {size, size_t{2000}, headers + (size * 7) % 400}) {
      const std::string content = content_of(m.next(s));
      EXPECT_EQ(content.size(), m.content_size(s)) << "asked " << s;
      const size_t expected = s == headers + 1 ? headers : s;
      EXPECT_EQ(content.size(), expected) << "asked " << s;
    }
  }
  // After all of that, the largest message is the same bytes as before but for its ID.
  std::string again(content_of(m.next(2000)));
  EXPECT_EQ(again.size(), first_at_max.size());
  again.replace(again.find("Message-ID"), message_id(again).size(), message_id(first_at_max));
  EXPECT_EQ(again, first_at_max);
}

TEST(BlastMessage, SizesOutsideTheRangeAreClamped) {
  Message m(spec(5000));
  EXPECT_EQ(m.content_size(1), m.headers_size());      // never shorter than the headers
  EXPECT_EQ(content_of(m.next(1)).size(), m.headers_size());
  EXPECT_EQ(m.content_size(1 << 20), 5000u);           // never larger than the spec's size
  EXPECT_EQ(content_of(m.next(1 << 20)).size(), 5000u);
  Message tiny(spec(10));                               // a spec below the headers: headers only
  EXPECT_EQ(tiny.content_size(), tiny.headers_size());
}

TEST(BlastMessage, EachMessageHasItsOwnId) {
  Message m(spec(1024));
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(message_id(content_of(m.next(300 + 7 * i))));
  EXPECT_EQ(ids.size(), 100u);
}

}  // namespace
}  // namespace correo::blast
