// The expression evaluator: walks the compiled node array with no heap allocation and a
// step budget; and the explain trace, which shows the values of a condition's parts.
// rules/internal.
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rules/base/assert.h"
#include "rules/internal/expr.h"
#include "rules/internal/expr_internal.h"
#include "rules/limits.h"

namespace encore::rules::internal {
namespace {

__extension__ using Int128 = __int128;

constexpr std::string_view kBudget = "step budget exhausted";
constexpr std::string_view kOverflow = "overflow";
constexpr std::string_view kDivisionByZero = "division by zero";
constexpr std::string_view kNotNumber = "an attribute used as a number is not a number";
constexpr std::string_view kNotText = "an attribute used as text is not text";
constexpr std::string_view kTimeRange = "a time outside the years 0000-9999";

constexpr std::string_view kWeekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// Times whose local fields are computed: the years 0000 to 9999 (RFC 3339's range).
constexpr std::int64_t first_day = -719'528;   // 0000-01-01
constexpr std::int64_t end_day = 2'932'897;    // 10000-01-01
constexpr std::int64_t time_micros_min = first_day * micros_per_day;
constexpr std::int64_t time_micros_end = end_day * micros_per_day;

// A run-time value. Kinds match the static types, plus `missing` (an absent attribute or
// birthday). Text views point into the input or the compiled expression.
enum class Kind : std::uint8_t { missing, boolean, integer, decimal, text, time, date, duration };

struct Value {
  Kind kind = Kind::missing;
  bool lowered = false;  // text: read as ASCII lower case (lower())
  std::int64_t i = 0;    // boolean 0/1, integer, decimal units, time micros, date days, duration
  std::string_view s;    // text
};

Value boolean(bool b) { return Value{Kind::boolean, false, b ? 1 : 0, {}}; }
Value integer(std::int64_t i) { return Value{Kind::integer, false, i, {}}; }
Value decimal(std::int64_t units) { return Value{Kind::decimal, false, units, {}}; }
Value text(std::string_view s) { return Value{Kind::text, false, 0, s}; }
Value of_kind(Kind k, std::int64_t i) { return Value{k, false, i, {}}; }

Value from_attribute(const Attributes& attributes, std::string_view key) {
  auto it = attributes.find(key);
  if (it == attributes.end()) return Value{};
  const AttributeValue& v = it->second;
  if (const auto* s = std::get_if<std::string>(&v)) return text(*s);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return integer(*n);
  if (const auto* d = std::get_if<Decimal>(&v)) return decimal(d->units());
  return boolean(std::get<bool>(v));
}

char lower_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char at(const Value& v, std::size_t i) { return v.lowered ? lower_char(v.s[i]) : v.s[i]; }

int compare_text(const Value& a, const Value& b) {
  if (!a.lowered && !b.lowered) {
    int c = a.s.compare(b.s);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  std::size_t n = std::min(a.s.size(), b.s.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto x = static_cast<unsigned char>(at(a, i));
    auto y = static_cast<unsigned char>(at(b, i));
    if (x != y) return x < y ? -1 : 1;
  }
  return a.s.size() < b.s.size() ? -1 : a.s.size() > b.s.size() ? 1 : 0;
}

bool text_matches_at(const Value& hay, std::size_t pos, const Value& needle) {
  for (std::size_t i = 0; i < needle.s.size(); ++i) {
    if (at(hay, pos + i) != at(needle, i)) return false;
  }
  return true;
}

bool starts_with(const Value& s, const Value& p) {
  return p.s.size() <= s.s.size() && text_matches_at(s, 0, p);
}

bool contains(const Value& s, const Value& p) {
  if (!s.lowered && !p.lowered) return s.s.find(p.s) != std::string_view::npos;
  if (p.s.size() > s.s.size()) return false;
  for (std::size_t pos = 0; pos + p.s.size() <= s.s.size(); ++pos) {
    if (text_matches_at(s, pos, p)) return true;
  }
  return false;
}

bool is_numeric(Kind k) { return k == Kind::integer || k == Kind::decimal; }

Int128 as_units(const Value& v) {
  return v.kind == Kind::integer ? static_cast<Int128>(v.i) * Decimal::scale
                                 : static_cast<Int128>(v.i);
}

// -1, 0, 1; nullopt when the values are of kinds that do not compare (a missing value, or
// an attribute of another kind: RULES.md's defined result is that == is false).
std::optional<int> compare_values(const Value& a, const Value& b) {
  if (is_numeric(a.kind) && is_numeric(b.kind)) {
    if (a.kind == b.kind) return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    Int128 x = as_units(a);
    Int128 y = as_units(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.kind != b.kind || a.kind == Kind::missing) return std::nullopt;
  if (a.kind == Kind::text) return compare_text(a, b);
  return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
}

bool holds(Cmp cmp, std::optional<int> c) {
  switch (cmp) {
    case Cmp::eq: return c && *c == 0;
    case Cmp::ne: return !(c && *c == 0);
    case Cmp::lt: return c && *c < 0;
    case Cmp::le: return c && *c <= 0;
    case Cmp::gt: return c && *c > 0;
    case Cmp::ge: return c && *c >= 0;
  }
  return false;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Visits the items of a list; returns false to stop.
class ItemVisitor {
 public:
  virtual bool visit(const Item& item) const = 0;

 protected:
  ~ItemVisitor() = default;
};

ZoneSpan span_at(const date::time_zone& zone, std::int64_t s) {
  auto info = zone.get_info(date::sys_seconds{std::chrono::seconds{s}});
  return ZoneSpan{info.begin.time_since_epoch().count(), info.end.time_since_epoch().count(),
                  info.offset.count()};
}

}  // namespace

// The zone files list transitions up to 2037 and the `date` library keeps the last listed
// offset after that. For a zone whose listed transitions reach 2037 (its rules go on), a
// time in 2038..2099 reads the offset of the same moment 28 years earlier: between 1901
// and 2099 the calendar repeats every 28 years (10,227 days), weekdays included, so rules
// like "second Sunday of March" do too.
ZoneSpan zone_span_at(const date::time_zone& zone, std::int64_t s) {
  constexpr std::int64_t listed_until_min = 2'114'380'800;  // 2037-01-01T00:00:00Z
  constexpr std::int64_t year_2100 = 4'102'444'800;         // 2100-01-01T00:00:00Z
  constexpr std::int64_t cycle_seconds = 10'227 * 86'400;
  ZoneSpan span = span_at(zone, s);
  if (span.begin_seconds < listed_until_min || span.end_seconds <= year_2100 || s >= year_2100) {
    return span;
  }
  std::int64_t shift = 0;
  while (s - shift >= span.begin_seconds) shift += cycle_seconds;
  ZoneSpan earlier = span_at(zone, s - shift);
  return ZoneSpan{std::max(earlier.begin_seconds + shift, span.begin_seconds),
                  std::min(earlier.end_seconds + shift, year_2100), earlier.offset_seconds};
}

namespace {

class Evaluator {
 public:
  Evaluator(const CompiledExpr& x, const EvalInput& in)
      : x_(x), in_(in), span_(in.zone_cache ? in.zone_cache : &own_span_) {}

  bool failed() const { return !failure_.empty(); }
  std::string_view failure() const { return failure_; }

  Value eval(std::uint32_t index) {
    if (++steps_ > expression_steps_max) return fail(kBudget);
    const Node& n = x_.nodes[index];
    switch (n.op) {
      case Op::const_bool: return boolean(n.imm != 0);
      case Op::const_int: return integer(n.imm);
      case Op::const_decimal: return decimal(n.imm);
      case Op::const_duration: return of_kind(Kind::duration, n.imm);
      case Op::const_text: return text({x_.pool.data() + n.text_off, n.text_len});
      case Op::event_type: return text(event().type);
      case Op::event_time: return of_kind(Kind::time, event().time.micros);
      case Op::event_channel: return text(event().channel);
      case Op::event_store: return text(event().store);
      case Op::event_order_id: return text(event().order_id);
      case Op::event_total: return decimal(event().total ? event().total->units() : 0);
      case Op::event_attr: return from_attribute(event().attributes, key(n));
      case Op::member_id: return text(in_.member->id);
      case Op::member_tier: return text(in_.member->tier);
      case Op::member_points: return integer(in_.member->points);
      case Op::member_lifetime_points: return integer(in_.member->lifetime_points);
      case Op::member_visits: return integer(in_.member->visits);
      case Op::member_days_since_last_purchase:
        return integer(in_.member->days_since_last_purchase);
      case Op::member_enrolled_days: return integer(in_.member->enrolled_days);
      case Op::member_birthday:
        if (!in_.member->birthday) return Value{};
        return of_kind(Kind::date, days_from_civil(*in_.member->birthday));
      case Op::member_attr: return from_attribute(in_.member->attributes, key(n));
      case Op::base: return integer(in_.base);
      case Op::item_sku: return text(item().sku);
      case Op::item_category: return text(item().category);
      case Op::item_quantity: return integer(item().quantity);
      case Op::item_unit_price: return decimal(item().unit_price.units());
      case Op::item_total: return decimal(item().total.units());
      case Op::any_to_bool: {
        Value v = eval(n.a);
        return boolean(v.kind == Kind::boolean && v.i != 0);
      }
      case Op::any_to_number: {
        Value v = eval(n.a);
        if (failed()) return {};
        if (v.kind == Kind::decimal) return v;
        if (v.kind == Kind::integer) return int_to_decimal(v.i);
        return fail(kNotNumber);
      }
      case Op::any_to_text: {
        Value v = eval(n.a);
        if (failed()) return {};
        return v.kind == Kind::text ? v : fail(kNotText);
      }
      case Op::int_to_decimal: {
        Value v = eval(n.a);
        if (failed()) return {};
        return int_to_decimal(v.i);
      }
      case Op::logic_not: {
        Value v = eval(n.a);
        return boolean(v.i == 0);
      }
      case Op::logic_and: {
        Value l = eval(n.a);
        if (failed() || l.i == 0) return boolean(false);
        return boolean(eval(n.b).i != 0);
      }
      case Op::logic_or: {
        Value l = eval(n.a);
        if (failed()) return {};
        if (l.i != 0) return boolean(true);
        return boolean(eval(n.b).i != 0);
      }
      case Op::compare: {
        Value l = eval(n.a);
        Value r = eval(n.b);
        return boolean(holds(n.cmp, compare_values(l, r)));
      }
      case Op::in_list: return boolean(in_list(eval(n.a), x_.lists[x_.nodes[n.b].imm]));
      default: return eval_arith(n);
    }
  }

  // Calls v for each element of the item list `index` until it returns false.
  void iterate(std::uint32_t index, const ItemVisitor& v) {
    const Node& n = x_.nodes[index];
    switch (n.op) {
      case Op::event_items:
        for (const Item& it : event().items) {
          if (++steps_ > expression_steps_max) {
            fail(kBudget);
            return;
          }
          if (!v.visit(it)) return;
        }
        return;
      case Op::list_filter: {
        struct Filter final : ItemVisitor {
          Evaluator* e;
          std::uint32_t cond;
          const ItemVisitor* next;
          Filter(Evaluator* ev, std::uint32_t c, const ItemVisitor* nx)
              : e(ev), cond(c), next(nx) {}
          bool visit(const Item& it) const override {
            bool keep = e->eval_on(cond, it).i != 0;
            if (e->failed()) return false;
            return !keep || next->visit(it);
          }
        };
        Filter f(this, n.b, &v);
        iterate(n.a, f);
        return;
      }
      case Op::if_then_else: {
        Value c = eval(n.a);
        if (failed()) return;
        iterate(c.i != 0 ? n.b : n.c, v);
        return;
      }
      default: ENCORE_ASSERT(false && "not an item list");
    }
  }

  // Evaluates `index` with `item` bound.
  Value eval_on(std::uint32_t index, const Item& it) {
    const Item* saved = item_;
    item_ = &it;
    Value v = eval(index);
    item_ = saved;
    return v;
  }

 private:
  Value fail(std::string_view why) {
    if (failure_.empty()) failure_ = why;
    return Value{};
  }

  const Event& event() const { return *in_.event; }
  const Item& item() const { return *item_; }
  std::string_view key(const Node& n) const { return x_.pool_text(x_.keys[n.imm]); }

  Value int_to_decimal(std::int64_t i) {
    auto d = Decimal::from_integer(i);
    return d ? decimal(d->units()) : fail(kOverflow);
  }

  bool in_list(const Value& v, const ListConst& list) const {
    constexpr std::size_t linear_max = 16;  // below this a scan beats bisection
    if (v.kind == Kind::text && list.type == Type::text_list) {
      auto element = [&](TextRef r) { return text(x_.pool_text(r)); };
      if (list.texts.size() <= linear_max) {
        for (TextRef r : list.texts) {
          if (compare_text(v, element(r)) == 0) return true;
        }
        return false;
      }
      auto it = std::lower_bound(
          list.texts.begin(), list.texts.end(), v,
          [&](TextRef r, const Value& key) { return compare_text(element(r), key) < 0; });
      return it != list.texts.end() && compare_text(element(*it), v) == 0;
    }
    if (is_numeric(v.kind) && list.type == Type::number_list) {
      Int128 units = as_units(v);
      if (list.numbers.size() <= linear_max) {
        for (std::int64_t n : list.numbers) {
          if (n == units) return true;
        }
        return false;
      }
      auto it = std::lower_bound(list.numbers.begin(), list.numbers.end(), units,
                                 [](std::int64_t n, Int128 key) { return n < key; });
      return it != list.numbers.end() && *it == units;
    }
    return false;  // a missing attribute, an attribute of another kind, or `[]`
  }

  std::optional<std::int64_t> local_seconds(std::int64_t micros) {
    if (micros < time_micros_min || micros >= time_micros_end) {
      fail(kTimeRange);
      return std::nullopt;
    }
    std::int64_t s = floor_div(micros, micros_per_second);
    if (!(span_->begin_seconds <= s && s < span_->end_seconds)) *span_ = zone_span_at(*in_.zone, s);
    return s + span_->offset_seconds;
  }

  Value eval_arith(const Node& n);

  const CompiledExpr& x_;
  const EvalInput& in_;
  ZoneSpan own_span_;
  ZoneSpan* span_;
  const Item* item_ = nullptr;
  std::int64_t steps_ = 0;
  std::string_view failure_;
};


template <typename F>
class LambdaVisitor final : public ItemVisitor {
 public:
  explicit LambdaVisitor(F f) : f_(f) {}
  bool visit(const Item& it) const override { return f_(it); }

 private:
  F f_;
};

Value Evaluator::eval_arith(const Node& n) {
  switch (n.op) {
    case Op::add_int:
    case Op::sub_int:
    case Op::mul_int:
    case Op::mod_int: {
      Value l = eval(n.a);
      Value r = eval(n.b);
      if (failed()) return {};
      std::int64_t out = 0;
      bool overflow = false;
      if (n.op == Op::add_int) overflow = __builtin_add_overflow(l.i, r.i, &out);
      if (n.op == Op::sub_int) overflow = __builtin_sub_overflow(l.i, r.i, &out);
      if (n.op == Op::mul_int) overflow = __builtin_mul_overflow(l.i, r.i, &out);
      if (n.op == Op::mod_int) {
        if (r.i == 0) return fail(kDivisionByZero);
        out = r.i == -1 ? 0 : l.i % r.i;  // INT64_MIN % -1 is UB in C++; the answer is 0
      }
      return overflow ? fail(kOverflow) : integer(out);
    }
    case Op::neg_int: {
      Value v = eval(n.a);
      if (failed()) return {};
      return v.i == INT64_MIN ? fail(kOverflow) : integer(-v.i);
    }
    case Op::add_decimal:
    case Op::sub_decimal:
    case Op::mul_decimal:
    case Op::div_decimal:
    case Op::mod_decimal: {
      Value l = eval(n.a);
      Value r = eval(n.b);
      if (failed()) return {};
      Decimal a = Decimal::from_units(l.i);
      Decimal b = Decimal::from_units(r.i);
      std::optional<Decimal> out;
      switch (n.op) {
        case Op::add_decimal: out = a.add(b); break;
        case Op::sub_decimal: out = a.sub(b); break;
        case Op::mul_decimal: out = a.mul(b); break;
        case Op::div_decimal:
          if (r.i == 0) return fail(kDivisionByZero);
          out = a.div(b);
          break;
        default:
          if (r.i == 0) return fail(kDivisionByZero);
          out = Decimal::from_units(r.i == -1 ? 0 : l.i % r.i);  // same scale: exact
          break;
      }
      return out ? decimal(out->units()) : fail(kOverflow);
    }
    case Op::neg_decimal: {
      Value v = eval(n.a);
      if (failed()) return {};
      return v.i == INT64_MIN ? fail(kOverflow) : decimal(-v.i);
    }
    case Op::add_time_duration:
    case Op::sub_time_duration:
    case Op::sub_time_time:
    case Op::add_duration:
    case Op::sub_duration: {
      Value l = eval(n.a);
      Value r = eval(n.b);
      if (failed()) return {};
      std::int64_t out = 0;
      bool add = n.op == Op::add_time_duration || n.op == Op::add_duration;
      bool overflow = add ? __builtin_add_overflow(l.i, r.i, &out)
                          : __builtin_sub_overflow(l.i, r.i, &out);
      if (overflow) return fail(kOverflow);
      bool is_time = n.op == Op::add_time_duration || n.op == Op::sub_time_duration;
      return of_kind(is_time ? Kind::time : Kind::duration, out);
    }
    case Op::neg_duration: {
      Value v = eval(n.a);
      if (failed()) return {};
      return v.i == INT64_MIN ? fail(kOverflow) : of_kind(Kind::duration, -v.i);
    }
    case Op::weekday_time:
    case Op::hour_time:
    case Op::month_time:
    case Op::day_time: {
      Value v = eval(n.a);
      if (failed()) return {};
      auto local = local_seconds(v.i);
      if (!local) return {};
      std::int64_t days = floor_div(*local, 86'400);
      if (n.op == Op::weekday_time) return text(kWeekdays[weekday_from_days(days) - 1]);
      if (n.op == Op::hour_time) return integer((*local - days * 86'400) / 3'600);
      CivilDate d = civil_from_days(days);
      return integer(n.op == Op::month_time ? d.month : d.day);
    }
    case Op::weekday_date:
    case Op::month_date:
    case Op::day_date: {
      Value v = eval(n.a);
      if (failed()) return {};
      // A missing date (no birthday): weekday '' and month/day 0, so comparisons with a
      // real weekday, month or day are false.
      if (v.kind == Kind::missing) return n.op == Op::weekday_date ? text("") : integer(0);
      if (n.op == Op::weekday_date) return text(kWeekdays[weekday_from_days(v.i) - 1]);
      CivilDate d = civil_from_days(v.i);
      return integer(n.op == Op::month_date ? d.month : d.day);
    }
    case Op::days_since_time: {
      Value v = eval(n.a);
      if (failed()) return {};
      std::int64_t since = 0;
      if (__builtin_sub_overflow(in_.now.micros, v.i, &since)) return fail(kOverflow);
      return integer(since / micros_per_day);  // whole days, toward zero
    }
    case Op::list_any:
    case Op::list_all: {
      bool want = n.op == Op::list_any;  // the value that decides
      bool found = false;
      auto f = [&](const Item& it) {
        bool t = eval_on(n.b, it).i != 0;
        if (failed()) return false;
        if (t == want) {
          found = true;
          return false;
        }
        return true;
      };
      iterate(n.a, LambdaVisitor<decltype(f)>(f));
      if (failed()) return {};
      return boolean(want ? found : !found);
    }
    case Op::list_count: {
      std::int64_t count = 0;
      auto f = [&](const Item& it) {
        bool t = eval_on(n.b, it).i != 0;
        if (failed()) return false;
        count += t ? 1 : 0;  // bounded by the step budget
        return true;
      };
      iterate(n.a, LambdaVisitor<decltype(f)>(f));
      if (failed()) return {};
      return integer(count);
    }
    case Op::sum_int:
    case Op::sum_decimal: {
      std::int64_t total = 0;
      auto f = [&](const Item& it) {
        std::int64_t v = eval_on(n.b, it).i;
        if (failed()) return false;
        if (__builtin_add_overflow(total, v, &total)) {
          fail(kOverflow);
          return false;
        }
        return true;
      };
      iterate(n.a, LambdaVisitor<decltype(f)>(f));
      if (failed()) return {};
      return n.op == Op::sum_int ? integer(total) : decimal(total);
    }
    case Op::if_then_else: {
      Value c = eval(n.a);
      if (failed()) return {};
      return eval(c.i != 0 ? n.b : n.c);
    }
    case Op::min_int:
    case Op::max_int:
    case Op::min_decimal:
    case Op::max_decimal: {
      Value l = eval(n.a);
      Value r = eval(n.b);
      if (failed()) return {};
      bool min = n.op == Op::min_int || n.op == Op::min_decimal;
      return (l.i < r.i) == min ? l : r;
    }
    case Op::floor_decimal:
    case Op::round_decimal:
    case Op::ceil_decimal: {
      Value v = eval(n.a);
      if (failed()) return {};
      Decimal d = Decimal::from_units(v.i);
      return integer(n.op == Op::floor_decimal   ? d.floor()
                     : n.op == Op::round_decimal ? d.round()
                                                 : d.ceil());
    }
    case Op::lower_text: {
      Value v = eval(n.a);
      v.lowered = true;
      return v;
    }
    case Op::starts_with_text:
    case Op::contains_text: {
      Value s = eval(n.a);
      Value p = eval(n.b);
      if (failed()) return {};
      return boolean(n.op == Op::starts_with_text ? starts_with(s, p) : contains(s, p));
    }
    case Op::has_member_attr: return boolean(in_.member->attributes.contains(key(n)));
    case Op::has_event_attr: return boolean(event().attributes.contains(key(n)));
    default: break;
  }
  ENCORE_ASSERT(false && "an operation the checker does not produce");
  return {};
}

// ---- Explain ----------------------------------------------------------------------

std::string format_value(const Value& v) {
  switch (v.kind) {
    case Kind::missing: return "missing";
    case Kind::boolean: return v.i != 0 ? "true" : "false";
    case Kind::integer: return std::to_string(v.i);
    case Kind::decimal: {
      Decimal d = Decimal::from_units(v.i);
      return v.i % 10'000 == 0 ? d.to_string_fixed(2) : d.to_string();  // money reads 59.90
    }
    case Kind::text: {
      std::string out = "'";
      for (std::size_t i = 0; i < v.s.size(); ++i) out += at(v, i);
      return out + "'";
    }
    case Kind::time: return format_rfc3339(Timestamp{v.i});
    case Kind::date: return format_civil_date(civil_from_days(v.i));
    case Kind::duration: {
      struct Unit {
        std::int64_t micros;
        const char* suffix;
      };
      for (Unit u : {Unit{micros_per_day, "d"}, Unit{3'600 * micros_per_second, "h"},
                     Unit{60 * micros_per_second, "m"}, Unit{micros_per_second, "s"}}) {
        if (v.i % u.micros == 0) return std::to_string(v.i / u.micros) + u.suffix;
      }
      return Decimal::from_units(v.i).to_string() + "s";
    }
  }
  return "?";
}

bool is_shown(Op op) {
  switch (op) {
    case Op::event_type:
    case Op::event_time:
    case Op::event_channel:
    case Op::event_store:
    case Op::event_order_id:
    case Op::event_total:
    case Op::event_attr:
    case Op::member_id:
    case Op::member_tier:
    case Op::member_points:
    case Op::member_lifetime_points:
    case Op::member_visits:
    case Op::member_days_since_last_purchase:
    case Op::member_enrolled_days:
    case Op::member_birthday:
    case Op::member_attr:
    case Op::base:
    case Op::weekday_time:
    case Op::weekday_date:
    case Op::hour_time:
    case Op::month_time:
    case Op::month_date:
    case Op::day_time:
    case Op::day_date:
    case Op::days_since_time:
    case Op::list_any:
    case Op::list_all:
    case Op::list_count:
    case Op::sum_int:
    case Op::sum_decimal: return true;
    default: return false;
  }
}

bool is_list_function(Op op) {
  return op == Op::list_any || op == Op::list_all || op == Op::list_count ||
         op == Op::list_filter || op == Op::sum_int || op == Op::sum_decimal;
}

// The sub-expressions worth showing in a part: names and calls, not inside a list
// function's per-item argument (which has no single value).
void collect(const CompiledExpr& x, std::uint32_t i, bool top, std::vector<std::uint32_t>& out) {
  const Node& n = x.nodes[i];
  if (!top && is_shown(n.op)) {
    out.push_back(i);
    return;
  }
  if (is_list_function(n.op)) {
    collect(x, n.a, false, out);
    return;
  }
  for (std::uint32_t c : {n.a, n.b, n.c}) {
    if (c != no_node && x.nodes[c].op != Op::const_list) collect(x, c, false, out);
  }
}

void flatten(const CompiledExpr& x, std::uint32_t i, Op op, std::vector<std::uint32_t>& out) {
  const Node& n = x.nodes[i];
  if (n.op == op) {
    flatten(x, n.a, op, out);
    flatten(x, n.b, op, out);
  } else {
    out.push_back(i);
  }
}

std::uint32_t skip_casts(const CompiledExpr& x, std::uint32_t i) {
  while (x.nodes[i].op == Op::any_to_bool || x.nodes[i].op == Op::any_to_number) {
    i = x.nodes[i].a;
  }
  return i;
}

}  // namespace

EvalOutcome evaluate_expression(const CompiledExpr& expr, const EvalInput& input) {
  ENCORE_ASSERT(input.member != nullptr && input.zone != nullptr);
  ENCORE_ASSERT(expr.context == ExprContext::member_only || input.event != nullptr);
  Evaluator e(expr, input);
  Value v = e.eval(expr.root);
  EvalOutcome out;
  if (e.failed()) {
    out.failure = e.failure();
    return out;
  }
  if (expr.result == ExprResult::boolean) {
    out.ok = true;
    out.truth = v.i != 0;
    return out;
  }
  if (v.kind == Kind::integer) {
    auto d = Decimal::from_integer(v.i);
    if (!d) {
      out.failure = kOverflow;
      return out;
    }
    out.number = *d;
  } else {
    out.number = Decimal::from_units(v.i);
  }
  out.ok = true;
  return out;
}

std::string explain_expression(const CompiledExpr& expr, const EvalInput& input) {
  ENCORE_ASSERT(input.member != nullptr && input.zone != nullptr);
  ENCORE_ASSERT(expr.context == ExprContext::member_only || input.event != nullptr);
  bool condition = expr.result == ExprResult::boolean;
  std::uint32_t root = skip_casts(expr, expr.root);
  Op chain = expr.nodes[root].op;
  std::vector<std::uint32_t> parts;
  if (condition && (chain == Op::logic_and || chain == Op::logic_or)) {
    flatten(expr, root, chain, parts);
  } else {
    parts.push_back(expr.root);
  }
  std::string out;
  for (std::uint32_t part : parts) {
    if (!out.empty()) out += "; ";
    const Node& n = expr.nodes[part];
    std::string_view source = expr.source(expr.nodes[skip_casts(expr, part)]);
    out += source;
    Evaluator e(expr, input);
    Value v = e.eval(part);
    if (e.failed()) {
      out += " could not be evaluated: ";
      out += e.failure();
    } else if (n.type == Type::boolean) {
      out += v.i != 0 ? " was true" : " was false";
    } else {
      out += " = " + format_value(v);
    }
    std::vector<std::uint32_t> shown;
    collect(expr, skip_casts(expr, part), true, shown);
    std::vector<std::string_view> seen;
    std::string values;
    for (std::uint32_t s : shown) {
      std::string_view name = expr.source(expr.nodes[s]);
      if (name == source || std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
      seen.push_back(name);
      Evaluator se(expr, input);
      Value sv = se.eval(s);
      if (!values.empty()) values += ", ";
      values += std::string(name) + " = ";
      values += se.failed() ? "(" + std::string(se.failure()) + ")" : format_value(sv);
    }
    if (!values.empty()) out += " (" + values + ")";
    if (e.failed()) break;
    bool decided = chain == Op::logic_and ? v.i == 0 : chain == Op::logic_or && v.i != 0;
    if (parts.size() > 1 && decided) break;
  }
  return out;
}

}  // namespace encore::rules::internal
