// result.h - a small value-or-error type for fallible calls off the data path.
//
// Errors are values (house style, no exceptions across the event loop). An Error is a
// human-readable message; callers that need a protocol reply map it at the edge.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace correo {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}       // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status - a Result that carries no value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace correo
