// admin_json.h - a tiny JSON writer for correoctl's --json output (one object per line).
//
// Only what the admin replies need: objects, arrays, strings, integers, doubles, booleans
// and null, written in order into one string. It tracks commas, not validity: callers pair
// begin/end and give a key before each member value. Strings are escaped so the output is
// always valid JSON on one line: quote, backslash and control characters (as \u00XX) are
// escaped, well-formed UTF-8 passes through, and a malformed byte becomes U+FFFD (a JSON
// text must be UTF-8, and spool data from the network need not be).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace correo {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t n);
  JsonWriter& value(uint64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
  JsonWriter& value(double d);  // non-finite numbers have no JSON form: written as null
  JsonWriter& value(bool b);
  JsonWriter& null();

  const std::string& str() const { return out_; }

 private:
  void before_value();
  void write_string(std::string_view s);

  std::string out_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

}  // namespace correo
