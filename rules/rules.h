// The rules layer's public API: load and check marketers' rule files into an immutable
// RuleSet, and evaluate an event against it (pure: no I/O but loading, no clock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "rules/base/decimal.h"
#include "rules/base/points.h"
#include "rules/base/status.h"
#include "rules/base/time.h"

namespace encore::rules {

// ---- Inputs ---------------------------------------------------------------------

// An attribute value of a member or an event: a string, a whole number, a decimal or
// a boolean (API.md: string|number|bool).
using AttributeValue = std::variant<std::string, std::int64_t, Decimal, bool>;
using Attributes = std::map<std::string, AttributeValue, std::less<>>;

struct Item {
  std::string sku;
  std::string category;
  std::int64_t quantity = 1;
  Money unit_price;
  Money total;  // quantity × unit_price unless the sender said otherwise
};

struct Event {
  std::string type = "purchase";  // [a-z][a-z0-9_]{0,31}
  Timestamp time;                 // occurred_at (business time)
  std::string channel;            // "" when not sent
  std::string store;
  std::string order_id;
  std::optional<Money> total;     // basket total; nullopt: no basket (base = 0)
  std::vector<Item> items;
  Attributes attributes;
};

// What the rules may know of a member (RULES.md `member.*`). The ledger fills it
// from the member's state as of the write.
struct MemberView {
  std::string id;
  std::string tier;                              // current tier id ("" if no tiers)
  std::int64_t points = 0;                       // available
  std::int64_t lifetime_points = 0;              // lifetime earned
  std::int64_t visits = 0;                       // purchases so far
  std::int64_t days_since_last_purchase = -1;    // -1 if none
  std::int64_t enrolled_days = 0;
  std::optional<CivilDate> birthday;
  Attributes attributes;
};

// How much each offer has been used: the ledger answers from its state. Offers are
// named by their index in RuleSet::offers().
class UsageSource {
 public:
  virtual ~UsageSource() = default;
  // Points this offer has awarded across all members (its budget used).
  virtual std::int64_t budget_used(std::size_t offer_index) const = 0;
  // How many times this member got this offer with an event time >= since
  // (Timestamp{INT64_MIN} for "ever").
  virtual std::int64_t member_uses_since(std::size_t offer_index, Timestamp since) const = 0;
};

// A UsageSource for a member with no history and untouched budgets (quote for a new
// member, tests).
class NoUsage final : public UsageSource {
 public:
  std::int64_t budget_used(std::size_t) const override { return 0; }
  std::int64_t member_uses_since(std::size_t, Timestamp) const override { return 0; }
};

// ---- The rule set ---------------------------------------------------------------

enum class Rounding : std::uint8_t { floor, round, ceil };
enum class ExpiryPolicy : std::uint8_t { none, fixed, inactivity };

struct Program {
  std::string name;
  std::string currency;            // ISO 4217 code
  int currency_digits = 2;         // fraction digits of money in this currency
  std::int64_t base_points = 1;    // base_earn.points
  Money base_per;                  // base_earn.per
  Rounding rounding = Rounding::floor;
  std::int64_t pending_days = 0;
  ExpiryPolicy expiry_policy = ExpiryPolicy::none;
  std::int64_t expiry_days = 0;
  std::int64_t max_backdate_days = 7;
  std::string timezone = "UTC";
  // point_value: money one point is worth, for reports (`encore rules simulate`); 0.01.
  Money point_value = Decimal::from_units(Decimal::scale / 100);
};

struct TierLevel {
  std::string id;
  std::int64_t threshold = 0;
  Decimal multiplier;  // 1 unless given
};

struct Tiers {
  std::int64_t window_days = 365;
  std::vector<TierLevel> levels;  // ascending threshold
};

struct Offer {
  std::string id;
  std::string name;
  std::string description;
  std::string on = "purchase";
  std::optional<Timestamp> starts_at;  // inclusive
  std::optional<Timestamp> ends_at;    // exclusive
  std::optional<std::int64_t> limit_per_member;
  std::optional<std::int64_t> limit_period_days;  // nullopt: ever
  std::optional<std::int64_t> budget;
  std::int64_t priority = 0;
  bool exclusive = false;
  std::string file;  // the file it came from (name, not path)
};

// The exact text of one rule file, kept so a rule set can be stored and re-loaded.
struct RuleFile {
  std::string name;     // file name, not a path
  std::string content;
};

class RuleSetImpl;

// An immutable, compiled rule set. Thread-safe to share (const).
class RuleSet {
 public:
  ~RuleSet();
  const std::string& version() const;  // "sha256:<hex>", RULES.md's definition
  const Program& program() const;
  const std::optional<Tiers>& tiers() const;
  // Offers in file-name order, then position in the file.
  const std::vector<Offer>& offers() const;
  const std::vector<RuleFile>& files() const;

  // The calendar date of t in the program's timezone.
  CivilDate local_date(Timestamp t) const;
  // The tier for points earned in the tier window ("" when there are no tiers).
  std::string_view tier_for(std::int64_t points_earned_in_window) const;
  // The multiplier of a tier id (1 for an unknown id or no tiers).
  Decimal tier_multiplier(std::string_view tier) const;

  explicit RuleSet(std::unique_ptr<RuleSetImpl> impl);
  const RuleSetImpl& impl() const { return *impl_; }

 private:
  std::unique_ptr<RuleSetImpl> impl_;
};

// One problem in a rule file, for a marketer: "offers.json:12:18: unknown field ..."
struct RuleError {
  std::string file;  // file name, not a path
  int line = 0;      // 1-based; 0 when the problem is not at one place (e.g. no program)
  int column = 0;    // 1-based, in bytes of the file
  std::string message;
  std::string to_string() const;  // "file:line:column: message"
};

struct LoadResult {
  std::shared_ptr<const RuleSet> rule_set;  // null when there are errors
  std::vector<RuleError> errors;            // every error found, up to a cap
};

// Loads every *.json of dir in name order.
LoadResult load_directory(const std::filesystem::path& dir);
// Loads the given files (any order; sorted by name here).
LoadResult load_files(std::vector<RuleFile> files);

// ---- Evaluation -----------------------------------------------------------------

enum class TraceMode : std::uint8_t { off, on };

// Why an offer applied or did not (RULES.md; the `explain` trace).
enum class OfferOutcome : std::uint8_t {
  applied,
  wrong_event_type,
  out_of_window,
  not_eligible,
  condition_false,
  limit_reached,
  budget_exhausted,
  excluded,        // a higher-priority exclusive offer applied
  zero_award,      // the award came to 0 or less
  step_budget,     // evaluation ran out of steps (a defined result, never a crash)
};
std::string_view offer_outcome_name(OfferOutcome outcome);

struct OfferAward {
  std::size_t offer_index = 0;
  std::int64_t points = 0;  // > 0; already cut to the budget left
};

struct TraceLine {
  std::size_t offer_index = 0;
  OfferOutcome outcome = OfferOutcome::applied;
  std::string detail;  // e.g. "event.total >= 100 was false (event.total = 59.90)"
};

struct Evaluation {
  std::int64_t base = 0;             // base points with tier multiplier and rounding
  std::vector<OfferAward> offers;    // in the order they applied
  std::int64_t points = 0;           // base + every offer
  std::vector<TraceLine> trace;      // one line per offer when TraceMode::on
};

// The points an event earns. Pure and deterministic. `now` is the recorded time
// (for days_since()). Points are checked: an overflow makes that part 0 and is traced.
Evaluation evaluate(const RuleSet& rules, const MemberView& member, const Event& event,
                    Timestamp now, const UsageSource& usage, TraceMode trace = TraceMode::off);

struct EligibleOffer {
  std::size_t offer_index = 0;
  std::optional<std::int64_t> remaining_uses;  // nullopt: no per-member limit
};

// The personalized list: offers in window at `now`, within budget and per-member
// limit, whose `eligible` holds for the member.
std::vector<EligibleOffer> eligible(const RuleSet& rules, const MemberView& member, Timestamp now,
                                    const UsageSource& usage);

}  // namespace encore::rules

// Usage:
//   auto loaded = encore::rules::load_directory("docs/examples/rules");
//   if (!loaded.rule_set) { for (auto& e : loaded.errors) puts(e.to_string().c_str()); }
//   encore::rules::NoUsage usage;
//   auto eval = encore::rules::evaluate(*loaded.rule_set, member, event, now, usage);
