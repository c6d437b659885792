// Proves each ledger command's effect and every error it can return, on a real RocksDB in a
// temp dir with a manual clock: enroll, patch, events, redeem, holds, reversals, adjustments.
#include <doctest/doctest.h>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {

TEST_CASE("enrolling a member writes an enroll entry and a zero balance") {
  Fixture f;
  auto out = f.ok(EnrollMember{.id = "m-1", .birthday = CivilDate{1990, 5, 17}});
  REQUIRE(out.entries.size() == 1);
  CHECK(out.entries[0].kind == EntryKind::enroll);
  CHECK(out.entries[0].seq == 1);
  CHECK(out.entries[0].points == 0);
  CHECK(out.entries[0].recorded_at == t0());
  REQUIRE(out.member);
  CHECK(out.member->id == "m-1");
  CHECK(out.member->status == MemberStatus::active);
  CHECK(out.member->enrolled_at == t0());
  REQUIRE(out.balance);
  CHECK(out.balance->total() == 0);
  auto m = f.ledger->member("m-1");
  REQUIRE(m);
  CHECK(m->birthday == CivilDate{1990, 5, 17});

  SUBCASE("an existing id is member_exists") {
    CHECK(code_of(f.run(EnrollMember{.id = "m-1"})) == ErrorCode::member_exists);
  }
  SUBCASE("a bad id is invalid_request") {
    CHECK(code_of(f.run(EnrollMember{.id = ""})) == ErrorCode::invalid_request);
    CHECK(code_of(f.run(EnrollMember{.id = "a b"})) == ErrorCode::invalid_request);
    CHECK(code_of(f.run(EnrollMember{.id = std::string(65, 'a')})) ==
          ErrorCode::invalid_request);
    f.ok(EnrollMember{.id = std::string(64, 'a')});
    f.ok(EnrollMember{.id = "A.b_c:d@e-9"});
  }
  SUBCASE("without an id the ledger makes one, deterministically and unique") {
    f.ok(EnrollMember{.id = "m-3"});  // seq 2: the id the next enroll (seq 3) would take
    auto made = f.ok(EnrollMember{});
    REQUIRE(made.member);
    CHECK(made.member->id == "m-3-2");
    auto again = f.ok(EnrollMember{});
    CHECK(again.member->id == "m-4");
  }
}

TEST_CASE("patching a member merges attributes, deletes nulls and sets status") {
  Fixture f;
  rules::Attributes attrs;
  attrs["city"] = std::string("Lyon");
  attrs["vip"] = true;
  f.ok(EnrollMember{.id = "m-1", .attributes = attrs});
  PatchMember p;
  p.id = "m-1";
  p.attributes["vip"] = std::nullopt;
  p.attributes["age"] = rules::AttributeValue(std::int64_t{42});
  p.status = MemberStatus::frozen;
  auto out = f.ok(p);
  REQUIRE(out.member);
  CHECK(out.member->status == MemberStatus::frozen);
  CHECK(out.member->attributes.size() == 2);
  CHECK(std::get<std::string>(out.member->attributes.at("city")) == "Lyon");
  CHECK(std::get<std::int64_t>(out.member->attributes.at("age")) == 42);
  CHECK(out.entries.empty());
  f.reopen();
  auto m = f.ledger->member("m-1");
  REQUIRE(m);
  CHECK(m->status == MemberStatus::frozen);
  CHECK(m->attributes.size() == 2);
  CHECK(code_of(f.run(PatchMember{.id = "nobody"})) == ErrorCode::member_not_found);
}

TEST_CASE("a purchase earns base points as one accrual and an available lot") {
  Fixture f;
  f.enroll("m-1");
  auto out = f.ok(purchase("m-1", "59.90"));
  CHECK(out.points == 59);
  REQUIRE(out.entries.size() == 1);
  CHECK(out.entries[0].kind == EntryKind::accrual);
  CHECK(out.entries[0].points == 59);
  CHECK(out.entries[0].offer.empty());
  CHECK(out.entries[0].ruleset == f.rules->version());
  REQUIRE(out.balance);
  CHECK(out.balance->available == 59);
  CHECK(out.balance->lifetime_earned == 59);
  CHECK(f.balance("m-1").available == 59);
  f.check_sum("m-1");

  SUBCASE("an event with no basket earns nothing and writes no entry") {
    RecordEvent e;
    e.member = "m-1";
    e.event.type = "feedback";
    auto none = f.ok(e);
    CHECK(none.points == 0);
    CHECK(none.entries.empty());
  }
  SUBCASE("a purchase under one point writes no entry") {
    auto none = f.ok(purchase("m-1", "0.99"));
    CHECK(none.entries.empty());
  }
  SUBCASE("unknown member is member_not_found") {
    CHECK(code_of(f.run(purchase("nobody", "10.00"))) == ErrorCode::member_not_found);
  }
  SUBCASE("a bad event type is invalid_request") {
    auto e = purchase("m-1", "10.00");
    e.event.type = "Purchase";
    CHECK(code_of(f.run(e)) == ErrorCode::invalid_request);
    e.event.type = std::string(33, 'a');
    CHECK(code_of(f.run(e)) == ErrorCode::invalid_request);
  }
  SUBCASE("occurred_at in the future or beyond max_backdate_days is invalid_request") {
    auto e = purchase("m-1", "10.00");
    e.occurred_at = t0().plus_seconds(1);
    CHECK(code_of(f.run(e)) == ErrorCode::invalid_request);
    e.occurred_at = t0().plus_days(-7).plus_seconds(-1);
    CHECK(code_of(f.run(e)) == ErrorCode::invalid_request);
    e.occurred_at = t0().plus_days(-7);
    auto ok = f.ok(e);
    REQUIRE(ok.entries.size() == 1);
    CHECK(ok.entries[0].occurred_at == t0().plus_days(-7));
    CHECK(ok.entries[0].recorded_at == t0());
  }
}

TEST_CASE("redeeming takes available points; more is insufficient_points") {
  Fixture f;
  f.funded("m-1", "100.00");
  auto out = f.ok(Redeem{.member = "m-1", .points = 30, .order_id = "o-1", .reason = "tote bag"});
  REQUIRE(out.entries.size() == 1);
  CHECK(out.entries[0].kind == EntryKind::redemption);
  CHECK(out.entries[0].points == -30);
  CHECK(out.entries[0].order_id == "o-1");
  CHECK(out.balance->available == 70);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 71})) == ErrorCode::insufficient_points);
  f.ok(Redeem{.member = "m-1", .points = 70});
  CHECK(f.balance("m-1").available == 0);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 1})) == ErrorCode::insufficient_points);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 0})) == ErrorCode::invalid_request);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = -5})) == ErrorCode::invalid_request);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = points_max + 1})) ==
        ErrorCode::invalid_request);
  CHECK(code_of(f.run(Redeem{.member = "nobody", .points = 1})) == ErrorCode::member_not_found);
  f.check_sum("m-1");
}

TEST_CASE("a frozen member earns but cannot redeem or hold") {
  Fixture f;
  f.funded("m-1", "100.00");
  f.ok(PatchMember{.id = "m-1", .status = MemberStatus::frozen});
  CHECK(f.ok(purchase("m-1", "10.00")).points == 10);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 1})) == ErrorCode::member_frozen);
  CHECK(code_of(f.run(CreateHold{.member = "m-1", .points = 1})) == ErrorCode::member_frozen);
  f.ok(PatchMember{.id = "m-1", .status = MemberStatus::active});
  f.ok(Redeem{.member = "m-1", .points = 110});
}

TEST_CASE("adjustments need a reason and non-zero points, and may make the balance negative") {
  Fixture f;
  f.enroll("m-1");
  CHECK(code_of(f.run(Adjust{.member = "m-1", .points = 5})) == ErrorCode::invalid_request);
  CHECK(code_of(f.run(Adjust{.member = "m-1", .points = 0, .reason = "x"})) ==
        ErrorCode::invalid_request);
  CHECK(code_of(f.run(Adjust{.member = "nobody", .points = 5, .reason = "x"})) ==
        ErrorCode::member_not_found);
  auto plus = f.ok(Adjust{.member = "m-1", .points = 50, .reason = "goodwill"});
  CHECK(plus.entries[0].kind == EntryKind::adjustment);
  CHECK(plus.entries[0].reason == "goodwill");
  CHECK(plus.balance->available == 50);
  CHECK(plus.balance->lifetime_earned == 0);
  auto minus = f.ok(Adjust{.member = "m-1", .points = -80, .reason = "fraud"});
  CHECK(minus.balance->available == -30);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 1})) == ErrorCode::insufficient_points);
  // Later earnings repay the debt first.
  f.ok(purchase("m-1", "40.00"));
  CHECK(f.balance("m-1").available == 10);
  f.ok(Redeem{.member = "m-1", .points = 10});
  f.check_sum("m-1");
}

TEST_CASE("points stay within +-10^15 with checked arithmetic") {
  Fixture f;
  f.enroll("m-1");
  f.ok(Adjust{.member = "m-1", .points = points_max, .reason = "max"});
  CHECK(f.balance("m-1").available == points_max);
  CHECK(code_of(f.run(Adjust{.member = "m-1", .points = 1, .reason = "over"})) ==
        ErrorCode::invalid_request);
  CHECK(code_of(f.run(purchase("m-1", "5.00"))) == ErrorCode::invalid_request);
  CHECK(code_of(f.run(Adjust{.member = "m-1", .points = points_max + 1, .reason = "x"})) ==
        ErrorCode::invalid_request);
  CHECK(code_of(f.run(Adjust{.member = "m-1", .points = points_min - 1, .reason = "x"})) ==
        ErrorCode::invalid_request);
  f.ok(Redeem{.member = "m-1", .points = points_max});
  CHECK(f.balance("m-1").available == 0);
  f.ok(Adjust{.member = "m-1", .points = points_min, .reason = "min"});
  CHECK(f.balance("m-1").available == points_min);
  CHECK(code_of(f.run(Adjust{.member = "m-1", .points = -1, .reason = "under"})) ==
        ErrorCode::invalid_request);
  f.check_sum("m-1");
}

TEST_CASE("holds reserve points; capture spends them, the rest is released") {
  Fixture f;
  f.funded("m-1", "100.00");
  auto h = f.ok(CreateHold{.member = "m-1", .points = 40, .order_id = "o-7"});
  REQUIRE(h.hold);
  CHECK(h.hold->status == HoldStatus::active);
  CHECK(h.hold->points == 40);
  CHECK(h.hold->expires_at == t0().plus_seconds(900));
  CHECK(h.entries[0].kind == EntryKind::hold);
  CHECK(h.entries[0].points == 0);
  CHECK(h.entries[0].amount == 40);
  CHECK(h.balance->available == 60);
  CHECK(h.balance->held == 40);
  const std::string id = h.hold->id;
  CHECK(code_of(f.run(CreateHold{.member = "m-1", .points = 61})) ==
        ErrorCode::insufficient_points);

  SUBCASE("partial capture writes a capture and a hold_release") {
    auto c = f.ok(CaptureHold{.hold = id, .points = 25});
    REQUIRE(c.entries.size() == 2);
    CHECK(c.entries[0].kind == EntryKind::capture);
    CHECK(c.entries[0].points == -25);
    CHECK(c.entries[1].kind == EntryKind::hold_release);
    CHECK(c.entries[1].amount == 15);
    CHECK(c.hold->status == HoldStatus::captured);
    CHECK(c.hold->captured == 25);
    CHECK(c.balance->available == 75);
    CHECK(c.balance->held == 0);
    CHECK(code_of(f.run(CaptureHold{.hold = id})) == ErrorCode::hold_not_active);
    CHECK(code_of(f.run(VoidHold{.hold = id})) == ErrorCode::hold_not_active);
    CHECK(f.ledger->hold(id)->status == HoldStatus::captured);
  }
  SUBCASE("full capture by default") {
    auto c = f.ok(CaptureHold{.hold = id});
    REQUIRE(c.entries.size() == 1);
    CHECK(c.entries[0].points == -40);
    CHECK(c.balance->available == 60);
  }
  SUBCASE("capture of more than held or of nothing is invalid_request") {
    CHECK(code_of(f.run(CaptureHold{.hold = id, .points = 41})) == ErrorCode::invalid_request);
    CHECK(code_of(f.run(CaptureHold{.hold = id, .points = 0})) == ErrorCode::invalid_request);
  }
  SUBCASE("void releases everything") {
    auto v = f.ok(VoidHold{.hold = id});
    CHECK(v.entries[0].kind == EntryKind::hold_release);
    CHECK(v.entries[0].amount == 40);
    CHECK(v.entries[0].reason == "voided");
    CHECK(v.hold->status == HoldStatus::voided);
    CHECK(v.balance->available == 100);
  }
  SUBCASE("an unknown hold is not_found") {
    CHECK(code_of(f.run(CaptureHold{.hold = "h-999"})) == ErrorCode::not_found);
    CHECK(code_of(f.run(VoidHold{.hold = "h-999"})) == ErrorCode::not_found);
    CHECK(!f.ledger->hold("h-999"));
  }
  SUBCASE("a hold expires by the timer and releases its points") {
    f.ok(AdvanceClock{899});
    CHECK(f.ledger->hold(id)->status == HoldStatus::active);
    f.ok(AdvanceClock{1});
    CHECK(f.ledger->hold(id)->status == HoldStatus::expired);
    CHECK(f.balance("m-1").available == 100);
    CHECK(f.balance("m-1").held == 0);
    auto hist = f.history("m-1");
    CHECK(hist.back().kind == EntryKind::hold_release);
    CHECK(hist.back().reason == "expired");
    CHECK(code_of(f.run(CaptureHold{.hold = id})) == ErrorCode::hold_not_active);
  }
  SUBCASE("ttl must be 1..604800 seconds") {
    CHECK(code_of(f.run(CreateHold{.member = "m-1", .points = 1, .ttl_seconds = 604'801})) ==
          ErrorCode::invalid_request);
    CHECK(code_of(f.run(CreateHold{.member = "m-1", .points = 1, .ttl_seconds = 0})) ==
          ErrorCode::invalid_request);
    auto ok = f.ok(CreateHold{.member = "m-1", .points = 1, .ttl_seconds = 604'800});
    CHECK(ok.hold->expires_at == t0().plus_seconds(604'800));
  }
  SUBCASE("holds are kept across a reopen") {
    f.reopen();
    CHECK(f.balance("m-1").held == 40);
    f.ok(CaptureHold{.hold = id, .points = 10});
    CHECK(f.balance("m-1").available == 90);
  }
  f.check_sum("m-1");
}

TEST_CASE("reversing an accrual takes points back, below zero if they were spent") {
  Fixture f;
  f.enroll("m-1");
  Seq accrual = f.ok(purchase("m-1", "100.00")).entries[0].seq;
  f.ok(purchase("m-1", "20.00"));
  f.ok(Redeem{.member = "m-1", .points = 110});
  auto r = f.ok(Reverse{.seq = accrual, .points = 30, .reason = "return"});
  REQUIRE(r.entries.size() == 1);
  CHECK(r.entries[0].kind == EntryKind::reversal);
  CHECK(r.entries[0].points == -30);
  CHECK(r.entries[0].reverses == accrual);
  CHECK(r.balance->available == -20);
  CHECK(r.balance->lifetime_earned == 90);
  auto rest = f.ok(Reverse{.seq = accrual});
  CHECK(rest.entries[0].points == -70);
  CHECK(rest.balance->available == -90);
  CHECK(code_of(f.run(Reverse{.seq = accrual})) == ErrorCode::over_reversal);
  CHECK(code_of(f.run(Reverse{.seq = accrual, .points = 1})) == ErrorCode::over_reversal);
  f.ok(purchase("m-1", "100.00"));
  CHECK(f.balance("m-1").available == 10);
  f.check_sum("m-1");
}

TEST_CASE("reversal rules: over_reversal, kinds that cannot be reversed, unknown seq") {
  Fixture f;
  f.enroll("m-1");
  Seq accrual = f.ok(purchase("m-1", "50.00")).entries[0].seq;
  CHECK(code_of(f.run(Reverse{.seq = accrual, .points = 51})) == ErrorCode::over_reversal);
  CHECK(code_of(f.run(Reverse{.seq = accrual, .points = 0})) == ErrorCode::invalid_request);
  CHECK(code_of(f.run(Reverse{.seq = 1})) == ErrorCode::invalid_request);  // the enroll
  CHECK(code_of(f.run(Reverse{.seq = 999})) == ErrorCode::not_found);
  CHECK(code_of(f.run(Reverse{.seq = 0})) == ErrorCode::not_found);
  Seq adj = f.ok(Adjust{.member = "m-1", .points = 5, .reason = "x"}).entries[0].seq;
  CHECK(code_of(f.run(Reverse{.seq = adj})) == ErrorCode::invalid_request);
  Seq reversal = f.ok(Reverse{.seq = accrual, .points = 10}).entries[0].seq;
  CHECK(code_of(f.run(Reverse{.seq = reversal})) == ErrorCode::invalid_request);
  CHECK(f.balance("m-1").available == 45);
}

TEST_CASE("reversing a redemption or a capture gives the points back") {
  Fixture f;
  f.funded("m-1", "100.00");
  Seq redemption = f.ok(Redeem{.member = "m-1", .points = 60}).entries[0].seq;
  auto r = f.ok(Reverse{.seq = redemption, .points = 20});
  CHECK(r.entries[0].points == 20);
  CHECK(r.balance->available == 60);
  CHECK(code_of(f.run(Reverse{.seq = redemption, .points = 41})) == ErrorCode::over_reversal);
  f.ok(Reverse{.seq = redemption});
  CHECK(f.balance("m-1").available == 100);
  auto h = f.ok(CreateHold{.member = "m-1", .points = 30});
  Seq capture = f.ok(CaptureHold{.hold = h.hold->id}).entries[0].seq;
  CHECK(f.balance("m-1").available == 70);
  f.ok(Reverse{.seq = capture});
  CHECK(f.balance("m-1").available == 100);
  f.check_sum("m-1");
}

}  // namespace encore::ledger::testing

namespace encore::ledger::testing {

TEST_CASE("reversing an accrual whose lot is partly held leaves the hold whole") {
  Fixture f;
  f.enroll("m-1");
  Seq accrual = f.ok(purchase("m-1", "100.00")).entries[0].seq;
  f.ok(purchase("m-1", "10.00"));
  auto h = f.ok(CreateHold{.member = "m-1", .points = 90});  // 90 of the first lot
  auto r = f.ok(Reverse{.seq = accrual});  // 10 from its lot, 10 from the other, 80 owed
  CHECK(r.balance->held == 90);
  CHECK(r.balance->available == -80);
  auto v = f.ok(VoidHold{.hold = h.hold->id});  // the 90 come back and repay the debt
  CHECK(v.balance->available == 10);
  CHECK(v.balance->held == 0);
  f.check_sum("m-1");
  f.reopen();
  CHECK(f.balance("m-1").available == 10);
  f.ok(Redeem{.member = "m-1", .points = 10});
}

TEST_CASE("a capture at the moment a hold expires finds it expired") {
  Fixture f;
  f.funded("m-1", "10.00");
  auto h = f.ok(CreateHold{.member = "m-1", .points = 5, .ttl_seconds = 60});
  f.clock.advance_seconds(60);  // no command ran the timers yet
  CHECK(code_of(f.run(CaptureHold{.hold = h.hold->id})) == ErrorCode::hold_not_active);
  CHECK(f.ledger->hold(h.hold->id)->status == HoldStatus::expired);
  CHECK(f.balance("m-1").available == 10);
}

}  // namespace encore::ledger::testing
