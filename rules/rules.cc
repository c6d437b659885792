// The rules layer's public entry points (rules.h): RuleSet accessors, loading a rules
// directory, and error text. Evaluation is in internal/evaluate.cc.
#include "rules/rules.h"

#include <algorithm>
#include <fstream>
#include <system_error>

#include <date/tz.h>

#include "rules/internal/expr.h"
#include "rules/internal/loader.h"
#include "rules/internal/rule_set_impl.h"
#include "rules/limits.h"

namespace encore::rules {

RuleSet::RuleSet(std::unique_ptr<RuleSetImpl> impl) : impl_(std::move(impl)) {
  ENCORE_ASSERT(impl_ != nullptr && impl_->zone != nullptr);
  ENCORE_ASSERT(impl_->compiled.size() == impl_->offers.size());
}
RuleSet::~RuleSet() = default;

const std::string& RuleSet::version() const { return impl_->version; }
const Program& RuleSet::program() const { return impl_->program; }
const std::optional<Tiers>& RuleSet::tiers() const { return impl_->tiers; }
const std::vector<Offer>& RuleSet::offers() const { return impl_->offers; }
const std::vector<RuleFile>& RuleSet::files() const { return impl_->files; }

CivilDate RuleSet::local_date(Timestamp t) const {
  // The same offsets as the expressions' weekday()/month() (zone rules kept past 2037).
  const internal::ZoneSpan span = internal::zone_span_at(*impl_->zone, t.seconds());
  std::int64_t local = t.seconds() + span.offset_seconds;
  std::int64_t days = local >= 0 ? local / 86'400 : -((-local + 86'399) / 86'400);
  return civil_from_days(days);
}

std::string_view RuleSet::tier_for(std::int64_t points_earned_in_window) const {
  if (!impl_->tiers) return {};
  std::string_view tier;
  for (const auto& level : impl_->tiers->levels) {
    if (level.threshold <= points_earned_in_window) tier = level.id;
  }
  return tier;
}

Decimal RuleSet::tier_multiplier(std::string_view tier) const {
  if (impl_->tiers) {
    for (const auto& level : impl_->tiers->levels) {
      if (level.id == tier) return level.multiplier;
    }
  }
  return Decimal::from_units(Decimal::scale);
}

std::string RuleError::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_files(std::vector<RuleFile> files) {
  return internal::load_rule_files(std::move(files));
}

LoadResult load_directory(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  auto fail = [&](std::string message) {
    LoadResult r;
    // The directory's own name ("rules" for "conf/rules/"), as errors name files, not paths.
    fs::path name = dir.filename().empty() ? dir.parent_path().filename() : dir.filename();
    r.errors.push_back(RuleError{name.string(), 0, 0, std::move(message)});
    return r;
  };
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail("the rules directory " + dir.string() + " does not exist or is not a directory");
  }
  std::vector<RuleFile> files;
  fs::directory_iterator it(dir, ec);
  if (ec) return fail("cannot read the rules directory " + dir.string() + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return fail("cannot read the rules directory " + dir.string() + ": " + ec.message());
    const fs::path& path = it->path();
    std::string name = path.filename().string();
    // `*.json` as a shell would match it: hidden files (editor backups) are left out.
    if (name.empty() || name[0] == '.' || path.extension() != ".json") continue;
    std::error_code type_ec;
    if (!fs::is_regular_file(path, type_ec)) continue;
    if (files.size() >= rule_files_max) {
      return fail("the rules directory has more than " + std::to_string(rule_files_max) +
                  " *.json files");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("cannot open " + path.string());
    RuleFile file{name, {}};
    // Reads at most one byte more than a rule file may have: the loader reports the size.
    file.content.resize(rule_file_bytes_max + 1);
    in.read(file.content.data(), static_cast<std::streamsize>(file.content.size()));
    if (in.bad()) return fail("cannot read " + path.string());
    file.content.resize(static_cast<std::size_t>(in.gcount()));
    files.push_back(std::move(file));
  }
  return load_files(std::move(files));
}

std::string_view offer_outcome_name(OfferOutcome outcome) {
  switch (outcome) {
    case OfferOutcome::applied: return "applied";
    case OfferOutcome::wrong_event_type: return "wrong_event_type";
    case OfferOutcome::out_of_window: return "out_of_window";
    case OfferOutcome::not_eligible: return "not_eligible";
    case OfferOutcome::condition_false: return "condition_false";
    case OfferOutcome::limit_reached: return "limit_reached";
    case OfferOutcome::budget_exhausted: return "budget_exhausted";
    case OfferOutcome::excluded: return "excluded";
    case OfferOutcome::zero_award: return "zero_award";
    case OfferOutcome::step_budget: return "step_budget";
  }
  return "unknown";
}

}  // namespace encore::rules
