// Loading and checking rule files into a RuleSetImpl (rules layer, internal): every
// mistake becomes a RuleError with file:line:column and a sentence a marketer can act on.
#pragma once

#include <string>
#include <vector>

#include "rules/rules.h"

namespace encore::rules::internal {

// Checks and compiles the files (sorted here by name). Either a rule set or errors,
// never both: an invalid set never replaces the one in force.
LoadResult load_rule_files(std::vector<RuleFile> files);

// The "sha256:<hex>" version of files already sorted by name (RULES.md).
std::string rule_set_version(const std::vector<RuleFile>& sorted_files);

// Fraction digits of an ISO 4217 currency code (2 for codes not in the table).
int currency_fraction_digits(std::string_view code);

// The closest of candidates to word, for "did you mean"; empty when none is close.
std::string closest_word(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace encore::rules::internal
