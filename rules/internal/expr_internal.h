// The compiled form of an expression, shared by the compiler (expr_compile.cc) and the
// evaluator (expr_eval.cc): a tree in a flat array of typed nodes. rules/internal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/internal/expr.h"

namespace encore::rules::internal {

// Static types. `any` is an attribute's value, whose kind is known only at run time.
enum class Type : std::uint8_t {
  error,  // a sub-expression that already has an error: reported once, never again
  boolean,
  integer,
  decimal,
  text,
  time,
  date,
  duration,
  any,
  text_list,    // a literal list of text
  number_list,  // a literal list of numbers
  empty_list,   // `[]`
  item_list,    // event.items or filter(...)
};

enum class Op : std::uint8_t {
  // Constants (imm: value; text: text_off/text_len; list: imm = index into lists).
  const_bool,
  const_int,
  const_decimal,   // imm = units
  const_duration,  // imm = micros
  const_text,
  const_list,
  // Names.
  event_type,
  event_time,
  event_channel,
  event_store,
  event_order_id,
  event_total,
  event_items,
  event_attr,  // imm = index into keys
  member_id,
  member_tier,
  member_points,
  member_lifetime_points,
  member_visits,
  member_days_since_last_purchase,
  member_enrolled_days,
  member_birthday,
  member_attr,  // imm = index into keys
  base,
  item_sku,
  item_category,
  item_quantity,
  item_unit_price,
  item_total,
  // Conversions inserted by the checker.
  any_to_bool,    // true only for the boolean true
  any_to_number,  // an int or decimal attribute as a decimal; else the evaluation fails
  any_to_text,    // a text attribute; else the evaluation fails
  int_to_decimal,
  // Logic and comparison (cmp in `cmp`).
  logic_not,
  logic_and,
  logic_or,
  compare,
  in_list,  // a in b, b a const_list
  // Arithmetic.
  add_int,
  sub_int,
  mul_int,
  mod_int,
  neg_int,
  add_decimal,
  sub_decimal,
  mul_decimal,
  div_decimal,
  mod_decimal,
  neg_decimal,
  add_time_duration,  // a time, b duration
  sub_time_duration,
  sub_time_time,
  add_duration,
  sub_duration,
  neg_duration,
  // Functions.
  weekday_time,
  weekday_date,
  hour_time,
  month_time,
  month_date,
  day_time,
  day_date,
  days_since_time,
  list_any,
  list_all,
  list_count,
  list_filter,
  sum_int,
  sum_decimal,
  if_then_else,
  min_int,
  max_int,
  min_decimal,
  max_decimal,
  floor_decimal,
  round_decimal,
  ceil_decimal,
  lower_text,
  starts_with_text,
  contains_text,
  has_member_attr,  // imm = index into keys
  has_event_attr,
};

enum class Cmp : std::uint8_t { eq, ne, lt, le, gt, ge };

inline constexpr std::uint32_t no_node = UINT32_MAX;

struct Node {
  Op op = Op::const_bool;
  Type type = Type::error;
  Cmp cmp = Cmp::eq;
  std::uint32_t a = no_node;  // children
  std::uint32_t b = no_node;
  std::uint32_t c = no_node;
  std::int64_t imm = 0;
  std::uint32_t text_off = 0;  // const_text: the text in CompiledExpr::pool
  std::uint32_t text_len = 0;
  std::uint32_t begin = 0;  // source span [begin, end) in CompiledExpr::text
  std::uint32_t end = 0;
};

struct TextRef {
  std::uint32_t off = 0;
  std::uint32_t len = 0;
};

// A literal list, folded at compile time: text sorted by bytes, numbers as decimal units
// sorted ascending (searched linearly when short, by bisection beyond).
struct ListConst {
  Type type = Type::empty_list;
  std::vector<TextRef> texts;
  std::vector<std::int64_t> numbers;
};

class CompiledExpr {
 public:
  std::string text;            // the source
  std::string pool;            // literal text and attribute keys
  std::vector<Node> nodes;     // children before parents
  std::vector<ListConst> lists;
  std::vector<TextRef> keys;   // attribute keys
  std::uint32_t root = no_node;
  ExprResult result = ExprResult::boolean;
  ExprContext context = ExprContext::event;

  std::string_view pool_text(TextRef r) const { return {pool.data() + r.off, r.len}; }
  std::string_view source(const Node& n) const { return {text.data() + n.begin, n.end - n.begin}; }
};

}  // namespace encore::rules::internal
