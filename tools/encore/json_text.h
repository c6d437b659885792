// JSON text for the `encore` CLI's --json output: a string literal with the escapes JSON
// requires. (The server has its own streaming writer in api/; the CLI does not link api.)
#pragma once

#include <string>
#include <string_view>

namespace encore::cli {

inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace encore::cli
