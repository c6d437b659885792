// Proves the shared vocabulary of rules/base: the error table, checked points,
// exact decimals and RFC 3339 / civil-date conversions, on edge cases.
#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <set>
#include <string>

#include "rules/base/clock.h"
#include "rules/base/decimal.h"
#include "rules/base/points.h"
#include "rules/base/status.h"
#include "rules/base/time.h"

using namespace encore;

TEST_CASE("every error code has a unique wire name and an HTTP status of 4xx or 5xx") {
  std::set<std::string> names;
  for (auto it = error_codes_begin(); it != error_codes_end(); ++it) {
    CHECK(names.insert(std::string(error_code_name(*it))).second);
    CHECK(error_code_http_status(*it) >= 400);
    CHECK(error_code_http_status(*it) < 600);
    CHECK(!error_code_title(*it).empty());
  }
  CHECK(error_code_name(ErrorCode::insufficient_points) == "insufficient_points");
  CHECK(error_code_http_status(ErrorCode::idempotency_key_reused) == 422);
  CHECK(error_code_http_status(ErrorCode::unavailable) == 503);
}

TEST_CASE("Result carries a value or an error and the macros propagate errors") {
  auto half = [](int x) -> Result<int> {
    if (x % 2) return make_error(ErrorCode::invalid_request, "odd");
    return x / 2;
  };
  auto quarter = [&](int x) -> Result<int> {
    ENCORE_ASSIGN_OR_RETURN(int h, half(x));
    return half(h);
  };
  CHECK(quarter(8).value() == 2);
  CHECK(quarter(6).error().code == ErrorCode::invalid_request);
  auto check = [&](int x) -> Status {
    ENCORE_RETURN_IF_ERROR(half(x));
    return Status::ok();
  };
  CHECK(check(4).is_ok());
  CHECK(!check(3).is_ok());
}

TEST_CASE("points arithmetic refuses to leave [-10^15, 10^15]") {
  CHECK(points_add(points_max, 0).value() == points_max);
  CHECK(!points_add(points_max, 1).has_value());
  CHECK(!points_sub(points_min, 1).has_value());
  CHECK(!points_add(INT64_MAX, INT64_MAX).has_value());
  CHECK(points_sub(5, 7).value() == -2);
}

TEST_CASE("decimals are parsed exactly from text") {
  CHECK(Decimal::parse("59.90", 2).value().units() == 59'900'000);
  CHECK(Decimal::parse("-3", 2).value().units() == -3'000'000);
  CHECK(Decimal::parse("0.1").value().add(Decimal::parse("0.2").value())->to_string() == "0.3");
  SUBCASE("too many fraction digits, trailing zeros included") {
    CHECK(!Decimal::parse("10.000", 2).has_value());
    CHECK(!Decimal::parse("1.001", 2).has_value());
    CHECK(Decimal::parse("1.5", 0).error().code == ErrorCode::invalid_request);
  }
  SUBCASE("not numbers") {
    for (auto s : {"", ".", "1.", ".5", "1e2", "abc", "1,5", "--1", "1.2.3", " 1"}) {
      CHECK_MESSAGE(!Decimal::parse(s, 2).has_value(), s);
    }
  }
  SUBCASE("too large") { CHECK(!Decimal::parse("99999999999999999999", 2).has_value()); }
  CHECK(Decimal::parse("59.9", 2).value().to_string_fixed(2) == "59.90");
  CHECK(Decimal::parse("-0.5").value().to_string() == "-0.5");
}

TEST_CASE("decimal rounding and checked arithmetic") {
  auto d = [](const char* s) { return Decimal::parse(s).value(); };
  CHECK(d("2.5").floor() == 2);
  CHECK(d("2.5").round() == 3);
  CHECK(d("2.5").ceil() == 3);
  CHECK(d("-2.5").floor() == -3);
  CHECK(d("-2.5").round() == -3);
  CHECK(d("-2.5").ceil() == -2);
  CHECK(d("2.4").round() == 2);
  CHECK(d("59.90").mul(d("1.25"))->to_string() == "74.875");
  CHECK(d("1").div(d("3"))->to_string() == "0.333333");
  CHECK(!d("1").div(d("0")).has_value());
  CHECK(!d("9000000000000").mul(d("9000000000000")).has_value());
}

TEST_CASE("RFC 3339 times round-trip and bad ones are refused") {
  auto t = parse_rfc3339("2026-11-22T14:00:00Z").value();
  CHECK(format_rfc3339(t) == "2026-11-22T14:00:00Z");
  CHECK(parse_rfc3339("2026-11-22T15:00:00+01:00").value() == t);
  CHECK(format_rfc3339(parse_rfc3339("2026-11-22T14:00:00.25Z").value()) ==
        "2026-11-22T14:00:00.250000Z");
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z").value().micros == 0);
  CHECK(format_rfc3339(Timestamp{-1}) == "1969-12-31T23:59:59.999999Z");
  for (auto s : {"2026-11-22", "2026-11-22T14:00:00", "2026-02-30T00:00:00Z",
                 "2026-11-22T24:00:00Z", "2026-11-22 14:00:00Z", "2026-11-22T14:00:00Zx"}) {
    CHECK_MESSAGE(!parse_rfc3339(s).has_value(), s);
  }
}

TEST_CASE("RFC 3339 formatting matches a printf reference over many times and years") {
  // The reference: the printf formatting the writer used before it wrote digits itself.
  auto reference = [](Timestamp t) {
    std::int64_t days = t.micros / 86'400'000'000;
    std::int64_t rest = t.micros % 86'400'000'000;
    if (rest < 0) {
      rest += 86'400'000'000;
      --days;
    }
    const CivilDate d = civil_from_days(days);
    const auto sod = static_cast<int>(rest / 1'000'000);
    const auto micros = static_cast<int>(rest % 1'000'000);
    char buf[64];
    if (micros == 0) {
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", d.year, d.month, d.day,
                    sod / 3600, sod / 60 % 60, sod % 60);
    } else {
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", d.year, d.month,
                    d.day, sod / 3600, sod / 60 % 60, sod % 60, micros);
    }
    return std::string(buf);
  };
  std::mt19937_64 rng(7);
  const std::int64_t year = 365LL * 86'400'000'000;
  for (int i = 0; i < 20'000; ++i) {
    // Mostly around now, some whole seconds, some far (year 0 to 12000, and before 1970).
    std::int64_t micros = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(
                              200 * year)) - 100 * year + 56 * year;
    if (i % 4 == 0) micros -= micros % 1'000'000;
    if (i % 50 == 0) micros = static_cast<std::int64_t>(rng() % (12'000ULL * year)) - 1970 * year;
    const Timestamp t{micros};
    INFO("micros " << micros);
    CHECK(format_rfc3339(t) == reference(t));
  }
}

TEST_CASE("civil dates and weekdays") {
  CHECK(days_from_civil({1970, 1, 1}) == 0);
  CHECK(civil_from_days(days_from_civil({2024, 2, 29})) == CivilDate{2024, 2, 29});
  CHECK(weekday_from_days(days_from_civil({2026, 11, 22})) == 7);  // a Sunday
  CHECK(!parse_civil_date("2025-02-29").has_value());
  CHECK(parse_civil_date("2024-02-29").has_value());
  CHECK(format_civil_date({2026, 1, 5}) == "2026-01-05");
  CHECK(utc_date(parse_rfc3339("2026-11-22T23:59:59Z").value()) == CivilDate{2026, 11, 22});
}

TEST_CASE("the manual clock moves only forward and only when told") {
  ManualClock clock(Timestamp::from_seconds(100));
  CHECK(clock.now().seconds() == 100);
  CHECK(clock.advance_seconds(5).seconds() == 105);
  clock.advance_to(Timestamp::from_seconds(50));
  CHECK(clock.now().seconds() == 105);
  clock.advance_to(Timestamp::from_seconds(200));
  CHECK(clock.now().seconds() == 200);
}
