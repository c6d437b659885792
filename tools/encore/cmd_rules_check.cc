// `encore rules check DIR`: check a rules directory the way the server would load it;
// every error as file:line:column: message (exit 1), or a summary (exit 0).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "rules/base/clock.h"
#include "rules/inputs.h"
#include "rules/rules.h"
#include "tools/encore/cli_support.h"
#include "tools/encore/commands.h"

namespace encore::cli {
namespace {

int run_check(const std::string& dir) {
  auto set = load_or_report(dir);
  if (!set) return 1;
  const rules::Program& p = set->program();
  std::printf("rules are valid: %s\n", dir.c_str());
  std::printf("program  %s: %lld point(s) per %s %s, rounding %s, timezone %s\n",
              p.name.empty() ? "(no name)" : p.name.c_str(),
              static_cast<long long>(p.base_points),
              p.base_per.to_string_fixed(p.currency_digits).c_str(), p.currency.c_str(),
              std::string(rounding_name(p.rounding)).c_str(), p.timezone.c_str());
  std::printf("         pending %lld days, expiry %s", static_cast<long long>(p.pending_days),
              std::string(expiry_name(p.expiry_policy)).c_str());
  if (p.expiry_policy != rules::ExpiryPolicy::none) {
    std::printf(" after %lld days", static_cast<long long>(p.expiry_days));
  }
  std::printf(", backdating up to %lld days\n", static_cast<long long>(p.max_backdate_days));
  if (const auto& tiers = set->tiers()) {
    std::printf("tiers    over %lld days:", static_cast<long long>(tiers->window_days));
    for (std::size_t k = 0; k < tiers->levels.size(); ++k) {
      const auto& level = tiers->levels[k];
      std::printf("%s %s from %lld (x%s)", k ? ";" : "", level.id.c_str(),
                  static_cast<long long>(level.threshold), level.multiplier.to_string().c_str());
    }
    std::printf("\n");
  } else {
    std::printf("tiers    none\n");
  }
  std::printf("offers   %zu in %zu file(s), in the order they are tried:\n",
              set->offers().size(), set->files().size());
  // Priority descending, ties in file and position order: how evaluate() tries them.
  std::vector<std::size_t> order(set->offers().size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return set->offers()[a].priority > set->offers()[b].priority;
  });
  for (std::size_t index : order) {
    const rules::Offer& o = set->offers()[index];
    std::string facts = "on " + o.on + ", priority " + std::to_string(o.priority);
    if (o.exclusive) facts += ", exclusive";
    if (o.starts_at) facts += ", from " + format_rfc3339(*o.starts_at);
    if (o.ends_at) facts += ", until " + format_rfc3339(*o.ends_at);
    if (o.limit_per_member) {
      facts += ", " + std::to_string(*o.limit_per_member) + " per member";
      facts += o.limit_period_days
                   ? " in " + std::to_string(*o.limit_period_days) + " days"
                   : std::string(" ever");
    }
    if (o.budget) facts += ", budget " + std::to_string(*o.budget) + " points";
    std::printf("  %s (%s): %s\n      %s\n", o.id.c_str(), o.file.c_str(), o.name.c_str(),
                facts.c_str());
  }
  std::printf("version  %s\n", set->version().c_str());
  return 0;
}

}  // namespace

void add_rules_check_command(CLI::App& rules_cmd, int& exit_code) {
  auto dir = std::make_shared<std::string>();
  CLI::App* check = rules_cmd.add_subcommand(
      "check", "Check a rules directory: every error as file:line:column: message (exit 1), "
               "or a summary of the rule set (exit 0)");
  check->add_option("DIR", *dir, "Directory of *.json rule files")->required();
  check->callback([dir, &exit_code] { exit_code = run_check(*dir); });
}

}  // namespace encore::cli
