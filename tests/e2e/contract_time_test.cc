// Proves API.md's clauses about time against the real encored: idempotency records kept at
// least 7 days, the manual clock kept across restarts, recorded time never going backwards,
// holds expiring on the wall clock, the 90-day `expiring` window and daily tier downgrades.
#include <doctest/doctest.h>

#include <thread>

#include "tests/e2e/contract_support.h"

using namespace encore::e2e;
using namespace encore::e2e::contract;

namespace {

Reply purchase_of(Client& c, const std::string& member, const std::string& total,
                  const std::string& key) {
  return c.post("/v1/events", pos_key,
                R"({"member": ")" + member + R"(", "type": "purchase", "basket": {"total": ")" +
                    total + R"("}})",
                key);
}

}  // namespace

TEST_CASE("contract: idempotency records are kept at least 7 days") {
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  auto first = purchase_of(c, "m-1", "10.00", "week");
  REQUIRE(first.status == 201);
  advance(c, 7 * 86400 - 60);
  auto replay = purchase_of(c, "m-1", "10.00", "week");
  CHECK(replay.status == 201);
  CHECK(replay.header("idempotent-replayed") == "true");
  CHECK(replay.body == first.body);
  CHECK(int_at(balance_of(c, "m-1"), "available") == 10);
}

TEST_CASE("contract: the manual clock resumes where it was; recorded time never goes back") {
  std::filesystem::path dir;
  std::int64_t reached = 0;
  {
    Server s;
    s.keep_dir();
    dir = s.dir();
    Client c = s.client();
    enroll_member(c, "m-1");
    reached = advance(c, 10 * 86400);
    REQUIRE(purchase_of(c, "m-1", "1.00", "p1").status == 201);
    CHECK(s.stop() == 0);
  }
  {
    Server again(ServerConfig{}, dir);
    again.keep_dir();
    Client c = again.client();
    CHECK(server_now(c) >= reached);
    CHECK(server_now(c) <= reached + 60);
    CHECK(again.stop() == 0);
  }
  {
    ServerConfig wall;
    wall.manual_clock = false;
    Server third(wall, dir);
    Client c = third.client();
    CHECK_PROBLEM(c.post("/v1/admin/clock", admin_key, R"({"advance_seconds": 0})"), 404,
                  "not_found");
    auto p = purchase_of(c, "m-1", "2.00", "p2");
    REQUIRE(p.status == 201);
    const auto rec = parse_time(str_at(p.json().at("entries").as_array().at(0), "recorded_at"));
    CHECK(rec >= reached);
    const auto all = entries_of(c, "m-1");
    for (std::size_t i = 1; i < all.size(); ++i) {
      CHECK(parse_time(str_at(all[i - 1], "recorded_at")) >=
            parse_time(str_at(all[i], "recorded_at")));
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// (Failed until 73b473e: an idle server ran no timers on the wall clock.)
TEST_CASE("contract: holds past expires_at are released by the server on its own") {
  ServerConfig wall;
  wall.manual_clock = false;
  Server s(wall);
  Client c = s.client();
  enroll_member(c, "m-1");
  admin_adjust(c, "m-1", 10);
  auto h = c.post("/v1/members/m-1/holds", pos_key, R"({"points": 4, "ttl_seconds": 1})", "h1");
  REQUIRE(h.status == 201);
  const std::string id = str_at(h.json().at("hold"), "id");
  std::string status = "active";
  for (int i = 0; i < 60 && status == "active"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = str_at(c.get("/v1/holds/" + id, read_key).json(), "status");
  }
  CHECK(status == "expired");
  auto b = balance_of(c, "m-1");
  CHECK(int_at(b, "held") == 0);
  CHECK(int_at(b, "available") == 10);
  bool released = false;
  for (const auto& e : entries_of(c, "m-1")) {
    if (e.at("kind").as_string() == "hold_release") {
      released = true;
      CHECK(int_at(e, "amount") == 4);
      CHECK(int_at(e, "points") == 0);
    }
  }
  CHECK(released);
}

TEST_CASE("contract: expiring lists only the next 90 days, by date ascending") {
  Server s;  // fixed expiry, 365 days
  Client c = s.client();
  enroll_member(c, "m-1");
  REQUIRE(purchase_of(c, "m-1", "10.00", "p1").status == 201);
  CHECK(balance_of(c, "m-1").at("expiring").as_array().empty());
  auto l0 = c.get("/v1/reports/liability", admin_key);
  REQUIRE(l0.status == 200);
  CHECK(int_at(l0.json().at("expiring"), "90d") == 0);
  advance(c, 10 * 86400);
  REQUIRE(purchase_of(c, "m-1", "20.00", "p2").status == 201);
  advance(c, 270 * 86400);  // day 280: the first lot is due in 85 days, the second in 95
  auto b = balance_of(c, "m-1");
  REQUIRE(b.at("expiring").as_array().size() == 1);
  CHECK(int_at(b.at("expiring").as_array()[0], "points") == 10);
  auto l1 = c.get("/v1/reports/liability", admin_key);
  REQUIRE(l1.status == 200);
  CHECK(int_at(l1.json().at("expiring"), "90d") == 10);
  CHECK(int_at(l1.json().at("expiring"), "60d") == 0);
  CHECK(int_at(l1.json().at("expiring"), "30d") == 0);
  advance(c, 10 * 86400);  // day 290: due in 75 and 85 days
  b = balance_of(c, "m-1");
  REQUIRE(b.at("expiring").as_array().size() == 2);
  const auto& ex = b.at("expiring").as_array();
  CHECK(int_at(ex[0], "points") == 10);
  CHECK(int_at(ex[1], "points") == 20);
  CHECK(str_at(ex[0], "date") < str_at(ex[1], "date"));
  advance(c, 80 * 86400);  // day 370: the first has expired; the second is due in 5 days
  b = balance_of(c, "m-1");
  CHECK(int_at(b, "available") == 20);
  REQUIRE(b.at("expiring").as_array().size() == 1);
  CHECK(int_at(b.at("expiring").as_array()[0], "points") == 20);
  auto l2 = c.get("/v1/reports/liability", admin_key);
  REQUIRE(l2.status == 200);
  CHECK(int_at(l2.json().at("expiring"), "30d") == 20);
}

TEST_CASE("contract: report and expiry dates are calendar dates in the program's timezone") {
  ServerConfig config;
  config.rules = default_rules();
  // UTC+14 all year (no daylight saving): the local date is a day ahead from 10:00 UTC.
  config.rules["program.json"] = R"({
  "program": {
    "name": "Test Club",
    "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"},
    "pending_days": 0,
    "expiry": {"policy": "fixed", "days": 30},
    "max_backdate_days": 7,
    "timezone": "Pacific/Kiritimati"
  }
}
)";
  Server s(config);
  Client c = s.client();
  enroll_member(c, "m-1");
  const auto now = server_now(c);
  REQUIRE(purchase_of(c, "m-1", "10.00", "p1").status == 201);
  const std::string local_today = format_time(now + 14 * 3600).substr(0, 10);
  auto l = c.get("/v1/reports/liability", admin_key);
  REQUIRE(l.status == 200);
  REQUIRE(!l.json().at("days").as_array().empty());
  CHECK(str_at(l.json().at("days").as_array()[0], "date") == local_today);
  auto b = balance_of(c, "m-1");
  REQUIRE(b.at("expiring").as_array().size() == 1);
  const std::string due = str_at(b.at("expiring").as_array()[0], "date");
  CHECK(due >= format_time(now + 30 * 86400 + 14 * 3600).substr(0, 10));
  CHECK(due <= format_time(now + 31 * 86400 + 14 * 3600).substr(0, 10));
}

TEST_CASE("contract: tiers are downgraded by the daily timer once the window passes") {
  ServerConfig config;
  config.rules = default_rules();
  config.rules["tiers.json"] = R"({"tiers": {"window_days": 30, "levels": [
      {"id": "fan", "threshold": 0}, {"id": "superfan", "threshold": 100}]}})";
  config.rules["program.json"] = R"({
  "program": {
    "name": "Test Club",
    "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"},
    "pending_days": 0,
    "expiry": {"policy": "none"},
    "max_backdate_days": 7
  }
}
)";
  Server s(config);
  Client c = s.client();
  enroll_member(c, "m-1");
  REQUIRE(purchase_of(c, "m-1", "100.00", "p1").status == 201);
  CHECK(str_at(balance_of(c, "m-1"), "tier") == "superfan");
  advance(c, 32 * 86400);
  CHECK(str_at(balance_of(c, "m-1"), "tier") == "fan");
  CHECK(str_at(c.get("/v1/members/m-1", read_key).json(), "tier") == "fan");
  int changes = 0;
  for (const auto& e : entries_of(c, "m-1")) {
    if (e.at("kind").as_string() == "tier_change") {
      ++changes;
      CHECK(int_at(e, "points") == 0);
    }
  }
  CHECK(changes >= 2);
  // Balance points are untouched by tiers.
  CHECK(int_at(balance_of(c, "m-1"), "available") == 150);
}
