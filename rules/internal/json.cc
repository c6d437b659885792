// The position-keeping JSON reader of rule files and CLI inputs (rules layer, internal).
// Recursive descent with a depth bound; messages are written for marketers.
#include "rules/internal/json.h"

#include <string>

namespace encore::rules::internal {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

// Bytes of the UTF-8 sequence starting with lead byte c (0 if not a lead byte).
int utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Reader {
 public:
  Reader(std::string_view text, int depth_max) : s_(text), depth_max_(depth_max) {}

  bool document(JsonValue& out, JsonSyntaxError& error) {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;
    skip_space();
    if (failed_) return finish(error);
    if (i_ >= s_.size()) {
      fail(pos(), "the file is empty; a rule file is a JSON object such as {\"offers\": []}");
      return finish(error);
    }
    value(out, 0);
    if (!failed_) {
      skip_space();
      if (!failed_ && i_ < s_.size()) {
        fail(pos(), "there is more text after the end of the JSON document; everything must "
                    "be inside the outer { }");
      }
    }
    return finish(error);
  }

 private:
  bool finish(JsonSyntaxError& error) {
    if (!failed_) return true;
    error = error_;
    return false;
  }

  SourcePos pos() const {
    return SourcePos{line_, static_cast<int>(i_ - line_start_) + 1, i_};
  }

  void fail(SourcePos at, std::string message) {
    if (failed_) return;
    failed_ = true;
    error_ = JsonSyntaxError{at, std::move(message)};
  }

  void skip_space() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\n') {
        ++i_;
        ++line_;
        line_start_ = i_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && (s_[i_ + 1] == '/' || s_[i_ + 1] == '*')) {
        fail(pos(), "JSON does not allow comments; put notes in a \"description\" field");
        return;
      } else {
        return;
      }
    }
  }

  bool at_end() const { return i_ >= s_.size(); }

  void unexpected_end(std::string_view what) {
    fail(pos(), "the file ends too early: " + std::string(what));
  }

  void value(JsonValue& out, int depth) {
    if (at_end()) return unexpected_end("a value is missing");
    out.pos = pos();
    char c = s_[i_];
    if (c == '{' || c == '[') {
      if (depth >= depth_max_) {
        return fail(pos(), "the file nests lists and objects more than " +
                               std::to_string(depth_max_) + " levels deep");
      }
      if (c == '{') return object(out, depth + 1);
      return array(out, depth + 1);
    }
    if (c == '"') {
      out.kind = JsonKind::string;
      string(out.text);
      out.end = i_;
      return;
    }
    if (c == '\'') {
      return fail(pos(), "text must be in double quotes (\"like this\"), not single quotes");
    }
    if (c == '-' || is_digit(c)) return number(out);
    if (is_word_char(c)) return word(out);
    if (c == '}' || c == ']') {
      return fail(pos(), std::string("expected a value before `") + c + "`");
    }
    if (c == ',') return fail(pos(), "expected a value before this comma");
    fail(pos(), std::string("unexpected character `") + printable(c) + "`; expected a value");
  }

  static std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      return std::string("\\x") + kHex[u >> 4] + kHex[u & 15];
    }
    return std::string(1, c);
  }

  void word(JsonValue& out) {
    std::size_t start = i_;
    SourcePos at = pos();
    while (i_ < s_.size() && is_word_char(s_[i_])) ++i_;
    std::string_view w = s_.substr(start, i_ - start);
    if (w == "true" || w == "false") {
      out.kind = JsonKind::boolean;
      out.boolean = w == "true";
    } else if (w == "null") {
      out.kind = JsonKind::null;
    } else {
      std::string lower(w);
      for (auto& ch : lower) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
      if (lower == "true" || lower == "false" || lower == "null") {
        return fail(at, "`" + std::string(w) + "` is not valid JSON; write `" + lower +
                            "` in lower case");
      }
      return fail(at, "`" + std::string(w.substr(0, 40)) +
                          "` is not a JSON value; text must be in double quotes (\"" +
                          std::string(w.substr(0, 40)) + "\")");
    }
    out.end = i_;
  }

  void number(JsonValue& out) {
    std::size_t start = i_;
    SourcePos at = pos();
    auto bad = [&](const char* why) {
      while (i_ < s_.size() && (is_word_char(s_[i_]) || s_[i_] == '.' || s_[i_] == '-' ||
                                s_[i_] == '+'))
        ++i_;
      fail(at, "`" + std::string(s_.substr(start, std::min<std::size_t>(i_ - start, 40))) +
                   "` is not a valid number: " + why);
    };
    if (s_[i_] == '-') ++i_;
    if (at_end() || !is_digit(s_[i_])) return bad("a digit must follow the minus sign");
    if (s_[i_] == '0' && i_ + 1 < s_.size() && is_digit(s_[i_ + 1])) {
      return bad("JSON numbers cannot start with 0 (write it in quotes if it is an id)");
    }
    while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (at_end() || !is_digit(s_[i_])) return bad("digits must follow the decimal point");
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (at_end() || !is_digit(s_[i_])) return bad("digits must follow the exponent");
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (is_word_char(s_[i_]) || s_[i_] == '.')) {
      return bad("it has extra characters");
    }
    out.kind = JsonKind::number;
    out.text.assign(s_.substr(start, i_ - start));
    out.end = i_;
  }

  // REQUIRES: s_[i_] == '"'. Leaves i_ past the closing quote.
  void string(std::string& out) {
    SourcePos open = pos();
    ++i_;
    while (true) {
      if (at_end()) {
        return fail(open, "this text in quotes is never closed; a `\"` is missing");
      }
      auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return;
      }
      if (c == '\n' || c == '\r') {
        return fail(open, "this text in quotes is not closed on its line; a `\"` is missing "
                          "(a line break inside text must be written \\n)");
      }
      if (c < 0x20) {
        return fail(pos(), "a control character (such as a tab) is not allowed inside text "
                           "in quotes; write it as an escape such as \\t");
      }
      if (c == '\\') {
        escape(out);
        if (failed_) return;
        continue;
      }
      int n = utf8_length(c);
      bool valid = n > 0 && i_ + static_cast<std::size_t>(n) <= s_.size();
      for (int k = 1; valid && k < n; ++k) {
        valid = (static_cast<unsigned char>(s_[i_ + static_cast<std::size_t>(k)]) & 0xC0) == 0x80;
      }
      if (!valid) return fail(pos(), "the text is not valid UTF-8; save the file as UTF-8");
      out.append(s_.substr(i_, static_cast<std::size_t>(n)));
      i_ += static_cast<std::size_t>(n);
    }
  }

  // REQUIRES: s_[i_] == '\\'.
  void escape(std::string& out) {
    SourcePos at = pos();
    if (i_ + 1 >= s_.size()) return unexpected_end("a `\"` is missing");
    char e = s_[i_ + 1];
    i_ += 2;
    switch (e) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default:
        return fail(at, "`\\" + printable(e) + "` is not an escape JSON knows; write `\\\\` for "
                        "a backslash");
    }
    auto hex4 = [&](std::uint32_t& cp) {
      if (i_ + 4 > s_.size()) return false;
      cp = 0;
      for (int k = 0; k < 4; ++k) {
        int h = hex_value(s_[i_ + static_cast<std::size_t>(k)]);
        if (h < 0) return false;
        cp = cp * 16 + static_cast<std::uint32_t>(h);
      }
      i_ += 4;
      return true;
    };
    std::uint32_t cp = 0;
    if (!hex4(cp)) return fail(at, "`\\u` must be followed by 4 hexadecimal digits");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') {
        return fail(at, "this \\u escape is half of a pair; the second half is missing");
      }
      i_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) {
        return fail(at, "this \\u escape is half of a pair; the second half is not valid");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return fail(at, "this \\u escape is the second half of a pair without the first");
    }
    append_utf8(out, cp);
  }

  void object(JsonValue& out, int depth) {
    out.kind = JsonKind::object;
    SourcePos open = pos();
    ++i_;
    skip_space();
    if (failed_) return;
    if (!at_end() && s_[i_] == '}') {
      ++i_;
      out.end = i_;
      return;
    }
    while (true) {
      if (at_end()) return fail(open, "this `{` is never closed; a `}` is missing");
      char c = s_[i_];
      if (c != '"') {
        if (c == '}') return fail(pos(), "a comma before `}` is not allowed in JSON; remove it");
        if (c == '\'') {
          return fail(pos(), "field names must be in double quotes (\"name\"), not single quotes");
        }
        if (is_word_char(c)) {
          return fail(pos(), "field names must be in double quotes, like \"name\": ...");
        }
        return fail(pos(), std::string("expected a field name in double quotes, found `") +
                               printable(c) + "`");
      }
      JsonMember member;
      member.key_pos = pos();
      string(member.key);
      if (failed_) return;
      skip_space();
      if (failed_) return;
      if (at_end()) return fail(open, "this `{` is never closed; a `}` is missing");
      if (s_[i_] != ':') {
        return fail(pos(), "expected `:` after the field name \"" + member.key.substr(0, 40) +
                               "\"");
      }
      ++i_;
      skip_space();
      if (failed_) return;
      value(member.value, depth);
      if (failed_) return;
      out.members.push_back(std::move(member));
      skip_space();
      if (failed_) return;
      if (at_end()) return fail(open, "this `{` is never closed; a `}` is missing");
      c = s_[i_];
      if (c == ',') {
        ++i_;
        skip_space();
        if (failed_) return;
        continue;
      }
      if (c == '}') {
        ++i_;
        out.end = i_;
        return;
      }
      if (c == '"') return fail(pos(), "a comma is missing before this field");
      if (c == ']') return fail(pos(), "expected `}` to close the object, found `]`");
      return fail(pos(), std::string("expected a comma or `}` after this field's value, found `") +
                             printable(c) + "`");
    }
  }

  void array(JsonValue& out, int depth) {
    out.kind = JsonKind::array;
    SourcePos open = pos();
    ++i_;
    skip_space();
    if (failed_) return;
    if (!at_end() && s_[i_] == ']') {
      ++i_;
      out.end = i_;
      return;
    }
    while (true) {
      if (at_end()) return fail(open, "this `[` is never closed; a `]` is missing");
      if (s_[i_] == ']') return fail(pos(), "a comma before `]` is not allowed in JSON; remove it");
      JsonValue item;
      value(item, depth);
      if (failed_) return;
      out.items.push_back(std::move(item));
      skip_space();
      if (failed_) return;
      if (at_end()) return fail(open, "this `[` is never closed; a `]` is missing");
      char c = s_[i_];
      if (c == ',') {
        ++i_;
        skip_space();
        if (failed_) return;
        continue;
      }
      if (c == ']') {
        ++i_;
        out.end = i_;
        return;
      }
      if (c == '}') return fail(pos(), "expected `]` to close the list, found `}`");
      return fail(pos(), std::string("a comma is missing between the items of this list (found `") +
                             printable(c) + "`)");
    }
  }

  std::string_view s_;
  int depth_max_;
  std::size_t i_ = 0;
  int line_ = 1;
  std::size_t line_start_ = 0;
  bool failed_ = false;
  JsonSyntaxError error_;
};

}  // namespace

std::string_view json_kind_description(JsonKind kind) {
  switch (kind) {
    case JsonKind::null: return "null";
    case JsonKind::boolean: return "true or false";
    case JsonKind::number: return "a number";
    case JsonKind::string: return "text in quotes";
    case JsonKind::array: return "a list [...]";
    case JsonKind::object: return "an object {...}";
  }
  return "a value";
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& m : members) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

bool parse_json(std::string_view text, int depth_max, JsonValue& out, JsonSyntaxError& error) {
  out = JsonValue{};
  Reader reader(text, depth_max);
  return reader.document(out, error);
}

SourcePos value_char_pos(std::string_view source, const JsonValue& value,
                         std::size_t decoded_offset) {
  SourcePos p = value.pos;
  if (value.kind != JsonKind::string) {
    std::size_t off = std::min(decoded_offset, value.end - value.pos.offset);
    p.offset += off;
    p.column += static_cast<int>(off);
    return p;
  }
  // Walk the raw text after the opening quote, counting decoded bytes.
  std::size_t raw = value.pos.offset + 1;
  std::size_t decoded = 0;
  while (raw < value.end - 1 && decoded < decoded_offset) {
    char c = source[raw];
    std::size_t raw_len = 1;
    std::size_t out_len = 1;
    if (c == '\\' && raw + 1 < source.size()) {
      if (source[raw + 1] != 'u') {
        raw_len = 2;
      } else {
        raw_len = 6;
        std::uint32_t cp = 0;
        for (std::size_t k = 0; k < 4 && raw + 2 + k < source.size(); ++k) {
          cp = cp * 16 + static_cast<std::uint32_t>(std::max(0, hex_value(source[raw + 2 + k])));
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          raw_len = 12;
          out_len = 4;
        } else {
          out_len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
        }
      }
    }
    if (decoded + out_len > decoded_offset) break;  // inside an escape: point at it
    raw += raw_len;
    decoded += out_len;
  }
  p.column += static_cast<int>(raw - value.pos.offset);
  p.offset = raw;
  return p;
}

bool json_integer(const JsonValue& value, std::int64_t& out) {
  if (value.kind != JsonKind::number) return false;
  const std::string& t = value.text;
  std::size_t k = 0;
  bool negative = false;
  if (k < t.size() && t[k] == '-') {
    negative = true;
    ++k;
  }
  if (k >= t.size()) return false;
  std::int64_t v = 0;
  for (; k < t.size(); ++k) {
    if (!is_digit(t[k])) return false;
    int d = t[k] - '0';
    if (__builtin_mul_overflow(v, 10, &v)) return false;
    if (__builtin_add_overflow(v, negative ? -d : d, &v)) return false;
  }
  out = v;
  return true;
}

}  // namespace encore::rules::internal
