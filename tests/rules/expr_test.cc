// Proves the expression language of rule files (rules/internal/expr.h): every operator
// and function on hand-made members and events, every compile error's exact text and
// offset, the limits, the defined results (division by zero, overflow, step budget), time
// zones, attributes of each kind, and the 20 benchmark offers' conditions and awards.
#include <date/tz.h>
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "rules/internal/expr.h"
#include "rules/limits.h"

using namespace encore;
using namespace encore::rules;
using namespace encore::rules::internal;

// Counts heap allocations while `counting` is set, to prove evaluation allocates nothing.
namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

// Not under AddressSanitizer, which has its own operator new and checks its pairing.
#if !defined(__SANITIZE_ADDRESS__)
#define ENCORE_COUNTS_ALLOCATIONS 1
namespace {
void* counted_malloc(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace
void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#endif

namespace {

Timestamp at(std::string_view rfc3339) { return parse_rfc3339(rfc3339).value(); }
Decimal dec(std::string_view text) { return Decimal::parse(text).value(); }

Item item(std::string sku, std::string category, std::int64_t quantity,
          std::string_view unit_price) {
  Item it;
  it.sku = std::move(sku);
  it.category = std::move(category);
  it.quantity = quantity;
  it.unit_price = dec(unit_price);
  it.total = it.unit_price.mul(Decimal::from_integer(quantity).value()).value();
  return it;
}

// A member, an event and a zone to evaluate against; tests change the fields they need.
struct World {
  MemberView member;
  Event event;
  std::int64_t base = 0;
  Timestamp now = at("2026-11-28T12:00:00Z");
  const date::time_zone* zone = date::locate_zone("UTC");

  World() {
    member.id = "m-1";
    member.tier = "gold";
    member.points = 1200;
    member.lifetime_points = 5400;
    member.visits = 3;
    member.days_since_last_purchase = 10;
    member.enrolled_days = 400;
    member.birthday = CivilDate{1990, 5, 14};
    event.type = "purchase";
    event.time = at("2026-11-28T10:30:00Z");  // a Saturday
    event.channel = "store";
    event.store = "s-26";
    event.order_id = "o-1";
    event.total = dec("59.90");
    event.items = {item("VIN-1", "vinyl", 2, "20.00"), item("CD-1", "cd", 1, "19.90")};
    base = 59;
  }

  EvalInput input() const { return EvalInput{&member, &event, base, now, zone, nullptr}; }
};

std::shared_ptr<const CompiledExpr> compile_ok(std::string_view text, ExprResult result,
                                               ExprContext context = ExprContext::event) {
  CompileOutput out = compile_expression(text, context, result);
  INFO("expression: " << text);
  for (const ExprError& e : out.errors) INFO(e.offset << ": " << e.message);
  REQUIRE(out.errors.empty());
  REQUIRE(out.expr != nullptr);
  return out.expr;
}

bool cond(const World& w, std::string_view text, ExprContext context = ExprContext::event) {
  auto expr = compile_ok(text, ExprResult::boolean, context);
  EvalOutcome out = evaluate_expression(*expr, w.input());
  INFO("expression: " << text << " failure: " << out.failure);
  REQUIRE(out.ok);
  return out.truth;
}

bool cond(std::string_view text) { return cond(World{}, text); }

std::string number(const World& w, std::string_view text) {
  auto expr = compile_ok(text, ExprResult::number);
  EvalOutcome out = evaluate_expression(*expr, w.input());
  INFO("expression: " << text << " failure: " << out.failure);
  REQUIRE(out.ok);
  return out.number.to_string();
}

std::string number(std::string_view text) { return number(World{}, text); }

// The failure of an evaluation that must fail.
std::string failure(const World& w, std::string_view text,
                    ExprResult result = ExprResult::boolean) {
  auto expr = compile_ok(text, result);
  EvalOutcome out = evaluate_expression(*expr, w.input());
  INFO("expression: " << text);
  CHECK(!out.ok);
  return std::string(out.failure);
}

// "offset: message" of every compile error, joined by " | ".
std::string errors(std::string_view text, ExprResult result = ExprResult::boolean,
                   ExprContext context = ExprContext::event) {
  CompileOutput out = compile_expression(text, context, result);
  CHECK(out.expr == nullptr);
  std::string all;
  for (const ExprError& e : out.errors) {
    if (!all.empty()) all += " | ";
    all += std::to_string(e.offset) + ": " + e.message;
  }
  return all;
}

}  // namespace

TEST_CASE("arithmetic follows the usual precedence, and `/` always gives an exact decimal") {
  CHECK(cond("1 + 2 * 3 == 7"));
  CHECK(cond("(1 + 2) * 3 == 9"));
  CHECK(cond("2 - 3 - 4 == -5"));
  CHECK(cond("10 / 4 * 2 == 5"));
  CHECK(cond("7 % 3 == 1"));
  CHECK(cond("-7 % 3 == -1"));
  CHECK(cond("7.5 % 2 == 1.5"));
  CHECK(cond("-(-3) == 3"));
  CHECK(cond("- member.visits == -3"));
  CHECK(cond("0.1 + 0.2 == 0.3"));
  CHECK(cond("1 / 3 == 0.333333"));
  CHECK(cond("2 * 1.5 == 3"));
  CHECK(number("7 / 2") == "3.5");
  CHECK(number("base * 2") == "118");
  CHECK(number("floor(base * 0.5)") == "29");
  CHECK(number("event.total - 0.9") == "59");
  CHECK(number("-event.total") == "-59.9");
}

TEST_CASE("comparisons between whole numbers and decimals are exact") {
  CHECK(cond("2 == 2.0"));
  CHECK(cond("2 != 2.000001"));
  CHECK(cond("2 < 2.000001"));
  CHECK(cond("event.total >= 59.9"));
  CHECK_FALSE(cond("event.total >= 60"));
  CHECK(cond("event.total > 59"));
  CHECK(cond("9223372036854775807 > 9223372036854.775807"));
  CHECK(cond("member.points <= 1200 && member.points >= 1200 && member.points != 1199"));
}

TEST_CASE("rounding functions, min and max") {
  CHECK(number("floor(2.7)") == "2");
  CHECK(number("floor(-2.1)") == "-3");
  CHECK(number("ceil(2.1)") == "3");
  CHECK(number("ceil(-2.7)") == "-2");
  CHECK(number("round(2.5)") == "3");
  CHECK(number("round(-2.5)") == "-3");
  CHECK(number("round(2.49)") == "2");
  CHECK(number("floor(7)") == "7");
  CHECK(number("min(3, 5)") == "3");
  CHECK(number("max(3, 5)") == "5");
  CHECK(number("max(3, 2.5)") == "3");
  CHECK(number("min(base, 50)") == "50");
  CHECK(number("max(event.total, 100)") == "100");
}

TEST_CASE("logic short-circuits, so the skipped side cannot fail") {
  CHECK(cond("true && !false"));
  CHECK(cond("false || true"));
  CHECK_FALSE(cond("true && false"));
  CHECK(cond("!(1 == 2)"));
  CHECK_FALSE(cond("false && 1 / 0 == 1"));
  CHECK(cond("true || 1 % 0 == 1"));
  CHECK(cond("member.tier == 'gold' || member.tier == 'silver' && false"));  // && binds tighter
}

TEST_CASE("text compares by bytes; lower, starts_with and contains work on ASCII") {
  World w;
  w.event.channel = "App";
  w.event.store = "Store-North-12";
  CHECK(cond(w, "'a' == \"a\""));
  CHECK(cond(w, "'a' < 'b' && 'B' < 'a' && 'ab' > 'a'"));
  CHECK(cond(w, R"('it\'s' == "it's")"));
  CHECK(cond(w, R"('back\\slash' == "back\\slash")"));
  CHECK_FALSE(cond(w, "event.channel == 'app'"));
  CHECK(cond(w, "lower(event.channel) == 'app'"));
  CHECK(cond(w, "lower(event.channel) in ['app', 'web']"));
  CHECK(cond(w, "lower(event.channel) == lower('APP')"));
  CHECK(cond(w, "starts_with(lower(event.store), 'store-')"));
  CHECK_FALSE(cond(w, "starts_with(event.store, 'store-')"));
  CHECK(cond(w, "contains(lower(event.store), 'north')"));
  CHECK(cond(w, "contains(event.store, 'North')"));
  CHECK_FALSE(cond(w, "contains(event.store, 'South')"));
  CHECK(cond(w, "contains(event.store, '')"));
  CHECK_FALSE(cond(w, "starts_with('ab', 'abc')"));
  CHECK(cond(w, "lower('ÉCOLE') == 'École'"));  // only A-Z change
}

TEST_CASE("`in` looks a value up in a literal list of text or numbers") {
  CHECK(cond("event.channel in ['online', 'store']"));
  CHECK_FALSE(cond("event.channel in ['online', 'phone']"));
  CHECK_FALSE(cond("event.channel in []"));
  CHECK(cond("member.visits in [1, 2, 3]"));
  CHECK(cond("2.0 in [1, 2]"));
  CHECK(cond("-1 in [-1, 5]"));
  CHECK(cond("event.total in [59.9, 100]"));
  CHECK_FALSE(cond("member.visits in [1.5, 2.5]"));
  // Beyond 16 values the list is searched by bisection.
  std::string texts = "[";
  std::string numbers = "[";
  for (int i = 0; i < 40; ++i) {
    texts += (i ? ", 's-" : "'s-") + std::to_string(i) + "'";
    numbers += (i ? ", " : "") + std::to_string(i * 3);
  }
  texts += "]";
  numbers += "]";
  CHECK(cond("event.store in " + texts));
  CHECK_FALSE(cond("event.order_id in " + texts));
  CHECK(cond("member.visits in " + numbers));
  CHECK(cond("member.points - 1200 in " + numbers));
  CHECK_FALSE(cond("member.visits + 1 in " + numbers));
  CHECK(cond("lower('S-39') in " + texts));
}

TEST_CASE("names read the member, the event and base") {
  World w;
  w.event.attributes["coupon"] = std::string("X1");
  CHECK(cond(w, "event.type == 'purchase' && event.channel == 'store' && event.store == 's-26'"));
  CHECK(cond(w, "event.order_id == 'o-1' && event.total == 59.90"));
  CHECK(cond(w, "member.id == 'm-1' && member.tier == 'gold' && member.points == 1200"));
  CHECK(cond(w, "member.lifetime_points == 5400 && member.visits == 3"));
  CHECK(cond(w, "member.days_since_last_purchase == 10 && member.enrolled_days == 400"));
  CHECK(cond(w, "base == 59"));
  w.event.total.reset();
  w.base = 0;
  CHECK(cond(w, "event.total == 0 && base == 0"));  // no basket
}

TEST_CASE("list functions bind `item` to each item") {
  World w;
  w.event.items.push_back(item("VIN-2", "vinyl", 1, "35.50"));
  CHECK(cond(w, "any(event.items, item.category == 'vinyl')"));
  CHECK_FALSE(cond(w, "any(event.items, item.category == 'tickets')"));
  CHECK(cond(w, "all(event.items, item.total > 10)"));
  CHECK_FALSE(cond(w, "all(event.items, item.category == 'vinyl')"));
  CHECK(cond(w, "count(event.items, true) == 3"));
  CHECK(cond(w, "count(event.items, item.category == 'vinyl') == 2"));
  CHECK(cond(w, "count(filter(event.items, item.quantity > 1), true) == 1"));
  CHECK(cond(w, "sum(event.items, item.quantity) == 4"));
  CHECK(number(w, "sum(event.items, item.total)") == "95.4");
  CHECK(number(w, "sum(filter(event.items, item.category == 'vinyl'), item.total) * 2") ==
        "151");
  CHECK(number(w, "sum(event.items, item.unit_price * item.quantity)") == "95.4");
  CHECK(cond(w, "any(filter(event.items, item.category == 'vinyl'), item.sku == 'VIN-2')"));
  CHECK(cond(w, "count(filter(filter(event.items, item.category == 'vinyl'), "
                "item.quantity == 1), true) == 1"));
  CHECK(cond(w, "count(if(member.tier == 'gold', event.items, "
                "filter(event.items, false)), true) == 3"));
  // The inner `item` hides the outer one.
  CHECK(cond(w, "all(event.items, count(event.items, item.total > 0) == 3)"));
  CHECK(cond(w, "any(event.items, starts_with(item.sku, 'CD'))"));
  w.event.items.clear();
  CHECK_FALSE(cond(w, "any(event.items, true)"));
  CHECK(cond(w, "all(event.items, false)"));
  CHECK(cond(w, "count(event.items, true) == 0"));
  CHECK(number(w, "sum(event.items, item.total)") == "0");
}

TEST_CASE("if chooses between two values of one kind") {
  World w;
  CHECK(number(w, "if(member.tier == 'superfan', 200, 100)") == "100");
  w.member.tier = "superfan";
  CHECK(number(w, "if(member.tier == 'superfan', 200, 100)") == "200");
  CHECK(number(w, "if(false, 1, 2.5)") == "2.5");
  CHECK(cond(w, "if(true, 'a', 'b') == 'a'"));
  CHECK(cond(w, "if(false, 1 / 0 == 1, true)"));  // the branch not taken is not evaluated
}

TEST_CASE("times, durations and the calendar functions in the program's time zone") {
  World w;
  w.event.time = at("2026-11-28T03:30:00Z");  // Saturday 03:30 UTC, Friday 22:30 in New York
  CHECK(cond(w, "weekday(event.time) == 'sat' && hour(event.time) == 3"));
  CHECK(cond(w, "month(event.time) == 11 && day(event.time) == 28"));
  w.zone = date::locate_zone("America/New_York");
  CHECK(cond(w, "weekday(event.time) == 'fri' && hour(event.time) == 22"));
  CHECK(cond(w, "day(event.time) == 27"));
  w.event.time = at("2026-12-01T02:00:00Z");
  CHECK(cond(w, "month(event.time) == 11 && day(event.time) == 30"));
  // Daylight saving time starts in New York on 2026-03-08 at 02:00 local (07:00 UTC).
  w.event.time = at("2026-03-08T06:30:00Z");
  CHECK(cond(w, "hour(event.time) == 1"));
  w.event.time = at("2026-03-08T07:30:00Z");
  CHECK(cond(w, "hour(event.time) == 3"));
  CHECK(cond(w, "hour(event.time - 1h) == 1 && hour(event.time + 1d) == 3"));
  // A zone cache shared across evaluations and spans gives the same answers.
  ZoneSpan cache;
  EvalInput in = w.input();
  in.zone_cache = &cache;
  auto hour = compile_ok("hour(event.time)", ExprResult::number);
  CHECK(evaluate_expression(*hour, in).number.to_string() == "3");
  w.event.time = at("2026-03-08T06:30:00Z");
  CHECK(evaluate_expression(*hour, in).number.to_string() == "1");
  w.event.time = at("2026-07-01T16:00:00Z");
  CHECK(evaluate_expression(*hour, in).number.to_string() == "12");

  // Beyond 2037 (the end of the zone files' listed transitions) the rules go on.
  w.event.time = at("2040-07-01T16:00:00Z");
  CHECK(evaluate_expression(*hour, in).number.to_string() == "12");
  w.event.time = at("2040-01-15T16:00:00Z");
  CHECK(evaluate_expression(*hour, in).number.to_string() == "11");
  w.event.time = at("2038-03-14T06:59:59Z");  // the second Sunday of March 2038
  CHECK(cond(w, "hour(event.time) == 1"));
  w.event.time = at("2038-03-14T07:00:00Z");
  CHECK(cond(w, "hour(event.time) == 3"));
  w.event.time = at("2099-11-01T05:59:59Z");  // the first Sunday of November 2099
  CHECK(cond(w, "hour(event.time) == 1 && day(event.time) == 1"));
  w.event.time = at("2099-11-01T06:00:00Z");
  CHECK(cond(w, "hour(event.time) == 1 && weekday(event.time) == 'sun'"));
  w.event.time = at("2099-10-31T12:00:00Z");
  CHECK(cond(w, "hour(event.time) == 8"));
  w.zone = date::locate_zone("Asia/Tokyo");  // no daylight saving time: the files suffice
  w.event.time = at("2045-06-30T15:00:00Z");
  CHECK(cond(w, "hour(event.time) == 0 && day(event.time) == 1 && month(event.time) == 7"));
  w.zone = date::locate_zone("Europe/Paris");
  w.event.time = at("2050-07-14T10:00:00Z");
  CHECK(cond(w, "hour(event.time) == 12"));
  w.event.time = at("2050-12-14T10:00:00Z");
  CHECK(cond(w, "hour(event.time) == 11"));

  w.zone = date::locate_zone("UTC");
  w.event.time = at("2026-11-28T10:30:00Z");
  w.now = at("2026-12-01T10:29:59Z");
  CHECK(cond(w, "days_since(event.time) == 2"));
  w.now = at("2026-12-01T10:30:00Z");
  CHECK(cond(w, "days_since(event.time) == 3"));
  CHECK(cond(w, "days_since(event.time + 4d) == -1"));
  CHECK(cond(w, "event.time + 30d > event.time && event.time - 12h < event.time"));
  CHECK(cond(w, "30d + event.time == event.time + 720h"));
  CHECK(cond(w, "event.time - (event.time - 2h) == 2h"));
  CHECK(cond(w, "1d == 24h && 1h == 60m && 1m == 60s && -1d < 0s && 1d - 1h == 23h"));
  CHECK(cond(w, "weekday(event.time + 1d) == 'sun' && weekday(event.time + 2d) == 'mon'"));
}

TEST_CASE("a member's birthday is a date; a missing birthday gives month 0, day 0, weekday ''") {
  World w;
  CHECK(cond(w, "month(member.birthday) == 5 && day(member.birthday) == 14"));
  CHECK(cond(w, "weekday(member.birthday) == 'mon'"));
  CHECK(cond(w, "member.birthday == member.birthday"));
  w.event.time = at("2026-05-20T12:00:00Z");
  CHECK(cond(w, "month(member.birthday) == month(event.time)"));
  w.member.birthday.reset();
  CHECK_FALSE(cond(w, "month(member.birthday) == month(event.time)"));
  CHECK(cond(w, "month(member.birthday) == 0 && day(member.birthday) == 0"));
  CHECK(cond(w, "weekday(member.birthday) == ''"));
  CHECK_FALSE(cond(w, "member.birthday == member.birthday"));
}

TEST_CASE("attributes: a comparison with a value of another kind is false, != is true") {
  World w;
  w.member.attributes["segment"] = std::string("students");
  w.member.attributes["age"] = std::int64_t{19};
  w.member.attributes["score"] = dec("4.5");
  w.member.attributes["vip"] = true;
  w.event.attributes["gift"] = false;
  w.event.attributes["weight"] = dec("2.25");

  CHECK(cond(w, "member.attributes.segment == 'students'"));
  CHECK(cond(w, "member.attributes.segment in ['students', 'staff']"));
  CHECK(cond(w, "lower(member.attributes.segment) == 'students'"));
  CHECK(cond(w, "starts_with(member.attributes.segment, 'stu')"));
  CHECK(cond(w, "member.attributes.age >= 18 && member.attributes.age == 19.0"));
  CHECK(cond(w, "member.attributes.age in [19, 20]"));
  CHECK(cond(w, "member.attributes.score > 4 && member.attributes.score < 5"));
  CHECK(cond(w, "member.attributes.vip == true && member.attributes.vip"));
  CHECK_FALSE(cond(w, "event.attributes.gift"));
  CHECK(cond(w, "!event.attributes.gift"));
  CHECK(cond(w, "member.attributes.age == member.attributes.age"));

  // Another kind: == and ordering are false, != is true; nothing fails.
  CHECK_FALSE(cond(w, "member.attributes.segment == 5"));
  CHECK(cond(w, "member.attributes.segment != 5"));
  CHECK_FALSE(cond(w, "member.attributes.segment > 5"));
  CHECK_FALSE(cond(w, "member.attributes.age == '19'"));
  CHECK_FALSE(cond(w, "member.attributes.vip == 1"));
  CHECK_FALSE(cond(w, "member.attributes.age in ['19']"));
  CHECK_FALSE(cond(w, "member.attributes.segment == member.attributes.age"));
  // Missing: the same, and has() tells.
  CHECK_FALSE(cond(w, "member.attributes.nope == 'x'"));
  CHECK(cond(w, "member.attributes.nope != 'x'"));
  CHECK_FALSE(cond(w, "member.attributes.nope < 1"));
  CHECK_FALSE(cond(w, "member.attributes.nope"));
  CHECK(cond(w, "!member.attributes.nope"));
  CHECK_FALSE(cond(w, "member.attributes.segment"));  // text used as a condition: false
  CHECK(cond(w, "has(member.attributes.segment) && !has(member.attributes.nope)"));
  CHECK(cond(w, "has(event.attributes.gift) && !has(event.attributes.segment)"));

  // Arithmetic: numbers work (as decimals); anything else makes the evaluation fail.
  CHECK(number(w, "member.attributes.age * 10") == "190");
  CHECK(number(w, "event.attributes.weight * 2 + member.attributes.score") == "9");
  CHECK(number(w, "member.attributes.age") == "19");
  CHECK(number(w, "if(member.attributes.vip, 50, 0)") == "50");
  CHECK(number(w, "sum(event.items, member.attributes.age)") == "38");
  CHECK(failure(w, "member.attributes.segment + 1 > 0") ==
        "an attribute used as a number is not a number");
  CHECK(failure(w, "member.attributes.nope * 2", ExprResult::number) ==
        "an attribute used as a number is not a number");
  CHECK(failure(w, "lower(member.attributes.age) == 'x'") ==
        "an attribute used as text is not text");
}

TEST_CASE("defined results: division by zero, overflow, times out of range fail the evaluation") {
  World w;
  CHECK(failure(w, "1 / 0 == 1") == "division by zero");
  CHECK(failure(w, "member.visits % 0 == 1") == "division by zero");
  CHECK(failure(w, "event.total % 0 == 1") == "division by zero");
  CHECK(failure(w, "base / (member.visits - 3)", ExprResult::number) == "division by zero");
  CHECK(failure(w, "9223372036854775807 + member.visits > 0") == "overflow");
  CHECK(failure(w, "-9223372036854775807 - member.visits < 0") == "overflow");
  w.member.points = 4'000'000'000'000;
  CHECK(failure(w, "member.points * member.points > 0") == "overflow");
  CHECK(failure(w, "member.points * 10 + 0.5 > 0") == "overflow");  // beyond Decimal
  CHECK(failure(w, "member.points * 10", ExprResult::number) == "overflow");
  w.event.total = dec("4000000");
  CHECK(failure(w, "event.total * event.total > 0") == "overflow");
  CHECK(failure(w, "event.time + 100000000d + 100000000d > event.time") == "overflow");
  CHECK(failure(w, "weekday(event.time + 3000000d) == 'mon'") ==
        "a time outside the years 0000-9999");
  w.member.points = INT64_MIN;
  CHECK(failure(w, "-member.points > 0") == "overflow");
  CHECK(cond(w, "member.points % -1 == 0"));  // no UB on INT64_MIN % -1
  CHECK(cond(w, "member.points + 1 < 0"));
}

TEST_CASE("the step budget bounds an evaluation, counting list iterations") {
  World w;
  w.event.items.assign(static_cast<std::size_t>(expression_steps_max), item("X", "cd", 1, "1"));
  CHECK(failure(w, "sum(event.items, item.total) > 0") == "step budget exhausted");
  w.event.items.resize(200);
  CHECK(failure(w, "any(event.items, count(event.items, item.total > 5) > 0)") ==
        "step budget exhausted");
  w.event.items.resize(100);
  CHECK(number(w, "sum(event.items, item.quantity)") == "100");
}

TEST_CASE("evaluation allocates nothing on the heap") {
  World w;
  w.member.attributes["segment"] = std::string("a long segment name beyond small strings");
  std::vector<std::shared_ptr<const CompiledExpr>> exprs;
  for (const char* text :
       {"any(event.items, item.category == 'vinyl') && weekday(event.time) in ['sat', 'sun']",
        "lower(member.attributes.segment) in ['x', 'a long segment name beyond small strings']",
        "count(filter(event.items, item.total > 1), true) >= 2 || month(member.birthday) == 1",
        "sum(event.items, item.total) * 2 > base"}) {
    exprs.push_back(compile_ok(text, ExprResult::boolean));
  }
  EvalInput in = w.input();
  in.zone = date::locate_zone("America/New_York");
  evaluate_expression(*exprs[0], in);  // the zone's first lookup may load it
  counting = true;
  allocations = 0;
  int truths = 0;
  for (const auto& e : exprs) truths += evaluate_expression(*e, in).truth ? 1 : 0;
  counting = false;
#if defined(ENCORE_COUNTS_ALLOCATIONS)
  CHECK(allocations.load() == 0);
#endif
  CHECK(truths == 4);
}

TEST_CASE("type errors name the value, its kind and what was needed, at the right offset") {
  CHECK(errors("event.channel == 5") ==
        "0: `event.channel` is text and cannot be compared with a number");
  CHECK(errors("5 == event.channel") ==
        "5: `event.channel` is text and cannot be compared with a number");
  CHECK(errors("event.time > 5") == "0: `event.time` is a time and cannot be compared with a "
                                    "number");
  CHECK(errors("member.tier == ['a']") ==
        "0: `member.tier` is text and cannot be compared with a list; to look for a value in a "
        "list, use `in`");
  CHECK(errors("event.time == member.attributes.x") ==
        "0: `event.time` is a time and cannot be compared with an attribute (attributes hold "
        "text, numbers or true/false)");
  CHECK(errors("true < false") == "0: `true` is true or false, which cannot be ordered with `<`");
  CHECK(errors("event.channel in [1, 2]") == "0: `event.channel` is text but the list holds "
                                             "numbers");
  CHECK(errors("event.total in ['a']") == "0: `event.total` is a number but the list holds text");
  CHECK(errors("event.time in ['a']") ==
        "0: `in` looks for text or a number in a list, but `event.time` is a time");
  CHECK(errors("event.channel in event.store") ==
        "17: `in` needs a list written out, like ['sat', 'sun'], but `event.store` is text");
  CHECK(errors("event.channel + 1 > 2") ==
        "0: `+` adds numbers, or a duration to a time, but `event.channel` is text");
  CHECK(errors("event.time + 1 > event.time") ==
        "0: `+` adds numbers, or a duration to a time; it cannot combine `event.time` (a time) "
        "with `1` (a number); write a duration like 30d or 12h");
  CHECK(errors("base * 'x' > 1") == "7: `*` multiplies numbers, but `'x'` is text");
  CHECK(errors("-event.channel == 1") ==
        "1: `-` needs a number or a duration, but `event.channel` is text");
  CHECK(errors("!base") == "1: `!` needs true or false, but `base` is a number");
  CHECK(errors("base && true") == "0: `&&` needs true or false, but `base` is a number");
  CHECK(errors("true || event.store") == "8: `||` needs true or false, but `event.store` is text");
  CHECK(errors("event.channel == 'app' || 'web'") ==
        "26: `||` needs true or false, but `'web'` is text; to compare with several values, "
        "write `event.channel in ['app', 'web']`");
  CHECK(errors("base") ==
        "0: this must be a condition (true or false), like `event.total >= 100`, but `base` is "
        "a number");
  CHECK(errors("event.channel == 'app'", ExprResult::number) ==
        "0: an award must be a number of points, like `base` or `50`, but `event.channel == "
        "'app'` is true or false");
  CHECK(errors("weekday(event.total) == 'mon'") ==
        "8: `weekday` needs a time or a date, but `event.total` is a number");
  CHECK(errors("hour(member.birthday) == 1") ==
        "5: `hour` needs a time, like `event.time`, but `member.birthday` is a date");
  CHECK(errors("any(member.tier, true)") ==
        "4: the first argument of `any` must be a list of items, like `event.items`, but "
        "`member.tier` is text");
  CHECK(errors("any(event.items, item.total)") ==
        "17: the second argument of `any` must be a condition (true or false) on each item, "
        "but `item.total` is a number");
  CHECK(errors("sum(event.items, item.sku) > 1") ==
        "17: the second argument of `sum` must be a number for each item, but `item.sku` is "
        "text");
  CHECK(errors("if(1, 2, 3) > 0") ==
        "3: the first argument of `if` must be a condition (true or false), but `1` is a "
        "number");
  CHECK(errors("if(true, 2, 'x') == 2") ==
        "9: `if` must give the same kind of value either way, but `2` is a number and `'x'` is "
        "text");
  CHECK(errors("lower(5) == 'a'") == "6: `lower` needs text, but `5` is a number");
  CHECK(errors("min(1, 'a') == 1") == "7: the second argument of `min` must be a number, but "
                                      "`'a'` is text");
  CHECK(errors("has(member.tier)") ==
        "4: `has` needs an attribute, like `has(member.attributes.segment)`, but got "
        "`member.tier`");
}

TEST_CASE("several independent errors are all reported, and errors never cascade") {
  CHECK(errors("member.tierr == 'gold' && event.chanel == 'app'") ==
        "0: unknown name `member.tierr`; did you mean `member.tier`? | 26: unknown name "
        "`event.chanel`; did you mean `event.channel`?");
  // The unknown name is reported once; the comparison and && above it stay quiet.
  CHECK(errors("(member.tierr + 1) * 2 > 3 && base") ==
        "1: unknown name `member.tierr`; did you mean `member.tier`? | 30: `&&` needs true or "
        "false, but `base` is a number");
}

TEST_CASE("unknown names and functions suggest the closest known one") {
  CHECK(errors("member.teir == 'gold'") ==
        "0: unknown name `member.teir`; did you mean `member.tier`?");
  CHECK(errors("Member.Tier == 'gold'") ==
        "0: unknown name `Member.Tier`; did you mean `member.tier`?");
  CHECK(errors("tier == 'gold'") == "0: unknown name `tier`; did you mean `member.tier`?");
  CHECK(errors("member.atributes.segment == 'x'") ==
        "0: unknown name `member.atributes.segment`; did you mean `member.attributes.segment`?");
  CHECK(errors("foo == 1") ==
        "0: unknown name `foo`; names are `base` or start with `member.`, `event.` or `item.`");
  CHECK(errors("member == 1") == "0: `member` needs a field, like `member.tier`");
  CHECK(errors("member.attributes == 1") ==
        "0: `member.attributes` needs a key, like `member.attributes.segment`");
  CHECK(errors("weekday == 'sat'") ==
        "0: `weekday` is a function; call it with parentheses, like `weekday(...)`");
  CHECK(errors("wekday(event.time) == 'sat'") ==
        "0: unknown function `wekday`; did you mean `weekday`?");
  CHECK(errors("frobnicate(1) == 1") == "0: unknown function `frobnicate`");
  CHECK(errors("base(1) == 1") == "0: `base` is not a function");
  CHECK(errors("member.attributes.vip == True") ==
        "25: unknown name `True`; write `true` in lower case");
}

TEST_CASE("arity errors say how many arguments a function takes") {
  CHECK(errors("weekday(event.time, 1) == 'sat'") == "0: `weekday` takes 1 argument, got 2");
  CHECK(errors("if(true, 1) == 1") == "0: `if` takes 3 arguments, got 2");
  CHECK(errors("any(event.items)") == "0: `any` takes 2 arguments, got 1");
  CHECK(errors("min() == 1") == "0: `min` takes 2 arguments, got 0");
}

TEST_CASE("item only inside list functions; the event only outside eligible") {
  CHECK(errors("item.category == 'vinyl'") ==
        "0: `item.category` can only be used inside any, all, count, filter or sum, where "
        "`item` is each item of the list, like `any(event.items, item.category == 'vinyl')`");
  CHECK(errors("any(item.x, true)").find("unknown name `item.x`") != std::string::npos);
  CHECK(errors("event.total > 5", ExprResult::boolean, ExprContext::member_only) ==
        "0: `event.total` is not known in `eligible`, which sees only the member; put "
        "conditions on the event in `when`");
  CHECK(errors("base > 5", ExprResult::boolean, ExprContext::member_only) ==
        "0: `base` is not known in `eligible`, which sees only the member; put conditions on "
        "the event in `when`");
  CHECK(errors("has(event.attributes.x)", ExprResult::boolean, ExprContext::member_only) ==
        "4: `event.attributes.x` is not known in `eligible`, which sees only the member; put "
        "conditions on the event in `when`");
  World w;
  MemberView& m = w.member;
  compile_ok("member.tier == 'gold' && member.attributes.x != 1 && "
             "days_since(event.time) >= 0 || true",
             ExprResult::boolean, ExprContext::event);
  auto eligible = compile_ok("member.tier == 'gold' && member.points > 1000",
                             ExprResult::boolean, ExprContext::member_only);
  EvalInput in{&m, nullptr, 0, w.now, w.zone, nullptr};
  EvalOutcome out = evaluate_expression(*eligible, in);
  CHECK(out.ok);
  CHECK(out.truth);
}

TEST_CASE("syntax errors point at the problem and say how to fix it") {
  CHECK(errors("") == "0: the expression is empty");
  CHECK(errors("   ") == "0: the expression is empty");
  CHECK(errors("member.tier = 'gold'") == "12: `=` is not an operator; write `==` to compare");
  CHECK(errors("a & b") == "2: `&` is not an operator; write `&&` for \"and\"");
  CHECK(errors("a | b") == "2: `|` is not an operator; write `||` for \"or\"");
  CHECK(errors("base <> 1") == "5: `<>` is not an operator; write `!=` for \"not equal\"");
  CHECK(errors("member.tier == 'gold") == "15: this text is not closed; add a closing '");
  CHECK(errors("member.tier == ‘gold’") ==
        "15: curly quotes are not allowed; write text in straight quotes, like 'vinyl'");
  CHECK(errors("base > 1 and base < 5") == "9: write `&&` instead of `and`");
  CHECK(errors("base > 1 or base < 5") == "9: write `||` instead of `or`");
  CHECK(errors("not true") == "0: write `!` instead of `not`");
  CHECK(errors("(base > 1") == "0: this `(` is not closed; add a `)`");
  CHECK(errors("base > 1)") ==
        "8: unexpected `)`; expected an operator such as `&&`, `||`, `==` or `+`");
  CHECK(errors("base >") == "6: the expression ends too early; a value is missing at the end");
  CHECK(errors("base > > 1") == "7: expected a value (a name, a number, text in quotes or a "
                                "function call) but found `>`");
  CHECK(errors("1 < base < 5") ==
        "9: comparisons cannot be chained; join them with `&&`, like `a < b && b < c`");
  CHECK(errors("weekday(event.time == 'sat'") ==
        "7: the `(` of `weekday` is not closed; add a `)`");
  CHECK(errors("min(1 2) == 1") == "6: unexpected `2`; expected `,` or `)` in the arguments of "
                                   "`min`");
  CHECK(errors("event.channel in ['a', event.store]") ==
        "23: a list may only hold text or numbers written out, like ['sat', 'sun'] or [1, 2]");
  CHECK(errors("base in [1, 'a']") == "12: a list holds either text or numbers, not both");
  CHECK(errors("event.channel in ['a'") == "17: this `[` is not closed; add a `]`");
  CHECK(errors("event. total > 1") == "5: expected a field name after `.`, like `event.total`");
  CHECK(errors("base > .5") == "7: a `.` must join a name and its field, like `event.total`, or "
                               "be inside a number, like 0.5");
  CHECK(errors("base > 1.1234567") == "7: `1.1234567` has more than 6 digits after the point");
  CHECK(errors("base > 99999999999999999999") == "7: `99999999999999999999` is too large a "
                                                 "number");
  CHECK(errors("event.time + 30x > event.time") ==
        "13: `30x` is not a number or a duration; a duration is a whole number followed by d, h, "
        "m or s, like 30d or 12h");
  CHECK(errors("event.time + 200000000d > event.time") ==
        "13: `200000000d` is too long a duration");
  CHECK(errors("event.time + 1.5h > event.time").find("13: `1.5h` is not a number") == 0);
  CHECK(errors("base > 1 # comment") == "9: `#` is not part of the expression language");
  CHECK(errors("member.tier == Ω") ==
        "15: `Ω` is not part of the expression language; text must be in quotes");
  CHECK(errors("'a\\n' == 'b'") == "2: in text, `\\` may only come before `\\`, `'` or `\"`");
  CHECK(errors("in ['a']") ==
        "0: `in` needs a value on its left, like `event.channel in ['app', 'web']`");
}

TEST_CASE("limits: length, nesting, tree depth and list size are compile errors") {
  std::string long_text(expression_bytes_max + 1, ' ');
  long_text.replace(0, 4, "true");
  CHECK(errors(long_text) == "4096: the expression is longer than 4096 bytes; split it or "
                             "simplify it");
  std::string fits(expression_bytes_max, ' ');
  fits.replace(0, 4, "true");
  compile_ok(fits, ExprResult::boolean);

  std::string nested = std::string(expression_nesting_max, '(') + "true" +
                       std::string(expression_nesting_max, ')');
  compile_ok(nested, ExprResult::boolean);
  std::string too_nested = "(" + nested + ")";
  CHECK(errors(too_nested) == "64: the expression is nested too deeply (more than 64 levels)");
  std::string negations(expression_nesting_max + 1, '!');
  CHECK(errors(negations + "true") == "64: the expression is nested too deeply (more than 64 "
                                      "levels)");

  std::string chain = "base";
  for (int i = 0; i < expression_tree_depth_max; ++i) chain += "+1";
  CHECK(errors(chain, ExprResult::number) ==
        "0: this expression has too many operations inside one another (more than 256 levels); "
        "split it into simpler parts");
  std::string shorter = "base";
  for (int i = 0; i < expression_tree_depth_max - 1; ++i) shorter += "+1";
  CHECK(number(shorter) == std::to_string(59 + expression_tree_depth_max - 1));

  std::string list = "[1";
  for (std::size_t i = 1; i <= expression_list_values_max; ++i) list += ",1";
  CHECK(errors("member.visits in " + list + "]") == "2018: this list has more than 1000 values");
}

TEST_CASE("explain shows each part of a condition and the values it read") {
  World w;
  auto show = [&](std::string_view text, ExprResult result = ExprResult::boolean) {
    return explain_expression(*compile_ok(text, result), w.input());
  };
  CHECK(show("event.total >= 100") == "event.total >= 100 was false (event.total = 59.90)");
  CHECK(show("member.tier == 'gold' && event.total >= 100") ==
        "member.tier == 'gold' was true (member.tier = 'gold'); event.total >= 100 was false "
        "(event.total = 59.90)");
  CHECK(show("member.tier == 'silver' && event.total >= 100") ==
        "member.tier == 'silver' was false (member.tier = 'gold')");
  CHECK(show("weekday(event.time) in ['sat', 'sun'] || base > 1000") ==
        "weekday(event.time) in ['sat', 'sun'] was true (weekday(event.time) = 'sat')");
  CHECK(show("count(event.items, item.category == 'vinyl') >= 2") ==
        "count(event.items, item.category == 'vinyl') >= 2 was false "
        "(count(event.items, item.category == 'vinyl') = 1)");
  CHECK(show("floor(base * 0.5)", ExprResult::number) == "floor(base * 0.5) = 29 (base = 59)");
  CHECK(show("member.attributes.vip") == "member.attributes.vip was false");
  CHECK(show("1 / (base - 59) > 0") == "1 / (base - 59) > 0 could not be evaluated: division by "
                                       "zero (base = 59)");
  CHECK(show("(member.visits > 1 && true) && month(member.birthday) == 5") ==
        "member.visits > 1 was true (member.visits = 3); true was true; "
        "month(member.birthday) == 5 was true (month(member.birthday) = 5)");
}

// The 20 offers of the peer benchmark (bench/peers/rules/encore/offers.json).
struct BenchOffer {
  const char* id;
  const char* when;
  const char* award;
};
constexpr BenchOffer kBenchOffers[] = {
    {"gold-double", "member.tier == 'gold'", "base"},
    {"platinum-triple", "member.tier == 'platinum'", "base * 2"},
    {"weekend-bonus", "weekday(event.time) in ['sat', 'sun']", "floor(base * 0.5)"},
    {"app-fifty", "event.channel == 'app'", "50"},
    {"remote-quarter", "event.channel in ['online', 'phone'] && event.total >= 30",
     "floor(base * 0.25)"},
    {"basket-100", "event.total >= 100", "100"},
    {"basket-250", "event.total >= 250", "base"},
    {"vinyl-lover", "any(event.items, item.category == 'vinyl')", "75"},
    {"vinyl-weekend",
     "any(event.items, item.category == 'vinyl') && weekday(event.time) in ['sat', 'sun']",
     "base"},
    {"gold-crate-digger",
     "member.tier in ['gold', 'platinum'] && any(event.items, item.category == 'vinyl')", "150"},
    {"encore-lapsed", "member.days_since_last_purchase > 60", "200"},
    {"encore-lapsed-gold",
     "member.days_since_last_purchase > 60 && member.tier in ['gold', 'platinum']", "base * 2"},
    {"birthday-month", "month(member.birthday) == month(event.time)", "base"},
    {"birthday-treat", "month(member.birthday) == month(event.time) && event.total >= 50", "100"},
    {"welcome", "member.visits == 0", "100"},
    {"live-tickets", "any(event.items, item.category == 'tickets')", "floor(base * 0.5)"},
    {"merch-in-store", "event.channel == 'store' && any(event.items, item.category == 'merch')",
     "40"},
    {"big-haul", "count(event.items, true) >= 5", "60"},
    {"midweek-store", "weekday(event.time) in ['tue', 'wed'] && event.channel == 'store'",
     "floor(base * 0.5)"},
    {"silver-online-weekend",
     "member.tier == 'silver' && event.channel == 'online' && weekday(event.time) in ['sat', "
     "'sun']",
     "80"},
};

// "id:points" of every offer whose `when` holds, with its award, as the answer key does.
std::string bench_awards(const World& w) {
  std::string out;
  for (const BenchOffer& o : kBenchOffers) {
    auto when = compile_ok(o.when, ExprResult::boolean);
    auto award = compile_ok(o.award, ExprResult::number);
    EvalOutcome c = evaluate_expression(*when, w.input());
    REQUIRE(c.ok);
    if (!c.truth) continue;
    EvalOutcome a = evaluate_expression(*award, w.input());
    REQUIRE(a.ok);
    out += std::string(out.empty() ? "" : " ") + o.id + ":" + a.number.to_string();
  }
  return out;
}

TEST_CASE("the 20 benchmark offers give the answer key's awards on hand-made events") {
  SUBCASE("the first event of expected-5k.ndjson") {
    World w;
    w.member.tier = "gold";
    w.member.visits = 22;
    w.member.days_since_last_purchase = 24;
    w.member.birthday = CivilDate{1982, 6, 26};
    w.event.time = at("2026-03-25T23:12:04Z");  // a Wednesday
    w.event.channel = "store";
    w.event.total = dec("877.5");
    w.event.items = {item("INS-4952", "instruments", 2, "322.46"),
                     item("ACC-3876", "accessories", 1, "24.57"),
                     item("ACC-3434", "accessories", 1, "27.17"),
                     item("MER-3703", "merch", 1, "27.23"),
                     item("MER-4635", "merch", 1, "23.06"),
                     item("TIC-4094", "tickets", 1, "49.47"),
                     item("CD-3402", "cd", 3, "11.1"),
                     item("VIN-2711", "vinyl", 1, "32.54"),
                     item("BOO-1690", "books", 1, "15.24")};
    w.base = 877;
    CHECK(bench_awards(w) ==
          "gold-double:877 basket-100:100 basket-250:877 vinyl-lover:75 gold-crate-digger:150 "
          "live-tickets:438 merch-in-store:40 big-haul:60 midweek-store:438");
  }
  SUBCASE("a new silver member online on a Saturday in their birthday month") {
    World w;
    w.member.tier = "silver";
    w.member.visits = 0;
    w.member.days_since_last_purchase = -1;
    w.member.birthday = CivilDate{2000, 11, 2};
    w.event.time = at("2026-11-28T18:00:00Z");
    w.event.channel = "online";
    w.event.total = dec("45.00");
    w.event.items = {item("VIN-1", "vinyl", 1, "45.00")};
    w.base = 45;
    CHECK(bench_awards(w) ==
          "weekend-bonus:22 remote-quarter:11 vinyl-lover:75 vinyl-weekend:45 birthday-month:45 "
          "welcome:100 silver-online-weekend:80");
  }
  SUBCASE("a lapsed platinum member with no birthday, in the app on a Tuesday") {
    World w;
    w.member.tier = "platinum";
    w.member.days_since_last_purchase = 61;
    w.member.birthday.reset();
    w.event.time = at("2026-12-01T09:00:00Z");
    w.event.channel = "app";
    w.event.total = dec("250.00");
    w.event.items = {item("TIC-1", "tickets", 2, "125.00")};
    w.base = 250;
    CHECK(bench_awards(w) ==
          "platinum-triple:500 app-fifty:50 basket-100:100 basket-250:250 encore-lapsed:200 "
          "encore-lapsed-gold:500 live-tickets:125");
  }
}

TEST_CASE("mangled expressions never crash: they fail to compile or evaluate to a defined result") {
  // Deterministic mutations (delete, insert, replace a byte) of real expressions.
  std::vector<std::string> seeds;
  for (const BenchOffer& o : kBenchOffers) {
    seeds.push_back(o.when);
    seeds.push_back(o.award);
  }
  seeds.push_back("sum(filter(event.items, item.category == 'vinyl'), item.total) * 2");
  seeds.push_back("if(has(member.attributes.x), member.attributes.x + 1, -event.total % 3)");
  seeds.push_back("days_since(event.time - 30d) >= 1 && lower(event.store) in ['s-1', 's-2']");
  static constexpr std::string_view kBytes = "()[],.'\"!&|=<>+-*/%01d_ aeimtx\\\xE2\x80";
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&](std::uint64_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % bound;
  };
  World w;
  w.member.attributes["x"] = std::int64_t{7};
  int compiled = 0;
  for (int round = 0; round < 3'000; ++round) {
    std::string text = seeds[next(seeds.size())];
    for (std::uint64_t k = 0, n = 1 + next(3); k < n; ++k) {
      std::size_t pos = next(text.size() + 1);
      char c = kBytes[next(kBytes.size())];
      std::uint64_t how = next(3);
      if (how == 0 && pos < text.size()) text.erase(pos, 1);
      if (how == 1) text.insert(pos, 1, c);
      if (how == 2 && pos < text.size()) text[pos] = c;
    }
    for (ExprResult result : {ExprResult::boolean, ExprResult::number}) {
      CompileOutput out = compile_expression(text, ExprContext::event, result);
      CHECK((out.expr == nullptr) == !out.errors.empty());
      for (const ExprError& e : out.errors) {
        CHECK(e.offset <= text.size());
        CHECK(!e.message.empty());
      }
      if (!out.expr) continue;
      ++compiled;
      EvalOutcome r = evaluate_expression(*out.expr, w.input());
      CHECK((r.ok || !r.failure.empty()));
      CHECK(!explain_expression(*out.expr, w.input()).empty());
    }
  }
  CHECK(compiled > 100);
}
