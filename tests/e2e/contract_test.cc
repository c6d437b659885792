// Proves the HTTP contract of API.md clause by clause against the real encored: conventions
// (content types, sizes, unknown fields, money, points, member ids, idempotency), the role
// matrix, errors as problem+json, and the server command line. Flows are in contract_flows.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/e2e/contract_support.h"

using namespace encore::e2e;
using namespace encore::e2e::contract;

// ---- Conventions -------------------------------------------------------------------

TEST_CASE("contract: content type is checked (415), charset parameter is accepted") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  const std::string event = R"({"member": "m-1", "type": "purchase", "basket": {"total": "5"}})";
  auto none = c.request("POST", "/v1/events", with_key(pos_key, {{"Idempotency-Key", "a"}}),
                        event);
  CHECK_PROBLEM(none, 415, "unsupported_media_type");
  auto text = c.request("POST", "/v1/events",
                        with_key(pos_key, {{"Content-Type", "text/plain"},
                                           {"Idempotency-Key", "b"}}),
                        event);
  CHECK_PROBLEM(text, 415, "unsupported_media_type");
  auto form = c.request("POST", "/v1/events",
                        with_key(pos_key, {{"Content-Type", "application/x-www-form-urlencoded"},
                                           {"Idempotency-Key", "c"}}),
                        event);
  CHECK_PROBLEM(form, 415, "unsupported_media_type");
  auto patch = c.request("PATCH", "/v1/members/m-1",
                         with_key(pos_key, {{"Content-Type", "text/plain"}}), "{}");
  CHECK_PROBLEM(patch, 415, "unsupported_media_type");
  auto quote = c.request("POST", "/v1/quote", with_key(pos_key, {}), event);
  CHECK_PROBLEM(quote, 415, "unsupported_media_type");
  for (const char* other : {"application/jsonp", "application/json-patch+json", "json"}) {
    CAPTURE(other);
    CHECK_PROBLEM(c.request("POST", "/v1/quote", with_key(pos_key, {{"Content-Type", other}}),
                            event),
                  415, "unsupported_media_type");
  }
  for (const char* fine : {"application/json;charset=UTF-8", "application/json ; charset=utf-8",
                           "Application/JSON"}) {
    CAPTURE(fine);
    CHECK(c.request("POST", "/v1/quote", with_key(pos_key, {{"Content-Type", fine}}), event)
              .status == 200);
  }
  auto utf8 = c.request("POST", "/v1/events",
                        with_key(pos_key, {{"Content-Type", "application/json; charset=utf-8"},
                                           {"Idempotency-Key", "d"}}),
                        event);
  CHECK(utf8.status == 201);
  // A refused request wrote nothing: one purchase of 5 points.
  CHECK(balance_of(c, "m-1").at("available").as_int64() == 5);
}

TEST_CASE("contract: a body over 64 KiB is 413, a body of exactly 64 KiB is read") {
  Server s;
  Client c = s.client();
  auto padded = [](std::string body, std::size_t size) {
    body.insert(body.size() - 1, size - body.size(), ' ');
    return body;
  };
  const std::string exact = padded(R"({"id": "m-exact"})", 64 * 1024);
  REQUIRE(exact.size() == 65536);
  CHECK(c.post("/v1/members", pos_key, exact, "k1").status == 201);
  const std::string over = padded(R"({"id": "m-over"})", 64 * 1024 + 1);
  auto r = s.client().post("/v1/members", pos_key, over, "k2");
  CHECK_PROBLEM(r, 413, "payload_too_large");
  Client c2 = s.client();
  CHECK_PROBLEM(c2.get("/v1/members/m-over", read_key), 404, "member_not_found");
  // 413 is not stored: the same key with a small body goes through.
  CHECK(c2.post("/v1/members", pos_key, R"({"id": "m-over"})", "k2").status == 201);
  // The limit holds for every body, a rule file to validate included.
  auto rules = s.client().request(
      "POST", "/v1/rules/validate",
      with_key(admin_key, {{"Content-Type", "application/json"}}),
      padded(R"({"offers": []})", 64 * 1024 + 1));
  CHECK_PROBLEM(rules, 413, "payload_too_large");
  auto event = s.client().post("/v1/events", pos_key,
                               padded(R"({"member": "m-over", "type": "purchase"})",
                                      64 * 1024 + 1),
                               "k3");
  CHECK_PROBLEM(event, 413, "payload_too_large");
}

TEST_CASE("contract: bodies that are not JSON or carry unknown fields are 400 invalid_request") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  admin_adjust(c, "m-1", 100);
  auto h = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 10})", "hold-1");
  REQUIRE(h.status == 201);
  const std::string hold = str_at(h.json().at("hold"), "id");
  const auto seq = first_seq_of_kind(c, "m-1", "adjustment");
  struct Probe {
    const char* method;
    std::string target;
    const char* key;
    std::string body;
  };
  const std::vector<Probe> probes = {
      {"POST", "/v1/members", pos_key, R"({"id": "m-2", "nmae": "x"})"},
      {"PATCH", "/v1/members/m-1", pos_key, R"({"atributes": {}})"},
      {"POST", "/v1/events", pos_key, R"({"member": "m-1", "type": "purchase", "totl": 1})"},
      {"POST", "/v1/events", pos_key,
       R"({"member": "m-1", "type": "purchase", "basket": {"total": "1", "tax": "1"}})"},
      {"POST", "/v1/events", pos_key,
       R"({"member": "m-1", "type": "purchase", "basket": {"items": [{"sku": "a",
           "quantity": 1, "unit_price": "1", "colour": "red"}]}})"},
      {"POST", "/v1/quote", pos_key, R"({"type": "purchase", "extra": 1})"},
      {"POST", "/v1/members/m-1/redemptions", pos_key, R"({"points": 1, "pionts": 2})"},
      {"POST", "/v1/members/m-1/holds", pos_key, R"({"points": 1, "ttl": 60})"},
      {"POST", "/v1/holds/" + hold + "/capture", pos_key, R"({"amount": 1})"},
      {"POST", "/v1/holds/" + hold + "/void", pos_key, R"({"why": "x"})"},
      {"POST", "/v1/entries/" + std::to_string(seq) + "/reverse", pos_key, R"({"pts": 1})"},
      {"POST", "/v1/members/m-1/adjustments", admin_key,
       R"({"points": 1, "reason": "x", "note": "y"})"},
      {"POST", "/v1/admin/clock", admin_key, R"({"advance_seconds": 0, "x": 1})"},
  };
  int n = 0;
  for (const auto& p : probes) {
    CAPTURE(p.method);
    CAPTURE(p.target);
    CAPTURE(p.body);
    const std::string key = "unknown-" + std::to_string(n++);
    auto r = c.request(p.method, p.target, json_headers(p.key, key), p.body);
    CHECK_PROBLEM(r, 400, "invalid_request");
    auto bad = c.request(p.method, p.target, json_headers(p.key, key + "-nj"), "{not json");
    CHECK_PROBLEM(bad, 400, "invalid_request");
  }
  // Text that is not UTF-8, or a lone surrogate, is not JSON either.
  CHECK_PROBLEM(c.patch("/v1/members/m-1", pos_key, "{\"attributes\": {\"a\": \"\xff\"}}"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.patch("/v1/members/m-1", pos_key, R"({"attributes": {"a": "\ud800"}})"), 400,
                "invalid_request");
  // An empty body where a JSON object is required is 400 too.
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, "", "empty-1"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post("/v1/events", pos_key, "", "empty-2"), 400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/events", pos_key, "[]", "empty-3"), 400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": "5"})", "str-1"),
                400, "invalid_request");
  // Nothing was written by any of them.
  auto b = balance_of(c, "m-1");
  CHECK(b.at("available").as_int64() == 90);
  CHECK(b.at("held").as_int64() == 10);
  CHECK_PROBLEM(c.get("/v1/members/m-2", read_key), 404, "member_not_found");
}

TEST_CASE("contract: money is exact; more fraction digits than the currency has is 400") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  auto buy = [&](const std::string& total, const std::string& key) {
    return c.post("/v1/events", pos_key,
                  R"({"member": "m-1", "type": "purchase", "basket": {"total": )" + total + "}}",
                  key);
  };
  CHECK_PROBLEM(buy(R"("10.000")", "m1"), 400, "invalid_request");
  CHECK_PROBLEM(buy("10.000", "m2"), 400, "invalid_request");
  CHECK_PROBLEM(buy(R"("10.001")", "m3"), 400, "invalid_request");
  CHECK_PROBLEM(buy("0.001", "m4"), 400, "invalid_request");
  auto item = c.post("/v1/events", pos_key,
                     R"({"member": "m-1", "type": "purchase", "basket": {"items": [
                         {"sku": "a", "quantity": 1, "unit_price": "19.950"}]}})",
                     "m5");
  CHECK_PROBLEM(item, 400, "invalid_request");
  CHECK(balance_of(c, "m-1").at("available").as_int64() == 0);
  auto two = buy(R"("10.99")", "ok1");
  REQUIRE(two.status == 201);
  CHECK(two.json().at("points").as_int64() == 10);
  auto one = buy("10.9", "ok2");
  REQUIRE(one.status == 201);
  CHECK(one.json().at("points").as_int64() == 10);
  auto none = buy("7", "ok3");
  REQUIRE(none.status == 201);
  CHECK(none.json().at("points").as_int64() == 7);
  // 0.1 + 0.2 style: a number that binary floating point cannot hold exactly.
  auto exact = buy("2.30", "ok4");
  REQUIRE(exact.status == 201);
  CHECK(exact.json().at("points").as_int64() == 2);
  CHECK(balance_of(c, "m-1").at("available").as_int64() == 29);
}

TEST_CASE("contract: points are integers in [-10^15, 10^15]") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  const std::string adj = "/v1/members/m-1/adjustments";
  CHECK_PROBLEM(c.post(adj, admin_key, R"({"points": 1000000000000001, "reason": "x"})", "a1"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post(adj, admin_key, R"({"points": -1000000000000001, "reason": "x"})", "a2"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post(adj, admin_key, R"({"points": 1.5, "reason": "x"})", "a3"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post(adj, admin_key, R"({"points": 99999999999999999999, "reason": "x"})",
                       "a4"),
                400, "invalid_request");
  auto top = c.post(adj, admin_key, R"({"points": 1000000000000000, "reason": "max"})", "a5");
  REQUIRE(top.status == 201);
  CHECK(top.json().at("entry").at("points").as_int64() == 1000000000000000);
  CHECK(top.json().at("balance").at("available").as_int64() == 1000000000000000);
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key,
                       R"({"points": 1000000000000001})", "r1"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key, R"({"points": 1000000000000001})",
                       "h1"),
                400, "invalid_request");
  auto all = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1000000000000000})",
                    "r2");
  REQUIRE(all.status == 201);
  CHECK(all.json().at("entry").at("points").as_int64() == -1000000000000000);
  auto low = c.post(adj, admin_key, R"({"points": -1000000000000000, "reason": "min"})", "a6");
  REQUIRE(low.status == 201);
  CHECK(low.json().at("balance").at("available").as_int64() == -1000000000000000);
}

TEST_CASE("contract: member ids are 1-64 characters of [A-Za-z0-9._:@-]") {
  Server s;
  Client c = s.client();
  auto create = [&](const std::string& id_json, const std::string& key) {
    return c.post("/v1/members", pos_key, R"({"id": )" + id_json + "}", key);
  };
  CHECK(create("\"" + std::string(64, 'a') + "\"", "i1").status == 201);
  CHECK(create(R"("Az09._:@-x")", "i2").status == 201);
  CHECK(c.get("/v1/members/Az09._:@-x", read_key).status == 200);
  CHECK_PROBLEM(create("\"" + std::string(65, 'b') + "\"", "i3"), 400, "invalid_request");
  CHECK_PROBLEM(create(R"("")", "i4"), 400, "invalid_request");
  CHECK_PROBLEM(create(R"("a b")", "i5"), 400, "invalid_request");
  CHECK_PROBLEM(create(R"("a/b")", "i6"), 400, "invalid_request");
  CHECK_PROBLEM(create(R"("\u00fc")", "i7"), 400, "invalid_request");
  CHECK_PROBLEM(create(R"("a#b")", "i8"), 400, "invalid_request");
  CHECK_PROBLEM(create("17", "i9"), 400, "invalid_request");
  // No id: the server makes one, within the same charset and length.
  auto made = c.post("/v1/members", pos_key, "{}", "i10");
  REQUIRE(made.status == 201);
  const std::string id = str_at(made.json().at("member"), "id");
  CHECK(valid_member_id(id));
  CHECK(str_at(made.json().at("balance"), "member") == id);
  auto made2 = c.post("/v1/members", pos_key, "{}", "i11");
  REQUIRE(made2.status == 201);
  CHECK(str_at(made2.json().at("member"), "id") != id);
  CHECK(c.get("/v1/members/" + id, read_key).status == 200);
}

// Regression: path segments were not percent-decoded, so a client that encodes ':' and '@'
// (encodeURIComponent, urllib.parse.quote) got member_not_found.
TEST_CASE("contract: a member id in a path may be percent-encoded") {
  Server s;
  Client c = s.client();
  enroll_member(c, "a:b@c");
  auto raw = c.get("/v1/members/a:b@c", read_key);
  CHECK(raw.status == 200);
  auto encoded = c.get("/v1/members/a%3Ab%40c", read_key);
  CHECK(encoded.status == 200);
  CHECK(encoded.body == raw.body);
  CHECK(c.get("/v1/members/a%3ab%40c/balance", read_key).status == 200);
  CHECK(c.post("/v1/members/a%3Ab%40c/redemptions", pos_key, R"({"points": 1})", "r1").code() ==
        "insufficient_points");
}

// ---- Idempotency ------------------------------------------------------------------

TEST_CASE("contract: Idempotency-Key is required on exactly the listed POSTs") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  admin_adjust(c, "m-1", 100);
  auto h = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 10})", "hold-1");
  REQUIRE(h.status == 201);
  const std::string hold = str_at(h.json().at("hold"), "id");
  const auto seq = first_seq_of_kind(c, "m-1", "adjustment");
  struct Probe {
    std::string target;
    const char* key;
    std::string body;
  };
  const std::vector<Probe> listed = {
      {"/v1/members", pos_key, R"({"id": "m-2"})"},
      {"/v1/events", pos_key, R"({"member": "m-1", "type": "purchase"})"},
      {"/v1/members/m-1/redemptions", pos_key, R"({"points": 1})"},
      {"/v1/members/m-1/holds", pos_key, R"({"points": 1})"},
      {"/v1/holds/" + hold + "/capture", pos_key, "{}"},
      {"/v1/holds/" + hold + "/void", pos_key, "{}"},
      {"/v1/entries/" + std::to_string(seq) + "/reverse", pos_key, "{}"},
      {"/v1/members/m-1/adjustments", admin_key, R"({"points": 1, "reason": "x"})"},
  };
  for (const auto& p : listed) {
    CAPTURE(p.target);
    CHECK_PROBLEM(c.post(p.target, p.key, p.body), 400, "missing_idempotency_key");
    CHECK_PROBLEM(c.post(p.target, p.key, p.body, std::string(129, 'k')), 400,
                  "invalid_request");
    CHECK_PROBLEM(c.post(p.target, p.key, p.body, "caf\xc3\xa9"), 400, "invalid_request");
  }
  // Nothing was written by them.
  auto b = balance_of(c, "m-1");
  CHECK(b.at("available").as_int64() == 90);
  CHECK(b.at("held").as_int64() == 10);
  // 128 printable characters are a valid key.
  CHECK(c.post("/v1/members", pos_key, R"({"id": "m-2"})", std::string(128, '~')).status == 201);
  CHECK(c.post("/v1/members", pos_key, R"({"id": "m-3"})", "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}")
            .status == 201);

  // Other endpoints ignore the header: no key needed, and a key is never replayed.
  const std::string quote = R"({"member": "m-1", "type": "purchase", "basket": {"total": "3"}})";
  auto q1 = c.post("/v1/quote", pos_key, quote);
  CHECK(q1.status == 200);
  auto q2 = c.post("/v1/quote", pos_key, quote, "q");
  CHECK(q2.status == 200);
  auto q3 = c.post("/v1/quote", pos_key, quote, "q");
  CHECK(q3.status == 200);
  CHECK(q3.header("idempotent-replayed") != "true");
  auto q4 = c.post("/v1/quote", pos_key, R"({"type": "purchase"})", "q");
  CHECK(q4.status == 200);
  CHECK(c.patch("/v1/members/m-1", pos_key, R"({"attributes": {"a": 1}})").status == 200);
  CHECK(c.post("/v1/admin/clock", admin_key, R"({"advance_seconds": 0})").status == 200);
  CHECK(c.post("/v1/admin/rules/reload", admin_key, "").status == 200);
  // Reload has no body: no Content-Type is needed.
  CHECK(c.request("POST", "/v1/admin/rules/reload", with_key(admin_key, {})).status == 200);
  std::vector<Header> vh = with_key(marketing_key, {{"Content-Type", "application/json"}});
  CHECK(c.request("POST", "/v1/rules/validate?file=x.json", vh, R"({"offers": []})").status ==
        200);
}

TEST_CASE("contract: replays return the stored status and body with Idempotent-Replayed") {
  Server s;
  Client c = s.client();
  const std::string ev =
      R"({"member": "m-1", "type": "purchase", "basket": {"total": "20.00"}})";
  // Members create: 201 replayed.
  auto e1 = c.post("/v1/members", pos_key, R"({"id": "m-1"})", "enroll");
  REQUIRE(e1.status == 201);
  CHECK(e1.header("idempotent-replayed") != "true");
  auto e2 = c.post("/v1/members", pos_key, R"({"id": "m-1"})", "enroll");
  CHECK(e2.status == 201);
  CHECK(e2.header("idempotent-replayed") == "true");
  CHECK(e2.body == e1.body);

  auto p1 = c.post("/v1/events", pos_key, ev, "buy");
  REQUIRE(p1.status == 201);
  const std::string head = chain_head(c);
  auto p2 = c.post("/v1/events", pos_key, ev, "buy");
  CHECK(p2.status == 201);
  CHECK(p2.header("content-type").rfind("application/json", 0) == 0);
  CHECK(p2.header("idempotent-replayed") == "true");
  CHECK(p2.body == p1.body);
  CHECK(chain_head(c) == head);
  CHECK(balance_of(c, "m-1").at("available").as_int64() == 20);

  SUBCASE("a different request with the same key is 422 idempotency_key_reused") {
    auto other = c.post("/v1/events", pos_key,
                        R"({"member": "m-1", "type": "purchase", "basket": {"total": "21.00"}})",
                        "buy");
    CHECK_PROBLEM(other, 422, "idempotency_key_reused");
    auto path = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", "buy");
    CHECK_PROBLEM(path, 422, "idempotency_key_reused");
    REQUIRE(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", "red").status ==
            201);
    enroll_member(c, "m-2");
    auto member = c.post("/v1/members/m-2/redemptions", pos_key, R"({"points": 1})", "red");
    CHECK_PROBLEM(member, 422, "idempotency_key_reused");
    // The 422 was not stored over the original: the original still replays.
    auto again = c.post("/v1/events", pos_key, ev, "buy");
    CHECK(again.header("idempotent-replayed") == "true");
    CHECK(again.body == p1.body);
  }
  SUBCASE("keys are scoped to the API key that sent them") {
    auto admin = c.post("/v1/events", admin_key, ev, "buy");
    CHECK(admin.status == 201);
    CHECK(admin.header("idempotent-replayed") != "true");
    CHECK(balance_of(c, "m-1").at("available").as_int64() == 40);
  }
  SUBCASE("404 answers are stored and replayed") {
    auto r1 = c.post("/v1/members/late/redemptions", pos_key, R"({"points": 1})", "late");
    CHECK_PROBLEM(r1, 404, "member_not_found");
    enroll_member(c, "late");
    admin_adjust(c, "late", 10);
    auto r2 = c.post("/v1/members/late/redemptions", pos_key, R"({"points": 1})", "late");
    CHECK_PROBLEM(r2, 404, "member_not_found");
    CHECK(r2.header("idempotent-replayed") == "true");
    CHECK(r2.body == r1.body);
    CHECK(balance_of(c, "late").at("available").as_int64() == 10);
  }
  SUBCASE("409 answers are stored and replayed even once the request would succeed") {
    auto r1 = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 30})", "r30");
    CHECK_PROBLEM(r1, 409, "insufficient_points");
    REQUIRE(c.post("/v1/events", pos_key, ev, "buy-2").status == 201);
    auto r2 = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 30})", "r30");
    CHECK_PROBLEM(r2, 409, "insufficient_points");
    CHECK(r2.header("idempotent-replayed") == "true");
    CHECK(r2.body == r1.body);
    CHECK(balance_of(c, "m-1").at("available").as_int64() == 40);
    auto dup = c.post("/v1/members", pos_key, R"({"id": "m-1"})", "dup");
    CHECK_PROBLEM(dup, 409, "member_exists");
    auto dup2 = c.post("/v1/members", pos_key, R"({"id": "m-1"})", "dup");
    CHECK_PROBLEM(dup2, 409, "member_exists");
    CHECK(dup2.header("idempotent-replayed") == "true");
  }
  SUBCASE("400, 415 and 403 answers are not stored: a corrected retry is processed") {
    auto bad = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 0})", "fix");
    CHECK_PROBLEM(bad, 400, "invalid_request");
    auto good = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 5})", "fix");
    CHECK(good.status == 201);
    CHECK(good.header("idempotent-replayed") != "true");
    auto again = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 5})", "fix");
    CHECK(again.header("idempotent-replayed") == "true");
    CHECK(balance_of(c, "m-1").at("available").as_int64() == 15);
    auto media = c.request("POST", "/v1/members/m-1/redemptions",
                           with_key(pos_key, {{"Idempotency-Key", "fix415"}}),
                           R"({"points": 1})");
    CHECK_PROBLEM(media, 415, "unsupported_media_type");
    CHECK(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", "fix415").status ==
          201);
    auto adj = c.post("/v1/members/m-1/adjustments", pos_key,
                      R"({"points": 1, "reason": "x"})", "fix403");
    CHECK_PROBLEM(adj, 403, "forbidden");
    auto after = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", "fix403");
    CHECK(after.status == 201);
    CHECK(after.header("idempotent-replayed") != "true");
    CHECK(balance_of(c, "m-1").at("available").as_int64() == 13);
  }
  SUBCASE("holds, captures and voids replay without acting twice") {
    auto h1 = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 8})", "hold");
    REQUIRE(h1.status == 201);
    auto h2 = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 8})", "hold");
    CHECK(h2.status == 201);
    CHECK(h2.header("idempotent-replayed") == "true");
    CHECK(h2.body == h1.body);
    CHECK(balance_of(c, "m-1").at("held").as_int64() == 8);
    const std::string id = str_at(h1.json().at("hold"), "id");
    auto c1 = c.post("/v1/holds/" + id + "/capture", pos_key, R"({"points": 3})", "cap");
    REQUIRE(c1.status == 200);
    auto c2 = c.post("/v1/holds/" + id + "/capture", pos_key, R"({"points": 3})", "cap");
    CHECK(c2.status == 200);
    CHECK(c2.header("idempotent-replayed") == "true");
    CHECK(c2.body == c1.body);
    CHECK(balance_of(c, "m-1").at("available").as_int64() == 17);
    auto v1 = c.post("/v1/holds/" + id + "/void", pos_key, "{}", "void");
    CHECK_PROBLEM(v1, 409, "hold_not_active");
    auto v2 = c.post("/v1/holds/" + id + "/void", pos_key, "{}", "void");
    CHECK(v2.status == 409);
    CHECK(v2.header("idempotent-replayed") == "true");
  }
}

// ---- Auth and the role matrix --------------------------------------------------------

TEST_CASE("contract: the role matrix, endpoint by endpoint; 401 for missing or unknown keys") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  admin_adjust(c, "m-1", 1000);
  REQUIRE(c.post("/v1/events", pos_key,
                 R"({"member": "m-1", "type": "purchase", "basket": {"total": "100.00"}})", "buy")
              .status == 201);
  const auto seq = first_seq_of_kind(c, "m-1", "accrual");
  auto new_hold = [&](const std::string& key) {
    auto h = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 1})", key);
    REQUIRE(h.status == 201);
    return str_at(h.json().at("hold"), "id");
  };
  const std::string hold = new_hold("setup-hold");
  struct Probe {
    std::string method, target, body;
    bool idem;
    bool pos, marketing, read, admin;
  };
  // Each allowed call gets a fresh target where it acts (a new member id, a new hold).
  int n = 0;
  auto fresh = [&] { return std::to_string(n++); };
  std::vector<Probe> probes;
  auto add = [&](Probe p) { probes.push_back(std::move(p)); };
  {
    add({"POST", "/v1/members", "{}", true, true, false, false, true});
    add({"PATCH", "/v1/members/m-1", R"({"attributes": {"k": 1}})", false, true, false, false,
         true});
    add({"POST", "/v1/events", R"({"member": "m-1", "type": "purchase"})", true, true, false,
         false, true});
    add({"POST", "/v1/quote", R"({"type": "purchase"})", false, true, false, false, true});
    add({"POST", "/v1/members/m-1/redemptions", R"({"points": 1})", true, true, false, false,
         true});
    add({"POST", "/v1/members/m-1/holds", R"({"points": 1})", true, true, false, false, true});
    add({"POST", "/v1/holds/{hold}/capture", "{}", true, true, false, false, true});
    add({"POST", "/v1/holds/{hold}/void", "{}", true, true, false, false, true});
    add({"POST", "/v1/entries/" + std::to_string(seq) + "/reverse", R"({"points": 1})", true,
         true, false, false, true});
    add({"GET", "/v1/members/m-1", "", false, true, true, true, true});
    add({"GET", "/v1/members/m-1/balance", "", false, true, true, true, true});
    add({"GET", "/v1/members/m-1/entries", "", false, true, true, true, true});
    add({"GET", "/v1/members/m-1/offers", "", false, true, true, true, true});
    add({"GET", "/v1/holds/" + hold, "", false, true, true, true, true});
    add({"GET", "/v1/rules", "", false, false, true, true, true});
    add({"POST", "/v1/rules/validate", R"({"offers": []})", false, false, true, true, true});
    add({"POST", "/v1/admin/rules/reload", "", false, false, false, false, true});
    add({"POST", "/v1/members/m-1/adjustments", R"({"points": 1, "reason": "r"})", true, false,
         false, false, true});
    add({"GET", "/v1/journal", "", false, false, false, false, true});
    add({"POST", "/v1/admin/clock", R"({"advance_seconds": 0})", false, false, false, false,
         true});
    add({"GET", "/v1/reports/liability", "", false, false, true, false, true});
    add({"GET", "/metrics", "", false, false, false, true, true});
  }
  for (const auto& p : probes) {
    auto headers_for = [&](const char* key) {
      std::vector<Header> h;
      if (!p.body.empty()) h.push_back({"Content-Type", "application/json"});
      if (p.idem) h.push_back({"Idempotency-Key", "role-" + fresh()});
      if (key != nullptr) h.push_back({"Authorization", std::string("Bearer ") + key});
      return h;
    };
    auto target_for = [&]() {
      std::string t = p.target;
      const auto at = t.find("{hold}");
      if (at != std::string::npos) t.replace(at, 6, new_hold("hold-" + fresh()));
      return t;
    };
    CAPTURE(p.method);
    CAPTURE(p.target);
    CHECK_PROBLEM(c.request(p.method, target_for(), headers_for(nullptr), p.body), 401,
                  "unauthorized");
    auto unknown = headers_for(nullptr);
    unknown.push_back({"Authorization", "Bearer no-such-key"});
    CHECK_PROBLEM(c.request(p.method, target_for(), unknown, p.body), 401, "unauthorized");
    auto basic = headers_for(nullptr);
    basic.push_back({"Authorization", std::string("Basic ") + admin_key});
    CHECK_PROBLEM(c.request(p.method, target_for(), basic, p.body), 401, "unauthorized");
    const std::pair<const char*, bool> roles[] = {
        {pos_key, p.pos}, {marketing_key, p.marketing}, {read_key, p.read}, {admin_key, p.admin}};
    for (const auto& [key, allowed] : roles) {
      CAPTURE(key);
      auto r = c.request(p.method, target_for(), headers_for(key), p.body);
      if (allowed) {
        CHECK(r.status >= 200);
        CHECK(r.status < 300);
        if (p.target != "/metrics") {
          CHECK(r.header("content-type").rfind("application/json", 0) == 0);
        }
      } else {
        CHECK_PROBLEM(r, 403, "forbidden");
      }
    }
  }
  // /healthz and /readyz need no key.
  auto hz = c.get("/healthz", nullptr);
  CHECK(hz.status == 200);
  CHECK(str_at(hz.json(), "status") == "ok");
  CHECK(c.get("/readyz", nullptr).status == 200);
}

TEST_CASE("contract: unknown paths are 404 not_found, wrong methods 405 method_not_allowed") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  CHECK_PROBLEM(c.get("/v1/nothing", admin_key), 404, "not_found");
  CHECK_PROBLEM(c.get("/v1/members/m-1/nothing", admin_key), 404, "not_found");
  CHECK_PROBLEM(c.get("/v2/members/m-1", admin_key), 404, "not_found");
  CHECK_PROBLEM(c.get("/", admin_key), 404, "not_found");
  CHECK_PROBLEM(c.request("DELETE", "/v1/members/m-1", with_key(admin_key, {})), 405,
                "method_not_allowed");
  CHECK_PROBLEM(c.get("/v1/events", admin_key), 405, "method_not_allowed");
  CHECK_PROBLEM(c.request("PUT", "/v1/quote", json_headers(admin_key, ""), "{}"), 405,
                "method_not_allowed");
  CHECK_PROBLEM(c.get("/v1/members/m-1/redemptions", admin_key), 405, "method_not_allowed");
  CHECK_PROBLEM(c.post("/v1/journal", admin_key, "{}"), 405, "method_not_allowed");
  CHECK_PROBLEM(c.post("/healthz", admin_key, "{}"), 405, "method_not_allowed");
}

// ---- The command line ---------------------------------------------------------------

namespace {

struct Spawned {
  int pid = -1;
  std::filesystem::path out;
  std::filesystem::path err;
};

Spawned spawn_split(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  Spawned s{-1, dir / "stdout.log", dir / "stderr.log"};
  std::vector<std::string> full{encored_path()};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  s.pid = fork();
  REQUIRE(s.pid >= 0);
  if (s.pid == 0) {
    const int o = open(s.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(s.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return s;
}

// Waits up to `timeout` for the child; -1000 when it is still running (then it is killed).
int wait_child(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("contract: the command line; --data is created, keys are role:key, bad rules exit") {
  const auto dir = make_temp_dir();
  std::filesystem::create_directories(dir / "rules");
  for (const auto& [name, text] : default_rules()) write_file(dir / "rules" / name, text);
  write_file(dir / "keys",
             std::string("pos:p-key-1\npos:p-key-2\nread:r-key-1\nadmin:a-key-1\n"));
  const auto port = free_port();
  const auto data = dir / "deep" / "er" / "data";
  auto child = spawn_split({"--data", data.string(), "--rules", (dir / "rules").string(),
                            "--listen", "127.0.0.1:" + std::to_string(port), "--keys",
                            (dir / "keys").string()},
                           dir);
  bool ready = false;
  for (int i = 0; i < 1000 && !ready; ++i) {
    try {
      Client probe(port);
      ready = probe.get("/readyz", nullptr).status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  CHECK(ready);
  if (ready) {
    CHECK(std::filesystem::is_directory(data));
    Client c(port);
    CHECK(c.get("/v1/rules", "r-key-1").status == 200);
    CHECK(c.get("/v1/journal", "a-key-1").status == 200);
    CHECK(c.post("/v1/members", "p-key-1", R"({"id": "m-1"})", "k").status == 201);
    // Scoped per API key, even between two keys of one role: p-key-2's "k" is its own.
    auto other = c.post("/v1/members", "p-key-2", R"({"id": "m-1"})", "k");
    CHECK_PROBLEM(other, 409, "member_exists");
    CHECK(other.header("idempotent-replayed") != "true");
    CHECK(c.post("/v1/members", "p-key-2", R"({"id": "m-2"})", "k2").status == 201);
    CHECK_PROBLEM(c.get("/v1/rules", "p-key-1"), 403, "forbidden");
    CHECK_PROBLEM(c.get("/v1/rules", "pos:p-key-1"), 401, "unauthorized");
    CHECK_PROBLEM(c.get("/v1/rules", "r-key"), 401, "unauthorized");
    // The admin clock is not there without --manual-clock.
    CHECK_PROBLEM(c.post("/v1/admin/clock", "a-key-1", R"({"advance_seconds": 1})"), 404,
                  "not_found");
  }
  kill(child.pid, SIGTERM);
  CHECK(wait_child(child.pid, std::chrono::seconds(20)) == 0);
  const std::string logs = slurp(child.out) + slurp(child.err);
  CHECK(logs.find("p-key-1") == std::string::npos);
  CHECK(logs.find("a-key-1") == std::string::npos);

  SUBCASE("an invalid rule set: exit non-zero with file:line:column on stderr") {
    write_file(dir / "rules" / "zz-broken.json",
               "{\n  \"offers\": [\n    {\"id\": \"x\", \"name\": \"X\", \"award\": \"1 +\"}"
               "\n  ]\n}\n");
    auto bad = spawn_split({"--data", (dir / "data2").string(), "--rules",
                            (dir / "rules").string(), "--listen",
                            "127.0.0.1:" + std::to_string(free_port()), "--keys",
                            (dir / "keys").string()},
                           dir);
    const int status = wait_child(bad.pid, std::chrono::seconds(20));
    CHECK(status != 0);
    CHECK(status != -1000);
    const std::string err = slurp(bad.err);
    INFO(err);
    CHECK(err.find("zz-broken.json:3:") != std::string::npos);
  }
  SUBCASE("a JSON syntax error names its line and column") {
    write_file(dir / "rules" / "zz-syntax.json", "{\n  \"offers\": [\n    {\"id\": }\n");
    auto bad = spawn_split({"--data", (dir / "data3").string(), "--rules",
                            (dir / "rules").string(), "--listen",
                            "127.0.0.1:" + std::to_string(free_port()), "--keys",
                            (dir / "keys").string()},
                           dir);
    const int status = wait_child(bad.pid, std::chrono::seconds(20));
    CHECK(status != 0);
    CHECK(status != -1000);
    const std::string err = slurp(bad.err);
    INFO(err);
    CHECK(err.find("zz-syntax.json:3:") != std::string::npos);
  }
  SUBCASE("a rules dir without a program: exit non-zero, saying so") {
    std::filesystem::create_directories(dir / "empty-rules");
    auto bad = spawn_split({"--data", (dir / "data5").string(), "--rules",
                            (dir / "empty-rules").string(), "--listen",
                            "127.0.0.1:" + std::to_string(free_port()), "--keys",
                            (dir / "keys").string()},
                           dir);
    const int status = wait_child(bad.pid, std::chrono::seconds(20));
    CHECK(status != 0);
    CHECK(status != -1000);
    CHECK(slurp(bad.err).find("program") != std::string::npos);
  }
  SUBCASE("a rules dir that does not exist: exit non-zero") {
    auto bad = spawn_split({"--data", (dir / "data4").string(), "--rules",
                            (dir / "nope").string(), "--listen",
                            "127.0.0.1:" + std::to_string(free_port()), "--keys",
                            (dir / "keys").string()},
                           dir);
    const int status = wait_child(bad.pid, std::chrono::seconds(20));
    CHECK(status != 0);
    CHECK(status != -1000);
    CHECK(!slurp(bad.err).empty());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
