// Proves the lot timers (vesting, fixed expiry) on a manual clock: they are a heap with lazy
// deletion, so a lot that was redeemed, reversed, pooled or put in a hold leaves its item
// behind and the writer must act on an item only while its lot still needs it. Timers run in
// (due time, lot seq) order, vesting first, and are rebuilt alike from storage on a reopen.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

const char* const kFixed5 = R"({"policy": "fixed", "days": 5})";

std::vector<Entry> of_kind(const std::vector<Entry>& entries, EntryKind kind) {
  std::vector<Entry> out;
  for (const Entry& e : entries) {
    if (e.kind == kind) out.push_back(e);
  }
  return out;
}

// The whole journal, oldest first.
std::vector<Entry> journal(Fixture& f) {
  std::vector<Entry> all;
  Seq after = 0;
  while (true) {
    auto page = f.ledger->journal(after, 50);
    REQUIRE(page);
    if (page->entries.empty()) break;
    all.insert(all.end(), page->entries.begin(), page->entries.end());
    after = page->next_after;
  }
  return all;
}

void verify_closed(Fixture& f) {
  f.ledger.reset();
  VerifyReport report;
  Status verified = verify(f.dir.path(), nullptr, &report);
  if (!verified) FAIL(verified.error().detail);
}

}  // namespace

TEST_CASE("lots spent before they expire leave no expiry; their neighbour still expires") {
  // m-1's spent lots leave stale items, many more than the live ones: the heap is compacted
  // several times, and must keep m-2's lot.
  Fixture f(simple_rules(0, kFixed5));
  f.funded("m-2", "30.00");
  f.enroll("m-1");
  for (int i = 0; i < 300; ++i) {
    f.ok(purchase("m-1", "100.00"));
    f.ok(Redeem{.member = "m-1", .points = 100});
  }
  f.advance_days(6);
  CHECK(of_kind(f.history("m-1"), EntryKind::expiry).empty());
  auto expired = of_kind(f.history("m-2"), EntryKind::expiry);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].points == -30);
  CHECK(f.balance("m-2").total() == 0);
  f.check_sum("m-1");
  verify_closed(f);
}

TEST_CASE("a hold voided after its lot's expiry time: the points expire at the next timer run") {
  Fixture f(simple_rules(0, kFixed5));
  f.enroll("m-1");
  const Seq lot = f.ok(purchase("m-1", "100.00")).entries[0].seq;
  auto h = f.ok(CreateHold{.member = "m-1", .points = 40, .ttl_seconds = 7 * 86'400});
  f.advance_days(5);  // the free 60 expire; the held 40 cannot
  auto expired = of_kind(f.history("m-1"), EntryKind::expiry);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].points == -60);
  CHECK(f.balance("m-1").held == 40);
  f.ok(VoidHold{.hold = h.hold->id});
  f.ok(RunTimers{});
  auto hist = f.history("m-1");
  expired = of_kind(hist, EntryKind::expiry);
  REQUIRE(expired.size() == 2);
  CHECK(expired[1].points == -40);
  CHECK(expired[1].lot == lot);
  CHECK(hist[hist.size() - 2].kind == EntryKind::hold_release);  // right after the void
  CHECK(f.balance("m-1").total() == 0);
  f.check_sum("m-1");
  verify_closed(f);
}

TEST_CASE("a lot held and released many times before its expiry expires once, in full") {
  // Each release schedules the lot's expiry again: the copies must not expire it twice.
  Fixture f(simple_rules(0, kFixed5));
  f.funded("m-1", "100.00");
  for (int i = 0; i < 200; ++i) {
    auto h = f.ok(CreateHold{.member = "m-1", .points = 10});
    f.ok(VoidHold{.hold = h.hold->id});
  }
  f.advance_days(5);
  auto expired = of_kind(f.history("m-1"), EntryKind::expiry);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].points == -100);
  f.advance_days(5);
  CHECK(of_kind(f.history("m-1"), EntryKind::expiry).size() == 1);
  f.check_sum("m-1");
  verify_closed(f);
}

TEST_CASE("a fully reversed accrual's lot never vests; a partly reversed one vests the rest") {
  Fixture f(simple_rules(3));
  f.enroll("m-1");
  const Seq whole = f.ok(purchase("m-1", "50.00")).entries[0].seq;
  const Seq part = f.ok(purchase("m-1", "30.00")).entries[0].seq;
  f.ok(Reverse{.seq = whole});
  f.ok(Reverse{.seq = part, .points = 10});
  CHECK(f.balance("m-1").pending == 20);
  f.advance_days(3);
  auto vested = of_kind(f.history("m-1"), EntryKind::vest);
  REQUIRE(vested.size() == 1);
  CHECK(vested[0].lot == part);
  CHECK(vested[0].amount == 20);
  auto b = f.balance("m-1");
  CHECK(b.pending == 0);
  CHECK(b.available == 20);
  f.check_sum("m-1");
  verify_closed(f);
}

TEST_CASE("lots due at the same time run in lot seq order, vesting before expiry") {
  // One clock move past both: each lot vests and expires in the same timer run.
  Fixture f(simple_rules(1, R"({"policy": "fixed", "days": 1})"));
  f.enroll("m-b");
  f.enroll("m-a");
  const Seq first = f.ok(purchase("m-b", "10.00")).entries[0].seq;
  const Seq second = f.ok(purchase("m-a", "20.00")).entries[0].seq;
  const Seq third = f.ok(purchase("m-b", "30.00")).entries[0].seq;
  const Seq before = f.ledger->stats().last_seq;
  f.advance_days(2);
  auto all = journal(f);
  std::vector<std::pair<EntryKind, Seq>> timers;
  for (const Entry& e : all) {
    if (e.seq > before) timers.emplace_back(e.kind, e.lot);
  }
  const std::vector<std::pair<EntryKind, Seq>> expected{
      {EntryKind::vest, first},   {EntryKind::vest, second},   {EntryKind::vest, third},
      {EntryKind::expiry, first}, {EntryKind::expiry, second}, {EntryKind::expiry, third}};
  CHECK(timers == expected);
  CHECK(f.balance("m-a").total() == 0);
  CHECK(f.balance("m-b").total() == 0);
}

TEST_CASE("pending lots vest one by one while the vested ones are pooled") {
  // Expiry none: vested lots that hold nothing are merged past lots_poolable_max. Lots
  // pending at the same time vest in seq order, each on its own, pooled or not.
  Fixture f(simple_rules(1));
  f.enroll("m-1");
  std::vector<Seq> lots;
  for (int i = 0; i < 30; ++i) lots.push_back(f.ok(purchase("m-1", "10.00")).entries[0].seq);
  f.advance_days(1);
  for (int i = 0; i < 30; ++i) f.ok(purchase("m-1", "1.00"));
  const Seq reversed = lots[29];
  f.ok(Reverse{.seq = reversed});  // its own lot, vested and not pooled
  f.advance_days(1);
  auto vested = of_kind(f.history("m-1"), EntryKind::vest);
  REQUIRE(vested.size() == 60);
  for (int i = 0; i < 30; ++i) {
    CHECK(vested[static_cast<std::size_t>(i)].lot == lots[static_cast<std::size_t>(i)]);
    CHECK(vested[static_cast<std::size_t>(i)].amount == 10);
  }
  auto b = f.balance("m-1");
  CHECK(b.pending == 0);
  CHECK(b.available == 30 * 10 + 30 - 10);
  f.check_sum("m-1");
  f.ledger.reset();
  VerifyReport report;
  Status verified = verify(f.dir.path(), nullptr, &report);
  if (!verified) FAIL(verified.error().detail);
  CHECK(report.lots <= 9);  // lots_poolable_max kept apart at most, and the pool
}

namespace {

// Vesting, expiry, spending, holds and reversals across members over 20 days; `reopen`
// restarts the ledger between steps, so its timers are rebuilt from the stored lots.
std::vector<Entry> timer_script(bool reopen) {
  Fixture f(simple_rules(2, kFixed5));
  auto restart = [&] {
    if (reopen) f.reopen();
  };
  std::vector<Seq> accruals;
  for (int m = 0; m < 4; ++m) f.enroll("m-" + std::to_string(m));
  for (int day = 0; day < 20; ++day) {
    for (int m = 0; m < 4; ++m) {
      const std::string id = "m-" + std::to_string(m);
      accruals.push_back(f.ok(purchase(id, day % 3 == 0 ? "40.00" : "15.00")).entries[0].seq);
      const std::int64_t available = f.balance(id).available;
      if ((day + m) % 4 == 1 && available >= 20) f.ok(Redeem{.member = id, .points = 20});
      if ((day + m) % 5 == 2 && available >= 10) {
        auto h = f.ok(CreateHold{.member = id, .points = 10, .ttl_seconds = 6 * 86'400});
        if (m % 2 == 0) f.ok(VoidHold{.hold = h.hold->id});
      }
    }
    if (day % 4 == 3) f.ok(Reverse{.seq = accruals[accruals.size() - 3]});
    if (day % 3 == 1) restart();
    f.ok(AdvanceClock{86'400 - 3'600 * (day % 5)});
    if (day % 3 == 2) restart();
  }
  f.advance_days(10);  // every lot and hold has run out
  auto all = journal(f);
  verify_closed(f);
  return all;
}

}  // namespace

TEST_CASE("timers rebuilt from storage on a reopen write the same entries as without one") {
  const auto plain = timer_script(false);
  const auto reopened = timer_script(true);
  CHECK(of_kind(plain, EntryKind::vest).size() == 80 - 5);  // 5 reversed while pending
  CHECK(of_kind(plain, EntryKind::expiry).size() >= 40);
  REQUIRE(plain.size() == reopened.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    const Entry& a = plain[i];
    const Entry& b = reopened[i];
    CHECK_MESSAGE((a.kind == b.kind && a.member == b.member && a.points == b.points &&
                   a.amount == b.amount && a.lot == b.lot && a.recorded_at == b.recorded_at),
                  "entry " << a.seq);
  }
  CHECK(plain.back().hash == reopened.back().hash);
}

}  // namespace encore::ledger::testing
