// Status and Result<T>: expected errors as values (rules/base, namespace encore).
// Programmer errors are ENCORE_ASSERT (assert.h); nothing here throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "rules/base/assert.h"
#include "rules/base/error_codes.h"

namespace encore {

enum class ErrorCode : std::uint8_t {
#define ENCORE_X(code, http, title) code,
  ENCORE_ERROR_CODES(ENCORE_X)
#undef ENCORE_X
};

// The wire spelling ("insufficient_points"), HTTP status and title of a code.
std::string_view error_code_name(ErrorCode code);
int error_code_http_status(ErrorCode code);
std::string_view error_code_title(ErrorCode code);
// Every code, in table order (for tests and docs).
const ErrorCode* error_codes_begin();
const ErrorCode* error_codes_end();

struct Error {
  ErrorCode code;
  std::string detail;  // one sentence for the person who sent the request
};

// A Status is ok or holds an Error. [[nodiscard]]: dropping one takes .ignore().
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design
  static Status ok() { return Status(); }

  bool is_ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // REQUIRES: !is_ok()
  const Error& error() const& {
    ENCORE_ASSERT(!ok_);
    return error_;
  }
  Error&& error() && {
    ENCORE_ASSERT(!ok_);
    return std::move(error_);
  }
  ErrorCode code() const { return error().code; }
  void ignore() const {}

 private:
  Error error_{ErrorCode::internal, {}};
  bool ok_ = true;
};

inline Error make_error(ErrorCode code, std::string detail) {
  return Error{code, std::move(detail)};
}

// Result<T> is shaped like std::expected<T, Error>.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  Result(Status status) : v_(std::in_place_index<1>, std::move(status).error()) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & {
    ENCORE_ASSERT(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    ENCORE_ASSERT(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    ENCORE_ASSERT(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& {
    ENCORE_ASSERT(!has_value());
    return std::get<1>(v_);
  }
  Error&& error() && {
    ENCORE_ASSERT(!has_value());
    return std::get<1>(std::move(v_));
  }
  Status status() const { return has_value() ? Status() : Status(error()); }
  void ignore() const {}

 private:
  std::variant<T, Error> v_;
};

}  // namespace encore

#define ENCORE_CONCAT_INNER_(a, b) a##b
#define ENCORE_CONCAT_(a, b) ENCORE_CONCAT_INNER_(a, b)

// Returns the error of a Status (or Result) expression from the enclosing function.
#define ENCORE_RETURN_IF_ERROR(expr)                                  \
  do {                                                                \
    auto encore_status_ = (expr);                                     \
    if (!encore_status_)                                              \
      return ::encore::Status(std::move(encore_status_).error());     \
  } while (false)

// ENCORE_ASSIGN_OR_RETURN(auto x, f()): binds the value or returns the error.
#define ENCORE_ASSIGN_OR_RETURN(lhs, expr) \
  ENCORE_ASSIGN_OR_RETURN_IMPL_(ENCORE_CONCAT_(encore_result_, __LINE__), lhs, expr)
#define ENCORE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)          \
  auto tmp = (expr);                                           \
  if (!tmp) return ::encore::Status(std::move(tmp).error());   \
  lhs = std::move(tmp).value()
