// sink_session.cc - correo-sink's SMTP state machine (see sink_session.h).
#include "bench/sink/sink_session.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "relay/common/ascii.h"
#include "relay/smtp/command.h"

namespace correo::sink {
namespace {

// path_of - the text between '<' and '>' after "FROM:"/"TO:"; the sink is lenient.
std::string path_of(std::string_view arg) {
  const size_t open = arg.find('<');
  const size_t close = arg.find('>', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::string(arg);
  return std::string(arg.substr(open + 1, close - open - 1));
}

// declared_size - SIZE=n among MAIL's parameters, 0 if absent.
uint64_t declared_size(std::string_view arg) {
  for (size_t pos = 0; (pos = arg.find('=', pos)) != std::string_view::npos; ++pos) {
    if (pos < 4 || !iequals(arg.substr(pos - 4, 4), "size")) continue;
    uint64_t v = 0;
    for (size_t i = pos + 1; i < arg.size() && arg[i] >= '0' && arg[i] <= '9'; ++i) v = v * 10 + (arg[i] - '0');
    return v;
  }
  return 0;
}

bool write_file(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return off == data.size() && ::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

std::string build_ehlo_reply(const Options& o, bool* chunking) {
  std::vector<std::string> lines{o.hostname};
  *chunking = false;
  std::string_view list = o.ehlo;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string ext(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (ext.empty()) continue;
    for (char& c : ext) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (ext == "SIZE") ext = "SIZE " + std::to_string(o.message_size);
    if (ext == "CHUNKING") *chunking = true;
    lines.push_back(ext);
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) out += (i + 1 < lines.size() ? "250-" : "250 ") + lines[i] + "\r\n";
  return out;
}

void SinkSession::reply(std::string& out, uint16_t code, std::string_view text) {
  ctx_.counters->replies[code < 600 ? code : 599].add();
  out += std::to_string(code);
  out += ' ';
  out += text;
  out += "\r\n";
}

bool SinkSession::roll(double rate) {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return std::uniform_real_distribution<double>(0, 1)(*ctx_.dice) < rate;
}

void SinkSession::reset() {
  have_mail_ = false;
  sender_.clear();
  rcpts_.clear();
  content_.clear();
  bdat_last_ = false;
  drop_in_data_ = false;
  in_bdat_message_ = false;
}

void SinkSession::greet(std::string& out) {
  reply(out, 220, ctx_.options->hostname + " ESMTP correo-sink");
}

SinkSession::Next SinkSession::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    if (phase_ == Phase::kData || phase_ == Phase::kBdat) {
      if (drop_in_data_) {
        ctx_.counters->dropped.add();
        return Next::kDropNow;  // mid-message, nothing said
      }
      std::string_view chunk = in;
      if (phase_ == Phase::kBdat) chunk = in.substr(0, static_cast<size_t>(std::min<uint64_t>(bdat_left_, in.size())));
      const size_t used = reader_.consume(chunk);
      in.remove_prefix(used);
      if (ctx_.options->dir.empty()) content_.clear();  // discard: keep no more than one read
      if (phase_ == Phase::kData) {
        if (reader_.done()) {
          phase_ = Phase::kCommand;
          end_message(out);
        }
        continue;
      }
      bdat_left_ -= used;
      if (bdat_left_ > 0) continue;
      phase_ = Phase::kCommand;
      if (!have_mail_ || rcpts_.empty()) {
        reply(out, 503, "5.5.1 Error: need MAIL and RCPT before BDAT");
        reset();
      } else if (bdat_last_) {
        reader_.finish_chunked();
        end_message(out);
      } else {
        reply(out, 250, "2.0.0 Ok: chunk received");
      }
      continue;
    }
    const size_t lf = in.find('\n');
    if (phase_ == Phase::kSkipLine) {
      if (lf == std::string_view::npos) return Next::kContinue;
      in.remove_prefix(lf + 1);
      phase_ = Phase::kCommand;
      continue;
    }
    const size_t take = lf == std::string_view::npos ? in.size() : lf + 1;
    if (line_.size() + take > kMaxLine) {
      reply(out, 500, "5.5.2 Error: line too long");
      line_.clear();
      phase_ = Phase::kSkipLine;
      continue;
    }
    line_.append(in.data(), take);
    in.remove_prefix(take);
    if (lf == std::string_view::npos) return Next::kContinue;
    std::string_view line(line_);
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const Next next = command(line, out);
    line_.clear();
    if (next != Next::kContinue) return next;
  }
  return Next::kContinue;
}

SinkSession::Next SinkSession::command(std::string_view line, std::string& out) {
  const CommandLine c = split_command(line);
  switch (c.verb) {
    case Verb::kHelo:
      reply(out, 250, ctx_.options->hostname);
      break;
    case Verb::kEhlo:
      reset();
      for (size_t pos = 0, eol; (eol = ctx_.ehlo_reply.find("\r\n", pos)) != std::string::npos; pos = eol + 2) {
        ctx_.counters->replies[250].add();
      }
      out += ctx_.ehlo_reply;
      break;
    case Verb::kMail:
      if (have_mail_) {
        reply(out, 503, "5.5.1 Error: nested MAIL command");
      } else if (declared_size(c.arg) > ctx_.options->message_size) {
        reply(out, 552, "5.3.4 Error: message too big");
      } else {
        have_mail_ = true;
        sender_ = path_of(c.arg);
        reply(out, 250, "2.1.0 Ok");
      }
      break;
    case Verb::kRcpt: {
      const Faults& f = ctx_.options->faults;
      if (!have_mail_) {
        reply(out, 503, "5.5.1 Error: need MAIL command");
      } else if (roll(f.rcpt_permfail)) {
        reply(out, 550, "5.1.1 Error: recipient refused (injected)");
      } else if (roll(f.rcpt_tempfail)) {
        reply(out, 451, "4.2.0 Error: recipient deferred (injected)");
      } else {
        rcpts_.push_back(path_of(c.arg));
        reply(out, 250, "2.1.5 Ok");
      }
      break;
    }
    case Verb::kData:
      if (!have_mail_ || rcpts_.empty()) {
        reply(out, have_mail_ ? 554 : 503, have_mail_ ? "5.5.1 Error: no valid recipients" : "5.5.1 Error: need MAIL command");
        break;
      }
      reader_.begin(DataReader::Mode::kDot, &content_, ctx_.options->message_size, 1u << 20);
      drop_in_data_ = roll(ctx_.options->faults.disconnect_in_data);
      phase_ = Phase::kData;
      reply(out, 354, "End data with <CR><LF>.<CR><LF>");
      break;
    case Verb::kBdat:
      return start_bdat(c.arg, out);
    case Verb::kRset:
      reset();
      reply(out, 250, "2.0.0 Ok");
      break;
    case Verb::kNoop:
      reply(out, 250, "2.0.0 Ok");
      break;
    case Verb::kVrfy:
      reply(out, 252, "2.0.0 Cannot VRFY");
      break;
    case Verb::kQuit:
      reply(out, 221, "2.0.0 Bye");
      return Next::kCloseAfterSend;
    default:
      reply(out, 500, "5.5.2 Error: command not recognized");
      break;
  }
  return Next::kContinue;
}

SinkSession::Next SinkSession::start_bdat(std::string_view arg, std::string& out) {
  if (!ctx_.chunking) {
    reply(out, 500, "5.5.2 Error: command not recognized");
    return Next::kContinue;
  }
  uint64_t size = 0;
  size_t i = 0;
  for (; i < arg.size() && arg[i] >= '0' && arg[i] <= '9' && i < 19; ++i) size = size * 10 + (arg[i] - '0');
  const std::string_view rest = arg.substr(i);
  const bool last = rest.size() >= 5 && iequals(rest.substr(rest.size() - 4), "last");
  if (i == 0) {
    reply(out, 501, "5.5.4 Error: BDAT wants a size");
    return Next::kContinue;
  }
  if (!in_bdat_message_) {  // the first chunk of a message; later ones continue its reader
    reader_.begin(DataReader::Mode::kChunked, &content_, ctx_.options->message_size, 1u << 20);
    drop_in_data_ = have_mail_ && !rcpts_.empty() && roll(ctx_.options->faults.disconnect_in_data);
    in_bdat_message_ = true;
  }
  bdat_left_ = size;
  bdat_last_ = last;
  phase_ = Phase::kBdat;
  if (size == 0) return feed(std::string_view(), out);
  return Next::kContinue;
}

void SinkSession::end_message(std::string& out) {
  const Faults& f = ctx_.options->faults;
  if (reader_.defect() == DataDefect::kTooBig) {
    reply(out, 552, "5.3.4 Error: message too big");
  } else if (roll(f.permfail_attempt)) {
    reply(out, 554, "5.6.0 Error: message refused (injected)");
  } else if (roll(f.tempfail_attempt)) {
    reply(out, 451, "4.3.0 Error: try again later (injected)");
  } else {
    Counters& k = *ctx_.counters;
    k.messages.add();
    k.recipients.add(rcpts_.size());
    k.bytes.add(reader_.content_size());
    const uint64_t n = ++ctx_.files;
    if (!ctx_.options->dir.empty()) store(n);
    reply(out, 250, "2.0.0 Ok: queued as S" + std::to_string(ctx_.thread) + "-" + std::to_string(n));
  }
  reset();
}

void SinkSession::store(uint64_t n) {
  std::string file = "X-Sink-Envelope-From: <" + sender_ + ">\r\n";
  for (const std::string& r : rcpts_) file += "X-Sink-Rcpt: <" + r + ">\r\n";
  file += content_;
  const std::string path = ctx_.options->dir + "/" + std::to_string(ctx_.thread) + "-" + std::to_string(n) + ".eml";
  if (!write_file(path, file)) std::fprintf(stderr, "correo-sink: cannot write %s\n", path.c_str());
}

}  // namespace correo::sink
