// config_test_util.h - the fixture the config tests share: a temp dir, a file writer and
// the "FILE:LINE: key: " prefix errors start with.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "relay/config/config.h"

#ifndef CORREO_SOURCE_DIR
#define CORREO_SOURCE_DIR "/work/main"
#endif

namespace correo {

namespace fs = std::filesystem;

// shipped_config_path - config/correo.toml found from this file, else from CORREO_SOURCE_DIR.
inline std::string shipped_config_path() {
  const fs::path here = fs::path(__FILE__).parent_path();  // tests/unit/config
  const fs::path near = here.parent_path().parent_path().parent_path() / "config/correo.toml";
  std::error_code ec;
  if (fs::exists(near, ec)) return near.string();
  return CORREO_SOURCE_DIR "/config/correo.toml";
}

inline std::string all_errors(const ConfigLoad& load) {
  std::string out;
  for (const auto& e : load.errors) out += e.text + "\n";
  return out;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "correo_config_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // write - put text into a file in the temp dir and return its path.
  std::string write(const std::string& text, const std::string& name = "correo.toml") {
    const std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    return path;
  }
  ConfigLoad load(const std::string& text) { return load_config(write(text)); }
  // prefix - how an error for key at line starts: "DIR/correo.toml:LINE: key: ".
  std::string prefix(unsigned line, const std::string& key) const {
    return dir_ + "/correo.toml:" + std::to_string(line) + ": " + key + ": ";
  }

  std::string dir_;
};

}  // namespace correo
