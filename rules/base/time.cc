// RFC 3339 and civil-date helpers (rules/base).
#include "rules/base/time.h"

#include <cstdio>

namespace encore {
namespace {

// n as `width` decimal digits, zero-padded. REQUIRES: 0 <= n < 10^width.
char* put_digits(char* p, int n, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
  return p + width;
}

// "YYYY-MM-DD" at p (room for 24 bytes); returns the end. Dates and times in answers are
// written this way, several per response: digits by hand, printf only for a year outside
// 0-9999 (padded and signed as "%04d").
char* put_date(char* p, CivilDate d) {
  if (d.year >= 0 && d.year <= 9999) {
    p = put_digits(p, d.year, 4);
  } else {
    p += std::snprintf(p, 16, "%04d", d.year);
  }
  *p++ = '-';
  p = put_digits(p, d.month, 2);
  *p++ = '-';
  return put_digits(p, d.day, 2);
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at pos; false if any is not a digit.
bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

Error bad_time(std::string_view text, const char* why) {
  return make_error(ErrorCode::invalid_request,
                    "'" + std::string(text.substr(0, 40)) +
                        "' is not an RFC 3339 time like 2026-11-22T14:00:00Z: " + why);
}

}  // namespace

std::int64_t days_from_civil(CivilDate d) {
  std::int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (d.month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2 ? 1 : 0)), static_cast<int>(m),
                   static_cast<int>(d)};
}

int weekday_from_days(std::int64_t days) {
  // 1970-01-01 was a Thursday (4).
  std::int64_t w = (days + 3) % 7;
  if (w < 0) w += 7;
  return static_cast<int>(w) + 1;
}

Result<CivilDate> parse_civil_date(std::string_view s) {
  CivilDate d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !read_digits(s, 0, 4, d.year) ||
      !read_digits(s, 5, 2, d.month) || !read_digits(s, 8, 2, d.day)) {
    return make_error(ErrorCode::invalid_request,
                      "'" + std::string(s.substr(0, 40)) + "' is not a date like 2026-11-22");
  }
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(d.year, d.month)) {
    return make_error(ErrorCode::invalid_request,
                      "'" + std::string(s) + "' is not a day of the calendar");
  }
  return d;
}

std::string format_civil_date(CivilDate d) {
  char buf[24];
  return std::string(buf, put_date(buf, d));
}

Result<Timestamp> parse_rfc3339(std::string_view s) {
  if (s.size() < 20) return bad_time(s, "too short");
  auto date = parse_civil_date(s.substr(0, 10));
  if (!date) return bad_time(s, "the date part is wrong");
  if (s[10] != 'T' && s[10] != 't') return bad_time(s, "expected 'T' after the date");
  int hh = 0, mm = 0, ss = 0;
  if (!read_digits(s, 11, 2, hh) || s[13] != ':' || !read_digits(s, 14, 2, mm) || s[16] != ':' ||
      !read_digits(s, 17, 2, ss)) {
    return bad_time(s, "the time part is wrong");
  }
  if (hh > 23 || mm > 59 || ss > 60) return bad_time(s, "hour, minute or second out of range");
  if (ss == 60) ss = 59;  // a leap second is read as the second before it
  std::size_t i = 19;
  std::int64_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 6) {
        fraction = fraction * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return bad_time(s, "expected digits after the point");
    for (; digits < 6; ++digits) fraction *= 10;
  }
  std::int64_t offset_seconds = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (!read_digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !read_digits(s, i + 4, 2, om) || oh > 23 || om > 59) {
      return bad_time(s, "the offset is wrong");
    }
    offset_seconds = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return bad_time(s, "expected 'Z' or an offset");
  }
  if (i != s.size()) return bad_time(s, "unexpected characters at the end");
  std::int64_t seconds = days_from_civil(*date) * 86400 + hh * 3600 + mm * 60 + ss - offset_seconds;
  return Timestamp{seconds * micros_per_second + fraction};
}

CivilDate utc_date(Timestamp t) {
  std::int64_t days = t.micros / micros_per_day;
  if (t.micros % micros_per_day < 0) --days;
  return civil_from_days(days);
}

std::string format_rfc3339(Timestamp t) {
  char buf[rfc3339_chars_max];
  return std::string(buf, format_rfc3339(t, buf));
}

std::size_t format_rfc3339(Timestamp t, char* out) {
  std::int64_t seconds = t.seconds();
  std::int64_t micros = t.micros - seconds * micros_per_second;
  std::int64_t days = seconds / 86400;
  std::int64_t sod = seconds % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  char* p = put_date(out, civil_from_days(days));
  *p++ = 'T';
  p = put_digits(p, static_cast<int>(sod / 3600), 2);
  *p++ = ':';
  p = put_digits(p, static_cast<int>(sod / 60 % 60), 2);
  *p++ = ':';
  p = put_digits(p, static_cast<int>(sod % 60), 2);
  if (micros != 0) {
    *p++ = '.';
    p = put_digits(p, static_cast<int>(micros), 6);
  }
  *p++ = 'Z';
  return static_cast<std::size_t>(p - out);
}

}  // namespace encore
