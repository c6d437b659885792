// Helpers of the contract tests: problem+json and shape checks, times, request shortcuts.
#include "tests/e2e/contract_support.h"

#include <cstdio>
#include <ctime>

namespace encore::e2e::contract {

std::string problem_mismatch(const Reply& r, int status, const std::string& code) {
  std::string out;
  if (r.status != status) {
    out += "status " + std::to_string(r.status) + " (want " + std::to_string(status) + "); ";
  }
  const std::string ct = r.header("content-type");
  if (ct.rfind("application/problem+json", 0) != 0) out += "content-type '" + ct + "'; ";
  if (r.code() != code) out += "code '" + r.code() + "' (want '" + code + "'); ";
  const auto v = r.json();
  if (!v.is_object()) {
    out += "body not a JSON object: " + r.body.substr(0, 200);
    return out;
  }
  for (const char* k : {"type", "title", "code", "detail"}) {
    const auto* f = v.as_object().if_contains(k);
    if (f == nullptr || !f->is_string()) out += std::string("no string '") + k + "'; ";
  }
  const auto* st = v.as_object().if_contains("status");
  if (st == nullptr || !is_int(*st) || st->to_number<std::int64_t>() != r.status) {
    out += "body status differs; ";
  }
  if (!out.empty()) out += "body: " + r.body.substr(0, 300);
  return out;
}

bool is_int(const json::value& v) { return v.is_int64() || v.is_uint64(); }

namespace {

bool has_type(const json::value& v, T t) {
  switch (t) {
    case T::integer:
      return is_int(v);
    case T::string:
      return v.is_string();
    case T::boolean:
      return v.is_bool();
    case T::array:
      return v.is_array();
    case T::object:
      return v.is_object();
    case T::string_or_null:
      return v.is_string() || v.is_null();
    case T::integer_or_null:
      return is_int(v) || v.is_null();
  }
  return false;
}

}  // namespace

std::string shape_mismatch(const json::value& v, Shape shape, const std::string& what) {
  if (!v.is_object()) return what + ": not an object: " + json::serialize(v);
  std::string out;
  for (const auto& [name, type] : shape) {
    const auto* f = v.as_object().if_contains(name);
    if (f == nullptr) {
      out += std::string("missing '") + name + "'; ";
    } else if (!has_type(*f, type)) {
      out += std::string("'") + name + "' has type of " + json::serialize(*f) + "; ";
    }
  }
  if (!out.empty()) out = what + ": " + out + json::serialize(v).substr(0, 400);
  return out;
}

const Shape balance_shape = {{"member", T::string},        {"available", T::integer},
                             {"pending", T::integer},      {"held", T::integer},
                             {"lifetime_earned", T::integer}, {"tier", T::string_or_null},
                             {"expiring", T::array},       {"as_of", T::integer}};
const Shape entry_shape = {
    {"seq", T::integer},           {"member", T::string},          {"kind", T::string},
    {"points", T::integer},        {"occurred_at", T::string},     {"recorded_at", T::string},
    {"channel", T::string_or_null}, {"store", T::string_or_null},  {"order_id", T::string_or_null},
    {"offer", T::string_or_null},  {"reverses", T::integer_or_null}, {"hold", T::string_or_null},
    {"reason", T::string_or_null}, {"ruleset", T::string},         {"hash", T::string}};
const Shape member_shape = {{"id", T::string},         {"status", T::string},
                            {"tier", T::string_or_null}, {"birthday", T::string_or_null},
                            {"attributes", T::object}, {"enrolled_at", T::string},
                            {"balance", T::object}};
const Shape hold_shape = {{"id", T::string},
                          {"member", T::string},
                          {"points", T::integer},
                          {"status", T::string},
                          {"expires_at", T::string}};

std::string balance_mismatch(const json::value& v) {
  std::string out = shape_mismatch(v, balance_shape, "balance");
  if (!out.empty()) return out;
  for (const auto& x : v.at("expiring").as_array()) {
    out += shape_mismatch(x, {{"date", T::string}, {"points", T::integer}}, "expiring item");
    if (x.is_object() && x.as_object().contains("date") && x.at("date").is_string() &&
        !is_date(std::string(x.at("date").as_string()))) {
      out += "expiring date not YYYY-MM-DD: " + json::serialize(x);
    }
  }
  return out;
}

std::int64_t int_at(const json::value& v, const char* key) {
  const auto* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (f == nullptr || !is_int(*f)) {
    FAIL_CHECK("no integer '" << key << "' in " << json::serialize(v));
    return -999999;
  }
  return f->to_number<std::int64_t>();
}

std::string str_at(const json::value& v, const char* key) {
  const auto* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (f == nullptr || !f->is_string()) {
    FAIL_CHECK("no string '" << key << "' in " << json::serialize(v));
    return "<missing>";
  }
  return std::string(f->as_string());
}

bool valid_member_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char ch : id) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' ||
                    ch == '@' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

std::int64_t parse_time(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return -1;
  }
  std::size_t i = static_cast<std::size_t>(consumed);
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  }
  if (i + 1 != s.size() || s[i] != 'Z') return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string format_time(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<Header> with_key(const char* key, std::vector<Header> more) {
  more.push_back({"Authorization", std::string("Bearer ") + key});
  return more;
}

std::vector<Header> json_headers(const char* key, const std::string& idempotency_key) {
  std::vector<Header> h{{"Content-Type", "application/json"},
                        {"Authorization", std::string("Bearer ") + key}};
  if (!idempotency_key.empty()) h.push_back({"Idempotency-Key", idempotency_key});
  return h;
}

void enroll_member(Client& c, const std::string& id) {
  auto r = c.post("/v1/members", pos_key, R"({"id": ")" + id + R"("})", "enroll-" + id);
  REQUIRE_MESSAGE(r.status == 201, r.body);
}

void admin_adjust(Client& c, const std::string& id, std::int64_t points) {
  static int n = 0;
  auto r = c.post("/v1/members/" + id + "/adjustments", admin_key,
                  R"({"points": )" + std::to_string(points) + R"(, "reason": "test setup"})",
                  "adjust-" + std::to_string(++n) + "-" + id);
  REQUIRE_MESSAGE(r.status == 201, r.body);
}

json::value balance_of(Client& c, const std::string& id) {
  auto r = c.get("/v1/members/" + id + "/balance", read_key);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json();
}

std::vector<json::value> entries_of(Client& c, const std::string& id) {
  std::vector<json::value> out;
  std::string target = "/v1/members/" + id + "/entries?limit=500";
  for (int guard = 0; guard < 100; ++guard) {
    auto r = c.get(target, read_key);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    const auto v = r.json();
    for (const auto& e : v.at("entries").as_array()) out.push_back(e);
    if (v.at("next_before").is_null()) break;
    target = "/v1/members/" + id + "/entries?limit=500&before=" +
             std::to_string(v.at("next_before").to_number<std::int64_t>());
  }
  return out;
}

std::int64_t first_seq_of_kind(Client& c, const std::string& id, const std::string& kind) {
  const auto all = entries_of(c, id);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->at("kind").as_string() == kind) return it->at("seq").to_number<std::int64_t>();
  }
  FAIL("no entry of kind " << kind << " for " << id);
  return -1;
}

std::string chain_head(Client& c) {
  auto r = c.get("/v1/journal?after=0&limit=1", admin_key);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return std::string(r.json().at("chain_head").as_string());
}

std::int64_t advance(Client& c, std::int64_t seconds) {
  auto r = c.post("/v1/admin/clock", admin_key,
                  R"({"advance_seconds": )" + std::to_string(seconds) + "}");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const auto t = parse_time(std::string(r.json().at("now").as_string()));
  REQUIRE(t > 0);
  return t;
}

std::int64_t server_now(Client& c) { return advance(c, 0); }

}  // namespace encore::e2e::contract
