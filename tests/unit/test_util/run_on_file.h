// run_on_file.h - for tests that check our output with an outside program (Python's email
// package): write the bytes to a fresh temporary file, run a command on it, return stdout.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace correo::test_util {

// run_on_file - runs `command + " '<temp file>'"` through the shell; the test fails (naming
// `what`) when the file cannot be written or the command exits non-zero. The file is removed.
inline std::string run_on_file(std::string_view contents, const std::string& command, std::string_view what) {
  const char* tmpdir = getenv("TMPDIR");
  std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/correo_test_XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  if (fd < 0) return "";
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  EXPECT_EQ(done, contents.size());
  FILE* p = popen((command + " '" + path + "'").c_str(), "r");
  std::string out;
  if (p != nullptr) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << what << " failed (stderr above); output: " << out;
  } else {
    ADD_FAILURE() << "popen failed";
  }
  unlink(path.c_str());
  return out;
}

}  // namespace correo::test_util
