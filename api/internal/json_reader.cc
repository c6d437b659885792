// Request body reading with simdjson On-Demand (error codes, no exceptions).
#include "api/internal/json_reader.h"

#include <charconv>

#include "api/limits.h"
#include "ledger/ledger.h"
#include "rules/base/points.h"

namespace encore::api::internal {

namespace {

thread_local sj::parser tl_parser;
thread_local std::string tl_padded;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' ||
                        s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_integer_text(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Error invalid(std::string detail) {
  return make_error(ErrorCode::invalid_request, std::move(detail));
}

Error json_error(simdjson::error_code e) {
  return invalid(std::string("request body is not valid JSON: ") + simdjson::error_message(e));
}

Status JsonBody::parse(std::string_view body) {
  if (body.size() > 0xFFFFFFFFu) return invalid("request body too large");
  tl_padded.assign(body.data(), body.size());
  tl_padded.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::padded_string_view view(tl_padded.data(), body.size(), tl_padded.size());
  if (auto e = tl_parser.iterate(view).get(doc_)) return json_error(e);
  sj::json_type type;
  if (auto e = doc_.type().get(type)) return json_error(e);
  if (type != sj::json_type::object) return invalid("request body must be a JSON object");
  if (auto e = doc_.get_object().get(object_)) return json_error(e);
  return Status::ok();
}

Status JsonBody::finish() {
  const char* rest = nullptr;
  if (doc_.current_location().get(rest) == simdjson::SUCCESS) {
    return invalid("request body has content after the JSON object");
  }
  return Status::ok();
}

bool take_null(sj::value& v) {
  sj::json_type t;
  if (v.type().get(t) || t != sj::json_type::null) return false;
  bool null = false;
  if (v.is_null().get(null)) return false;
  return null;
}

Result<std::string> read_string(sj::value& v, std::string_view name, std::size_t max_bytes) {
  std::string_view s;
  sj::json_type t;
  if (auto e = v.type().get(t)) return json_error(e);
  if (t != sj::json_type::string) return invalid(std::string(name) + " must be a string");
  if (auto e = v.get_string().get(s)) return json_error(e);
  if (s.size() > max_bytes) {
    return invalid(std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return std::string(s);
}

Result<std::string> read_text(sj::value& v, std::string_view name) {
  return read_string(v, name, ledger::entry_text_bytes_max);
}

Result<std::string> read_member_id(sj::value& v, std::string_view name) {
  ENCORE_ASSIGN_OR_RETURN(std::string id, read_string(v, name, ledger::member_id_bytes_max));
  ENCORE_RETURN_IF_ERROR(check_member_id(id));
  return id;
}

Result<std::int64_t> read_int(sj::value& v, std::string_view name, std::int64_t min,
                              std::int64_t max) {
  sj::json_type t;
  if (auto e = v.type().get(t)) return json_error(e);
  if (t != sj::json_type::number) return invalid(std::string(name) + " must be an integer");
  std::string_view raw = trim(v.raw_json_token());
  // Consume the value so the iterator moves on.
  double ignored = 0;
  if (auto e = v.get_double().get(ignored)) return json_error(e);
  if (!is_integer_text(raw)) return invalid(std::string(name) + " must be an integer");
  return parse_int_text(raw, name, min, max);
}

Result<std::int64_t> read_points(sj::value& v, std::string_view name) {
  return read_int(v, name, points_min, points_max);
}

Result<Money> read_money(sj::value& v, std::string_view name, int digits) {
  sj::json_type t;
  if (auto e = v.type().get(t)) return json_error(e);
  std::string_view text;
  if (t == sj::json_type::string) {
    if (auto e = v.get_string().get(text)) return json_error(e);
  } else if (t == sj::json_type::number) {
    text = trim(v.raw_json_token());
    double ignored = 0;
    if (auto e = v.get_double().get(ignored)) return json_error(e);
  } else {
    return invalid(std::string(name) + " must be a decimal string or number");
  }
  auto parsed = Decimal::parse(text, digits);
  if (!parsed) return invalid(std::string(name) + ": " + parsed.error().detail);
  if (parsed->units() < 0) return invalid(std::string(name) + " must not be negative");
  return *parsed;
}

Result<bool> read_bool(sj::value& v, std::string_view name) {
  bool b = false;
  sj::json_type t;
  if (auto e = v.type().get(t)) return json_error(e);
  if (t != sj::json_type::boolean) return invalid(std::string(name) + " must be true or false");
  if (auto e = v.get_bool().get(b)) return json_error(e);
  return b;
}

Result<Timestamp> read_time(sj::value& v, std::string_view name) {
  ENCORE_ASSIGN_OR_RETURN(std::string s, read_string(v, name, 64));
  auto t = parse_rfc3339(s);
  if (!t) return invalid(std::string(name) + ": " + t.error().detail);
  return *t;
}

Result<CivilDate> read_date(sj::value& v, std::string_view name) {
  ENCORE_ASSIGN_OR_RETURN(std::string s, read_string(v, name, 16));
  auto d = parse_civil_date(s);
  if (!d) return invalid(std::string(name) + ": " + d.error().detail);
  return *d;
}

Result<AttributeChanges> read_attributes(sj::value& v, std::string_view name, bool allow_null) {
  sj::object obj;
  sj::json_type t;
  if (auto e = v.type().get(t)) return json_error(e);
  if (t != sj::json_type::object) return invalid(std::string(name) + " must be an object");
  if (auto e = v.get_object().get(obj)) return json_error(e);
  AttributeChanges out;
  for (auto field_result : obj) {
    sj::field field;
    if (auto e = std::move(field_result).get(field)) return json_error(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return json_error(e);
    if (key.empty() || key.size() > attribute_key_bytes_max) {
      return invalid(std::string(name) + " keys must be 1-" +
                     std::to_string(attribute_key_bytes_max) + " bytes");
    }
    for (const auto& [k, unused] : out) {
      if (k == key) return invalid(std::string(name) + "." + std::string(key) + " appears twice");
    }
    if (out.size() >= attributes_max) {
      return invalid(std::string(name) + " has more than " + std::to_string(attributes_max) +
                     " keys");
    }
    std::string k(key);
    sj::value value = field.value();
    const std::string path = std::string(name) + "." + k;
    sj::json_type vt;
    if (auto e = value.type().get(vt)) return json_error(e);
    switch (vt) {
      case sj::json_type::string: {
        ENCORE_ASSIGN_OR_RETURN(std::string s, read_text(value, path));
        out.emplace_back(std::move(k), rules::AttributeValue(std::move(s)));
        break;
      }
      case sj::json_type::boolean: {
        ENCORE_ASSIGN_OR_RETURN(bool b, read_bool(value, path));
        out.emplace_back(std::move(k), rules::AttributeValue(b));
        break;
      }
      case sj::json_type::number: {
        std::string_view raw = trim(value.raw_json_token());
        double ignored = 0;
        if (auto e = value.get_double().get(ignored)) return json_error(e);
        if (is_integer_text(raw)) {
          ENCORE_ASSIGN_OR_RETURN(std::int64_t n, parse_int_text(raw, path, points_min,
                                                                 points_max));
          out.emplace_back(std::move(k), rules::AttributeValue(n));
        } else {
          auto d = Decimal::parse(raw, Decimal::scale_digits);
          if (!d) return invalid(path + ": " + d.error().detail);
          out.emplace_back(std::move(k), rules::AttributeValue(*d));
        }
        break;
      }
      case sj::json_type::null:
        if (!allow_null) return invalid(path + " must be a string, number or boolean");
        if (!take_null(value)) return invalid(path + " is not valid JSON");
        out.emplace_back(std::move(k), std::nullopt);
        break;
      default:
        return invalid(path + " must be a string, number or boolean");
    }
  }
  return out;
}

Status check_member_id(std::string_view id) {
  if (!ledger::valid_member_id(id)) {
    return invalid("member id must be 1-64 characters of [A-Za-z0-9._:@-]");
  }
  return Status::ok();
}

Result<std::int64_t> parse_int_text(std::string_view text, std::string_view name,
                                    std::int64_t min, std::int64_t max) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec == std::errc::result_out_of_range) {
    return invalid(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
  }
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return invalid(std::string(name) + " must be an integer");
  }
  if (v < min || v > max) {
    return invalid(std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                   std::to_string(max) + "]");
  }
  return v;
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    if (k == name) return eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace encore::api::internal
