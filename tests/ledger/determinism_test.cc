// Proves that apply is deterministic: 1,600 random commands of every kind (offers
// with budgets and limits, tiers, backdated events, holds, reversals, a rule change, clock
// moves for vesting, expiry and tier falls) applied to three fresh data dirs on manual clocks
// at the same start give the same journal entry by entry and the same chain head, whether
// submitted one at a time or in large batches; all three verify.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

constexpr const char* kOffers = R"json({"offers": [
  {"id": "weekend", "name": "Weekend", "when": "weekday(event.time) in ['sat', 'sun']",
   "award": "floor(base * 0.5)", "priority": 5},
  {"id": "vinyl", "name": "Vinyl", "when": "any(event.items, item.category == 'vinyl')",
   "award": "25", "budget": 3000, "limit": {"per_member": 3}},
  {"id": "regular", "name": "Regular", "when": "member.visits >= 3", "award": "7"},
  {"id": "thanks", "name": "Thanks", "on": "feedback", "award": "5"}
]})json";

constexpr const char* kOffers2 = R"json({"offers": [
  {"id": "big", "name": "Big basket", "when": "event.total >= 40", "award": "base"}
]})json";

const std::string kTiers = R"({"window_days": 20, "levels": [
    {"id": "fan", "threshold": 0}, {"id": "superfan", "threshold": 300, "multiplier": "2"}]})";

std::shared_ptr<const rules::RuleSet> rules_v1() {
  return make_rules({{"program.json", program_json(1, R"({"policy": "fixed", "days": 30})",
                                                   kTiers)},
                     {"offers.json", kOffers}});
}

std::shared_ptr<const rules::RuleSet> rules_v2() {
  return make_rules({{"program.json", program_json(1, R"({"policy": "fixed", "days": 30})",
                                                   kTiers)},
                     {"offers.json", kOffers2}});
}

// Builds a random script by running it on `f`; returns the commands in order.
std::vector<Command> record_script(Fixture& f, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  std::vector<Command> script;
  std::vector<std::string> holds;
  std::vector<Seq> reversible;
  auto run = [&](Command c) {
    script.push_back(c);
    auto out = f.run(std::move(c));
    if (!out.status) return out;
    if (out.hold) holds.push_back(out.hold->id);
    for (const auto& e : out.entries) {
      if (e.kind == EntryKind::accrual || e.kind == EntryKind::redemption ||
          e.kind == EntryKind::capture) {
        reversible.push_back(e.seq);
      }
    }
    return out;
  };
  constexpr int kMembers = 40;
  for (int i = 0; i < kMembers; ++i) run(EnrollMember{.id = "d-" + std::to_string(i)});
  for (int step = 0; step < 1'600; ++step) {
    std::string member = "d-" + std::to_string(pick(0, kMembers - 1));
    std::int64_t roll = pick(0, 99);
    if (step == 800) {
      run(SetRules{.rule_set = rules_v2()});
    } else if (roll < 40) {
      RecordEvent e = purchase(member, (std::to_string(pick(0, 90)) + ".25").c_str());
      if (pick(0, 2) == 0) {
        rules::Item item;
        item.sku = "LP";
        item.category = "vinyl";
        item.unit_price = money("9.99");
        item.total = item.unit_price;
        e.event.items.push_back(item);
      }
      if (pick(0, 4) == 0) e.occurred_at = f.clock.now().plus_seconds(-pick(0, 3 * 86'400));
      if (pick(0, 9) == 0) e.event.type = "feedback";
      run(e);
    } else if (roll < 52) {
      run(Redeem{.member = member, .points = pick(1, 200)});
    } else if (roll < 62) {
      run(CreateHold{.member = member, .points = pick(1, 150), .ttl_seconds = pick(60, 7'200)});
    } else if (roll < 70 && !holds.empty()) {
      std::string h = holds[static_cast<std::size_t>(pick(0, std::ssize(holds) - 1))];
      if (pick(0, 1) == 0) {
        run(CaptureHold{.hold = h, .points = pick(1, 20)});
      } else {
        run(VoidHold{.hold = h});
      }
    } else if (roll < 78 && !reversible.empty()) {
      Seq s = reversible[static_cast<std::size_t>(pick(0, std::ssize(reversible) - 1))];
      Reverse r{.seq = s};
      if (pick(0, 1) == 0) r.points = pick(1, 30);
      run(r);
    } else if (roll < 84) {
      std::int64_t points = pick(-100, 150);
      run(Adjust{.member = member, .points = points == 0 ? 1 : points, .reason = "det"});
    } else if (roll < 86) {
      run(PatchMember{.id = member, .status = pick(0, 1) == 0 ? MemberStatus::frozen
                                                              : MemberStatus::active});
    } else {
      run(AdvanceClock{pick(0, 4) == 0 ? pick(1, 10) * 86'400 : pick(60, 12 * 3'600)});
    }
  }
  return script;
}

std::vector<Entry> whole_journal(Ledger& ledger) {
  std::vector<Entry> all;
  Seq after = 0;
  while (true) {
    auto page = ledger.journal(after, 1'000);
    REQUIRE(page);
    if (page->entries.empty()) return all;
    all.insert(all.end(), page->entries.begin(), page->entries.end());
    after = page->next_after;
  }
}

}  // namespace

TEST_CASE("the same commands give the same journal and chain head, batched or not") {
  const std::uint64_t seed = 20261123;
  Fixture a(rules_v1());
  const std::vector<Command> script = record_script(a, seed);
  REQUIRE(a.ledger->last_seq() > 2'000);

  // B: one at a time, as A was.
  Fixture b(rules_v1());
  for (const auto& c : script) b.run(c).status.ignore();
  // C: everything queued at once (the writer takes large batches; a clock move is a
  // command like any other, so time still moves at the same points).
  Fixture c(rules_v1());
  c.extra.batch_max = 64;
  c.reopen();
  std::vector<std::future<CommandOutcome>> pending;
  for (const auto& cmd : script) {
    pending.push_back(c.ledger->submit(cmd));
    if (pending.size() == 4'000) {
      for (auto& p : pending) p.get().status.ignore();
      pending.clear();
    }
  }
  for (auto& p : pending) p.get().status.ignore();
  CHECK(c.ledger->stats().batches < script.size());

  const std::vector<Entry> ja = whole_journal(*a.ledger);
  for (Fixture* other : {&b, &c}) {
    const std::vector<Entry> jo = whole_journal(*other->ledger);
    REQUIRE(jo.size() == ja.size());
    for (std::size_t i = 0; i < ja.size(); ++i) {
      INFO("entry " << ja[i].seq << " (" << entry_kind_name(ja[i].kind) << ")");
      REQUIRE(hash_hex(jo[i].hash) == hash_hex(ja[i].hash));
    }
    CHECK(other->ledger->chain_head() == a.ledger->chain_head());
  }
  for (Fixture* f : {&a, &b, &c}) {
    f->ledger.reset();
    Status s = verify(f->dir.path(), {}, nullptr);
    if (!s) FAIL(s.error().detail);
  }
}

}  // namespace encore::ledger::testing
