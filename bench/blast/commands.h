// commands.h - the command lines a load session sends, built once per connection setup and
// shared by both engines (thread-per-session and io_uring).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bench/blast/options.h"

namespace correo::blast {

// EnvelopeCommands - MAIL, the RCPTs and DATA back to back (one write when pipelining),
// and a view of each line (lock-step sends). Not copyable: the views point into `all`.
struct EnvelopeCommands {
  std::string all;
  std::vector<std::string_view> lines;

  EnvelopeCommands() = default;
  EnvelopeCommands(const EnvelopeCommands&) = delete;
  EnvelopeCommands& operator=(const EnvelopeCommands&) = delete;
  // prepare - the lines for a message of content_size bytes; with_size: MAIL FROM declares
  // SIZE=content_size (RFC 1870). Rebuilds only when what MAIL FROM says changes, reusing
  // the buffers: with one message size, once per session.
  void prepare(const Options& options, size_t content_size, bool with_size);

 private:
  int with_size_ = -1;     // which variant is built (-1: none yet)
  size_t declared_ = 0;    // the SIZE= value built, with_size_ == 1
  std::vector<size_t> ends_;
};

// warn_once_no_pipelining - one line on stderr for the whole run, not one per session.
void warn_once_no_pipelining();

// auth_plain_line - "AUTH PLAIN <base64>\r\n" for --auth, "" without it.
std::string auth_plain_line(const Options& options);

}  // namespace correo::blast
