// The streaming JSON writer (strings escaped by rules/base/json_text).
#include "api/internal/json_writer.h"

#include <charconv>

#include "rules/base/assert.h"
#include "rules/base/hex.h"

namespace encore::api::internal {

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  const std::uint64_t bit = std::uint64_t{1} << depth_;
  if (need_comma_ & bit) out_.push_back(',');
  need_comma_ |= bit;
}

void JsonWriter::push(char c) {
  before_value();
  out_.push_back(c);
  ++depth_;
  ENCORE_ASSERT(depth_ < 64);
  need_comma_ &= ~(std::uint64_t{1} << depth_);
}

void JsonWriter::pop(char c) {
  ENCORE_ASSERT(depth_ > 0);
  --depth_;
  out_.push_back(c);
}

JsonWriter& JsonWriter::begin_object() { push('{'); return *this; }
JsonWriter& JsonWriter::end_object() { pop('}'); return *this; }
JsonWriter& JsonWriter::begin_array() { push('['); return *this; }
JsonWriter& JsonWriter::end_array() { pop(']'); return *this; }

JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  append_json_string(out_, k);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
  before_value();
  append_json_string(out_, s);
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t v) {
  before_value();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::uinteger(std::uint64_t v) {
  before_value();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
  before_value();
  out_.append(v ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::decimal(Decimal d) { return string(d.to_string()); }

JsonWriter& JsonWriter::time(Timestamp t) {
  before_value();
  char buf[rfc3339_chars_max + 2];
  buf[0] = '"';
  const std::size_t n = format_rfc3339(t, buf + 1);
  buf[n + 1] = '"';
  out_.append(buf, n + 2);
  return *this;
}

JsonWriter& JsonWriter::hex(std::span<const std::uint8_t> bytes) {
  before_value();
  out_.push_back('"');
  append_hex(out_, bytes);
  out_.push_back('"');
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  before_value();
  out_.append(json);
  return *this;
}

}  // namespace encore::api::internal
