// Proves API.md's members, earning, spending, corrections, rules and operations clauses
// against the real encored: exact bodies and field types, entry kinds and signs, offer
// order, paging limits, hold states, reversals, reports and the admin clock.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <set>
#include <thread>

#include "tests/e2e/contract_support.h"

using namespace encore::e2e;
using namespace encore::e2e::contract;

namespace {

// Base 1 point per 1.00; tiers fan/superfan (1000, base × 2); offers over two files so the
// order (priority, then file and position) is visible.
std::map<std::string, std::string> contract_rules() {
  return {
      {"program.json", R"({
  "program": {
    "name": "Contract Club",
    "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"},
    "rounding": "floor",
    "pending_days": 0,
    "expiry": {"policy": "fixed", "days": 365},
    "max_backdate_days": 7
  },
  "tiers": {
    "window_days": 365,
    "levels": [
      {"id": "fan", "threshold": 0},
      {"id": "superfan", "threshold": 1000, "multiplier": "2"}
    ]
  }
}
)"},
      {"a-offers.json", R"({
  "offers": [
    {"id": "a-low", "name": "A low", "description": "5 on 10.00 or more",
     "when": "event.total >= 10", "award": "5"}
  ]
}
)"},
      {"b-offers.json", R"J({
  "offers": [
    {"id": "b-high", "name": "B high", "when": "event.total >= 10", "award": "7",
     "priority": 5},
    {"id": "b-zero", "name": "B zero", "award": "if(event.total > 1000000, 1, 0)"},
    {"id": "b-low", "name": "B low", "when": "event.total >= 10", "award": "3"},
    {"id": "b-feedback", "name": "Thanks", "description": "2 for feedback", "on": "feedback",
     "award": "2", "limit": {"per_member": 2}, "ends_at": "2099-01-01T00:00:00Z"},
    {"id": "b-budget", "name": "Budget", "on": "checkin", "award": "7", "budget": 10},
    {"id": "b-future", "name": "Future", "on": "checkin", "award": "1",
     "starts_at": "2099-01-01T00:00:00Z"},
    {"id": "b-past", "name": "Past", "on": "checkin", "award": "1",
     "ends_at": "2000-01-01T00:00:00Z"},
    {"id": "b-never", "name": "Never", "on": "checkin", "award": "1",
     "eligible": "member.id == 'nobody-at-all'"}
  ]
}
)J"},
  };
}

Reply buy(Client& c, const std::string& member, const std::string& total,
          const std::string& key) {
  return c.post("/v1/events", pos_key,
                R"({"member": ")" + member + R"(", "type": "purchase", "basket": {"total": ")" +
                    total + R"("}})",
                key);
}

Reply event_of(Client& c, const std::string& member, const std::string& type,
               const std::string& key) {
  return c.post("/v1/events", pos_key,
                R"({"member": ")" + member + R"(", "type": ")" + type + R"("})", key);
}

std::vector<json::value> accruals(const json::value& event_reply) {
  std::vector<json::value> out;
  for (const auto& e : event_reply.at("entries").as_array()) {
    if (e.at("kind").as_string() == "accrual") out.push_back(e);
  }
  return out;
}

// The sum of `points` over the member's entries equals available + pending + held.
void check_total(Client& c, const std::string& member) {
  const auto b = balance_of(c, member);
  CHECK(balance_mismatch(b) == "");
  std::int64_t sum = 0;
  for (const auto& e : entries_of(c, member)) sum += e.at("points").to_number<std::int64_t>();
  CHECK(sum == int_at(b, "available") + int_at(b, "pending") + int_at(b, "held"));
}

const json::value* find_offer(const json::value& list, const std::string& id) {
  for (const auto& o : list.as_array()) {
    if (o.at("id").as_string() == id) return &o;
  }
  return nullptr;
}

}  // namespace

// ---- Members ------------------------------------------------------------------------

TEST_CASE("contract: members are created, read and patched with the documented fields") {
  Server s;
  Client c = s.client();
  const auto now = server_now(c);
  auto r = c.post("/v1/members", pos_key,
                  R"({"id": "m-1", "birthday": "1990-05-17",
                      "attributes": {"city": "Oslo", "vip": true, "age": 36}})",
                  "e1");
  REQUIRE(r.status == 201);
  CHECK(r.header("content-type").rfind("application/json", 0) == 0);
  CHECK_SHAPE(r.json().at("member"),
              (Shape{{"id", T::string}, {"status", T::string}, {"tier", T::string_or_null},
                     {"birthday", T::string_or_null}, {"attributes", T::object},
                     {"enrolled_at", T::string}}),
              "created member");
  CHECK(balance_mismatch(r.json().at("balance")) == "");
  const auto m = r.json().at("member");
  CHECK(str_at(m, "id") == "m-1");
  CHECK(str_at(m, "status") == "active");
  CHECK(str_at(m, "birthday") == "1990-05-17");
  CHECK(m.at("attributes").at("city") == json::value("Oslo"));
  CHECK(m.at("attributes").at("vip") == json::value(true));
  CHECK(int_at(m.at("attributes"), "age") == 36);
  CHECK(parse_time(str_at(m, "enrolled_at")) >= now - 1);
  CHECK(str_at(r.json().at("balance"), "member") == "m-1");
  CHECK(int_at(r.json().at("balance"), "available") == 0);

  auto g = c.get("/v1/members/m-1", read_key);
  REQUIRE(g.status == 200);
  CHECK_SHAPE(g.json(), member_shape, "member");
  CHECK(balance_mismatch(g.json().at("balance")) == "");

  auto plain = c.post("/v1/members", pos_key, R"({"id": "m-2"})", "e2");
  REQUIRE(plain.status == 201);
  CHECK(plain.json().at("member").at("birthday").is_null());
  CHECK(plain.json().at("member").at("attributes").as_object().empty());

  CHECK_PROBLEM(c.post("/v1/members", pos_key, R"({"id": "m-1"})", "e3"), 409, "member_exists");
  CHECK_PROBLEM(c.post("/v1/members", pos_key, R"({"id": "m-x", "birthday": "1990-02-30"})",
                       "e4"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members", pos_key, R"({"id": "m-x", "birthday": "19900101"})", "e5"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members", pos_key, R"({"id": "m-x", "attributes": {"a": {"b": 1}}})",
                       "e6"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members", pos_key, R"({"id": "m-x", "attributes": {"a": [1]}})",
                       "e7"),
                400, "invalid_request");
  CHECK_PROBLEM(c.get("/v1/members/m-x", read_key), 404, "member_not_found");

  auto p = c.patch("/v1/members/m-1", pos_key,
                   R"({"attributes": {"city": null, "band": "Low"}, "birthday": "1991-01-02"})");
  REQUIRE(p.status == 200);
  CHECK_SHAPE(p.json(), (Shape{{"id", T::string}, {"status", T::string},
                               {"tier", T::string_or_null}, {"birthday", T::string_or_null},
                               {"attributes", T::object}, {"enrolled_at", T::string}}),
              "patched member");
  const auto pj = p.json();
  const auto& attrs = pj.at("attributes").as_object();
  CHECK(attrs.if_contains("city") == nullptr);
  CHECK(attrs.at("band") == json::value("Low"));
  CHECK(attrs.at("vip") == json::value(true));
  CHECK(str_at(p.json(), "birthday") == "1991-01-02");
  CHECK_PROBLEM(c.patch("/v1/members/m-1", pos_key, R"({"status": "closed"})"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.patch("/v1/members/m-1", pos_key, R"({"birthday": "1991-13-01"})"), 400,
                "invalid_request");
  CHECK(str_at(c.get("/v1/members/m-1", read_key).json(), "birthday") == "1991-01-02");
}

TEST_CASE("contract: a frozen member keeps earning but cannot redeem or hold") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  REQUIRE(buy(c, "m-1", "50.00", "p1").status == 201);
  auto f = c.patch("/v1/members/m-1", pos_key, R"({"status": "frozen"})");
  REQUIRE(f.status == 200);
  CHECK(str_at(f.json(), "status") == "frozen");
  auto earn = buy(c, "m-1", "20.00", "p2");
  CHECK(earn.status == 201);
  CHECK(int_at(earn.json(), "points") == 20);
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", "r1"), 409,
                "member_frozen");
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key, R"({"points": 1})", "h1"), 409,
                "member_frozen");
  CHECK(int_at(balance_of(c, "m-1"), "available") == 70);
  REQUIRE(c.patch("/v1/members/m-1", pos_key, R"({"status": "active"})").status == 200);
  CHECK(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", "r2").status == 201);
}

TEST_CASE("contract: an unknown member id is 404 member_not_found on every member path") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  CHECK_PROBLEM(c.get("/v1/members/ghost", read_key), 404, "member_not_found");
  CHECK_PROBLEM(c.patch("/v1/members/ghost", pos_key, R"({"attributes": {}})"), 404,
                "member_not_found");
  CHECK_PROBLEM(c.get("/v1/members/ghost/balance", read_key), 404, "member_not_found");
  CHECK_PROBLEM(c.get("/v1/members/ghost/entries", read_key), 404, "member_not_found");
  CHECK_PROBLEM(c.get("/v1/members/ghost/offers", read_key), 404, "member_not_found");
  CHECK_PROBLEM(c.post("/v1/members/ghost/redemptions", pos_key, R"({"points": 1})", "g1"), 404,
                "member_not_found");
  CHECK_PROBLEM(c.post("/v1/members/ghost/holds", pos_key, R"({"points": 1})", "g2"), 404,
                "member_not_found");
  CHECK_PROBLEM(c.post("/v1/members/ghost/adjustments", admin_key,
                       R"({"points": 1, "reason": "x"})", "g3"),
                404, "member_not_found");
  CHECK_PROBLEM(buy(c, "ghost", "5.00", "g4"), 404, "member_not_found");
  CHECK_PROBLEM(c.post("/v1/quote", pos_key, R"({"member": "ghost", "type": "purchase"})"), 404,
                "member_not_found");
  // Nothing was written: the journal holds only the enroll of m-1.
  auto j = c.get("/v1/journal", admin_key);
  REQUIRE(j.status == 200);
  CHECK(j.json().at("entries").as_array().size() == 1);
}

// ---- Earning --------------------------------------------------------------------------

TEST_CASE("contract: a purchase writes base then offers in order, with the documented fields") {
  ServerConfig config;
  config.rules = contract_rules();
  Server s(config);
  Client c = s.client();
  enroll_member(c, "m-1");
  const std::string version = str_at(c.get("/v1/rules", read_key).json(), "version");
  auto r = c.post("/v1/events", pos_key,
                  R"({"member": "m-1", "type": "purchase", "channel": "store", "store": "s-12",
                      "order_id": "o-9", "basket": {"total": "10.00", "items": [
                      {"sku": "LP-1", "category": "vinyl", "quantity": 1,
                       "unit_price": "10.00"}]}, "attributes": {"source": "till"}})",
                  "p1");
  REQUIRE(r.status == 201);
  const auto body = r.json();
  CHECK_SHAPE(body, (Shape{{"points", T::integer}, {"entries", T::array}, {"offers", T::array},
                           {"balance", T::object}}),
              "event reply");
  CHECK(int_at(body, "points") == 25);
  const auto acc = accruals(body);
  REQUIRE(acc.size() == 4);
  const std::array<const char*, 4> offers{"", "b-high", "a-low", "b-low"};
  const std::array<std::int64_t, 4> points{10, 7, 5, 3};
  for (std::size_t i = 0; i < acc.size(); ++i) {
    CAPTURE(i);
    CHECK_SHAPE(acc[i], entry_shape, "entry");
    CHECK(int_at(acc[i], "points") == points[i]);
    if (i == 0) {
      CHECK(acc[i].at("offer").is_null());
    } else {
      CHECK(str_at(acc[i], "offer") == offers[i]);
    }
    CHECK(str_at(acc[i], "member") == "m-1");
    CHECK(str_at(acc[i], "channel") == "store");
    CHECK(str_at(acc[i], "store") == "s-12");
    CHECK(str_at(acc[i], "order_id") == "o-9");
    CHECK(acc[i].at("reverses").is_null());
    CHECK(acc[i].at("hold").is_null());
    CHECK(str_at(acc[i], "ruleset") == version);
    CHECK(parse_time(str_at(acc[i], "occurred_at")) > 0);
    CHECK(parse_time(str_at(acc[i], "recorded_at")) > 0);
    CHECK(!str_at(acc[i], "hash").empty());
    if (i > 0) CHECK(int_at(acc[i], "seq") > int_at(acc[i - 1], "seq"));
  }
  const auto& ol = body.at("offers").as_array();
  REQUIRE(ol.size() == 3);
  const std::array<const char*, 3> names{"B high", "A low", "B low"};
  for (std::size_t i = 0; i < ol.size(); ++i) {
    CHECK_SHAPE(ol[i], (Shape{{"id", T::string}, {"name", T::string}, {"points", T::integer}}),
                "offer");
    CHECK(str_at(ol[i], "id") == offers[i + 1]);
    CHECK(str_at(ol[i], "name") == names[i]);
    CHECK(int_at(ol[i], "points") == points[i + 1]);
  }
  CHECK(balance_mismatch(body.at("balance")) == "");
  CHECK(int_at(body.at("balance"), "available") == 25);
  CHECK(int_at(body.at("balance"), "as_of") >= int_at(acc.back(), "seq"));
  CHECK(int_at(body.at("balance"), "lifetime_earned") == 25);

  // The quote is the same, writes nothing, and works without a member.
  const std::string head = chain_head(c);
  auto q = c.post("/v1/quote", pos_key,
                  R"({"member": "m-1", "type": "purchase", "basket": {"total": "10.00"}})");
  REQUIRE(q.status == 200);
  CHECK_SHAPE(q.json(), (Shape{{"points", T::integer}, {"offers", T::array}}), "quote");
  CHECK(int_at(q.json(), "points") == 25);
  REQUIRE(q.json().at("offers").as_array().size() == 3);
  CHECK_SHAPE(q.json().at("offers").as_array()[0],
              (Shape{{"id", T::string}, {"name", T::string}, {"points", T::integer}}),
              "quote offer");
  CHECK(str_at(q.json().at("offers").as_array()[0], "id") == "b-high");
  CHECK(int_at(q.json().at("offers").as_array()[0], "points") == 7);
  CHECK(r.header("connection") != "close");  // keep-alive
  auto anon = c.post("/v1/quote", pos_key, R"({"type": "purchase", "basket": {"total": "12"}})");
  REQUIRE(anon.status == 200);
  CHECK(int_at(anon.json(), "points") == 27);
  CHECK(chain_head(c) == head);

  // 0 points: no entry at all.
  auto zero = buy(c, "m-1", "0.99", "p0");
  REQUIRE(zero.status == 201);
  CHECK(int_at(zero.json(), "points") == 0);
  CHECK(zero.json().at("entries").as_array().empty());
  CHECK(zero.json().at("offers").as_array().empty());
  CHECK(chain_head(c) == head);
  check_total(c, "m-1");
}

TEST_CASE("contract: other event types earn only their offers; limits and budgets hold") {
  ServerConfig config;
  config.rules = contract_rules();
  Server s(config);
  Client c = s.client();
  enroll_member(c, "m-1");
  enroll_member(c, "m-2");
  auto offers_of = [&](const std::string& id) {
    auto r = c.get("/v1/members/" + id + "/offers", read_key);
    REQUIRE(r.status == 200);
    return r.json().at("offers");
  };
  auto listed = offers_of("m-1");
  for (const auto& o : listed.as_array()) {
    CHECK_SHAPE(o, (Shape{{"id", T::string}, {"name", T::string},
                          {"description", T::string_or_null}, {"ends_at", T::string_or_null},
                          {"remaining_uses", T::integer_or_null}}),
                "member offer");
  }
  REQUIRE(find_offer(listed, "b-feedback") != nullptr);
  CHECK(int_at(*find_offer(listed, "b-feedback"), "remaining_uses") == 2);
  CHECK(str_at(*find_offer(listed, "b-feedback"), "description") == "2 for feedback");
  CHECK(parse_time(str_at(*find_offer(listed, "b-feedback"), "ends_at")) ==
        parse_time("2099-01-01T00:00:00Z"));
  CHECK(find_offer(listed, "a-low") != nullptr);
  CHECK(find_offer(listed, "b-budget") != nullptr);
  CHECK(find_offer(listed, "b-future") == nullptr);
  CHECK(find_offer(listed, "b-past") == nullptr);
  CHECK(find_offer(listed, "b-never") == nullptr);

  auto f1 = event_of(c, "m-1", "feedback", "f1");
  REQUIRE(f1.status == 201);
  CHECK(int_at(f1.json(), "points") == 2);
  REQUIRE(f1.json().at("entries").as_array().size() == 1);
  CHECK(str_at(f1.json().at("entries").as_array()[0], "offer") == "b-feedback");
  CHECK(int_at(*find_offer(offers_of("m-1"), "b-feedback"), "remaining_uses") == 1);
  REQUIRE(event_of(c, "m-1", "feedback", "f2").status == 201);
  CHECK(find_offer(offers_of("m-1"), "b-feedback") == nullptr);
  auto f3 = event_of(c, "m-1", "feedback", "f3");
  REQUIRE(f3.status == 201);
  CHECK(int_at(f3.json(), "points") == 0);
  CHECK(f3.json().at("entries").as_array().empty());
  // Per member: m-2 still has both uses.
  CHECK(int_at(*find_offer(offers_of("m-2"), "b-feedback"), "remaining_uses") == 2);
  // Base points come from purchases only: a basket on another type earns only its offers.
  auto fb = c.post("/v1/events", pos_key,
                   R"({"member": "m-2", "type": "feedback", "basket": {"total": "100.00"}})",
                   "f4");
  REQUIRE(fb.status == 201);
  CHECK(int_at(fb.json(), "points") == 2);
  CHECK(fb.json().at("entries").as_array().size() == 1);
  auto fq = c.post("/v1/quote", pos_key,
                   R"({"type": "feedback", "basket": {"total": "100.00"}})");
  REQUIRE(fq.status == 200);
  CHECK(int_at(fq.json(), "points") == 2);

  // A budget of 10 with awards of 7: 7, then 3 (cut to what remains), then nothing.
  auto c1 = event_of(c, "m-1", "checkin", "c1");
  REQUIRE(c1.status == 201);
  CHECK(int_at(c1.json(), "points") == 7);
  auto c2 = event_of(c, "m-2", "checkin", "c2");
  REQUIRE(c2.status == 201);
  CHECK(int_at(c2.json(), "points") == 3);
  auto c3 = event_of(c, "m-2", "checkin", "c3");
  REQUIRE(c3.status == 201);
  CHECK(int_at(c3.json(), "points") == 0);
  CHECK(c3.json().at("offers").as_array().empty());
  CHECK(find_offer(offers_of("m-1"), "b-budget") == nullptr);

  auto rules = c.get("/v1/rules", marketing_key);
  REQUIRE(rules.status == 200);
  const auto rv = rules.json();
  CHECK_SHAPE(rv, (Shape{{"version", T::string}, {"loaded_at", T::string}, {"offers", T::array},
                         {"tiers", T::array}}),
              "rules");
  const std::string version = str_at(rv, "version");
  CHECK(version.rfind("sha256:", 0) == 0);
  CHECK(version.size() == 7 + 64);
  CHECK(parse_time(str_at(rv, "loaded_at")) > 0);
  for (const auto& o : rv.at("offers").as_array()) {
    CHECK_SHAPE(o, (Shape{{"id", T::string}, {"name", T::string}, {"status", T::string},
                          {"starts_at", T::string_or_null}, {"ends_at", T::string_or_null}}),
                "rules offer");
  }
  const auto* budget = find_offer(rv.at("offers"), "b-budget");
  REQUIRE(budget != nullptr);
  CHECK(str_at(*budget, "status") == "exhausted");
  CHECK_SHAPE(budget->at("budget"), (Shape{{"limit", T::integer}, {"used", T::integer}}),
              "budget");
  CHECK(int_at(budget->at("budget"), "limit") == 10);
  CHECK(int_at(budget->at("budget"), "used") == 10);
  REQUIRE(find_offer(rv.at("offers"), "b-future") != nullptr);
  CHECK(str_at(*find_offer(rv.at("offers"), "b-future"), "status") == "scheduled");
  CHECK(parse_time(str_at(*find_offer(rv.at("offers"), "b-future"), "starts_at")) ==
        parse_time("2099-01-01T00:00:00Z"));
  REQUIRE(find_offer(rv.at("offers"), "b-past") != nullptr);
  CHECK(str_at(*find_offer(rv.at("offers"), "b-past"), "status") == "ended");
  REQUIRE(find_offer(rv.at("offers"), "a-low") != nullptr);
  CHECK(str_at(*find_offer(rv.at("offers"), "a-low"), "status") == "active");
  CHECK(rv.at("tiers").as_array().size() == 2);

  // Event type names: [a-z][a-z0-9_]{0,31}.
  CHECK(event_of(c, "m-1", "a" + std::string(31, 'b'), "t1").status == 201);
  CHECK_PROBLEM(event_of(c, "m-1", "a" + std::string(32, 'b'), "t2"), 400, "invalid_request");
  CHECK_PROBLEM(event_of(c, "m-1", "Feedback", "t3"), 400, "invalid_request");
  CHECK_PROBLEM(event_of(c, "m-1", "9lives", "t4"), 400, "invalid_request");
  CHECK_PROBLEM(event_of(c, "m-1", "", "t5"), 400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/events", pos_key,
                       R"({"member": "m-1", "type": "purchase", "channel": "fax"})", "t6"),
                400, "invalid_request");
  for (const char* ch : {"store", "online", "phone", "app"}) {
    CHECK(c.post("/v1/events", pos_key,
                 std::string(R"({"member": "m-1", "type": "purchase", "channel": ")") + ch +
                     "\"}",
                 std::string("ch-") + ch)
              .status == 201);
  }
  check_total(c, "m-1");
  check_total(c, "m-2");
}

TEST_CASE("contract: tiers show in member and balance and scale base points") {
  ServerConfig config;
  config.rules = contract_rules();
  Server s(config);
  Client c = s.client();
  enroll_member(c, "m-1");
  CHECK(str_at(balance_of(c, "m-1"), "tier") == "fan");
  auto big = buy(c, "m-1", "1000.00", "p1");
  REQUIRE(big.status == 201);
  CHECK(int_at(big.json(), "points") == 1015);
  CHECK(str_at(big.json().at("balance"), "tier") == "superfan");
  CHECK(str_at(c.get("/v1/members/m-1", read_key).json(), "tier") == "superfan");
  bool tier_change = false;
  for (const auto& e : entries_of(c, "m-1")) {
    if (e.at("kind").as_string() == "tier_change") {
      tier_change = true;
      CHECK(int_at(e, "points") == 0);
    }
  }
  CHECK(tier_change);
  auto next = buy(c, "m-1", "10.00", "p2");
  REQUIRE(next.status == 201);
  CHECK(int_at(next.json(), "points") == 35);
  CHECK(int_at(accruals(next.json()).at(0), "points") == 20);
  check_total(c, "m-1");
}

TEST_CASE("contract: occurred_at within max_backdate_days is accepted; older or future is 400") {
  Server s;  // max_backdate_days 7
  Client c = s.client();
  enroll_member(c, "m-1");
  const auto now = server_now(c);
  auto at = [&](std::int64_t t, const std::string& key) {
    return c.post("/v1/events", pos_key,
                  R"({"member": "m-1", "type": "purchase", "occurred_at": ")" + format_time(t) +
                      R"(", "basket": {"total": "5.00"}})",
                  key);
  };
  auto ok = at(now - 7 * 86400 + 3600, "o1");
  REQUIRE(ok.status == 201);
  CHECK(parse_time(str_at(ok.json().at("entries").as_array().at(0), "occurred_at")) ==
        now - 7 * 86400 + 3600);
  CHECK(parse_time(str_at(ok.json().at("entries").as_array().at(0), "recorded_at")) >= now);
  CHECK_PROBLEM(at(now - 7 * 86400 - 3600, "o2"), 400, "invalid_request");
  CHECK_PROBLEM(at(now + 3600, "o3"), 400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/events", pos_key,
                       R"({"member": "m-1", "type": "purchase", "occurred_at": "yesterday"})",
                       "o4"),
                400, "invalid_request");
  auto def = c.post("/v1/events", pos_key,
                    R"({"member": "m-1", "type": "purchase", "basket": {"total": "1.00"}})",
                    "o5");
  REQUIRE(def.status == 201);
  const auto occurred = parse_time(str_at(def.json().at("entries").as_array().at(0),
                                          "occurred_at"));
  CHECK(occurred >= now);
  CHECK(occurred <= now + 60);
  CHECK(int_at(balance_of(c, "m-1"), "available") == 6);
  // Report days go by recorded time: the backdated purchase counts today.
  auto l = c.get("/v1/reports/liability", admin_key);
  REQUIRE(l.status == 200);
  const auto days = l.json().at("days");
  REQUIRE(days.as_array().size() == 1);
  CHECK(str_at(days.as_array()[0], "date") == format_time(now).substr(0, 10));
  CHECK(int_at(days.as_array()[0], "earned") == 6);
}

// ---- Spending -------------------------------------------------------------------------

TEST_CASE("contract: redemptions answer {entry, balance}; refusals write nothing") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  REQUIRE(buy(c, "m-1", "80.00", "p1").status == 201);
  auto r = c.post("/v1/members/m-1/redemptions", pos_key,
                  R"({"points": 30, "order_id": "o-1", "reason": "tote", "channel": "online",
                      "store": "web"})",
                  "r1");
  REQUIRE(r.status == 201);
  CHECK_SHAPE(r.json().at("entry"), entry_shape, "redemption entry");
  CHECK(balance_mismatch(r.json().at("balance")) == "");
  const auto e = r.json().at("entry");
  CHECK(str_at(e, "kind") == "redemption");
  CHECK(int_at(e, "points") == -30);
  CHECK(str_at(e, "order_id") == "o-1");
  CHECK(str_at(e, "reason") == "tote");
  CHECK(str_at(e, "channel") == "online");
  CHECK(str_at(e, "store") == "web");
  CHECK(int_at(r.json().at("balance"), "available") == 50);
  const std::string head = chain_head(c);
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 51})", "r2"), 409,
                "insufficient_points");
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 0})", "r3"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": -1})", "r4"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, R"({})", "r5"), 400,
                "invalid_request");
  CHECK(chain_head(c) == head);
  CHECK(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 50})", "r6").status == 201);
  CHECK(int_at(balance_of(c, "m-1"), "available") == 0);
  check_total(c, "m-1");
}

TEST_CASE("contract: holds reserve, capture, void and expire with the documented answers") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  REQUIRE(buy(c, "m-1", "90.00", "p1").status == 201);  // 90 points
  const auto now = server_now(c);
  auto h = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 40, "order_id": "o-1"})",
                  "h1");
  REQUIRE(h.status == 201);
  CHECK_SHAPE(h.json().at("hold"), hold_shape, "hold");
  CHECK(balance_mismatch(h.json().at("balance")) == "");
  const auto hold = h.json().at("hold");
  const std::string id = str_at(hold, "id");
  CHECK(str_at(hold, "member") == "m-1");
  CHECK(int_at(hold, "points") == 40);
  CHECK(str_at(hold, "status") == "active");
  const auto expires = parse_time(str_at(hold, "expires_at"));
  CHECK(expires >= now + 900);
  CHECK(expires <= now + 901);
  CHECK(int_at(h.json().at("balance"), "held") == 40);
  CHECK(int_at(h.json().at("balance"), "available") == 50);

  auto g = c.get("/v1/holds/" + id, read_key);
  REQUIRE(g.status == 200);
  CHECK_SHAPE(g.json(), hold_shape, "hold read");
  CHECK(str_at(g.json(), "status") == "active");
  CHECK_PROBLEM(c.get("/v1/holds/no-such-hold", read_key), 404, "not_found");

  auto week = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 1, "ttl_seconds": 604800})",
                     "h2");
  REQUIRE(week.status == 201);
  const auto wexp = parse_time(str_at(week.json().at("hold"), "expires_at"));
  CHECK(wexp >= now + 604800);
  CHECK(wexp <= now + 604801);
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key,
                       R"({"points": 1, "ttl_seconds": 604801})", "h3"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key, R"({"points": 50})", "h4"), 409,
                "insufficient_points");
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key, R"({"points": 0})", "h5"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key, R"({"points": 1, "ttl_seconds": -1})",
                       "h5b"),
                400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key, R"({"points": -1})", "h5c"), 400,
                "invalid_request");

  // Capture more than held is 400; part of it captures and releases the rest.
  CHECK_PROBLEM(c.post("/v1/holds/" + id + "/capture", pos_key, R"({"points": 41})", "c0"), 400,
                "invalid_request");
  auto cap = c.post("/v1/holds/" + id + "/capture", pos_key, R"({"points": 25})", "c1");
  REQUIRE(cap.status == 200);
  CHECK_SHAPE(cap.json().at("hold"), hold_shape, "captured hold");
  CHECK_SHAPE(cap.json().at("entry"), entry_shape, "capture entry");
  CHECK(balance_mismatch(cap.json().at("balance")) == "");
  CHECK(str_at(cap.json().at("hold"), "status") == "captured");
  CHECK(str_at(cap.json().at("entry"), "kind") == "capture");
  CHECK(int_at(cap.json().at("entry"), "points") == -25);
  CHECK(str_at(cap.json().at("entry"), "hold") == id);
  CHECK(int_at(cap.json().at("balance"), "held") == 1);
  CHECK(int_at(cap.json().at("balance"), "available") == 64);
  CHECK_PROBLEM(c.post("/v1/holds/" + id + "/capture", pos_key, "{}", "c2"), 409,
                "hold_not_active");
  CHECK_PROBLEM(c.post("/v1/holds/" + id + "/void", pos_key, "{}", "v0"), 409,
                "hold_not_active");

  // Void answers {hold, balance}; a voided hold is not active any more.
  const std::string wid = str_at(week.json().at("hold"), "id");
  auto v = c.post("/v1/holds/" + wid + "/void", pos_key, "{}", "v1");
  REQUIRE(v.status == 200);
  CHECK_SHAPE(v.json().at("hold"), hold_shape, "voided hold");
  CHECK(balance_mismatch(v.json().at("balance")) == "");
  CHECK(str_at(v.json().at("hold"), "status") == "voided");
  CHECK(int_at(v.json().at("balance"), "held") == 0);
  CHECK(int_at(v.json().at("balance"), "available") == 65);
  CHECK_PROBLEM(c.post("/v1/holds/" + wid + "/capture", pos_key, "{}", "c3"), 409,
                "hold_not_active");
  CHECK_PROBLEM(c.post("/v1/holds/" + wid + "/void", pos_key, "{}", "v2"), 409,
                "hold_not_active");

  // Default capture takes all of it.
  auto all = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 5})", "h6");
  REQUIRE(all.status == 201);
  auto capall = c.post("/v1/holds/" + str_at(all.json().at("hold"), "id") + "/capture",
                       pos_key, "{}", "c4");
  REQUIRE(capall.status == 200);
  CHECK(int_at(capall.json().at("entry"), "points") == -5);
  CHECK(int_at(capall.json().at("balance"), "available") == 60);

  // Expiry on the server's own clock.
  auto short_hold = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 10, "ttl_seconds": 60})",
                           "h7");
  REQUIRE(short_hold.status == 201);
  const std::string sid = str_at(short_hold.json().at("hold"), "id");
  advance(c, 61);
  CHECK(str_at(c.get("/v1/holds/" + sid, read_key).json(), "status") == "expired");
  CHECK_PROBLEM(c.post("/v1/holds/" + sid + "/capture", pos_key, "{}", "c5"), 409,
                "hold_not_active");
  CHECK_PROBLEM(c.post("/v1/holds/" + sid + "/void", pos_key, "{}", "v3"), 409,
                "hold_not_active");
  CHECK_PROBLEM(c.post("/v1/holds/no-such-hold/void", pos_key, "{}", "v4"), 404, "not_found");
  auto b = balance_of(c, "m-1");
  CHECK(int_at(b, "held") == 0);
  CHECK(int_at(b, "available") == 60);

  // Entries: hold 0 with amount; hold_release for each remainder (capture, void, expiry).
  std::int64_t held_amount = 0;
  std::int64_t released = 0;
  int releases = 0;
  for (const auto& e : entries_of(c, "m-1")) {
    const std::string kind(e.at("kind").as_string());
    if (kind == "hold" || kind == "hold_release") {
      CHECK(int_at(e, "points") == 0);
      (kind == "hold" ? held_amount : released) += int_at(e, "amount");
      CHECK(!e.at("hold").is_null());
      if (kind == "hold_release") ++releases;
    }
  }
  CHECK(held_amount == 40 + 1 + 5 + 10);
  CHECK(released == 15 + 1 + 10);
  CHECK(releases == 3);
  check_total(c, "m-1");
}

// ---- Corrections ----------------------------------------------------------------------

TEST_CASE("contract: reversals of accruals, redemptions and captures; other kinds are 400") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  auto p = buy(c, "m-1", "40.00", "p1");
  REQUIRE(p.status == 201);
  const auto acc = int_at(p.json().at("entries").as_array().at(0), "seq");
  const std::string path = "/v1/entries/" + std::to_string(acc) + "/reverse";
  auto r = c.post(path, pos_key, R"({"points": 15, "reason": "return"})", "rv1");
  REQUIRE(r.status == 201);
  CHECK_SHAPE(r.json().at("entry"), entry_shape, "reversal");
  CHECK(balance_mismatch(r.json().at("balance")) == "");
  CHECK(str_at(r.json().at("entry"), "kind") == "reversal");
  CHECK(int_at(r.json().at("entry"), "points") == -15);
  CHECK(int_at(r.json().at("entry"), "reverses") == acc);
  CHECK(str_at(r.json().at("entry"), "reason") == "return");
  CHECK_PROBLEM(c.post(path, pos_key, R"({"points": 26})", "rv2"), 409, "over_reversal");
  CHECK_PROBLEM(c.post(path, pos_key, R"({"points": -1})", "rv2b"), 400, "invalid_request");

  // Spend some, then reverse the rest of the accrual: points come off, even below zero.
  auto red = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 20})", "r1");
  REQUIRE(red.status == 201);
  auto rest = c.post(path, pos_key, "{}", "rv3");
  REQUIRE(rest.status == 201);
  CHECK(int_at(rest.json().at("entry"), "points") == -25);
  CHECK(int_at(rest.json().at("balance"), "available") == -20);
  CHECK_PROBLEM(c.post(path, pos_key, "{}", "rv4"), 409, "over_reversal");
  CHECK_PROBLEM(c.post(path, pos_key, R"({"points": 1})", "rv5"), 409, "over_reversal");

  // A redemption reversal gives points back.
  const auto red_seq = int_at(red.json().at("entry"), "seq");
  auto back = c.post("/v1/entries/" + std::to_string(red_seq) + "/reverse", pos_key,
                     R"({"points": 5})", "rv6");
  REQUIRE(back.status == 201);
  CHECK(int_at(back.json().at("entry"), "points") == 5);
  CHECK(int_at(back.json().at("balance"), "available") == -15);
  CHECK_PROBLEM(c.post("/v1/entries/" + std::to_string(red_seq) + "/reverse", pos_key,
                       R"({"points": 16})", "rv7"),
                409, "over_reversal");

  // A capture reversal gives points back.
  admin_adjust(c, "m-1", 100);
  auto h = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 30})", "h1");
  REQUIRE(h.status == 201);
  auto cap = c.post("/v1/holds/" + str_at(h.json().at("hold"), "id") + "/capture", pos_key,
                    R"({"points": 30})", "c1");
  REQUIRE(cap.status == 200);
  const auto cap_seq = int_at(cap.json().at("entry"), "seq");
  auto cap_back = c.post("/v1/entries/" + std::to_string(cap_seq) + "/reverse", pos_key, "{}",
                         "rv8");
  REQUIRE(cap_back.status == 201);
  CHECK(int_at(cap_back.json().at("entry"), "points") == 30);
  CHECK(int_at(cap_back.json().at("balance"), "available") == 85);

  // Kinds that are not reversible.
  const std::string head = chain_head(c);
  int n = 0;
  for (const auto& e : entries_of(c, "m-1")) {
    const std::string kind(e.at("kind").as_string());
    if (kind == "accrual" || kind == "redemption" || kind == "capture") continue;
    CAPTURE(kind);
    CHECK_PROBLEM(c.post("/v1/entries/" + std::to_string(int_at(e, "seq")) + "/reverse",
                         pos_key, R"({"points": 1})", "nr" + std::to_string(n++)),
                  400, "invalid_request");
  }
  CHECK(n >= 5);  // enroll, reversal, adjustment, hold, hold_release at least
  CHECK(chain_head(c) == head);
  CHECK_PROBLEM(c.post("/v1/entries/999999/reverse", pos_key, "{}", "rv9"), 404, "not_found");
  check_total(c, "m-1");
}

TEST_CASE("contract: adjustments are admin only, need a reason and a non-zero amount") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  const std::string path = "/v1/members/m-1/adjustments";
  const std::string body = R"({"points": 7, "reason": "goodwill"})";
  CHECK_PROBLEM(c.post(path, pos_key, body, "a0"), 403, "forbidden");
  CHECK_PROBLEM(c.post(path, marketing_key, body, "a0"), 403, "forbidden");
  CHECK_PROBLEM(c.post(path, read_key, body, "a0"), 403, "forbidden");
  CHECK_PROBLEM(c.post(path, admin_key, R"({"points": 7})", "a1"), 400, "invalid_request");
  CHECK_PROBLEM(c.post(path, admin_key, R"({"points": 7, "reason": ""})", "a2"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post(path, admin_key, R"({"points": 0, "reason": "x"})", "a3"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post(path, admin_key, R"({"reason": "x"})", "a4"), 400, "invalid_request");
  auto up = c.post(path, admin_key, body, "a5");
  REQUIRE(up.status == 201);
  CHECK_SHAPE(up.json().at("entry"), entry_shape, "adjustment");
  CHECK(balance_mismatch(up.json().at("balance")) == "");
  CHECK(str_at(up.json().at("entry"), "kind") == "adjustment");
  CHECK(int_at(up.json().at("entry"), "points") == 7);
  CHECK(str_at(up.json().at("entry"), "reason") == "goodwill");
  auto down = c.post(path, admin_key, R"({"points": -10, "reason": "correction"})", "a6");
  REQUIRE(down.status == 201);
  CHECK(int_at(down.json().at("entry"), "points") == -10);
  CHECK(int_at(down.json().at("balance"), "available") == -3);
  // Adjustments do not count as earned.
  CHECK(int_at(balance_of(c, "m-1"), "lifetime_earned") == 0);
  check_total(c, "m-1");
}

// ---- Every entry kind over a member's life ------------------------------------------

TEST_CASE("contract: entry kinds and signs over a life: vest, expiry, tier change, reports") {
  ServerConfig config;
  config.rules = {
      {"program.json", R"({
  "program": {
    "name": "Life Club",
    "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"},
    "pending_days": 1,
    "expiry": {"policy": "fixed", "days": 30},
    "max_backdate_days": 7
  },
  "tiers": {"window_days": 365, "levels": [{"id": "fan", "threshold": 0},
                                          {"id": "superfan", "threshold": 50}]}
}
)"},
      {"offers.json", R"({"offers": []})"},
  };
  Server s(config);
  Client c = s.client();
  enroll_member(c, "m-1");
  enroll_member(c, "m-2");
  auto p = buy(c, "m-1", "100.00", "p1");
  REQUIRE(p.status == 201);
  auto b = p.json().at("balance");
  CHECK(int_at(b, "pending") == 100);
  CHECK(int_at(b, "available") == 0);
  CHECK(int_at(b, "lifetime_earned") == 100);
  CHECK_PROBLEM(c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", "r0"), 409,
                "insufficient_points");
  CHECK_PROBLEM(c.post("/v1/members/m-1/holds", pos_key, R"({"points": 1})", "h0"), 409,
                "insufficient_points");

  advance(c, 86400 + 1);
  b = balance_of(c, "m-1");
  CHECK(int_at(b, "pending") == 0);
  CHECK(int_at(b, "available") == 100);
  REQUIRE(b.at("expiring").as_array().size() == 1);
  CHECK(int_at(b.at("expiring").as_array()[0], "points") == 100);
  CHECK(is_date(str_at(b.at("expiring").as_array()[0], "date")));

  auto h = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 40})", "h1");
  REQUIRE(h.status == 201);
  REQUIRE(c.post("/v1/holds/" + str_at(h.json().at("hold"), "id") + "/capture", pos_key,
                 R"({"points": 30})", "c1")
              .status == 200);
  auto red = c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 20})", "r1");
  REQUIRE(red.status == 201);
  REQUIRE(c.post("/v1/entries/" + std::to_string(int_at(red.json().at("entry"), "seq")) +
                     "/reverse",
                 pos_key, "{}", "rv1")
              .status == 201);
  admin_adjust(c, "m-1", -5);
  admin_adjust(c, "m-2", -20);  // a negative balance counts in the liability
  // Reversing a pending accrual takes the points off `pending`.
  enroll_member(c, "m-3");
  auto pend = buy(c, "m-3", "10.00", "p3");
  REQUIRE(pend.status == 201);
  auto rp = c.post("/v1/entries/" +
                       std::to_string(int_at(pend.json().at("entries").as_array().at(0), "seq")) +
                       "/reverse",
                   pos_key, R"({"points": 4})", "rv3");
  REQUIRE(rp.status == 201);
  CHECK(int_at(rp.json().at("balance"), "pending") == 6);
  CHECK(int_at(rp.json().at("balance"), "available") == 0);
  check_total(c, "m-3");

  auto liab = c.get("/v1/reports/liability", marketing_key);
  REQUIRE(liab.status == 200);
  CHECK_SHAPE(liab.json(), (Shape{{"available", T::integer}, {"pending", T::integer},
                                  {"held", T::integer}, {"expiring", T::object},
                                  {"days", T::array}}),
              "liability");
  CHECK(int_at(liab.json(), "available") == 65 - 20);
  CHECK(int_at(liab.json(), "pending") == 6);
  CHECK(int_at(liab.json(), "held") == 0);
  const auto lj = liab.json();
  const auto& exp = lj.at("expiring");
  CHECK_SHAPE(exp, (Shape{{"30d", T::integer}, {"60d", T::integer}, {"90d", T::integer}}),
              "liability expiring");
  CHECK(int_at(exp, "30d") <= int_at(exp, "60d"));
  CHECK(int_at(exp, "60d") <= int_at(exp, "90d"));
  CHECK(int_at(exp, "90d") == 65 + 6);  // m-3's pending lot is due too

  advance(c, 32 * 86400);
  b = balance_of(c, "m-1");
  CHECK(int_at(b, "available") == 0);
  CHECK(b.at("expiring").as_array().empty());

  std::set<std::string> kinds;
  for (const auto& e : entries_of(c, "m-1")) {
    CHECK_SHAPE(e, entry_shape, "entry");
    const std::string kind(e.at("kind").as_string());
    kinds.insert(kind);
    const auto pts = int_at(e, "points");
    CAPTURE(kind);
    CAPTURE(pts);
    if (kind == "accrual") CHECK(pts > 0);
    if (kind == "redemption" || kind == "expiry" || kind == "capture") CHECK(pts < 0);
    if (kind == "adjustment") CHECK(pts != 0);
    if (kind == "reversal") CHECK(pts != 0);
    if (kind == "hold" || kind == "hold_release" || kind == "vest" || kind == "tier_change" ||
        kind == "enroll") {
      CHECK(pts == 0);
    }
    if (kind == "hold" || kind == "hold_release" || kind == "vest") CHECK(int_at(e, "amount") > 0);
    if (kind == "vest") CHECK(int_at(e, "amount") == 100);
  }
  for (const char* k : {"enroll", "accrual", "tier_change", "vest", "hold", "capture",
                        "hold_release", "redemption", "reversal", "adjustment", "expiry"}) {
    CAPTURE(k);
    CHECK(kinds.count(k) == 1);
  }
  check_total(c, "m-1");

  liab = c.get("/v1/reports/liability", admin_key);
  REQUIRE(liab.status == 200);
  CHECK(int_at(liab.json(), "available") == -20);
  std::int64_t earned = 0, redeemed = 0, expired = 0, reversed = 0;
  std::string previous = "9999-99-99";
  const auto days = liab.json().at("days");
  for (const auto& d : days.as_array()) {
    CHECK_SHAPE(d, (Shape{{"date", T::string}, {"earned", T::integer}, {"redeemed", T::integer},
                          {"expired", T::integer}, {"reversed", T::integer}}),
                "liability day");
    const std::string date = str_at(d, "date");
    CHECK(is_date(date));
    CHECK(date < previous);  // newest first, one line per date
    previous = date;
    for (const char* f : {"earned", "redeemed", "expired", "reversed"}) CHECK(int_at(d, f) >= 0);
    earned += int_at(d, "earned");
    redeemed += int_at(d, "redeemed");
    expired += int_at(d, "expired");
    reversed += int_at(d, "reversed");
  }
  CHECK(liab.json().at("days").as_array().size() >= 2);
  CHECK(earned >= 100);
  CHECK(redeemed >= 20);
  CHECK(expired == 65 + 6);
  CHECK(reversed >= 20);
  CHECK_PROBLEM(c.get("/v1/reports/liability", pos_key), 403, "forbidden");
  CHECK_PROBLEM(c.get("/v1/reports/liability", read_key), 403, "forbidden");
}

// ---- Paging ---------------------------------------------------------------------------

TEST_CASE("contract: entries page newest first (limit 1-500); journal oldest first (1-1000)") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  for (int i = 0; i < 110; ++i) {
    REQUIRE(buy(c, "m-1", "1.00", "p" + std::to_string(i)).status == 201);
  }
  const auto all = entries_of(c, "m-1");
  REQUIRE(all.size() == 111);
  for (std::size_t i = 1; i < all.size(); ++i) {
    CHECK(int_at(all[i - 1], "seq") > int_at(all[i], "seq"));
  }
  auto def = c.get("/v1/members/m-1/entries", read_key);
  REQUIRE(def.status == 200);
  CHECK(def.json().at("entries").as_array().size() == 50);
  CHECK(int_at(def.json(), "next_before") ==
        int_at(def.json().at("entries").as_array().back(), "seq"));
  // Pages of 7 put together are the whole list; the last one says null.
  std::vector<std::int64_t> seqs;
  std::string target = "/v1/members/m-1/entries?limit=7";
  for (int guard = 0; guard < 40; ++guard) {
    auto r = c.get(target, read_key);
    REQUIRE(r.status == 200);
    const auto rj = r.json();
    for (const auto& e : rj.at("entries").as_array()) seqs.push_back(int_at(e, "seq"));
    if (r.json().at("next_before").is_null()) break;
    target = "/v1/members/m-1/entries?limit=7&before=" +
             std::to_string(int_at(r.json(), "next_before"));
  }
  REQUIRE(seqs.size() == all.size());
  for (std::size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == int_at(all[i], "seq"));
  // A page that ends exactly with the oldest entry has next_before null.
  auto exact = c.get("/v1/members/m-1/entries?limit=111", read_key);
  REQUIRE(exact.status == 200);
  CHECK(exact.json().at("entries").as_array().size() == 111);
  CHECK(exact.json().at("next_before").is_null());
  auto one_short = c.get("/v1/members/m-1/entries?limit=110", read_key);
  CHECK(is_int(one_short.json().at("next_before")));
  CHECK(c.get("/v1/members/m-1/entries?limit=1", read_key).status == 200);
  CHECK(c.get("/v1/members/m-1/entries?limit=500", read_key).status == 200);
  for (const char* q : {"limit=0", "limit=501", "limit=-1", "limit=x", "before=x"}) {
    CAPTURE(q);
    CHECK_PROBLEM(c.get(std::string("/v1/members/m-1/entries?") + q, read_key), 400,
                  "invalid_request");
  }

  // The journal: oldest first, default 100, next_after = last seq or `after` when none.
  auto j = c.get("/v1/journal", admin_key);
  REQUIRE(j.status == 200);
  CHECK_SHAPE(j.json(), (Shape{{"entries", T::array}, {"next_after", T::integer},
                               {"chain_head", T::string}}),
              "journal");
  const auto jj = j.json();
  const auto& je = jj.at("entries").as_array();
  REQUIRE(je.size() == 100);
  CHECK_SHAPE(je[0], entry_shape, "journal entry");
  for (std::size_t i = 1; i < je.size(); ++i) {
    CHECK(int_at(je[i - 1], "seq") < int_at(je[i], "seq"));
  }
  CHECK(int_at(j.json(), "next_after") == int_at(je.back(), "seq"));
  auto j2 = c.get("/v1/journal?after=" + std::to_string(int_at(j.json(), "next_after")) +
                      "&limit=1000",
                  admin_key);
  REQUIRE(j2.status == 200);
  CHECK(j2.json().at("entries").as_array().size() == 11);
  CHECK(str_at(j2.json(), "chain_head") == str_at(j.json(), "chain_head"));
  auto none = c.get("/v1/journal?after=100000&limit=5", admin_key);
  REQUIRE(none.status == 200);
  CHECK(none.json().at("entries").as_array().empty());
  CHECK(int_at(none.json(), "next_after") == 100000);
  CHECK(c.get("/v1/journal?limit=1", admin_key).json().at("entries").as_array().size() == 1);
  for (const char* q : {"limit=0", "limit=1001", "limit=x", "after=-1", "after=x"}) {
    CAPTURE(q);
    CHECK_PROBLEM(c.get(std::string("/v1/journal?") + q, admin_key), 400, "invalid_request");
  }
}

// ---- Rules ----------------------------------------------------------------------------

namespace {

// The rule set version of API/RULES.md, computed with sha256sum over the files in a dir.
std::string expected_version(const std::map<std::string, std::string>& files) {
  auto dir = make_temp_dir();
  std::string blob;
  for (const auto& [name, text] : files) {
    blob += name;
    blob.push_back('\0');
    blob += std::to_string(text.size());
    blob.push_back('\0');
    blob += text;
  }
  write_file(dir / "blob", blob);
  std::string out;
  if (FILE* f = popen(("sha256sum " + (dir / "blob").string()).c_str(), "r")) {
    char buf[128];
    if (std::fgets(buf, sizeof buf, f) != nullptr) out = std::string(buf).substr(0, 64);
    pclose(f);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return "sha256:" + out;
}

}  // namespace

TEST_CASE("contract: rules validate and reload answer as documented") {
  Server s;
  Client c = s.client();
  auto g = c.get("/v1/rules", read_key);
  REQUIRE(g.status == 200);
  const std::string version = str_at(g.json(), "version");
  CHECK(version == expected_version(default_rules()));
  auto validate = [&](const char* key, const std::string& query, const std::string& body) {
    return c.request("POST", "/v1/rules/validate" + query,
                     with_key(key, {{"Content-Type", "application/json"}}), body);
  };
  const std::string good =
      R"({"offers": [{"id": "x1", "name": "X1", "award": "1"},
                     {"id": "x2", "name": "X2", "award": "2"}]})";
  auto ok = validate(marketing_key, "?file=extra.json", good);
  REQUIRE(ok.status == 200);
  CHECK(ok.json().at("valid") == json::value(true));
  CHECK(int_at(ok.json(), "offers") == 2);
  CHECK(validate(read_key, "", good).status == 200);
  CHECK_PROBLEM(validate(pos_key, "", good), 403, "forbidden");

  auto syntax = validate(marketing_key, "", "{\n  \"offers\": [\n    {\"id\": }\n");
  CHECK_PROBLEM(syntax, 422, "rules_invalid");
  REQUIRE(syntax.json().at("errors").is_array());
  REQUIRE(!syntax.json().at("errors").as_array().empty());
  const auto err = syntax.json().at("errors").as_array()[0];
  CHECK_SHAPE(err, (Shape{{"file", T::string}, {"line", T::integer}, {"column", T::integer},
                          {"message", T::string}}),
              "rule error");
  CHECK(str_at(err, "file") == "~validate.json");
  CHECK(int_at(err, "line") == 3);
  CHECK(int_at(err, "column") >= 11);

  auto named = validate(marketing_key, "?file=mine.json",
                        R"({"offers": [{"id": "y", "name": "Y", "award": "1 +"}]})");
  CHECK_PROBLEM(named, 422, "rules_invalid");
  CHECK(str_at(named.json().at("errors").as_array().at(0), "file") == "mine.json");
  CHECK(int_at(named.json().at("errors").as_array().at(0), "line") == 1);
  // The body is a rule file, not a request: not JSON, or an unknown key, is 422 with a place.
  auto text = validate(marketing_key, "", "hello");
  CHECK_PROBLEM(text, 422, "rules_invalid");
  CHECK(int_at(text.json().at("errors").as_array().at(0), "line") == 1);
  auto typo = validate(marketing_key, "?file=typo.json",
                       "{\"offers\": [\n  {\"id\": \"t\", \"name\": \"T\", \"awrd\": \"1\"}]}");
  CHECK_PROBLEM(typo, 422, "rules_invalid");
  CHECK(str_at(typo.json().at("errors").as_array().at(0), "file") == "typo.json");
  CHECK(int_at(typo.json().at("errors").as_array().at(0), "line") == 2);
  CHECK(int_at(typo.json().at("errors").as_array().at(0), "column") > 1);
  // An id of another file clashes; the same file name replaces that file instead.
  CHECK_PROBLEM(validate(marketing_key, "?file=mine.json",
                         R"({"offers": [{"id": "big-basket", "name": "B", "award": "1"}]})"),
                422, "rules_invalid");
  auto replaced = validate(marketing_key, "?file=offers.json",
                           R"({"offers": [{"id": "big-basket", "name": "B", "award": "1"}]})");
  CHECK(replaced.status == 200);
  // A second program is an error too; validation changes nothing.
  CHECK_PROBLEM(validate(marketing_key, "?file=zz.json", default_rules()["program.json"]), 422,
                "rules_invalid");
  CHECK(str_at(c.get("/v1/rules", read_key).json(), "version") == version);

  // Reload: 422 with errors keeps the rules in force; 200 {version} when fixed.
  write_file(s.rules_dir() / "broken.json", "{\"offers\": [{\"id\": 1}]}");
  auto refused = c.post("/v1/admin/rules/reload", admin_key, "");
  CHECK_PROBLEM(refused, 422, "rules_invalid");
  REQUIRE(refused.json().at("errors").is_array());
  REQUIRE(!refused.json().at("errors").as_array().empty());
  CHECK_SHAPE(refused.json().at("errors").as_array()[0],
              (Shape{{"file", T::string}, {"line", T::integer}, {"column", T::integer},
                     {"message", T::string}}),
              "reload error");
  CHECK(str_at(refused.json().at("errors").as_array()[0], "file") == "broken.json");
  CHECK(str_at(c.get("/v1/rules", read_key).json(), "version") == version);
  CHECK_PROBLEM(c.post("/v1/admin/rules/reload", marketing_key, ""), 403, "forbidden");
  std::filesystem::remove(s.rules_dir() / "broken.json");
  write_file(s.rules_dir() / "extra.json", good);
  auto reloaded = c.post("/v1/admin/rules/reload", admin_key, "");
  REQUIRE(reloaded.status == 200);
  auto files = default_rules();
  files["extra.json"] = good;
  CHECK(str_at(reloaded.json(), "version") == expected_version(files));
  CHECK(str_at(c.get("/v1/rules", read_key).json(), "version") == expected_version(files));
  // The new offers apply at once and entries name the rule set that gave them.
  enroll_member(c, "m-1");
  auto p = c.post("/v1/events", pos_key,
                  R"({"member": "m-1", "type": "purchase", "basket": {"total": "5.00"}})", "p1");
  REQUIRE(p.status == 201);
  CHECK(int_at(p.json(), "points") == 5 + 1 + 2);
  const auto pj = p.json();
  for (const auto& e : pj.at("entries").as_array()) {
    CHECK(str_at(e, "ruleset") == expected_version(files));
  }
}

// ---- Operations -------------------------------------------------------------------------

TEST_CASE("contract: healthz, readyz, metrics and the admin clock") {
  Server s;
  Client c = s.client();
  auto h = c.get("/healthz", nullptr);
  CHECK(h.status == 200);
  CHECK(h.json() == json::parse(R"({"status": "ok"})"));
  CHECK(c.get("/readyz", nullptr).status == 200);
  auto m = c.get("/metrics", read_key);
  CHECK(m.status == 200);
  CHECK(m.header("content-type").rfind("text/plain", 0) == 0);
  CHECK(m.body.find("# TYPE ") != std::string::npos);
  CHECK(c.get("/metrics", admin_key).status == 200);
  CHECK_PROBLEM(c.get("/metrics", pos_key), 403, "forbidden");
  CHECK_PROBLEM(c.get("/metrics", marketing_key), 403, "forbidden");
  CHECK_PROBLEM(c.get("/metrics", nullptr), 401, "unauthorized");

  const auto t0 = server_now(c);
  const auto t1 = advance(c, 3600);
  CHECK(t1 - t0 >= 3600);
  CHECK(t1 - t0 <= 3601);
  // The manual clock moves only when advanced.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(server_now(c) == t1);
  CHECK_PROBLEM(c.post("/v1/admin/clock", admin_key, R"({"advance_seconds": -1})"), 400,
                "invalid_request");
  CHECK_PROBLEM(c.post("/v1/admin/clock", admin_key, R"({})"), 400, "invalid_request");
  CHECK_PROBLEM(c.post("/v1/admin/clock", pos_key, R"({"advance_seconds": 1})"), 403,
                "forbidden");
  // Recorded time follows the manual clock.
  enroll_member(c, "m-1");
  auto e = buy(c, "m-1", "3.00", "p1");
  REQUIRE(e.status == 201);
  const auto rec = parse_time(str_at(e.json().at("entries").as_array().at(0), "recorded_at"));
  CHECK(rec >= t1);
  CHECK(rec <= t1 + 1);
}
