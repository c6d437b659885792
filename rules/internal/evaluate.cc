// Evaluation of an event against a rule set (rules.h evaluate, eligible): base points,
// then each offer in priority order with its window, conditions, limits and budget.
// Pure; no allocation when the trace is off beyond the result's offer list.
#include <string>

#include "rules/base/points.h"
#include "rules/internal/expr.h"
#include "rules/internal/rule_set_impl.h"
#include "rules/rules.h"

namespace encore::rules {
namespace {

__extension__ using Int128 = __int128;

// Divides num / den (num >= 0, den > 0) with the program's rounding.
Int128 divide_rounded(Int128 num, Int128 den, Rounding rounding) {
  Int128 q = num / den;
  Int128 r = num % den;
  switch (rounding) {
    case Rounding::floor: return q;
    case Rounding::ceil: return r > 0 ? q + 1 : q;
    case Rounding::round: return 2 * r >= den ? q + 1 : q;
  }
  return q;
}

// base = total / per × points × multiplier, multiplied out first and divided once, so
// the only rounding is the program's. Negative totals earn nothing; overflow earns 0.
std::int64_t base_points(const RuleSetImpl& r, const RuleSet& rules, const MemberView& member,
                         const Event& event) {
  if (event.type != "purchase" || !event.total) return 0;
  const Program& p = r.program;
  Int128 total = event.total->units();
  if (total <= 0 || p.base_points <= 0 || p.base_per.units() <= 0) return 0;
  Int128 multiplier = rules.tier_multiplier(member.tier).units();
  Int128 num = total * p.base_points * multiplier;  // < 2^63 · 10^6 · 10^9: fits
  Int128 den = static_cast<Int128>(p.base_per.units()) * Decimal::scale;
  Int128 base = divide_rounded(num, den, p.rounding);
  if (base > points_max) return 0;
  return static_cast<std::int64_t>(base);
}

std::int64_t round_award(Decimal award, Rounding rounding) {
  switch (rounding) {
    case Rounding::floor: return award.floor();
    case Rounding::ceil: return award.ceil();
    case Rounding::round: return award.round();
  }
  return award.floor();
}

bool in_window(const Offer& offer, Timestamp t) {
  if (offer.starts_at && t < *offer.starts_at) return false;
  if (offer.ends_at && t >= *offer.ends_at) return false;
  return true;
}

Timestamp limit_since(const Offer& offer, Timestamp t) {
  if (!offer.limit_period_days) return Timestamp{INT64_MIN};
  return t.plus_days(-*offer.limit_period_days);
}

std::string window_detail(const Offer& offer, Timestamp t) {
  if (offer.starts_at && t < *offer.starts_at) {
    return "starts at " + format_rfc3339(*offer.starts_at) + "; the event is at " +
           format_rfc3339(t);
  }
  return "ended at " + format_rfc3339(*offer.ends_at) + "; the event is at " + format_rfc3339(t);
}

std::string limit_detail(const Offer& offer, std::int64_t uses) {
  std::string d = "used " + std::to_string(uses) + " of " +
                  std::to_string(*offer.limit_per_member) + " times";
  if (offer.limit_period_days) {
    d += " in the last " + std::to_string(*offer.limit_period_days) + " days";
  }
  return d;
}

}  // namespace

Evaluation evaluate(const RuleSet& rules, const MemberView& member, const Event& event,
                    Timestamp now, const UsageSource& usage, TraceMode trace) {
  const RuleSetImpl& r = rules.impl();
  const bool tracing = trace == TraceMode::on;
  Evaluation out;
  out.offers.reserve(r.offers.size());
  if (tracing) out.trace.reserve(r.offers.size());
  out.base = base_points(r, rules, member, event);
  out.points = out.base;

  internal::ZoneSpan zone_cache;
  const internal::EvalInput input{&member, &event, out.base, now, r.zone, &zone_cache};
  const Offer* excluded_by = nullptr;

  for (std::size_t index : r.order) {
    const Offer& offer = r.offers[index];
    const CompiledOffer& c = r.compiled[index];
    auto skip = [&](OfferOutcome outcome, auto&& make_detail) {
      if (tracing) out.trace.push_back(TraceLine{index, outcome, make_detail()});
    };
    if (excluded_by) {
      skip(OfferOutcome::excluded, [&] {
        return "`" + excluded_by->id + "` is exclusive and applied first";
      });
      continue;
    }
    if (event.type != offer.on) {
      skip(OfferOutcome::wrong_event_type, [&] {
        return "this offer is for `" + offer.on + "` events; this is a `" + event.type + "`";
      });
      continue;
    }
    if (!in_window(offer, event.time)) {
      skip(OfferOutcome::out_of_window, [&] { return window_detail(offer, event.time); });
      continue;
    }
    auto condition = [&](const internal::CompiledExpr* expr, OfferOutcome if_false,
                         std::string_view field) {
      if (!expr) return true;
      internal::EvalOutcome res = internal::evaluate_expression(*expr, input);
      if (!res.ok) {
        skip(OfferOutcome::step_budget,
             [&] { return std::string(field) + ": " + std::string(res.failure); });
        return false;
      }
      if (!res.truth) {
        skip(if_false, [&] {
          return std::string(field) + ": " + internal::explain_expression(*expr, input);
        });
        return false;
      }
      return true;
    };
    if (!condition(c.eligible.get(), OfferOutcome::not_eligible, "eligible")) continue;
    if (!condition(c.when.get(), OfferOutcome::condition_false, "when")) continue;
    if (offer.limit_per_member) {
      std::int64_t uses = usage.member_uses_since(index, limit_since(offer, event.time));
      if (uses >= *offer.limit_per_member) {
        skip(OfferOutcome::limit_reached, [&] { return limit_detail(offer, uses); });
        continue;
      }
    }
    std::int64_t remaining = points_max;
    if (offer.budget) {
      remaining = *offer.budget - usage.budget_used(index);
      if (remaining <= 0) {
        skip(OfferOutcome::budget_exhausted, [&] {
          return "its budget of " + std::to_string(*offer.budget) + " points is spent";
        });
        continue;
      }
    }
    internal::EvalOutcome award = internal::evaluate_expression(*c.award, input);
    if (!award.ok) {
      skip(OfferOutcome::step_budget,
           [&] { return "award: " + std::string(award.failure); });
      continue;
    }
    std::int64_t points = round_award(award.number, r.program.rounding);
    if (points <= 0) {
      skip(OfferOutcome::zero_award, [&] {
        return "the award `" + std::string(internal::expression_text(*c.award)) +
               "` came to " + award.number.to_string() + ", which gives no points";
      });
      continue;
    }
    bool cut = points > remaining;
    if (cut) points = remaining;
    auto total = points_add(out.points, points);
    if (!total) {
      skip(OfferOutcome::step_budget, [&] { return std::string("the points overflow"); });
      continue;
    }
    out.points = *total;
    out.offers.push_back(OfferAward{index, points});
    if (tracing) {
      std::string d = "awarded " + std::to_string(points) + " points";
      if (cut) d += " (cut to what is left of its budget)";
      if (offer.exclusive) d += "; exclusive: offers after it do not apply";
      out.trace.push_back(TraceLine{index, OfferOutcome::applied, std::move(d)});
    }
    if (offer.exclusive) excluded_by = &offer;
  }
  return out;
}

std::vector<EligibleOffer> eligible(const RuleSet& rules, const MemberView& member, Timestamp now,
                                    const UsageSource& usage) {
  const RuleSetImpl& r = rules.impl();
  std::vector<EligibleOffer> out;
  internal::ZoneSpan zone_cache;
  const internal::EvalInput input{&member, nullptr, 0, now, r.zone, &zone_cache};
  for (std::size_t index : r.order) {
    const Offer& offer = r.offers[index];
    if (!in_window(offer, now)) continue;
    if (offer.budget && usage.budget_used(index) >= *offer.budget) continue;
    EligibleOffer e{index, std::nullopt};
    if (offer.limit_per_member) {
      std::int64_t uses = usage.member_uses_since(index, limit_since(offer, now));
      if (uses >= *offer.limit_per_member) continue;
      e.remaining_uses = *offer.limit_per_member - uses;
    }
    if (const auto& cond = r.compiled[index].eligible) {
      internal::EvalOutcome res = internal::evaluate_expression(*cond, input);
      if (!res.ok || !res.truth) continue;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace encore::rules
