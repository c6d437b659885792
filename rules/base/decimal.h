// Decimal: an exact fixed-point number with 6 fraction digits (rules/base). Money is a
// Decimal parsed from text with at most the currency's fraction digits, never through
// binary floating point.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rules/base/status.h"

namespace encore {

class Decimal {
 public:
  static constexpr int scale_digits = 6;
  static constexpr std::int64_t scale = 1'000'000;

  constexpr Decimal() = default;
  static constexpr Decimal from_units(std::int64_t units) { return Decimal(units); }
  // REQUIRES: |n| <= 9'223'372'036'854 (checked: nullopt beyond).
  static std::optional<Decimal> from_integer(std::int64_t n);

  // Parses "59.90", "-3", "0.5", "1e2" is refused. At most max_fraction_digits
  // digits after the point (trailing zeros count); errors are invalid_request with
  // a sentence naming the problem.
  static Result<Decimal> parse(std::string_view text, int max_fraction_digits = scale_digits);

  constexpr std::int64_t units() const { return units_; }  // value × 10^6
  std::string to_string() const;                           // minimal digits: "59.9", "3"
  std::string to_string_fixed(int fraction_digits) const;  // "59.90"; REQUIRES digits <= 6

  // Checked arithmetic: nullopt on overflow (or division by zero).
  std::optional<Decimal> add(Decimal o) const;
  std::optional<Decimal> sub(Decimal o) const;
  std::optional<Decimal> mul(Decimal o) const;  // rounds toward zero to 6 digits
  std::optional<Decimal> div(Decimal o) const;  // rounds toward zero to 6 digits
  // Integer part rounded down / half away from zero / up; nullopt never (fits int64).
  std::int64_t floor() const;
  std::int64_t ceil() const;
  std::int64_t round() const;

  friend constexpr auto operator<=>(Decimal, Decimal) = default;

 private:
  constexpr explicit Decimal(std::int64_t units) : units_(units) {}
  std::int64_t units_ = 0;
};

using Money = Decimal;

}  // namespace encore
