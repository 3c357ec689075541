// reply_buffer.cc - incremental SMTP reply parsing (see reply_buffer.h).
#include "bench/blast/reply_buffer.h"

#include <string_view>

namespace correo::blast {
namespace {

bool is_code(std::string_view line) {
  return line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
         line[2] >= '0' && line[2] <= '9';
}

}  // namespace

TakeResult take_reply(std::string& buffer, Reply& out, std::vector<std::string>* extra) {
  if (extra) extra->clear();
  size_t pos = 0;
  int code = 0;
  while (true) {
    const size_t lf = buffer.find('\n', pos);
    if (lf == std::string::npos) return TakeResult::kNeedMore;
    std::string_view line(buffer.data() + pos, lf - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!is_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) return TakeResult::kProtocolError;
    const int this_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (pos == 0) {
      code = this_code;
      out.code = code;
      out.first_line.assign(line);
    } else {
      if (this_code != code) return TakeResult::kProtocolError;
      if (extra) extra->emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    }
    pos = lf + 1;
    if (line.size() == 3 || line[3] == ' ') break;
  }
  buffer.erase(0, pos);
  return TakeResult::kReply;
}

}  // namespace correo::blast
