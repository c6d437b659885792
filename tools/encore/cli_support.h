// Helpers shared by the `encore` CLI's subcommands: reading small input files and loading
// a rules directory with every error printed as file:line:column: message.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rules/rules.h"

namespace encore::cli {

// Reads a whole small file (at most rules::input_file_bytes_max); nullopt after printing
// one line on stderr naming the file.
std::optional<std::string> read_small_file(const std::string& path, const char* what);

// Loads the rules, or prints every error as file:line:column: message and returns null.
std::shared_ptr<const rules::RuleSet> load_or_report(const std::string& dir);

std::string_view rounding_name(rules::Rounding r);
std::string_view expiry_name(rules::ExpiryPolicy p);

}  // namespace encore::cli
