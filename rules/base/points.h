// Points: checked integer arithmetic on loyalty points (rules/base). API.md bounds
// every amount to [-10^15, 10^15]; leaving that range is an error, never a wrap.
#pragma once

#include <cstdint>
#include <optional>

namespace encore {

inline constexpr std::int64_t points_max = 1'000'000'000'000'000;  // 10^15, API.md
inline constexpr std::int64_t points_min = -points_max;

// Returns nullopt when the result leaves [points_min, points_max].
constexpr std::optional<std::int64_t> points_add(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r) || r > points_max || r < points_min) return std::nullopt;
  return r;
}
constexpr std::optional<std::int64_t> points_sub(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r) || r > points_max || r < points_min) return std::nullopt;
  return r;
}
constexpr bool points_in_range(std::int64_t a) { return a >= points_min && a <= points_max; }

using Seq = std::uint64_t;  // journal sequence number, 1-based; 0 = none

}  // namespace encore
