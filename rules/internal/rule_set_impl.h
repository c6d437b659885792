// The inside of a RuleSet (rules layer, internal): the public description plus the
// compiled expressions, the evaluation order and the resolved time zone.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/internal/expr.h"
#include "rules/rules.h"

namespace date {
class time_zone;
}  // namespace date

namespace encore::rules {

// One offer's compiled expressions; a null `when` or `eligible` means "always true".
struct CompiledOffer {
  std::shared_ptr<const internal::CompiledExpr> when;
  std::shared_ptr<const internal::CompiledExpr> award;  // never null in a loaded set
  std::shared_ptr<const internal::CompiledExpr> eligible;
};

class RuleSetImpl {
 public:
  std::string version;
  Program program;
  std::optional<Tiers> tiers;
  std::vector<Offer> offers;             // file-name order, then position
  std::vector<CompiledOffer> compiled;   // parallel to offers
  std::vector<std::size_t> order;        // evaluation order: priority desc, then offers order
  std::vector<RuleFile> files;           // sorted by name
  const date::time_zone* zone = nullptr;  // never null in a loaded set
};

}  // namespace encore::rules
