// JSON string literals (rules/base, the lowest layer): one escaper for the server's
// responses, the rules engine's outputs and the CLI's --json text.
#pragma once

#include <string>
#include <string_view>

namespace encore {

// Appends s as a JSON string literal (quotes included): quote, backslash and control
// characters escaped, everything else (UTF-8 included) as is.
void append_json_string(std::string& out, std::string_view s);

}  // namespace encore
