// JSON string literals (rules/base): escaping per RFC 8259 (quote, backslash, control
// characters), for the server's responses, the rules engine's outputs and the CLI's --json.
#include "rules/base/json_text.h"

#include <cstdint>
#include <cstring>

namespace encore {

namespace {

// Whether any of the 8 bytes in w is a control character (below 0x20), a quote or a
// backslash: the bytes a JSON string escapes. Bit tricks on a whole word ("has a byte less
// than n", "has a zero byte"), exact for whether any byte matches; bytes of 0x80 and up
// (UTF-8) never do.
constexpr bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  const auto has_zero_byte = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
  const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
  return (below_space | has_zero_byte(w ^ (ones * '"')) | has_zero_byte(w ^ (ones * '\\'))) != 0;
}

void append_escape(std::string& out, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  switch (c) {
    case '"': out.append("\\\""); break;
    case '\\': out.append("\\\\"); break;
    case '\n': out.append("\\n"); break;
    case '\r': out.append("\\r"); break;
    case '\t': out.append("\\t"); break;
    case '\b': out.append("\\b"); break;
    case '\f': out.append("\\f"); break;
    default: {
      const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(esc, sizeof esc);
    }
  }
}

}  // namespace

// Responses are mostly plain text (ids, times, hashes): it is skipped 8 bytes at a time
// and appended in runs; only a word holding a byte to escape is looked at byte by byte.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of plain bytes
  std::size_t i = 0;
  while (i < s.size()) {
    if (s.size() - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof word);
      if (!word_needs_escape(word)) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i]);
    ++i;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - 1 - run);
    run = i;
    append_escape(out, c);
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace encore
