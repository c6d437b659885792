// The expression compiler: lexer, recursive-descent parser and type checker in one pass,
// producing the flat typed node array of expr_internal.h. rules/internal.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <tuple>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/internal/expr.h"
#include "rules/internal/expr_internal.h"
#include "rules/limits.h"

namespace encore::rules::internal {
namespace {

// ---- Lexer ------------------------------------------------------------------------

enum class Tok : std::uint8_t {
  end,
  integer,
  decimal,
  duration,
  text,
  name,
  lparen,
  rparen,
  lbracket,
  rbracket,
  comma,
  oror,
  andand,
  bang,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  plus,
  minus,
  star,
  slash,
  percent,
};

struct Token {
  Tok kind = Tok::end;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
  std::int64_t value = 0;  // integer, decimal units, duration micros
  std::string str;         // text (unescaped)
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

std::string backticked(std::string_view s) {
  constexpr std::size_t shown_max = 40;
  if (s.size() > shown_max) {
    std::size_t cut = shown_max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return "`" + std::string(s.substr(0, cut)) + "...`";
  }
  return "`" + std::string(s) + "`";
}

class Lexer {
 public:
  Lexer(std::string_view text, std::vector<ExprError>& errors) : s_(text), errors_(errors) {}

  // False after a lexical error (reported).
  bool run(std::vector<Token>& out) {
    while (true) {
      while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' ||
                                s_[i_] == '\r')) {
        ++i_;
      }
      Token t;
      t.begin = static_cast<std::uint32_t>(i_);
      if (i_ >= s_.size()) {
        t.kind = Tok::end;
        t.end = t.begin;
        out.push_back(std::move(t));
        return true;
      }
      if (!next(t)) return false;
      t.end = static_cast<std::uint32_t>(i_);
      out.push_back(std::move(t));
    }
  }

 private:
  bool error(std::size_t at, std::string message) {
    errors_.push_back(ExprError{at, std::move(message)});
    return false;
  }

  bool next(Token& t) {
    char c = s_[i_];
    if (is_digit(c)) return number(t);
    if (is_ident_start(c)) return name(t);
    if (c == '\'' || c == '"') return text(t);
    auto two = [&](char second) { return i_ + 1 < s_.size() && s_[i_ + 1] == second; };
    auto op = [&](Tok k, std::size_t n) {
      t.kind = k;
      i_ += n;
      return true;
    };
    switch (c) {
      case '(': return op(Tok::lparen, 1);
      case ')': return op(Tok::rparen, 1);
      case '[': return op(Tok::lbracket, 1);
      case ']': return op(Tok::rbracket, 1);
      case ',': return op(Tok::comma, 1);
      case '+': return op(Tok::plus, 1);
      case '-': return op(Tok::minus, 1);
      case '*': return op(Tok::star, 1);
      case '/': return op(Tok::slash, 1);
      case '%': return op(Tok::percent, 1);
      case '|':
        if (two('|')) return op(Tok::oror, 2);
        return error(i_, "`|` is not an operator; write `||` for \"or\"");
      case '&':
        if (two('&')) return op(Tok::andand, 2);
        return error(i_, "`&` is not an operator; write `&&` for \"and\"");
      case '!':
        if (two('=')) return op(Tok::ne, 2);
        return op(Tok::bang, 1);
      case '=':
        if (two('=')) return op(Tok::eq, 2);
        return error(i_, "`=` is not an operator; write `==` to compare");
      case '<':
        if (two('=')) return op(Tok::le, 2);
        if (two('>')) return error(i_, "`<>` is not an operator; write `!=` for \"not equal\"");
        return op(Tok::lt, 1);
      case '>':
        if (two('=')) return op(Tok::ge, 2);
        return op(Tok::gt, 1);
      case '.':
        return error(i_, "a `.` must join a name and its field, like `event.total`, or be "
                         "inside a number, like 0.5");
      default: break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u == 0xE2 && i_ + 2 < s_.size() && static_cast<unsigned char>(s_[i_ + 1]) == 0x80) {
      auto third = static_cast<unsigned char>(s_[i_ + 2]);
      if (third == 0x98 || third == 0x99 || third == 0x9C || third == 0x9D) {
        return error(i_, "curly quotes are not allowed; write text in straight quotes, like "
                         "'vinyl'");
      }
    }
    if (u >= 0x80) {
      std::size_t n = 1;
      while (i_ + n < s_.size() && (static_cast<unsigned char>(s_[i_ + n]) & 0xC0) == 0x80) ++n;
      return error(i_, backticked(s_.substr(i_, n)) +
                           " is not part of the expression language; text must be in quotes");
    }
    if (u < 0x20 || u == 0x7F) {
      return error(i_, "an invisible control character is not allowed here");
    }
    return error(i_, backticked(s_.substr(i_, 1)) + " is not part of the expression language");
  }

  bool number(Token& t) {
    std::size_t start = i_;
    while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    bool point = false;
    if (i_ + 1 < s_.size() && s_[i_] == '.' && is_digit(s_[i_ + 1])) {
      point = true;
      ++i_;
      while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    }
    std::string_view digits = s_.substr(start, i_ - start);
    if (i_ < s_.size() && is_ident_start(s_[i_])) {
      std::size_t unit_start = i_;
      while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
      std::string_view unit = s_.substr(unit_start, i_ - unit_start);
      std::int64_t unit_micros = 0;
      if (unit == "d") unit_micros = micros_per_day;
      if (unit == "h") unit_micros = 3'600 * micros_per_second;
      if (unit == "m") unit_micros = 60 * micros_per_second;
      if (unit == "s") unit_micros = micros_per_second;
      if (point || unit_micros == 0) {
        return error(start, backticked(s_.substr(start, i_ - start)) +
                                " is not a number or a duration; a duration is a whole number "
                                "followed by d, h, m or s, like 30d or 12h");
      }
      std::int64_t n = 0;
      for (char d : digits) {
        if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, d - '0', &n)) {
          return error(start, backticked(s_.substr(start, i_ - start)) + " is too long a duration");
        }
      }
      if (__builtin_mul_overflow(n, unit_micros, &t.value)) {
        return error(start, backticked(s_.substr(start, i_ - start)) + " is too long a duration");
      }
      t.kind = Tok::duration;
      return true;
    }
    if (point) {
      auto parsed = Decimal::parse(digits);
      if (!parsed) {
        std::size_t fraction = digits.size() - digits.find('.') - 1;
        if (fraction > static_cast<std::size_t>(Decimal::scale_digits)) {
          return error(start, backticked(digits) + " has more than 6 digits after the point");
        }
        return error(start, backticked(digits) + " is too large a number");
      }
      t.kind = Tok::decimal;
      t.value = parsed.value().units();
      return true;
    }
    std::int64_t n = 0;
    for (char d : digits) {
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, d - '0', &n)) {
        return error(start, backticked(digits) + " is too large a number");
      }
    }
    t.kind = Tok::integer;
    t.value = n;
    return true;
  }

  bool name(Token& t) {
    while (true) {
      while (i_ < s_.size() && is_ident_char(s_[i_])) ++i_;
      if (i_ < s_.size() && s_[i_] == '.') {
        if (i_ + 1 < s_.size() && is_ident_char(s_[i_ + 1])) {
          ++i_;
          continue;
        }
        return error(i_, "expected a field name after `.`, like `event.total`");
      }
      break;
    }
    t.kind = Tok::name;
    t.str = std::string(s_.substr(t.begin, i_ - t.begin));
    return true;
  }

  bool text(Token& t) {
    char quote = s_[i_];
    std::size_t start = i_;
    ++i_;
    std::string out;
    while (true) {
      if (i_ >= s_.size()) {
        return error(start, std::string("this text is not closed; add a closing ") + quote);
      }
      char c = s_[i_];
      if (c == quote) {
        ++i_;
        break;
      }
      if (c == '\\') {
        if (i_ + 1 < s_.size() && (s_[i_ + 1] == '\\' || s_[i_ + 1] == '\'' ||
                                   s_[i_ + 1] == '"')) {
          out += s_[i_ + 1];
          i_ += 2;
          continue;
        }
        return error(i_, "in text, `\\` may only come before `\\`, `'` or `\"`");
      }
      out += c;
      ++i_;
    }
    t.kind = Tok::text;
    t.str = std::move(out);
    return true;
  }

  std::string_view s_;
  std::vector<ExprError>& errors_;
  std::size_t i_ = 0;
};

// ---- Names and functions ----------------------------------------------------------

enum class Scope : std::uint8_t { member, event, item };

struct NameDef {
  std::string_view name;
  Op op;
  Type type;
  Scope scope;
};

constexpr NameDef kNames[] = {
    {"event.type", Op::event_type, Type::text, Scope::event},
    {"event.time", Op::event_time, Type::time, Scope::event},
    {"event.channel", Op::event_channel, Type::text, Scope::event},
    {"event.store", Op::event_store, Type::text, Scope::event},
    {"event.order_id", Op::event_order_id, Type::text, Scope::event},
    {"event.total", Op::event_total, Type::decimal, Scope::event},
    {"event.items", Op::event_items, Type::item_list, Scope::event},
    {"member.id", Op::member_id, Type::text, Scope::member},
    {"member.tier", Op::member_tier, Type::text, Scope::member},
    {"member.points", Op::member_points, Type::integer, Scope::member},
    {"member.lifetime_points", Op::member_lifetime_points, Type::integer, Scope::member},
    {"member.visits", Op::member_visits, Type::integer, Scope::member},
    {"member.days_since_last_purchase", Op::member_days_since_last_purchase, Type::integer,
     Scope::member},
    {"member.enrolled_days", Op::member_enrolled_days, Type::integer, Scope::member},
    {"member.birthday", Op::member_birthday, Type::date, Scope::member},
    {"base", Op::base, Type::integer, Scope::event},
    {"item.sku", Op::item_sku, Type::text, Scope::item},
    {"item.category", Op::item_category, Type::text, Scope::item},
    {"item.quantity", Op::item_quantity, Type::integer, Scope::item},
    {"item.unit_price", Op::item_unit_price, Type::decimal, Scope::item},
    {"item.total", Op::item_total, Type::decimal, Scope::item},
};

enum class Fn : std::uint8_t {
  weekday,
  hour,
  month,
  day,
  days_since,
  any,
  all,
  count,
  filter,
  sum,
  if_,
  min,
  max,
  floor,
  round,
  ceil,
  lower,
  starts_with,
  contains,
  has,
};

struct FnDef {
  std::string_view name;
  Fn fn;
  std::size_t arity;
};

constexpr FnDef kFunctions[] = {
    {"weekday", Fn::weekday, 1},   {"hour", Fn::hour, 1},
    {"month", Fn::month, 1},       {"day", Fn::day, 1},
    {"days_since", Fn::days_since, 1}, {"any", Fn::any, 2},
    {"all", Fn::all, 2},           {"count", Fn::count, 2},
    {"filter", Fn::filter, 2},     {"sum", Fn::sum, 2},
    {"if", Fn::if_, 3},            {"min", Fn::min, 2},
    {"max", Fn::max, 2},           {"floor", Fn::floor, 1},
    {"round", Fn::round, 1},       {"ceil", Fn::ceil, 1},
    {"lower", Fn::lower, 1},       {"starts_with", Fn::starts_with, 2},
    {"contains", Fn::contains, 2}, {"has", Fn::has, 1},
};

constexpr std::string_view kMemberAttributes = "member.attributes";
constexpr std::string_view kEventAttributes = "event.attributes";

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Optimal string alignment distance (Levenshtein with adjacent transpositions), case
// folded. Inputs are bounded by expression_bytes_max.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && ascii_lower(a[i - 1]) == ascii_lower(b[j - 2]) &&
          ascii_lower(a[i - 2]) == ascii_lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.size()];
}

// The closest candidate within a distance that scales with the length, or "".
template <typename Range, typename Get>
std::string_view closest(std::string_view word, const Range& candidates, Get get) {
  std::size_t allowed = word.size() <= 4 ? 1 : word.size() <= 12 ? 2 : 3;
  std::string_view best;
  std::size_t best_distance = allowed + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(word, get(c));
    if (d < best_distance) {
      best = get(c);
      best_distance = d;
    }
  }
  return best;
}

std::string_view phrase(Type t) {
  switch (t) {
    case Type::boolean: return "true or false";
    case Type::integer:
    case Type::decimal: return "a number";
    case Type::text: return "text";
    case Type::time: return "a time";
    case Type::date: return "a date";
    case Type::duration: return "a duration";
    case Type::any: return "an attribute";
    case Type::text_list:
    case Type::number_list:
    case Type::empty_list: return "a list";
    case Type::item_list: return "a list of items";
    case Type::error: return "wrong";
  }
  return "wrong";
}

bool is_number(Type t) { return t == Type::integer || t == Type::decimal; }
bool is_list_const(Type t) {
  return t == Type::text_list || t == Type::number_list || t == Type::empty_list;
}

std::string_view cmp_text(Cmp c) {
  switch (c) {
    case Cmp::eq: return "==";
    case Cmp::ne: return "!=";
    case Cmp::lt: return "<";
    case Cmp::le: return "<=";
    case Cmp::gt: return ">";
    case Cmp::ge: return ">=";
  }
  return "==";
}

std::string_view ordinal(std::size_t i) {
  static constexpr std::string_view kOrdinals[] = {"first", "second", "third"};
  return i < 3 ? kOrdinals[i] : "last";
}

// ---- Parser and checker ----------------------------------------------------------

class Compiler {
 public:
  Compiler(std::string_view text, ExprContext context)
      : x_(std::make_shared<CompiledExpr>()), context_(context) {
    x_->text = std::string(text);
  }

  CompileOutput run(ExprResult result) {
    x_->result = result;
    x_->context = context_;
    std::string_view text = x_->text;
    if (text.size() > expression_bytes_max) {
      return fail_with(expression_bytes_max,
                       "the expression is longer than " +
                           std::to_string(expression_bytes_max) +
                           " bytes; split it or simplify it");
    }
    Lexer lexer(text, errors_);
    if (!lexer.run(toks_)) return finish();
    if (toks_.size() == 1) return fail_with(0, "the expression is empty");
    std::uint32_t root = parse_or();
    if (!fatal_ && peek().kind != Tok::end) {
      unexpected(peek(), "an operator such as `&&`, `||`, `==` or `+`");
    }
    if (fatal_) return finish();
    x_->root = check_result(root, result);
    return finish();
  }

 private:
  // ---- Bookkeeping.
  CompileOutput fail_with(std::size_t offset, std::string message) {
    errors_.push_back(ExprError{offset, std::move(message)});
    return finish();
  }

  CompileOutput finish() {
    CompileOutput out;
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ExprError& a, const ExprError& b) { return a.offset < b.offset; });
    out.errors = std::move(errors_);
    if (!fatal_) out.tier_literals = std::move(tier_literals_);
    if (out.errors.empty()) {
      ENCORE_ASSERT(x_->root != no_node);
      out.expr = std::move(x_);
    }
    return out;
  }

  void error(std::size_t offset, std::string message) {
    errors_.push_back(ExprError{offset, std::move(message)});
  }
  // A syntax error or a limit: parsing stops, and only this error is reported, since type
  // errors found before it may come from the misparse (`weekday(event.time == 'sat'`).
  std::uint32_t syntax(std::size_t offset, std::string message) {
    if (!fatal_) {
      errors_.clear();
      error(offset, std::move(message));
    }
    fatal_ = true;
    return no_node;
  }

  const Token& peek() const { return toks_[pos_]; }
  const Token& take() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  bool peek_name(std::string_view word) const {
    return peek().kind == Tok::name && peek().str == word;
  }

  const Node& node(std::uint32_t i) const { return x_->nodes[i]; }
  Type type(std::uint32_t i) const { return x_->nodes[i].type; }
  std::string src(std::uint32_t i) const { return backticked(x_->source(x_->nodes[i])); }

  std::uint32_t add(Node n) {
    int depth = 1;
    for (std::uint32_t child : {n.a, n.b, n.c}) {
      if (child != no_node) depth = std::max(depth, depth_[child] + 1);
    }
    if (depth > expression_tree_depth_max) {
      // Still added, so every index stays valid while the parser unwinds.
      syntax(n.begin, "this expression has too many operations inside one another (more "
                      "than " + std::to_string(expression_tree_depth_max) +
                          " levels); split it into simpler parts");
    }
    x_->nodes.push_back(n);
    depth_.push_back(depth);
    return static_cast<std::uint32_t>(x_->nodes.size() - 1);
  }

  std::uint32_t make(Op op, Type t, std::uint32_t begin, std::uint32_t end,
                     std::uint32_t a = no_node, std::uint32_t b = no_node,
                     std::uint32_t c = no_node) {
    Node n;
    n.op = op;
    n.type = t;
    n.a = a;
    n.b = b;
    n.c = c;
    n.begin = begin;
    n.end = end;
    return add(n);
  }
  // A node that stands for a sub-expression with an error already reported.
  std::uint32_t error_node(std::uint32_t begin, std::uint32_t end) {
    return make(Op::const_bool, Type::error, begin, end);
  }
  std::uint32_t span_error(std::uint32_t l, std::uint32_t r) {
    return error_node(node(l).begin, node(r).end);
  }
  std::uint32_t cast(Op op, Type t, std::uint32_t child) {
    return make(op, t, node(child).begin, node(child).end, child);
  }
  std::uint32_t to_decimal(std::uint32_t i) {
    if (type(i) == Type::decimal) return i;
    if (type(i) == Type::any) return cast(Op::any_to_number, Type::decimal, i);
    ENCORE_ASSERT(type(i) == Type::integer);
    if (node(i).op == Op::const_int) {
      if (auto d = Decimal::from_integer(node(i).imm)) {
        x_->nodes[i].op = Op::const_decimal;
        x_->nodes[i].type = Type::decimal;
        x_->nodes[i].imm = d->units();
        return i;
      }
    }
    return cast(Op::int_to_decimal, Type::decimal, i);
  }
  // A boolean operand of `what`: casts an attribute; reports other types.
  std::uint32_t to_bool(std::uint32_t i, std::string_view what, bool* ok) {
    Type t = type(i);
    if (t == Type::boolean) return i;
    if (t == Type::any) return cast(Op::any_to_bool, Type::boolean, i);
    if (t != Type::error) {
      std::string message = std::string(what) + " needs true or false, but " + src(i) + " is " +
                            std::string(phrase(t));
      if (node(i).op == Op::const_text && what == "`||`") {
        message += "; to compare with several values, write `event.channel in ['app', 'web']`";
      }
      error(node(i).begin, message);
    }
    *ok = false;
    return i;
  }
  // A numeric operand (int, decimal or attribute); reports others.
  bool number_operand(std::uint32_t i, std::string_view what) {
    Type t = type(i);
    if (is_number(t) || t == Type::any) return true;
    if (t != Type::error) {
      error(node(i).begin, std::string(what) + ", but " + src(i) + " is " +
                               std::string(phrase(t)));
    }
    return false;
  }
  std::uint32_t to_text(std::uint32_t i, std::string_view what, bool* ok) {
    Type t = type(i);
    if (t == Type::text) return i;
    if (t == Type::any) return cast(Op::any_to_text, Type::text, i);
    if (t != Type::error) {
      error(node(i).begin, std::string(what) + " needs text, but " + src(i) + " is " +
                               std::string(phrase(t)));
    }
    *ok = false;
    return i;
  }

  void unexpected(const Token& t, std::string_view expected) {
    if (t.kind == Tok::end) {
      syntax(t.begin, "the expression ends too early; " + std::string(expected) +
                          " is missing at the end");
      return;
    }
    std::string shown = backticked(x_->text.substr(t.begin, t.end - t.begin));
    if (t.kind == Tok::name && (t.str == "and" || t.str == "AND")) {
      syntax(t.begin, "write `&&` instead of " + shown);
    } else if (t.kind == Tok::name && (t.str == "or" || t.str == "OR")) {
      syntax(t.begin, "write `||` instead of " + shown);
    } else {
      syntax(t.begin, "unexpected " + shown + "; expected " + std::string(expected));
    }
  }

  // ---- Grammar: or > and > comparison > additive > multiplicative > unary > primary.
  std::uint32_t parse_or() {
    std::uint32_t l = parse_and();
    while (!fatal_ && peek().kind == Tok::oror) {
      take();
      std::uint32_t r = parse_and();
      if (fatal_) return no_node;
      l = logic(Op::logic_or, "`||`", l, r);
    }
    return fatal_ ? no_node : l;
  }

  std::uint32_t parse_and() {
    std::uint32_t l = parse_comparison();
    while (!fatal_ && peek().kind == Tok::andand) {
      take();
      std::uint32_t r = parse_comparison();
      if (fatal_) return no_node;
      l = logic(Op::logic_and, "`&&`", l, r);
    }
    return fatal_ ? no_node : l;
  }

  std::uint32_t logic(Op op, std::string_view what, std::uint32_t l, std::uint32_t r) {
    bool ok = true;
    l = to_bool(l, what, &ok);
    r = to_bool(r, what, &ok);
    if (!ok) return span_error(l, r);
    return make(op, Type::boolean, node(l).begin, node(r).end, l, r);
  }

  std::optional<Cmp> comparison_op() const {
    switch (peek().kind) {
      case Tok::eq: return Cmp::eq;
      case Tok::ne: return Cmp::ne;
      case Tok::lt: return Cmp::lt;
      case Tok::le: return Cmp::le;
      case Tok::gt: return Cmp::gt;
      case Tok::ge: return Cmp::ge;
      default: return std::nullopt;
    }
  }

  std::uint32_t parse_comparison() {
    std::uint32_t l = parse_additive();
    if (fatal_) return no_node;
    std::optional<Cmp> cmp = comparison_op();
    bool is_in = peek_name("in");
    if (!cmp && !is_in) return l;
    take();
    std::uint32_t r = parse_additive();
    if (fatal_) return no_node;
    std::uint32_t out = is_in ? membership(l, r) : compare(*cmp, l, r);
    if (comparison_op() || peek_name("in")) {
      return syntax(peek().begin, "comparisons cannot be chained; join them with `&&`, like "
                                  "`a < b && b < c`");
    }
    return out;
  }

  std::uint32_t membership(std::uint32_t l, std::uint32_t r) {
    Type lt = type(l);
    Type rt = type(r);
    if (lt == Type::error || rt == Type::error) return span_error(l, r);
    if (!is_list_const(rt)) {
      error(node(r).begin, "`in` needs a list written out, like ['sat', 'sun'], but " + src(r) +
                               " is " + std::string(phrase(rt)));
      return span_error(l, r);
    }
    bool fits = lt == Type::any || rt == Type::empty_list ||
                (lt == Type::text && rt == Type::text_list) ||
                (is_number(lt) && rt == Type::number_list);
    if (!fits) {
      if (lt == Type::text || is_number(lt)) {
        error(node(l).begin, src(l) + " is " + std::string(phrase(lt)) +
                                 " but the list holds " +
                                 (rt == Type::text_list ? "text" : "numbers"));
      } else {
        error(node(l).begin, "`in` looks for text or a number in a list, but " + src(l) + " is " +
                                 std::string(phrase(lt)));
      }
      return span_error(l, r);
    }
    note_tier_literals(l, r);
    return make(Op::in_list, Type::boolean, node(l).begin, node(r).end, l, r);
  }

  std::uint32_t compare(Cmp cmp, std::uint32_t l, std::uint32_t r) {
    Type lt = type(l);
    Type rt = type(r);
    if (lt == Type::error || rt == Type::error) return span_error(l, r);
    bool ordering = cmp != Cmp::eq && cmp != Cmp::ne;
    auto scalar_for_any = [](Type t) {
      return t == Type::any || t == Type::boolean || is_number(t) || t == Type::text;
    };
    bool fits = (is_number(lt) && is_number(rt)) ||
                (lt == rt && (lt == Type::text || lt == Type::boolean || lt == Type::time ||
                              lt == Type::date || lt == Type::duration || lt == Type::any)) ||
                (lt == Type::any && scalar_for_any(rt)) || (rt == Type::any && scalar_for_any(lt));
    if (fits && ordering && (lt == Type::boolean || rt == Type::boolean)) {
      std::uint32_t bad = lt == Type::boolean ? l : r;
      error(node(bad).begin, src(bad) + " is true or false, which cannot be ordered with `" +
                                 std::string(cmp_text(cmp)) + "`");
      return span_error(l, r);
    }
    if (!fits) {
      // Describe the side that is not a literal (the one the marketer most likely meant).
      bool left_literal = node(l).op == Op::const_int || node(l).op == Op::const_decimal ||
                          node(l).op == Op::const_text || node(l).op == Op::const_bool ||
                          node(l).op == Op::const_duration;
      std::uint32_t d = left_literal ? r : l;
      std::uint32_t o = left_literal ? l : r;
      std::string message = src(d) + " is " + std::string(phrase(type(d))) +
                            " and cannot be compared with " + std::string(phrase(type(o)));
      if (type(o) == Type::any || type(d) == Type::any) {
        message += " (attributes hold text, numbers or true/false)";
      }
      if (is_list_const(type(o))) message += "; to look for a value in a list, use `in`";
      error(node(d).begin, message);
      return span_error(l, r);
    }
    note_tier_literals(l, r);
    std::uint32_t n = make(Op::compare, Type::boolean, node(l).begin, node(r).end, l, r);
    if (n != no_node) x_->nodes[n].cmp = cmp;
    return n;
  }

  // Keeps the text that one side compares with `member.tier` on the other, a literal or
  // each text of a literal list, for the loader to check against the tiers.
  void note_tier_literals(std::uint32_t l, std::uint32_t r) {
    for (auto [tier, other] : {std::pair{l, r}, std::pair{r, l}}) {
      if (node(tier).op != Op::member_tier) continue;
      const Node& o = node(other);
      if (o.op == Op::const_text) {
        std::string_view text = x_->pool_text(TextRef{o.text_off, o.text_len});
        tier_literals_.push_back(TierLiteral{o.begin, std::string(text)});
      } else if (o.op == Op::const_list) {
        const auto& texts = list_texts_[static_cast<std::size_t>(o.imm)];
        tier_literals_.insert(tier_literals_.end(), texts.begin(), texts.end());
      }
    }
  }

  std::uint32_t parse_additive() {
    std::uint32_t l = parse_multiplicative();
    while (!fatal_ && (peek().kind == Tok::plus || peek().kind == Tok::minus)) {
      Tok op = take().kind;
      std::uint32_t r = parse_multiplicative();
      if (fatal_) return no_node;
      l = op == Tok::plus ? plus(l, r) : minus(l, r);
    }
    return fatal_ ? no_node : l;
  }

  std::uint32_t numeric(Op int_op, Op decimal_op, std::uint32_t l, std::uint32_t r) {
    if (type(l) == Type::integer && type(r) == Type::integer && int_op != Op::div_decimal) {
      return make(int_op, Type::integer, node(l).begin, node(r).end, l, r);
    }
    std::uint32_t begin = node(l).begin;
    std::uint32_t end = node(r).end;
    l = to_decimal(l);
    r = to_decimal(r);
    return make(decimal_op, Type::decimal, begin, end, l, r);
  }

  std::uint32_t plus(std::uint32_t l, std::uint32_t r) {
    Type lt = type(l);
    Type rt = type(r);
    if (lt == Type::error || rt == Type::error) return span_error(l, r);
    if (lt == Type::time && rt == Type::duration) {
      return make(Op::add_time_duration, Type::time, node(l).begin, node(r).end, l, r);
    }
    if (lt == Type::duration && rt == Type::time) {
      return make(Op::add_time_duration, Type::time, node(l).begin, node(r).end, r, l);
    }
    if (lt == Type::duration && rt == Type::duration) {
      return make(Op::add_duration, Type::duration, node(l).begin, node(r).end, l, r);
    }
    auto num = [](Type t) { return is_number(t) || t == Type::any; };
    if (num(lt) && num(rt)) return numeric(Op::add_int, Op::add_decimal, l, r);
    arith_error("`+` adds numbers, or a duration to a time", l, r);
    return span_error(l, r);
  }

  std::uint32_t minus(std::uint32_t l, std::uint32_t r) {
    Type lt = type(l);
    Type rt = type(r);
    if (lt == Type::error || rt == Type::error) return span_error(l, r);
    if (lt == Type::time && rt == Type::duration) {
      return make(Op::sub_time_duration, Type::time, node(l).begin, node(r).end, l, r);
    }
    if (lt == Type::time && rt == Type::time) {
      return make(Op::sub_time_time, Type::duration, node(l).begin, node(r).end, l, r);
    }
    if (lt == Type::duration && rt == Type::duration) {
      return make(Op::sub_duration, Type::duration, node(l).begin, node(r).end, l, r);
    }
    auto num = [](Type t) { return is_number(t) || t == Type::any; };
    if (num(lt) && num(rt)) return numeric(Op::sub_int, Op::sub_decimal, l, r);
    arith_error("`-` subtracts numbers, a duration from a time, or two times", l, r);
    return span_error(l, r);
  }

  void arith_error(std::string_view what, std::uint32_t l, std::uint32_t r) {
    auto fine = [](Type t) {
      return is_number(t) || t == Type::any || t == Type::time || t == Type::duration;
    };
    for (std::uint32_t i : {l, r}) {
      if (!fine(type(i))) {
        error(node(i).begin, std::string(what) + ", but " + src(i) + " is " +
                                 std::string(phrase(type(i))));
        return;
      }
    }
    std::string message = std::string(what) + "; it cannot combine " + src(l) + " (" +
                          std::string(phrase(type(l))) + ") with " + src(r) + " (" +
                          std::string(phrase(type(r))) + ")";
    if (type(l) == Type::time || type(r) == Type::time) {
      message += "; write a duration like 30d or 12h";
    }
    error(node(l).begin, message);
  }

  std::uint32_t parse_multiplicative() {
    std::uint32_t l = parse_unary();
    while (!fatal_ && (peek().kind == Tok::star || peek().kind == Tok::slash ||
                       peek().kind == Tok::percent)) {
      Tok op = take().kind;
      std::uint32_t r = parse_unary();
      if (fatal_) return no_node;
      if (type(l) == Type::error || type(r) == Type::error) {
        l = span_error(l, r);
        continue;
      }
      std::string_view what = op == Tok::star    ? "`*` multiplies numbers"
                              : op == Tok::slash ? "`/` divides numbers"
                                                 : "`%` gives the remainder of numbers";
      bool ok_l = number_operand(l, what);
      bool ok_r = ok_l && number_operand(r, what);
      if (!ok_l || !ok_r) {
        l = span_error(l, r);
        continue;
      }
      if (op == Tok::star) l = numeric(Op::mul_int, Op::mul_decimal, l, r);
      if (op == Tok::slash) l = numeric(Op::div_decimal, Op::div_decimal, l, r);
      if (op == Tok::percent) l = numeric(Op::mod_int, Op::mod_decimal, l, r);
    }
    return fatal_ ? no_node : l;
  }

  std::uint32_t parse_unary() {
    if (peek().kind != Tok::bang && peek().kind != Tok::minus) return parse_primary();
    Token op = take();
    if (++nesting_ > expression_nesting_max) return too_deep(op.begin);
    std::uint32_t v = parse_unary();
    --nesting_;
    if (fatal_) return no_node;
    Type t = type(v);
    if (t == Type::error) return error_node(op.begin, node(v).end);
    if (op.kind == Tok::bang) {
      bool ok = true;
      v = to_bool(v, "`!`", &ok);
      if (!ok) return error_node(op.begin, node(v).end);
      return make(Op::logic_not, Type::boolean, op.begin, node(v).end, v);
    }
    Node& n = x_->nodes[v];
    if (n.op == Op::const_int || n.op == Op::const_decimal || n.op == Op::const_duration) {
      n.imm = -n.imm;  // literals are >= 0, so this cannot overflow
      n.begin = op.begin;
      return v;
    }
    if (t == Type::integer) return make(Op::neg_int, t, op.begin, node(v).end, v);
    if (t == Type::decimal) return make(Op::neg_decimal, t, op.begin, node(v).end, v);
    if (t == Type::duration) return make(Op::neg_duration, t, op.begin, node(v).end, v);
    if (t == Type::any) {
      v = cast(Op::any_to_number, Type::decimal, v);
      return make(Op::neg_decimal, Type::decimal, op.begin, node(v).end, v);
    }
    error(node(v).begin, "`-` needs a number or a duration, but " + src(v) + " is " +
                             std::string(phrase(t)));
    return error_node(op.begin, node(v).end);
  }

  std::uint32_t too_deep(std::size_t offset) {
    return syntax(offset, "the expression is nested too deeply (more than " +
                              std::to_string(expression_nesting_max) + " levels)");
  }

  std::uint32_t parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::integer: {
        take();
        std::uint32_t n = make(Op::const_int, Type::integer, t.begin, t.end);
        if (n != no_node) x_->nodes[n].imm = t.value;
        return n;
      }
      case Tok::decimal: {
        take();
        std::uint32_t n = make(Op::const_decimal, Type::decimal, t.begin, t.end);
        if (n != no_node) x_->nodes[n].imm = t.value;
        return n;
      }
      case Tok::duration: {
        take();
        std::uint32_t n = make(Op::const_duration, Type::duration, t.begin, t.end);
        if (n != no_node) x_->nodes[n].imm = t.value;
        return n;
      }
      case Tok::text: {
        take();
        TextRef ref = intern(t.str);
        std::uint32_t n = make(Op::const_text, Type::text, t.begin, t.end);
        if (n != no_node) {
          x_->nodes[n].text_off = ref.off;
          x_->nodes[n].text_len = ref.len;
        }
        return n;
      }
      case Tok::lparen: return parse_parenthesized();
      case Tok::lbracket: return parse_list();
      case Tok::name: return parse_name();
      case Tok::end:
        if (pos_ == 0) return syntax(0, "the expression is empty");
        return syntax(t.begin, "the expression ends too early; a value is missing at the end");
      default:
        return syntax(t.begin, "expected a value (a name, a number, text in quotes or a "
                               "function call) but found " +
                                   backticked(x_->text.substr(t.begin, t.end - t.begin)));
    }
  }

  TextRef intern(std::string_view s) {
    TextRef ref{static_cast<std::uint32_t>(x_->pool.size()), static_cast<std::uint32_t>(s.size())};
    x_->pool += s;
    return ref;
  }

  std::uint32_t parse_parenthesized() {
    Token open = take();
    if (++nesting_ > expression_nesting_max) return too_deep(open.begin);
    std::uint32_t v = parse_or();
    --nesting_;
    if (fatal_) return no_node;
    if (peek().kind != Tok::rparen) {
      if (peek().kind == Tok::end) return syntax(open.begin, "this `(` is not closed; add a `)`");
      unexpected(peek(), "`)` or an operator");
      return no_node;
    }
    Token close = take();
    x_->nodes[v].begin = open.begin;  // spans include the parentheses (for explain)
    x_->nodes[v].end = close.end;
    return v;
  }

  std::uint32_t parse_list() {
    Token open = take();
    ListConst list;
    std::vector<std::string> texts;
    std::vector<TierLiteral> written;  // the texts as written, with their places
    while (peek().kind != Tok::rbracket) {
      const Token& t = peek();
      bool negative = false;
      std::uint32_t begin = t.begin;
      if (t.kind == Tok::minus) {
        negative = true;
        take();
      }
      const Token& v = peek();
      if (v.kind == Tok::end) return syntax(open.begin, "this `[` is not closed; add a `]`");
      bool is_text = v.kind == Tok::text && !negative;
      bool is_num = v.kind == Tok::integer || v.kind == Tok::decimal;
      if (!is_text && !is_num) {
        return syntax(begin, "a list may only hold text or numbers written out, like "
                             "['sat', 'sun'] or [1, 2]");
      }
      Type kind = is_text ? Type::text_list : Type::number_list;
      if (list.type != Type::empty_list && list.type != kind) {
        return syntax(begin, "a list holds either text or numbers, not both");
      }
      list.type = kind;
      if (texts.size() + list.numbers.size() >= expression_list_values_max) {
        return syntax(begin, "this list has more than " +
                                 std::to_string(expression_list_values_max) + " values");
      }
      if (is_text) {
        texts.push_back(v.str);
        written.push_back(TierLiteral{v.begin, v.str});
      } else {
        std::int64_t units = v.value;
        if (v.kind == Tok::integer) {
          auto d = Decimal::from_integer(v.value);
          if (!d) return syntax(v.begin, backticked(x_->text.substr(v.begin, v.end - v.begin)) +
                                             " is too large a number for a list");
          units = d->units();
        }
        list.numbers.push_back(negative ? -units : units);
      }
      take();
      if (peek().kind == Tok::comma) {
        take();
      } else if (peek().kind != Tok::rbracket) {
        if (peek().kind == Tok::end) return syntax(open.begin, "this `[` is not closed; add a `]`");
        unexpected(peek(), "`,` or `]` in the list");
        return no_node;
      }
    }
    Token close = take();
    std::sort(texts.begin(), texts.end());
    for (const std::string& s : texts) list.texts.push_back(intern(s));
    std::sort(list.numbers.begin(), list.numbers.end());
    Type t = list.type;
    x_->lists.push_back(std::move(list));
    list_texts_.push_back(std::move(written));
    std::uint32_t n = make(Op::const_list, t, open.begin, close.end);
    if (n != no_node) x_->nodes[n].imm = static_cast<std::int64_t>(x_->lists.size() - 1);
    return n;
  }

  std::uint32_t parse_name() {
    Token t = take();
    if (peek().kind == Tok::lparen) return parse_call(t);
    const std::string& name = t.str;
    if (name == "true" || name == "false") {
      std::uint32_t n = make(Op::const_bool, Type::boolean, t.begin, t.end);
      if (n != no_node) x_->nodes[n].imm = name == "true" ? 1 : 0;
      return n;
    }
    if (name == "in") {
      return syntax(t.begin, "`in` needs a value on its left, like "
                             "`event.channel in ['app', 'web']`");
    }
    if (name == "not" || name == "NOT") return syntax(t.begin, "write `!` instead of `not`");
    if (name == "and" || name == "or" || name == "AND" || name == "OR") {
      unexpected(t, "a value");
      return no_node;
    }
    return resolve(t);
  }

  std::uint32_t resolve(const Token& t) {
    const std::string& name = t.str;
    for (const NameDef& d : kNames) {
      if (d.name != name) continue;
      if (d.scope == Scope::event && context_ == ExprContext::member_only) {
        error(t.begin, backticked(name) + " is not known in `eligible`, which sees only the "
                                      "member; put conditions on the event in `when`");
        return error_node(t.begin, t.end);
      }
      if (d.scope == Scope::item && list_scope_ == 0) {
        error(t.begin, backticked(name) + " can only be used inside any, all, count, filter or "
                                      "sum, where `item` is each item of the list, like "
                                      "`any(event.items, item.category == 'vinyl')`");
        return error_node(t.begin, t.end);
      }
      return make(d.op, d.type, t.begin, t.end);
    }
    for (auto [prefix, op, scope] :
         {std::tuple{kMemberAttributes, Op::member_attr, Scope::member},
          std::tuple{kEventAttributes, Op::event_attr, Scope::event}}) {
      std::string_view n = name;
      if (n == prefix) {
        error(t.begin, backticked(name) + " needs a key, like `" + std::string(prefix) +
                           ".segment`");
        return error_node(t.begin, t.end);
      }
      if (n.size() > prefix.size() + 1 && n.substr(0, prefix.size()) == prefix &&
          n[prefix.size()] == '.') {
        if (scope == Scope::event && context_ == ExprContext::member_only) {
          error(t.begin, backticked(name) + " is not known in `eligible`, which sees only the "
                                        "member; put conditions on the event in `when`");
          return error_node(t.begin, t.end);
        }
        TextRef key = intern(n.substr(prefix.size() + 1));
        x_->keys.push_back(key);
        std::uint32_t i = make(op, Type::any, t.begin, t.end);
        if (i != no_node) x_->nodes[i].imm = static_cast<std::int64_t>(x_->keys.size() - 1);
        return i;
      }
    }
    error(t.begin, unknown_name_message(name));
    return error_node(t.begin, t.end);
  }

  static std::string unknown_name_message(std::string_view name) {
    for (const FnDef& f : kFunctions) {
      if (f.name == name) {
        return backticked(name) + " is a function; call it with parentheses, like `" +
               std::string(name) + "(...)`";
      }
    }
    if (name == "member" || name == "event" || name == "item") {
      std::string example = name == "member" ? "member.tier"
                            : name == "event" ? "event.total"
                                              : "item.category";
      return backticked(name) + " needs a field, like `" + example + "`";
    }
    std::string message = "unknown name " + backticked(name);
    std::string folded;
    for (char c : name) folded += ascii_lower(c);
    if (folded == "true" || folded == "false") {
      return message + "; write `" + folded + "` in lower case";
    }
    // Misspelt attributes: fix the prefix, keep the key.
    std::size_t second_dot = name.find('.', name.find('.') + 1);
    if (name.find('.') != std::string_view::npos && second_dot != std::string_view::npos) {
      std::string_view head = name.substr(0, second_dot);
      for (std::string_view prefix : {kMemberAttributes, kEventAttributes}) {
        if (edit_distance(head, prefix) <= 2) {
          return message + "; did you mean `" + std::string(prefix) +
                 std::string(name.substr(second_dot)) + "`?";
        }
      }
    }
    std::string_view best = closest(name, kNames, [](const NameDef& d) { return d.name; });
    if (best.empty() && name.find('.') == std::string_view::npos) {
      for (const NameDef& d : kNames) {  // `tier` for `member.tier`
        std::string_view full = d.name;
        std::size_t dot = full.find('.');
        if (dot != std::string_view::npos && full.substr(dot + 1) == name) {
          best = full;
          break;
        }
      }
    }
    if (!best.empty()) return message + "; did you mean `" + std::string(best) + "`?";
    return message + "; names are `base` or start with `member.`, `event.` or `item.`";
  }

  // Parses the arguments of a call; `name` is the function's token.
  std::uint32_t parse_call(const Token& name) {
    Token open = take();
    if (++nesting_ > expression_nesting_max) return too_deep(open.begin);
    const FnDef* fn = nullptr;
    for (const FnDef& f : kFunctions) {
      if (f.name == name.str) fn = &f;
    }
    bool list_fn = fn && (fn->fn == Fn::any || fn->fn == Fn::all || fn->fn == Fn::count ||
                          fn->fn == Fn::filter || fn->fn == Fn::sum);
    std::vector<std::uint32_t> args;
    if (peek().kind != Tok::rparen) {
      while (true) {
        bool scoped = list_fn && args.size() == 1;
        if (scoped) ++list_scope_;
        std::uint32_t a = parse_or();
        if (scoped) --list_scope_;
        if (fatal_) return no_node;
        args.push_back(a);
        if (peek().kind == Tok::comma) {
          take();
          continue;
        }
        if (peek().kind == Tok::rparen) break;
        if (peek().kind == Tok::end) {
          return syntax(open.begin, "the `(` of " + backticked(name.str) + " is not closed; add "
                                    "a `)`");
        }
        unexpected(peek(), "`,` or `)` in the arguments of " + backticked(name.str));
        return no_node;
      }
    }
    Token close = take();
    --nesting_;
    if (!fn) {
      std::string message;
      bool is_name = std::any_of(std::begin(kNames), std::end(kNames),
                                 [&](const NameDef& d) { return d.name == name.str; });
      if (is_name) {
        message = backticked(name.str) + " is not a function";
      } else {
        message = "unknown function " + backticked(name.str);
        std::string_view best =
            closest(name.str, kFunctions, [](const FnDef& f) { return f.name; });
        if (!best.empty()) message += "; did you mean `" + std::string(best) + "`?";
      }
      error(name.begin, message);
      return error_node(name.begin, close.end);
    }
    if (args.size() != fn->arity) {
      error(name.begin, backticked(fn->name) + " takes " + std::to_string(fn->arity) + " argument" +
                            (fn->arity == 1 ? "" : "s") + ", got " +
                            std::to_string(args.size()));
      return error_node(name.begin, close.end);
    }
    return call(*fn, name.begin, close.end, args);
  }

  std::uint32_t call(const FnDef& fn, std::uint32_t begin, std::uint32_t end,
                     std::vector<std::uint32_t>& args) {
    bool ok = true;
    for (std::uint32_t a : args) ok = ok && type(a) != Type::error;
    std::string name = backticked(fn.name);
    auto bad_arg = [&](std::size_t i, std::string_view needs) {
      if (type(args[i]) == Type::error) return;
      std::string which = args.size() == 1 ? name : "the " + std::string(ordinal(i)) +
                                                        " argument of " + name;
      error(node(args[i]).begin, which + (args.size() == 1 ? " needs " : " must be ") +
                                     std::string(needs) + ", but " + src(args[i]) + " is " +
                                     std::string(phrase(type(args[i]))));
      ok = false;
    };
    auto mk = [&](Op op, Type t, std::uint32_t a = no_node, std::uint32_t b = no_node,
                  std::uint32_t c = no_node) { return make(op, t, begin, end, a, b, c); };
    switch (fn.fn) {
      case Fn::weekday:
      case Fn::month:
      case Fn::day: {
        Type t = type(args[0]);
        if (t != Type::time && t != Type::date) bad_arg(0, "a time or a date");
        if (!ok) return error_node(begin, end);
        bool date = t == Type::date;
        if (fn.fn == Fn::weekday) {
          return mk(date ? Op::weekday_date : Op::weekday_time, Type::text, args[0]);
        }
        if (fn.fn == Fn::month) {
          return mk(date ? Op::month_date : Op::month_time, Type::integer, args[0]);
        }
        return mk(date ? Op::day_date : Op::day_time, Type::integer, args[0]);
      }
      case Fn::hour:
      case Fn::days_since: {
        if (type(args[0]) != Type::time) bad_arg(0, "a time, like `event.time`");
        if (!ok) return error_node(begin, end);
        return mk(fn.fn == Fn::hour ? Op::hour_time : Op::days_since_time, Type::integer,
                  args[0]);
      }
      case Fn::any:
      case Fn::all:
      case Fn::count:
      case Fn::filter:
      case Fn::sum: {
        if (type(args[0]) != Type::item_list) bad_arg(0, "a list of items, like `event.items`");
        Type t = type(args[1]);
        if (fn.fn == Fn::sum) {
          if (!is_number(t) && t != Type::any) bad_arg(1, "a number for each item");
          if (!ok) return error_node(begin, end);
          if (t == Type::integer) return mk(Op::sum_int, Type::integer, args[0], args[1]);
          return mk(Op::sum_decimal, Type::decimal, args[0], to_decimal(args[1]));
        }
        if (t == Type::any) {
          args[1] = cast(Op::any_to_bool, Type::boolean, args[1]);
        } else if (t != Type::boolean) {
          bad_arg(1, "a condition (true or false) on each item");
        }
        if (!ok) return error_node(begin, end);
        Op op = fn.fn == Fn::any     ? Op::list_any
                : fn.fn == Fn::all   ? Op::list_all
                : fn.fn == Fn::count ? Op::list_count
                                     : Op::list_filter;
        Type result = fn.fn == Fn::count    ? Type::integer
                      : fn.fn == Fn::filter ? Type::item_list
                                            : Type::boolean;
        return mk(op, result, args[0], args[1]);
      }
      case Fn::if_: {
        if (type(args[0]) == Type::any) {
          args[0] = cast(Op::any_to_bool, Type::boolean, args[0]);
        } else if (type(args[0]) != Type::boolean) {
          bad_arg(0, "a condition (true or false)");
        }
        if (!ok) return error_node(begin, end);
        Type a = type(args[1]);
        Type b = type(args[2]);
        Type t = a;
        if (a != b) {
          auto scalar = [](Type x) {
            return x == Type::boolean || is_number(x) || x == Type::text;
          };
          if (is_number(a) && is_number(b)) {
            t = Type::decimal;
          } else if (a == Type::any && scalar(b)) {
            t = is_number(b) ? Type::decimal : b;
          } else if (b == Type::any && scalar(a)) {
            t = is_number(a) ? Type::decimal : a;
          } else {
            error(node(args[1]).begin,
                  "`if` must give the same kind of value either way, but " + src(args[1]) +
                      " is " + std::string(phrase(a)) + " and " + src(args[2]) + " is " +
                      std::string(phrase(b)));
            return error_node(begin, end);
          }
          for (std::size_t i = 1; i <= 2; ++i) {
            if (t == Type::decimal) args[i] = to_decimal(args[i]);
            if (t == Type::boolean && type(args[i]) == Type::any) {
              args[i] = cast(Op::any_to_bool, t, args[i]);
            }
            if (t == Type::text && type(args[i]) == Type::any) {
              args[i] = cast(Op::any_to_text, t, args[i]);
            }
          }
        } else if (is_list_const(a)) {
          error(node(args[1]).begin, "`if` cannot choose between lists written out");
          return error_node(begin, end);
        }
        return mk(Op::if_then_else, t, args[0], args[1], args[2]);
      }
      case Fn::min:
      case Fn::max: {
        for (std::size_t i = 0; i < 2; ++i) {
          if (!is_number(type(args[i])) && type(args[i]) != Type::any) bad_arg(i, "a number");
        }
        if (!ok) return error_node(begin, end);
        bool is_min = fn.fn == Fn::min;
        if (type(args[0]) == Type::integer && type(args[1]) == Type::integer) {
          return mk(is_min ? Op::min_int : Op::max_int, Type::integer, args[0], args[1]);
        }
        std::uint32_t a = to_decimal(args[0]);
        std::uint32_t b = to_decimal(args[1]);
        return mk(is_min ? Op::min_decimal : Op::max_decimal, Type::decimal, a, b);
      }
      case Fn::floor:
      case Fn::round:
      case Fn::ceil: {
        Type t = type(args[0]);
        if (!is_number(t) && t != Type::any) bad_arg(0, "a number");
        if (!ok) return error_node(begin, end);
        if (t == Type::integer) {
          x_->nodes[args[0]].begin = begin;  // whole already: the call is the number itself
          x_->nodes[args[0]].end = end;
          return args[0];
        }
        Op op = fn.fn == Fn::floor ? Op::floor_decimal
                : fn.fn == Fn::round ? Op::round_decimal
                                     : Op::ceil_decimal;
        return mk(op, Type::integer, to_decimal(args[0]));
      }
      case Fn::lower:
      case Fn::starts_with:
      case Fn::contains: {
        for (std::size_t i = 0; i < args.size(); ++i) {
          Type t = type(args[i]);
          if (t == Type::any) {
            args[i] = cast(Op::any_to_text, Type::text, args[i]);
          } else if (t != Type::text) {
            bad_arg(i, "text");
          }
        }
        if (!ok) return error_node(begin, end);
        if (fn.fn == Fn::lower) return mk(Op::lower_text, Type::text, args[0]);
        return mk(fn.fn == Fn::starts_with ? Op::starts_with_text : Op::contains_text,
                  Type::boolean, args[0], args[1]);
      }
      case Fn::has: {
        if (!ok) return error_node(begin, end);
        Op op = node(args[0]).op;
        if (op != Op::member_attr && op != Op::event_attr) {
          error(node(args[0]).begin, "`has` needs an attribute, like "
                                     "`has(member.attributes.segment)`, but got " +
                                         src(args[0]));
          return error_node(begin, end);
        }
        std::uint32_t n = mk(op == Op::member_attr ? Op::has_member_attr : Op::has_event_attr,
                             Type::boolean);
        if (n != no_node) x_->nodes[n].imm = node(args[0]).imm;
        return n;
      }
    }
    return error_node(begin, end);
  }

  std::uint32_t check_result(std::uint32_t root, ExprResult result) {
    Type t = type(root);
    if (t == Type::error) return root;
    if (result == ExprResult::boolean) {
      if (t == Type::boolean) return root;
      if (t == Type::any) return cast(Op::any_to_bool, Type::boolean, root);
      error(node(root).begin, "this must be a condition (true or false), like "
                              "`event.total >= 100`, but " + src(root) + " is " +
                                  std::string(phrase(t)));
      return root;
    }
    if (is_number(t)) return root;
    if (t == Type::any) return cast(Op::any_to_number, Type::decimal, root);
    error(node(root).begin, "an award must be a number of points, like `base` or `50`, but " +
                                src(root) + " is " + std::string(phrase(t)));
    return root;
  }

  std::shared_ptr<CompiledExpr> x_;
  ExprContext context_;
  std::vector<Token> toks_;
  std::size_t pos_ = 0;
  std::vector<int> depth_;
  std::vector<ExprError> errors_;
  std::vector<TierLiteral> tier_literals_;
  std::vector<std::vector<TierLiteral>> list_texts_;  // per x_->lists entry, in source order
  bool fatal_ = false;
  int nesting_ = 0;
  int list_scope_ = 0;
};

}  // namespace

CompileOutput compile_expression(std::string_view text, ExprContext context, ExprResult result) {
  Compiler compiler(text, context);
  return compiler.run(result);
}

std::string_view expression_text(const CompiledExpr& expr) { return expr.text; }

}  // namespace encore::rules::internal
