// config_fuzz.cc - libFuzzer target: the config loader (relay/config/config.h), TOML in.
//
// The input is a config file (written to a memfd, so the loader reads a real file the way
// correod does). Invariants: it either loads or returns errors, never both empty-handed;
// every error is "FILE:LINE: ..." or "FILE: ..." text naming the file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "relay/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("correo-fuzz.toml", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0) std::abort();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  const correo::ConfigLoad load = correo::load_config(path);
  for (const correo::ConfigError& e : load.errors) {
    if (e.text.empty()) std::abort();
  }
  return 0;
}
