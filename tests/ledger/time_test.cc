// Proves the ledger's timers on a manual clock: pending points vest, lots expire (fixed and
// inactivity policies, earliest expiry spent first), tiers rise on accrual and fall daily,
// and the clock never goes back across a reopen.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {

TEST_CASE("pending points vest after pending_days and cannot be spent before") {
  Fixture f(simple_rules(3));
  f.enroll("m-1");
  auto out = f.ok(purchase("m-1", "50.00"));
  CHECK(out.balance->pending == 50);
  CHECK(out.balance->available == 0);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 1})) == ErrorCode::insufficient_points);
  CHECK(code_of(f.run(CreateHold{.member = "m-1", .points = 1})) ==
        ErrorCode::insufficient_points);
  f.ok(AdvanceClock{3 * 86'400 - 1});
  CHECK(f.balance("m-1").pending == 50);
  f.ok(AdvanceClock{1});
  auto b = f.balance("m-1");
  CHECK(b.pending == 0);
  CHECK(b.available == 50);
  auto hist = f.history("m-1");
  CHECK(hist.back().kind == EntryKind::vest);
  CHECK(hist.back().amount == 50);
  CHECK(hist.back().points == 0);
  f.ok(Redeem{.member = "m-1", .points = 50});
  f.check_sum("m-1");

  SUBCASE("a return inside the pending window takes the pending points") {
    Seq accrual = f.ok(purchase("m-1", "30.00")).entries[0].seq;
    auto r = f.ok(Reverse{.seq = accrual, .points = 10});
    CHECK(r.balance->pending == 20);
    CHECK(r.balance->available == 0);
    f.advance_days(3);
    CHECK(f.balance("m-1").available == 20);
    f.check_sum("m-1");
  }
}

TEST_CASE("fixed expiry: each lot expires days after it vested, earliest spent first") {
  Fixture f(simple_rules(0, R"({"policy": "fixed", "days": 30})"));
  f.enroll("m-1");
  f.ok(purchase("m-1", "10.00"));  // lot A: expires t0 + 30d
  f.advance_days(10);
  f.ok(purchase("m-1", "20.00"));  // lot B: expires t0 + 40d
  auto b = f.balance("m-1");
  REQUIRE(b.expiring.size() == 2);
  CHECK(b.expiring[0].date == utc_date(t0().plus_days(30)));
  CHECK(b.expiring[0].points == 10);
  CHECK(b.expiring[1].points == 20);
  f.ok(Redeem{.member = "m-1", .points = 15});  // all of A, 5 of B
  b = f.balance("m-1");
  REQUIRE(b.expiring.size() == 1);
  CHECK(b.expiring[0].date == utc_date(t0().plus_days(40)));
  CHECK(b.expiring[0].points == 15);
  f.advance_days(20);  // t0 + 30d: A is empty, nothing expires
  CHECK(f.balance("m-1").available == 15);
  f.advance_days(10);  // t0 + 40d: B's 15 expire
  b = f.balance("m-1");
  CHECK(b.available == 0);
  CHECK(b.expiring.empty());
  auto hist = f.history("m-1");
  CHECK(hist.back().kind == EntryKind::expiry);
  CHECK(hist.back().points == -15);
  f.check_sum("m-1");
  auto report = f.ledger->liability();
  REQUIRE(report);
  REQUIRE(!report->days.empty());
  CHECK(report->days[0].expired == 15);
}

TEST_CASE("fixed expiry of a lot in a hold: the held part expires once released") {
  Fixture f(simple_rules(0, R"({"policy": "fixed", "days": 5})"));
  f.funded("m-1", "100.00");
  auto h = f.ok(CreateHold{.member = "m-1", .points = 40, .ttl_seconds = 604'800});
  f.advance_days(5);  // 60 expire; 40 stay held
  auto b = f.balance("m-1");
  CHECK(b.available == 0);
  CHECK(b.held == 40);
  f.ok(VoidHold{.hold = h.hold->id});
  f.ok(RunTimers{});
  CHECK(f.balance("m-1").total() == 0);
  f.check_sum("m-1");
}

TEST_CASE("inactivity expiry: all points expire after days without a purchase") {
  Fixture f(simple_rules(0, R"({"policy": "inactivity", "days": 30})"));
  f.enroll("m-1");
  f.ok(purchase("m-1", "50.00"));
  f.advance_days(29);
  f.ok(purchase("m-1", "10.00"));
  auto b = f.balance("m-1");
  REQUIRE(b.expiring.size() == 1);
  CHECK(b.expiring[0].date == utc_date(t0().plus_days(59)));
  CHECK(b.expiring[0].points == 60);
  f.advance_days(29);
  CHECK(f.balance("m-1").available == 60);
  f.reopen();  // the schedule survives a restart
  f.advance_days(1);
  CHECK(f.balance("m-1").available == 0);
  auto hist = f.history("m-1");
  CHECK(hist.back().kind == EntryKind::expiry);
  CHECK(hist.back().points == -60);
  f.check_sum("m-1");
}

TEST_CASE("a member who never spends keeps a bounded set of lots; old accruals still reverse") {
  // Expiry none: every accrual's lot would live forever in the member's record, which is
  // rewritten on every command. Past lots_poolable_max the oldest are pooled.
  const std::string offers = R"({"offers": [
    {"id": "welcome", "name": "Welcome", "award": "5", "limit": {"per_member": 1}},
    {"id": "always", "name": "Always", "award": "1"}]})";
  Fixture f(make_rules({{"program.json", program_json()}, {"offers.json", offers}}));
  f.enroll("m-1");
  std::vector<Seq> base;
  for (int i = 0; i < 100; ++i) {
    auto out = f.ok(purchase("m-1", "10.00"));
    base.push_back(out.entries[0].seq);
    CHECK(out.points == (i == 0 ? 16 : 11));  // the welcome offer once, ever
    if (i % 10 == 9) f.advance_days(60);      // 600 days: older uses leave the record
  }
  CHECK(f.balance("m-1").available == 100 * 11 + 5);
  f.ok(Reverse{.seq = base.front()});  // its lot was pooled: taken from the balance
  f.ok(Reverse{.seq = base.back()});   // its own lot
  CHECK(f.balance("m-1").available == 100 * 11 + 5 - 20);
  CHECK(code_of(f.run(Reverse{.seq = base.front()})) == ErrorCode::over_reversal);
  CHECK(f.ok(purchase("m-1", "10.00")).points == 11);  // still no second welcome
  f.ledger.reset();
  VerifyReport report;
  Status verified = verify(f.dir.path(), nullptr, &report);
  if (!verified) FAIL(verified.error().detail);
  // 303 accruals (base, always, one welcome): at most lots_poolable_max kept apart + a pool.
  CHECK(report.lots <= 33);
  f.open();
  CHECK(f.balance("m-1").available == 100 * 11 + 5 - 20 + 11);
}

TEST_CASE("tiers rise on accrual, scale base points, and fall when the window passes") {
  const std::string tiers = R"({"window_days": 30, "levels": [
      {"id": "fan", "threshold": 0},
      {"id": "superfan", "threshold": 100, "multiplier": "2"}]})";
  Fixture f(simple_rules(0, R"({"policy": "none"})", tiers));
  auto e = f.ok(EnrollMember{.id = "m-1"});
  CHECK(e.balance->tier == "fan");
  auto up = f.ok(purchase("m-1", "100.00"));
  REQUIRE(up.entries.size() == 2);
  CHECK(up.entries[1].kind == EntryKind::tier_change);
  CHECK(up.entries[1].tier == "superfan");
  CHECK(up.balance->tier == "superfan");
  CHECK(f.ok(purchase("m-1", "10.00")).points == 20);
  f.advance_days(29);
  CHECK(f.balance("m-1").tier == "superfan");
  f.reopen();
  f.advance_days(1);
  CHECK(f.balance("m-1").tier == "fan");
  CHECK(f.ledger->member("m-1")->tier == "fan");
  auto hist = f.history("m-1");
  CHECK(hist.back().kind == EntryKind::tier_change);
  CHECK(hist.back().tier == "fan");

  SUBCASE("a reversal of the accrual that earned the tier takes it away") {
    Seq accrual = f.ok(purchase("m-1", "60.00")).entries[0].seq;
    f.ok(purchase("m-1", "40.00"));
    CHECK(f.balance("m-1").tier == "superfan");
    auto r = f.ok(Reverse{.seq = accrual, .points = 1});
    CHECK(r.balance->tier == "fan");
  }
}

TEST_CASE("the manual clock never goes back, even across a reopen") {
  TempDir dir;
  auto rules = simple_rules();
  {
    ManualClock clock(t0());
    auto ledger = Ledger::open(
        {.data_dir = dir.path(), .clock = &clock, .manual_clock = &clock}, rules);
    REQUIRE(ledger);
    auto out = (*ledger)->submit(AdvanceClock{3600}).get();
    CHECK(out.now == t0().plus_seconds(3600));
    CHECK(code_of((*ledger)->submit(AdvanceClock{-1}).get()) == ErrorCode::invalid_request);
  }
  ManualClock clock(t0());
  auto ledger =
      Ledger::open({.data_dir = dir.path(), .clock = &clock, .manual_clock = &clock}, rules);
  REQUIRE(ledger);
  CHECK((*ledger)->now() == t0().plus_seconds(3600));
  auto e = (*ledger)->submit(EnrollMember{.id = "m-1"}).get();
  REQUIRE(e.status);
  CHECK(e.entries[0].recorded_at == t0().plus_seconds(3600));
}

TEST_CASE("advancing the clock without a manual clock is not_found") {
  TempDir dir;
  ManualClock clock(t0());
  auto ledger = Ledger::open({.data_dir = dir.path(), .clock = &clock}, simple_rules());
  REQUIRE(ledger);
  auto out = (*ledger)->submit(AdvanceClock{10}).get();
  CHECK(code_of(out) == ErrorCode::not_found);
}

}  // namespace encore::ledger::testing

namespace encore::ledger::testing {

TEST_CASE("an idle ledger runs its timers on its own when they fall due") {
  Fixture f;
  f.funded("m-1", "10.00");
  auto h = f.ok(CreateHold{.member = "m-1", .points = 4, .ttl_seconds = 60});
  f.clock.advance_seconds(60);  // no command follows
  for (int i = 0; i < 300 && f.ledger->hold(h.hold->id)->status == HoldStatus::active; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(f.ledger->hold(h.hold->id)->status == HoldStatus::expired);
  CHECK(f.balance("m-1").available == 10);
}

}  // namespace encore::ledger::testing
