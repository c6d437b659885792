// Decimal parsing, formatting and checked arithmetic (rules/base).
#include "rules/base/decimal.h"

#include <string>

namespace encore {
namespace {
__extension__ using Int128 = __int128;
constexpr std::int64_t kInt64Max = INT64_MAX;
constexpr std::int64_t kInt64Min = INT64_MIN;

std::optional<Decimal> from_wide(Int128 v) {
  if (v > kInt64Max || v < kInt64Min) return std::nullopt;
  return Decimal::from_units(static_cast<std::int64_t>(v));
}
}  // namespace

std::optional<Decimal> Decimal::from_integer(std::int64_t n) {
  return from_wide(static_cast<Int128>(n) * scale);
}

Result<Decimal> Decimal::parse(std::string_view text, int max_fraction_digits) {
  auto bad = [&](std::string why) {
    return make_error(ErrorCode::invalid_request,
                      "'" + std::string(text.substr(0, 40)) + "' is not a decimal number: " + why);
  };
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  Int128 whole = 0;
  std::size_t whole_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    whole = whole * 10 + (text[i] - '0');
    if (whole > kInt64Max) return bad("it is too large");
    ++i;
    ++whole_digits;
  }
  if (whole_digits == 0) return bad("expected digits");
  Int128 fraction = 0;
  int fraction_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (fraction_digits >= max_fraction_digits) {
        return bad("more than " + std::to_string(max_fraction_digits) + " digits after the point");
      }
      fraction = fraction * 10 + (text[i] - '0');
      ++fraction_digits;
      ++i;
    }
    if (fraction_digits == 0) return bad("expected digits after the point");
  }
  if (i != text.size()) return bad("unexpected character");
  for (int d = fraction_digits; d < scale_digits; ++d) fraction *= 10;
  Int128 units = whole * scale + fraction;
  if (negative) units = -units;
  auto value = from_wide(units);
  if (!value) return bad("it is too large");
  return *value;
}

std::string Decimal::to_string_fixed(int fraction_digits) const {
  ENCORE_ASSERT(fraction_digits >= 0 && fraction_digits <= scale_digits);
  Int128 v = units_;
  bool negative = v < 0;
  if (negative) v = -v;
  auto whole = static_cast<unsigned long long>(v / scale);
  auto frac = static_cast<unsigned long long>(v % scale);
  std::string out = negative ? "-" : "";
  out += std::to_string(whole);
  if (fraction_digits > 0) {
    std::string f = std::to_string(frac);
    f.insert(0, static_cast<std::size_t>(scale_digits) - f.size(), '0');
    out += '.';
    out += f.substr(0, static_cast<std::size_t>(fraction_digits));
  }
  return out;
}

std::string Decimal::to_string() const {
  std::string s = to_string_fixed(scale_digits);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::optional<Decimal> Decimal::add(Decimal o) const {
  return from_wide(static_cast<Int128>(units_) + o.units_);
}
std::optional<Decimal> Decimal::sub(Decimal o) const {
  return from_wide(static_cast<Int128>(units_) - o.units_);
}
std::optional<Decimal> Decimal::mul(Decimal o) const {
  return from_wide(static_cast<Int128>(units_) * o.units_ / scale);
}
std::optional<Decimal> Decimal::div(Decimal o) const {
  if (o.units_ == 0) return std::nullopt;
  return from_wide(static_cast<Int128>(units_) * scale / o.units_);
}

std::int64_t Decimal::floor() const {
  std::int64_t q = units_ / scale;
  if (units_ % scale != 0 && units_ < 0) --q;
  return q;
}
std::int64_t Decimal::ceil() const {
  std::int64_t q = units_ / scale;
  if (units_ % scale != 0 && units_ > 0) ++q;
  return q;
}
std::int64_t Decimal::round() const {
  std::int64_t q = units_ / scale;
  std::int64_t r = units_ % scale;
  if (r >= scale / 2) ++q;
  if (r <= -scale / 2) --q;
  return q;
}

}  // namespace encore
