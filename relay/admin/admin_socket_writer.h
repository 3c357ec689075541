// admin_socket_writer.h - a ReplyWriter that streams reply lines to a client socket.
//
// Lines are batched (up to kFlushBytes, or kFlushInterval since the last write) so a long
// listing costs few syscalls while a slow action still shows progress. A blocked write
// waits at most write_timeout, and returns at once when the stop eventfd fires: a client
// that stops reading is dropped instead of holding the admin thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "relay/admin/admin_commands.h"

namespace correo {

class SocketReplyWriter final : public ReplyWriter {
 public:
  static constexpr size_t kFlushBytes = 32768;
  static constexpr std::chrono::milliseconds kFlushInterval{100};

  SocketReplyWriter(int fd, int stop_fd, std::chrono::milliseconds write_timeout);

  bool data(std::string_view text) override;
  void ok(std::string_view text) override;
  void error(AdminError code, std::string_view text) override;

  // finish - makes sure a final line went out (a command that wrote none gets `ERR failed`:
  // a bug, but the client must still see an end) and flushes. After a failed write there is
  // no one to tell: result() becomes "dropped".
  void finish();

  bool finished() const { return finished_; }
  bool failed() const { return failed_; }
  const std::string& result() const { return result_; }  // "ok", the ERR code or "dropped", for the log
  uint64_t data_lines() const { return data_lines_; }
  const std::string& failure() const { return failure_; }  // why the client was dropped

 private:
  void flush();

  int fd_;
  int stop_fd_;
  std::chrono::milliseconds write_timeout_;
  std::string buffer_;
  std::chrono::steady_clock::time_point last_flush_;
  bool finished_ = false;
  bool failed_ = false;
  std::string result_;
  std::string failure_;
  uint64_t data_lines_ = 0;
};

}  // namespace correo
