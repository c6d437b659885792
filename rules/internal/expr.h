// The typed expression language of rule files (RULES.md "Expression language"): compile
// once when a rule file loads, evaluate per event with no heap allocation. rules/internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/base/decimal.h"
#include "rules/base/time.h"
#include "rules/rules.h"

namespace date {
class time_zone;
}  // namespace date

namespace encore::rules::internal {

// Which names an expression may use: `eligible` sees only `member`; `when`/`award` see
// member, event, base.
enum class ExprContext : std::uint8_t { member_only, event };

// What the expression must produce: a condition (bool) or an award (int or decimal).
enum class ExprResult : std::uint8_t { boolean, number };

// One problem in an expression, for a marketer. offset: byte offset into the expression
// text where the problem starts (the loader turns it into line:column of the file).
struct ExprError {
  std::size_t offset;
  std::string message;
};

// A compiled, type-checked expression. Immutable after compile, shareable across threads.
class CompiledExpr;

// A text literal compared with `member.tier` (`member.tier == 'gold'`, `'gold' != member.tier`,
// `member.tier in ['gold', 'vip']`). The compiler does not know the tiers, which may be
// defined in another file: the loader checks these once every file is read.
struct TierLiteral {
  std::size_t offset;  // as ExprError::offset: where the literal's opening quote is
  std::string text;    // the tier id it names (escapes resolved)
};

struct CompileOutput {
  std::shared_ptr<const CompiledExpr> expr;  // null when there are errors
  std::vector<ExprError> errors;             // every error found (no cascades), in text order
  std::vector<TierLiteral> tier_literals;    // none after a syntax error
};

// Parses and type-checks `text`. Never throws on any input; errors are values.
CompileOutput compile_expression(std::string_view text, ExprContext context, ExprResult result);

// The UTC offset of the program zone over a span of time [begin, end) in UTC seconds:
// a cut-down date::sys_info. weekday/hour/month/day look the zone up only when the time
// falls outside the cached span, so one lookup serves all the expressions of an event.
struct ZoneSpan {
  std::int64_t begin_seconds = 1;  // empty by default (begin > end)
  std::int64_t end_seconds = 0;
  std::int64_t offset_seconds = 0;
};

// The span of UTC seconds holding `utc_seconds` over which `zone`'s offset is constant.
// Unlike date::time_zone::get_info alone, it keeps following a zone's daylight saving rules
// after 2037 (where the zone files' listed transitions end), up to 2099. Thread-safe.
ZoneSpan zone_span_at(const date::time_zone& zone, std::int64_t utc_seconds);

// Everything an evaluation may read. The pointees must outlive the call.
struct EvalInput {
  const MemberView* member = nullptr;  // never null
  const Event* event = nullptr;        // null allowed only for ExprContext::member_only
  std::int64_t base = 0;               // base points of this event (0: no basket)
  Timestamp now;                       // the recorded time, for days_since()
  const date::time_zone* zone = nullptr;  // the program's time zone, never null
  // Optional: a cache of the zone's offset kept by the caller across the evaluations of
  // one event (or one thread: the span stays valid for any time). Null: each evaluation
  // keeps its own. Not thread-safe: one ZoneSpan per thread.
  ZoneSpan* zone_cache = nullptr;
};

// The result of an evaluation: defined for every input, never a crash or UB.
struct EvalOutcome {
  // false: the evaluation failed (step budget exhausted, overflow, division by zero, an
  // attribute that is not a number used in arithmetic, ...): treat as "did not apply".
  bool ok = false;
  bool truth = false;        // ExprResult::boolean, when ok
  Decimal number;            // ExprResult::number, when ok (an int result as a Decimal)
  std::string_view failure;  // when !ok: a static sentence like "step budget exhausted"
};

// Evaluates. No heap allocation. Thread-safe (expr is immutable; input.zone_cache is the
// caller's).
EvalOutcome evaluate_expression(const CompiledExpr& expr, const EvalInput& input);

// For the explain trace: the values of the parts of a condition, e.g.
// "event.total >= 100 was false (event.total = 59.90)". May allocate.
std::string explain_expression(const CompiledExpr& expr, const EvalInput& input);

// The text the expression was compiled from.
std::string_view expression_text(const CompiledExpr& expr);

}  // namespace encore::rules::internal
