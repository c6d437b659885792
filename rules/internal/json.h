// A small JSON reader for rule files and CLI inputs (rules layer, internal): it keeps
// the line and column of every value and key, so errors point at the spot a person wrote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace encore::rules::internal {

// A place in a text: 1-based line and byte column, and the 0-based byte offset.
struct SourcePos {
  int line = 0;
  int column = 0;
  std::size_t offset = 0;
};

enum class JsonKind : std::uint8_t { null, boolean, number, string, array, object };

// How a kind reads in a message to a marketer: "text in quotes", "a list [...]".
std::string_view json_kind_description(JsonKind kind);

struct JsonMember;

struct JsonValue {
  JsonKind kind = JsonKind::null;
  SourcePos pos;             // the value's first character (a string's opening quote)
  std::size_t end = 0;       // offset one past the value
  bool boolean = false;
  std::string text;          // number: as written; string: decoded UTF-8
  std::vector<JsonValue> items;     // array
  std::vector<JsonMember> members;  // object, in file order (duplicates kept)

  // The first member named key, or null.
  const JsonValue* find(std::string_view key) const;
};

struct JsonMember {
  std::string key;
  SourcePos key_pos;
  JsonValue value;
};

struct JsonSyntaxError {
  SourcePos pos;
  std::string message;  // a sentence for a person, not a parser
};

// Parses one JSON document. Returns false and fills error on the first syntax error
// (there is no sensible way to go on after one). Nesting deeper than depth_max is an
// error, so recursion is bounded. A UTF-8 byte order mark at the start is skipped.
bool parse_json(std::string_view text, int depth_max, JsonValue& out, JsonSyntaxError& error);

// The place in the source of byte `decoded_offset` of a string value's decoded text
// (offset == size: the closing quote). Escapes (\n, \u00e9) are accounted for: a byte
// produced by an escape maps to the backslash. For a number, its own characters.
// REQUIRES: value is a string or number parsed from source.
SourcePos value_char_pos(std::string_view source, const JsonValue& value,
                         std::size_t decoded_offset);

// Whole numbers as written ("12", "-3"); false for fractions, exponents, overflow.
bool json_integer(const JsonValue& value, std::int64_t& out);

}  // namespace encore::rules::internal
