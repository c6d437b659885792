// Timestamps (UTC microseconds), RFC 3339 text and civil (calendar) dates in UTC
// (rules/base). Time zones other than UTC live in rules/ (the program's timezone).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "rules/base/status.h"

namespace encore {

inline constexpr std::int64_t micros_per_second = 1'000'000;
inline constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;

// A point in time: microseconds since 1970-01-01T00:00:00Z.
struct Timestamp {
  std::int64_t micros = 0;
  static constexpr Timestamp from_seconds(std::int64_t s) { return {s * micros_per_second}; }
  constexpr std::int64_t seconds() const {  // floor
    return micros >= 0 ? micros / micros_per_second
                       : -((-micros + micros_per_second - 1) / micros_per_second);
  }
  constexpr Timestamp plus_seconds(std::int64_t s) const {
    return {micros + s * micros_per_second};
  }
  constexpr Timestamp plus_days(std::int64_t d) const { return {micros + d * micros_per_day}; }
  friend constexpr auto operator<=>(Timestamp, Timestamp) = default;
};

// A calendar date (proleptic Gregorian).
struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  friend constexpr auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
std::int64_t days_from_civil(CivilDate d);
CivilDate civil_from_days(std::int64_t days);
// ISO weekday of a day number: 1 = Monday .. 7 = Sunday.
int weekday_from_days(std::int64_t days);

// RFC 3339: "2026-11-22T14:00:00Z", optional fraction (up to 6 digits kept), offset
// "Z" or "+hh:mm"/"-hh:mm" (API.md sends UTC, offsets are accepted and converted).
Result<Timestamp> parse_rfc3339(std::string_view text);
// "2026-11-22T14:00:00Z", or with 6 fraction digits when micros are not whole seconds.
std::string format_rfc3339(Timestamp t);
// The same into buf (at least rfc3339_chars_max bytes, no terminator); returns the length.
// Responses write several times each; this one needs no allocation nor printf.
inline constexpr std::size_t rfc3339_chars_max = 48;
std::size_t format_rfc3339(Timestamp t, char* buf);

// "YYYY-MM-DD", checked (month 1-12, day within the month).
Result<CivilDate> parse_civil_date(std::string_view text);
std::string format_civil_date(CivilDate d);

// The UTC calendar date of a timestamp.
CivilDate utc_date(Timestamp t);

}  // namespace encore
