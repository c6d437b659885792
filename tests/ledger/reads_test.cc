// Proves the ledger's reads and rule-driven earning: history pages newest first, journal
// pages oldest first with the chain head, the liability report, offers applied as separate
// accruals in order with budgets and per-member limits, quotes that write nothing.
#include <doctest/doctest.h>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

constexpr const char* kOffers = R"json({"offers": [
  {"id": "double", "name": "Double points", "award": "base", "priority": 10},
  {"id": "vinyl", "name": "Vinyl bonus", "when": "any(event.items, item.category == 'vinyl')",
   "award": "50", "budget": 120, "limit": {"per_member": 2}},
  {"id": "thanks", "name": "Thanks for the feedback", "on": "feedback", "award": "5"}
]})json";

RecordEvent vinyl_purchase(const std::string& member) {
  RecordEvent e = purchase(member, "10.00");
  rules::Item item;
  item.sku = "LP-1";
  item.category = "vinyl";
  item.quantity = 1;
  item.unit_price = money("10.00");
  item.total = money("10.00");
  e.event.items.push_back(item);
  return e;
}

}  // namespace

TEST_CASE("a member's entries come newest first in pages with next_before") {
  Fixture f;
  f.enroll("m-1");
  f.enroll("m-2");
  for (int i = 0; i < 5; ++i) {
    f.ok(purchase("m-1", "10.00"));
    f.ok(purchase("m-2", "10.00"));
  }
  auto page = f.ledger->entries("m-1", std::nullopt, 4);
  REQUIRE(page);
  REQUIRE(page->entries.size() == 4);
  CHECK(page->entries[0].seq > page->entries[1].seq);
  for (const auto& e : page->entries) CHECK(e.member == "m-1");
  REQUIRE(page->next_before);
  auto rest = f.ledger->entries("m-1", page->next_before, 4);
  REQUIRE(rest);
  CHECK(rest->entries.size() == 2);  // 5 accruals + enroll = 6
  CHECK_FALSE(rest->next_before);
  CHECK(rest->entries.back().kind == EntryKind::enroll);
  CHECK(code_of_result(f.ledger->entries("nobody", std::nullopt, 4)) ==
        ErrorCode::member_not_found);
  CHECK(code_of_result(f.ledger->entries("m-1", std::nullopt, 0)) == ErrorCode::invalid_request);
  CHECK(code_of_result(f.ledger->entries("m-1", std::nullopt, 501)) ==
        ErrorCode::invalid_request);
  // Exactly one page: next_before is null.
  auto exact = f.ledger->entries("m-1", std::nullopt, 6);
  REQUIRE(exact);
  CHECK(exact->entries.size() == 6);
  CHECK_FALSE(exact->next_before);
}

TEST_CASE("a member's history pages equal the journal filtered by member, for any before") {
  // The history is read through each entry's link to the member's previous one: compare it
  // with the whole journal filtered by member, across a reopen (links come from storage).
  Fixture f;
  for (const char* id : {"m-1", "m-2", "m-3"}) f.enroll(id);
  for (int i = 0; i < 30; ++i) {
    f.ok(purchase(i % 3 == 0 ? "m-2" : "m-1", "10.00"));
    if (i % 7 == 6) f.ok(Redeem{.member = "m-1", .points = 5});
  }
  f.reopen();
  auto journal = f.ledger->journal(0, 1000);
  REQUIRE(journal);
  const Seq last = journal->entries.back().seq;
  for (const char* id : {"m-1", "m-2", "m-3"}) {
    std::vector<Seq> expected;  // newest first
    for (auto it = journal->entries.rbegin(); it != journal->entries.rend(); ++it) {
      if (it->member == id) expected.push_back(it->seq);
    }
    // Paging by next_before, 4 at a time, visits every entry once.
    std::vector<Seq> paged;
    std::optional<Seq> before;
    do {
      auto page = f.ledger->entries(id, before, 4);
      REQUIRE(page);
      for (const auto& e : page->entries) paged.push_back(e.seq);
      before = page->next_before;
    } while (before);
    CHECK(paged == expected);
    // Any before (0, other members' seqs, past the end) gives the entries below it.
    for (Seq b = 0; b <= last + 2; ++b) {
      std::vector<Seq> below;
      for (Seq s : expected) {
        if (s < b && below.size() < 3) below.push_back(s);
      }
      auto page = f.ledger->entries(id, b, 3);
      REQUIRE(page);
      std::vector<Seq> got;
      for (const auto& e : page->entries) got.push_back(e.seq);
      CHECK_MESSAGE(got == below, id << " before " << b);
    }
  }
}

TEST_CASE("the journal comes oldest first with next_after and the chain head") {
  Fixture f;
  auto empty = f.ledger->journal(0, 10);
  REQUIRE(empty);
  CHECK(empty->entries.empty());
  CHECK(empty->next_after == 0);
  f.funded("m-1", "10.00");
  f.funded("m-2", "10.00");
  auto page = f.ledger->journal(0, 3);
  REQUIRE(page);
  REQUIRE(page->entries.size() == 3);
  CHECK(page->entries[0].seq == 1);
  CHECK(page->next_after == 3);
  CHECK(page->chain_head == f.ledger->chain_head());
  auto rest = f.ledger->journal(3, 100);
  REQUIRE(rest);
  CHECK(rest->entries.size() == 1);
  CHECK(rest->next_after == 4);
  auto none = f.ledger->journal(4, 100);
  CHECK(none->entries.empty());
  CHECK(none->next_after == 4);
  CHECK(code_of_result(f.ledger->journal(0, 1001)) == ErrorCode::invalid_request);
  auto one = f.ledger->entry(2);
  REQUIRE(one);
  CHECK(one->kind == EntryKind::accrual);
  CHECK(code_of_result(f.ledger->entry(5)) == ErrorCode::not_found);
}

TEST_CASE("the liability report sums members and lists days of activity") {
  Fixture f(simple_rules(5, R"({"policy": "fixed", "days": 20})"));
  f.enroll("m-1");
  f.enroll("m-2");
  f.ok(Adjust{.member = "m-1", .points = 100, .reason = "seed"});  // expires in 20 days
  f.ok(purchase("m-2", "30.00"));                                   // pending 5 days
  auto h = f.ok(CreateHold{.member = "m-1", .points = 10, .ttl_seconds = 604'800});
  f.ok(Redeem{.member = "m-1", .points = 40});
  f.ok(Adjust{.member = "m-2", .points = -50, .reason = "debt"});
  auto r = f.ledger->liability();
  REQUIRE(r);
  CHECK(r->available == 50 - 50);
  CHECK(r->pending == 30);
  CHECK(r->held == 10);
  CHECK(r->expiring_30d == 50 + 30);  // m-1's lot (day 20) and m-2's (vests day 5, +20)
  CHECK(r->expiring_60d == 80);
  CHECK(r->expiring_90d == 80);
  REQUIRE(r->days.size() == 1);
  CHECK(r->days[0].date == utc_date(t0()));
  CHECK(r->days[0].earned == 130);
  CHECK(r->days[0].redeemed == 40);
  f.advance_days(1);
  f.ok(CaptureHold{.hold = h.hold->id});
  r = f.ledger->liability();
  REQUIRE(r->days.size() == 2);
  CHECK(r->days[0].date == utc_date(t0().plus_days(1)));
  CHECK(r->days[0].redeemed == 10);
}

TEST_CASE("a purchase earning base and two offers writes three accruals in order") {
  Fixture f(make_rules({{"program.json", program_json()}, {"offers.json", kOffers}}));
  f.enroll("m-1");
  auto out = f.ok(vinyl_purchase("m-1"));
  REQUIRE(out.entries.size() == 3);
  CHECK(out.entries[0].offer == "");
  CHECK(out.entries[0].points == 10);
  CHECK(out.entries[1].offer == "double");
  CHECK(out.entries[1].points == 10);
  CHECK(out.entries[2].offer == "vinyl");
  CHECK(out.entries[2].points == 50);
  CHECK(out.points == 70);
  REQUIRE(out.offers.size() == 2);
  CHECK(out.offers[0].id == "double");
  CHECK(out.offers[1].name == "Vinyl bonus");
  CHECK(f.balance("m-1").available == 70);

  SUBCASE("per-member limits and budgets are exact") {
    f.ok(vinyl_purchase("m-1"));  // second vinyl use: 100 of 120 spent
    auto third = f.ok(vinyl_purchase("m-1"));
    CHECK(third.points == 20);  // limit reached: base + double only
    f.enroll("m-2");
    auto cut = f.ok(vinyl_purchase("m-2"));
    REQUIRE(cut.entries.size() == 3);
    CHECK(cut.entries[2].points == 20);  // the last award is cut to the budget left
    CHECK(f.ok(vinyl_purchase("m-2")).points == 20);
    auto info = f.ledger->rules();
    REQUIRE(info.rule_set);
    CHECK(info.budget_used[1] == 120);
    f.reopen();
    CHECK(f.ok(vinyl_purchase("m-1")).points == 20);
    CHECK(f.ledger->rules().budget_used[1] == 120);
  }
  SUBCASE("another event type earns what its offers give") {
    RecordEvent e;
    e.member = "m-1";
    e.event.type = "feedback";
    auto fb = f.ok(e);
    CHECK(fb.points == 5);
    REQUIRE(fb.entries.size() == 1);
    CHECK(fb.entries[0].offer == "thanks");
  }
  SUBCASE("a quote writes nothing, for a member or a new one") {
    Seq last = f.ledger->last_seq();
    auto q = f.ledger->quote(vinyl_purchase("m-1").event, "m-1", std::nullopt);
    REQUIRE(q);
    CHECK(q->points == 70);
    auto anon = f.ledger->quote(purchase("x", "10.00").event, std::nullopt, std::nullopt);
    REQUIRE(anon);
    CHECK(anon->points == 20);
    CHECK(f.ledger->last_seq() == last);
    CHECK(code_of_result(f.ledger->quote(purchase("x", "1.00").event, "nobody",
                                         std::nullopt)) == ErrorCode::member_not_found);
  }
  SUBCASE("a member's offers list what they can still get") {
    auto offers = f.ledger->offers_for("m-1");
    REQUIRE(offers);
    REQUIRE(offers->size() == 3);
    CHECK((*offers)[1].id == "vinyl");
    CHECK((*offers)[1].remaining_uses == 1);
  }
  f.check_sum("m-1");
}

TEST_CASE("a new rule set applies to later events and is kept across a reopen") {
  Fixture f;
  f.enroll("m-1");
  CHECK(f.ok(purchase("m-1", "10.00")).points == 10);
  auto next = make_rules({{"program.json", program_json()}, {"offers.json", kOffers}});
  f.ok(SetRules{next});
  CHECK(f.ledger->rules().rule_set->version() == next->version());
  auto out = f.ok(purchase("m-1", "10.00"));
  CHECK(out.points == 20);
  CHECK(out.entries[0].ruleset == next->version());
  // Reopen without a rule set: the stored one in force is used.
  f.ledger.reset();
  f.rules = nullptr;
  f.open();
  CHECK(f.ledger->rules().rule_set->version() == next->version());
}

}  // namespace encore::ledger::testing
