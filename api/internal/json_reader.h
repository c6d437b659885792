// Reading request bodies (api/internal): simdjson On-Demand with its error-code API,
// unknown and duplicate fields rejected, money parsed exactly from its text, points and
// ids checked against API.md. Every failure is a 400 invalid_request naming the field.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/base/decimal.h"
#include "rules/base/status.h"
#include "rules/base/time.h"
#include "rules/rules.h"

namespace encore::api::internal {

namespace sj = simdjson::ondemand;

Error invalid(std::string detail);
Error json_error(simdjson::error_code e);

// One request body parsed as a JSON object. Uses a parser kept per thread: one JsonBody
// per thread at a time.
class JsonBody {
 public:
  Status parse(std::string_view body);
  sj::object& object() { return object_; }
  // After every field was read: nothing may follow the object.
  Status finish();

 private:
  sj::document doc_;
  sj::object object_;
};

// Calls f(index of the name in names, value) for each field; unknown or repeated fields are
// errors. f returns Status and must consume the value.
template <typename F>
Status for_each_field(sj::object& obj, std::initializer_list<std::string_view> names, F&& f) {
  std::uint64_t seen = 0;
  for (auto field_result : obj) {
    sj::field field;
    if (auto e = std::move(field_result).get(field)) return json_error(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return json_error(e);
    std::size_t index = 0;
    for (std::string_view n : names) {
      if (n == key) break;
      ++index;
    }
    if (index == names.size()) {
      return invalid("unknown field \"" + std::string(key.substr(0, 64)) + "\"");
    }
    if (seen & (std::uint64_t{1} << index)) {
      return invalid("field \"" + std::string(key) + "\" appears twice");
    }
    seen |= std::uint64_t{1} << index;
    sj::value value = field.value();
    ENCORE_RETURN_IF_ERROR(f(index, value));
  }
  return Status::ok();
}

// True (and the value consumed) when v is null; optional fields take null as absent.
bool take_null(sj::value& v);
// A string of at most max_bytes (after unescaping).
Result<std::string> read_string(sj::value& v, std::string_view name, std::size_t max_bytes);
// A free-text field (order id, store, reason, sku, category, attribute value): a string of
// at most ledger::entry_text_bytes_max bytes, the bound the ledger keeps on entry text.
Result<std::string> read_text(sj::value& v, std::string_view name);
// A member id in a body: a string that passes check_member_id.
Result<std::string> read_member_id(sj::value& v, std::string_view name);
// A JSON integer (no fraction, no exponent) within [min, max].
Result<std::int64_t> read_int(sj::value& v, std::string_view name, std::int64_t min,
                              std::int64_t max);
// Points: an integer in [-10^15, 10^15].
Result<std::int64_t> read_points(sj::value& v, std::string_view name);
// Money: a string or a JSON number, parsed from its text with at most `digits` fraction
// digits; negative amounts are refused.
Result<Money> read_money(sj::value& v, std::string_view name, int digits);
Result<bool> read_bool(sj::value& v, std::string_view name);
Result<Timestamp> read_time(sj::value& v, std::string_view name);
Result<CivilDate> read_date(sj::value& v, std::string_view name);
// {key: string|number|bool}; with allow_null, null values are kept as nullopt (delete).
using AttributeChanges =
    std::vector<std::pair<std::string, std::optional<rules::AttributeValue>>>;
Result<AttributeChanges> read_attributes(sj::value& v, std::string_view name, bool allow_null);

// API.md: 1-64 characters of [A-Za-z0-9._:@-].
Status check_member_id(std::string_view id);
// Integer text of a query parameter or path segment ("123"), within [min, max].
Result<std::int64_t> parse_int_text(std::string_view text, std::string_view name,
                                    std::int64_t min, std::int64_t max);

// The value of name in a query string ("a=1&b=2"), percent-decoding not needed for the
// numeric and id parameters the API has. nullopt when absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

}  // namespace encore::api::internal
