// Proves the HTTP layer's request handling without sockets: handle() routes (404/405 with
// Allow), authenticates (401/403 by API.md's role matrix), checks media type (415) and
// Idempotency-Key (400), and answers problem+json with the contract's codes.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "api/handler.h"
#include "api/internal/auth.h"
#include "api/internal/metrics.h"
#include "api/internal/router.h"

namespace {

using encore::ErrorCode;
using namespace encore::api;

constexpr std::string_view keys_text =
    "# test keys\n"
    "pos:pos-key\n"
    "marketing:mkt-key\n"
    "read:read-key\n"
    "admin:admin-key\n";

struct Fixture {
  internal::KeyStore keys = *internal::KeyStore::parse(keys_text);
  internal::Metrics metrics;
  Context ctx;
  Fixture() {
    ctx.keys = &keys;
    ctx.metrics = &metrics;
  }
  Response call(Method m, std::string_view target, std::string_view key = {},
                std::string_view body = {}, std::string_view content_type = {},
                std::optional<std::string_view> idempotency_key = std::nullopt) {
    std::string auth = key.empty() ? std::string() : "Bearer " + std::string(key);
    Request r;
    r.method = m;
    r.target = target;
    r.authorization = auth;
    r.body = body;
    r.content_type = content_type;
    r.has_idempotency_key = idempotency_key.has_value();
    if (idempotency_key) r.idempotency_key = *idempotency_key;
    r.request_id = "test";
    return handle(r, ctx);
  }
};

bool has_code(const Response& r, std::string_view code) {
  return r.body.find("\"code\":\"" + std::string(code) + "\"") != std::string::npos;
}

}  // namespace

TEST_CASE("healthz answers without a key and readyz is 503 until the server is ready") {
  Fixture f;
  auto h = f.call(Method::get, "/healthz");
  CHECK(h.status == 200);
  CHECK(h.body == R"({"status":"ok"})");
  auto r = f.call(Method::get, "/readyz");
  CHECK(r.status == 503);
  CHECK(r.content_type == "application/problem+json");
  CHECK(has_code(r, "unavailable"));
}

TEST_CASE("an unknown path is 404 not_found and a known path with another method is 405") {
  Fixture f;
  auto r = f.call(Method::get, "/v1/nothing", "admin-key");
  CHECK(r.status == 404);
  CHECK(has_code(r, "not_found"));
  auto m = f.call(Method::delete_, "/v1/members/m-1", "admin-key");
  CHECK(m.status == 405);
  CHECK(has_code(m, "method_not_allowed"));
  CHECK(m.allow == "GET, PATCH");
  auto p = f.call(Method::get, "/v1/events", "admin-key");
  CHECK(p.status == 405);
  CHECK(p.allow == "POST");
}

TEST_CASE("a problem body carries type, title, status, code and detail") {
  auto r = problem(ErrorCode::insufficient_points, "member has \"12\" points");
  CHECK(r.status == 409);
  CHECK(r.content_type == "application/problem+json");
  CHECK(r.body ==
        R"({"type":"https://encore.example/errors/insufficient_points","title":"Insufficient )"
        R"(points","status":409,"code":"insufficient_points","detail":"member has \"12\" )"
        R"(points"})");
}

TEST_CASE("a missing or unknown key is 401 and a known key without the role is 403") {
  Fixture f;
  SUBCASE("no Authorization header") {
    auto r = f.call(Method::get, "/v1/members/m-1/balance");
    CHECK(r.status == 401);
    CHECK(has_code(r, "unauthorized"));
  }
  SUBCASE("unknown key") {
    CHECK(f.call(Method::get, "/v1/members/m-1/balance", "nope").status == 401);
  }
  SUBCASE("another scheme") {
    Request r;
    r.method = Method::get;
    r.target = "/v1/members/m-1/balance";
    r.authorization = "Basic cG9zOnBvcy1rZXk=";
    CHECK(handle(r, f.ctx).status == 401);
  }
  SUBCASE("pos may not read the journal") {
    auto r = f.call(Method::get, "/v1/journal", "pos-key");
    CHECK(r.status == 403);
    CHECK(has_code(r, "forbidden"));
  }
}

TEST_CASE("the role matrix is API.md's table") {
  using internal::Access;
  using internal::Role;
  using internal::role_allowed;
  struct Row {
    Access access;
    bool pos, marketing, read, admin;
  };
  const Row rows[] = {
      {Access::write, true, false, false, true},
      {Access::member_read, true, true, true, true},
      {Access::rules_read, false, true, true, true},
      {Access::admin, false, false, false, true},
      {Access::liability, false, true, false, true},
      {Access::metrics, false, false, true, true},
  };
  for (const Row& row : rows) {
    CHECK(role_allowed(row.access, Role::pos) == row.pos);
    CHECK(role_allowed(row.access, Role::marketing) == row.marketing);
    CHECK(role_allowed(row.access, Role::read) == row.read);
    CHECK(role_allowed(row.access, Role::admin) == row.admin);
  }
}

TEST_CASE("every route sits in the group API.md's matrix gives it") {
  using internal::Access;
  using internal::RouteId;
  auto access = [](RouteId id) { return internal::route(id).access; };
  CHECK(access(RouteId::members_create) == Access::write);
  CHECK(access(RouteId::member_patch) == Access::write);
  CHECK(access(RouteId::events) == Access::write);
  CHECK(access(RouteId::quote) == Access::write);
  CHECK(access(RouteId::member_redemptions) == Access::write);
  CHECK(access(RouteId::member_holds) == Access::write);
  CHECK(access(RouteId::hold_capture) == Access::write);
  CHECK(access(RouteId::hold_void) == Access::write);
  CHECK(access(RouteId::entry_reverse) == Access::write);
  CHECK(access(RouteId::member_get) == Access::member_read);
  CHECK(access(RouteId::member_balance) == Access::member_read);
  CHECK(access(RouteId::member_entries) == Access::member_read);
  CHECK(access(RouteId::member_offers) == Access::member_read);
  CHECK(access(RouteId::hold_get) == Access::member_read);
  CHECK(access(RouteId::rules_get) == Access::rules_read);
  CHECK(access(RouteId::rules_validate) == Access::rules_read);
  CHECK(access(RouteId::rules_reload) == Access::admin);
  CHECK(access(RouteId::member_adjustments) == Access::admin);
  CHECK(access(RouteId::journal) == Access::admin);
  CHECK(access(RouteId::admin_clock) == Access::admin);
  CHECK(access(RouteId::liability) == Access::liability);
  CHECK(access(RouteId::metrics) == Access::metrics);
}

TEST_CASE("the POSTs API.md lists, and only those, require an Idempotency-Key") {
  using internal::RouteId;
  for (const auto& r : internal::routes()) {
    const bool listed = r.id == RouteId::members_create || r.id == RouteId::events ||
                        r.id == RouteId::member_redemptions || r.id == RouteId::member_holds ||
                        r.id == RouteId::hold_capture || r.id == RouteId::hold_void ||
                        r.id == RouteId::entry_reverse || r.id == RouteId::member_adjustments;
    CHECK_MESSAGE(r.idempotency_key == listed, r.pattern);
  }
}

TEST_CASE("the router extracts the path parameter and ignores the query string") {
  auto m = internal::match_route(Method::get, "/v1/members/m-1/entries");
  REQUIRE(m.route != nullptr);
  CHECK(m.route->id == internal::RouteId::member_entries);
  CHECK(m.param == "m-1");
  Fixture f;
  CHECK(f.call(Method::get, "/v1/members/m-1/entries?limit=5").status == 401);
  CHECK(internal::match_route(Method::get, "/v1/members/").route == nullptr);
  CHECK(internal::match_route(Method::get, "/v1/members/a/b/c").path_known == false);
}

TEST_CASE("a body without application/json is 415; parameters such as charset are allowed") {
  Fixture f;
  const std::string_view body = R"({"member":"m-1","type":"purchase"})";
  SUBCASE("no Content-Type") {
    auto r = f.call(Method::post, "/v1/events", "pos-key", body, {}, "k1");
    CHECK(r.status == 415);
    CHECK(has_code(r, "unsupported_media_type"));
  }
  SUBCASE("text/plain") {
    CHECK(f.call(Method::post, "/v1/events", "pos-key", body, "text/plain", "k1").status == 415);
  }
  SUBCASE("charset parameter: passes the media type check (no ledger here: 503)") {
    auto r = f.call(Method::post, "/v1/events", "pos-key", body,
                    "application/json; charset=utf-8", "k1");
    CHECK(r.status == 503);
  }
}

TEST_CASE("the listed POSTs without an Idempotency-Key are 400 missing_idempotency_key") {
  Fixture f;
  auto r = f.call(Method::post, "/v1/events", "pos-key", "{}", "application/json");
  CHECK(r.status == 400);
  CHECK(has_code(r, "missing_idempotency_key"));
  const std::string long_key(129, 'k');
  auto l = f.call(Method::post, "/v1/events", "pos-key", "{}", "application/json", long_key);
  CHECK(l.status == 400);
  CHECK(has_code(l, "invalid_request"));
  auto bad = f.call(Method::post, "/v1/events", "pos-key", "{}", "application/json", "a\tb");
  CHECK(bad.status == 400);
  // Quote is not listed: no key needed (no ledger here: 503).
  CHECK(f.call(Method::post, "/v1/quote", "pos-key", "{}", "application/json").status == 503);
}

TEST_CASE("metrics are served in Prometheus text to read and admin only") {
  Fixture f;
  f.metrics.observe_request(static_cast<int>(internal::RouteId::member_balance), 200, 120);
  auto r = f.call(Method::get, "/metrics", "read-key");
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4");
  CHECK(r.body.find("encore_http_requests_total{route=\"/v1/members/{id}/balance\","
                    "status=\"200\"} 1") != std::string::npos);
  CHECK(r.body.find("# TYPE encore_http_request_duration_seconds histogram") !=
        std::string::npos);
  CHECK(f.call(Method::get, "/metrics", "pos-key").status == 403);
  CHECK(f.call(Method::get, "/metrics", "mkt-key").status == 403);
}

TEST_CASE("the fsync histogram is cumulative in seconds and ends with +Inf equal to count") {
  encore::ledger::LedgerStats s;
  s.fsync_buckets[0] = 2;   // <= 100 us
  s.fsync_buckets[3] = 1;   // 500 us .. 1 ms
  s.fsync_buckets[10] = 1;  // over 100 ms
  s.fsync_count = 4;
  s.fsync_sum_us = 250'000;
  std::string out;
  internal::render_fsync_seconds(out, s);
  CHECK(out.find("# HELP encore_fsync_seconds ") != std::string::npos);
  CHECK(out.find("# TYPE encore_fsync_seconds histogram\n") != std::string::npos);
  CHECK(out.find("encore_fsync_seconds_bucket{le=\"0.0001\"} 2\n") != std::string::npos);
  CHECK(out.find("encore_fsync_seconds_bucket{le=\"0.0005\"} 2\n") != std::string::npos);
  CHECK(out.find("encore_fsync_seconds_bucket{le=\"0.001\"} 3\n") != std::string::npos);
  CHECK(out.find("encore_fsync_seconds_bucket{le=\"0.1\"} 3\n") != std::string::npos);
  CHECK(out.find("encore_fsync_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(out.find("encore_fsync_seconds_sum 0.25\n") != std::string::npos);
  CHECK(out.find("encore_fsync_seconds_count 4\n") != std::string::npos);
}

TEST_CASE("the admin clock exists only with a manual clock") {
  Fixture f;
  auto r = f.call(Method::post, "/v1/admin/clock", "admin-key", R"({"advance_seconds":1})",
                  "application/json");
  CHECK(r.status == 404);
  CHECK(has_code(r, "not_found"));
}

TEST_CASE("the separate metrics address serves /metrics without a key and nothing else") {
  Fixture f;
  Request r;
  r.method = Method::get;
  r.target = "/metrics";
  r.metrics_listener = true;
  CHECK(handle(r, f.ctx).status == 200);
  r.target = "/v1/members/m-1/balance";
  CHECK(handle(r, f.ctx).status == 404);
}
