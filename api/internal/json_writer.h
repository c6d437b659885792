// A small streaming JSON writer (api/internal): appends to a std::string, escapes every
// string it is given, and places commas itself. Responses are never built by pasting
// user data into JSON text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rules/base/json_text.h"

#include "rules/base/decimal.h"
#include "rules/base/time.h"

namespace encore::api::internal {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view s);
  JsonWriter& integer(std::int64_t v);
  JsonWriter& uinteger(std::uint64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // A decimal as a JSON string with minimal digits ("59.9").
  JsonWriter& decimal(Decimal d);
  // Text that is already valid JSON (a number as it was sent).
  JsonWriter& raw(std::string_view json);
  // An RFC 3339 time and bytes as lowercase hex, as JSON strings: both are written in place
  // (no temporary string, nothing to escape); an entry has up to four times and a hash.
  JsonWriter& time(Timestamp t);
  JsonWriter& hex(std::span<const std::uint8_t> bytes);

  // key + value shorthands.
  JsonWriter& field(std::string_view k, std::string_view v) { return key(k).string(v); }
  JsonWriter& field(std::string_view k, const char* v) { return key(k).string(v); }
  JsonWriter& field(std::string_view k, const std::string& v) { return key(k).string(v); }
  JsonWriter& field(std::string_view k, std::int64_t v) { return key(k).integer(v); }
  JsonWriter& field(std::string_view k, bool v) { return key(k).boolean(v); }
  // "" is written as null (optional text fields of entries).
  JsonWriter& field_or_null(std::string_view k, std::string_view v) {
    key(k);
    return v.empty() ? null() : string(v);
  }

  std::string& out() { return out_; }

 private:
  void before_value();
  void push(char c);
  void pop(char c);

  std::string& out_;
  std::uint64_t need_comma_ = 0;  // one bit per nesting level
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace encore::api::internal
