// Proves what the writer promises about durability and order: idempotent replay (stored
// 2xx/404/409, not 400), reopen restores identical state and chain head, a storage error
// stops the writer, the same commands give the same chain head, a full queue refuses at
// once, concurrent redemptions never overdraw, and each batch's WAL sync is timed in stats.
#include <doctest/doctest.h>

#include <thread>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"
#include "tests/ledger/outcome_checks.h"

namespace encore::ledger::testing {
namespace {

IdempotencyRequest idem(const std::string& key, std::uint8_t body) {
  IdempotencyRequest r;
  r.scope = "pos-key";
  r.key = key;
  r.fingerprint.fill(body);
  return r;
}

// A replay is the first outcome again, field by field (its entries read back from the
// journal), marked replayed.
void check_replays(const CommandOutcome& replay, const CommandOutcome& first) {
  REQUIRE(replay.replayed);
  CHECK_FALSE(first.replayed);
  check_same_outcome_fields(replay, first);
  for (std::size_t i = 0; i < first.entries.size(); ++i) {
    const Entry& a = replay.entries[i];
    const Entry& b = first.entries[i];
    CHECK(a.seq == b.seq);
    CHECK(a.hash == b.hash);
    CHECK(a.member == b.member);
    CHECK(a.kind == b.kind);
    CHECK(a.points == b.points);
    CHECK(a.amount == b.amount);
    CHECK(a.offer == b.offer);
    CHECK(a.hold == b.hold);
    CHECK(a.order_id == b.order_id);
  }
}

}  // namespace

TEST_CASE("an idempotency key replays the stored outcome and writes nothing") {
  Fixture f;
  f.funded("m-1", "100.00");
  auto first = f.run(Redeem{.member = "m-1", .points = 10}, idem("k1", 1));
  REQUIRE(first.status);
  CHECK_FALSE(first.replayed);
  Seq seq = f.ledger->last_seq();
  f.ok(Adjust{.member = "m-1", .points = 7, .reason = "later"});
  seq = f.ledger->last_seq();
  auto again = f.run(Redeem{.member = "m-1", .points = 10}, idem("k1", 1));
  check_replays(again, first);
  CHECK(f.ledger->last_seq() == seq);
  CHECK(f.balance("m-1").available == 97);

  SUBCASE("the same key with another request is idempotency_key_reused") {
    auto other = f.run(Redeem{.member = "m-1", .points = 11}, idem("k1", 2));
    CHECK(code_of(other) == ErrorCode::idempotency_key_reused);
    CHECK(f.balance("m-1").available == 97);
  }
  SUBCASE("keys are scoped to the API key") {
    auto r = idem("k1", 1);
    r.scope = "other-key";
    auto out = f.run(Redeem{.member = "m-1", .points = 10}, r);
    CHECK_FALSE(out.replayed);
    CHECK(f.balance("m-1").available == 87);
  }
  SUBCASE("a 409 is stored and replayed") {
    auto refused = f.run(Redeem{.member = "m-1", .points = 1000}, idem("k2", 3));
    CHECK(code_of(refused) == ErrorCode::insufficient_points);
    f.ok(Adjust{.member = "m-1", .points = 5000, .reason = "top up"});
    auto replay = f.run(Redeem{.member = "m-1", .points = 1000}, idem("k2", 3));
    check_replays(replay, refused);
    CHECK(code_of(replay) == ErrorCode::insufficient_points);
  }
  SUBCASE("a 404 is stored and replayed") {
    auto refused = f.run(Redeem{.member = "ghost", .points = 1}, idem("k3", 4));
    CHECK(code_of(refused) == ErrorCode::member_not_found);
    f.enroll("ghost");
    auto replay = f.run(Redeem{.member = "ghost", .points = 1}, idem("k3", 4));
    check_replays(replay, refused);
  }
  SUBCASE("a 400 is not stored: a corrected retry with the same key is processed") {
    CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 0}, idem("k4", 5))) ==
          ErrorCode::invalid_request);
    auto retry = f.run(Redeem{.member = "m-1", .points = 5}, idem("k4", 6));
    REQUIRE(retry.status);
    CHECK_FALSE(retry.replayed);
    CHECK(f.balance("m-1").available == 92);
  }
  SUBCASE("records survive a reopen") {
    f.reopen();
    auto replay = f.run(Redeem{.member = "m-1", .points = 10}, idem("k1", 1));
    check_replays(replay, first);
    CHECK(f.balance("m-1").available == 97);
  }
  SUBCASE("records are purged after the ttl") {
    f.advance_days(7);
    auto fresh = f.run(Redeem{.member = "m-1", .points = 10}, idem("k1", 1));
    REQUIRE(fresh.status);
    CHECK_FALSE(fresh.replayed);
    CHECK(f.balance("m-1").available == 87);
    // The purge deleted the old record and the new one replaces it, across a reopen too.
    f.reopen();
    auto replay = f.run(Redeem{.member = "m-1", .points = 10}, idem("k1", 1));
    check_replays(replay, fresh);
    CHECK(f.balance("m-1").available == 87);
    f.advance_days(7);
    f.reopen();
    CHECK_FALSE(f.run(Redeem{.member = "m-1", .points = 10}, idem("k1", 1)).replayed);
    CHECK(f.balance("m-1").available == 77);
  }
}

TEST_CASE("every command's outcome replays field by field, before and after a reopen") {
  const char* offers = R"json({"offers": [
    {"id": "vinyl", "name": "Vinyl \"week\"", "when": "any(event.items, item.category == 'vinyl')",
     "award": "25"},
    {"id": "all", "name": "Everyone", "award": "3"}]})json";
  const char* tiers = R"({"window_days": 30, "levels": [{"id": "fan", "threshold": 0},
    {"id": "superfan", "threshold": 40}]})";
  Fixture f(make_rules({{"program.json", program_json(1, R"({"policy": "fixed", "days": 30})",
                                                      tiers)},
                        {"offers.json", offers}}));
  std::vector<std::pair<Command, CommandOutcome>> firsts;
  std::uint8_t n = 0;
  auto run = [&](Command c) {
    auto out = f.run(c, idem("every-" + std::to_string(n), n));
    ++n;
    INFO("command " << int(n));
    REQUIRE(out.status);
    firsts.emplace_back(std::move(c), out);
    return out;
  };
  EnrollMember enroll{.id = "m-1", .birthday = CivilDate{1990, 2, 28}};
  enroll.attributes.emplace("city", std::string("Lyon"));
  enroll.attributes.emplace("age", std::int64_t{36});
  run(enroll);
  RecordEvent buy = purchase("m-1", "60.00");
  rules::Item vinyl;
  vinyl.sku = "LP-1";
  vinyl.category = "vinyl";
  vinyl.unit_price = money("20.00");
  vinyl.total = vinyl.unit_price;
  buy.event.items.push_back(vinyl);
  auto bought = run(buy);
  CHECK(bought.offers.size() == 2);
  f.advance_days(2);  // vested: the balance lists what expires
  run(purchase("m-1", "1.00"));
  PatchMember patch{.id = "m-1", .birthday = CivilDate{1991, 3, 1}};
  patch.attributes["city"] = std::nullopt;
  run(patch);
  auto hold = run(CreateHold{.member = "m-1", .points = 20, .order_id = "o-9"});
  run(CaptureHold{.hold = hold.hold->id, .points = 5});
  auto other = run(CreateHold{.member = "m-1", .points = 4});
  run(VoidHold{.hold = other.hold->id});
  auto redeemed = run(Redeem{.member = "m-1", .points = 6, .order_id = "r-1"});
  run(Reverse{.seq = redeemed.entries[0].seq, .points = 2, .reason = "refund"});
  run(Adjust{.member = "m-1", .points = -3, .reason = "goodwill"});
  REQUIRE(firsts.back().second.balance);
  CHECK_FALSE(firsts.back().second.balance->expiring.empty());
  for (bool reopened : {false, true}) {
    if (reopened) f.reopen();
    const Seq last = f.ledger->last_seq();
    for (std::size_t i = 0; i < firsts.size(); ++i) {
      INFO("command " << i + 1 << (reopened ? " after a reopen" : ""));
      auto replay = f.run(firsts[i].first, idem("every-" + std::to_string(i), std::uint8_t(i)));
      check_replays(replay, firsts[i].second);
    }
    CHECK(f.ledger->last_seq() == last);
  }
}

TEST_CASE("concurrent duplicates of one idempotency key apply once") {
  Fixture f;
  f.funded("m-1", "100.00");
  std::vector<std::future<CommandOutcome>> outs;
  for (int i = 0; i < 50; ++i) {
    outs.push_back(f.ledger->submit(Redeem{.member = "m-1", .points = 10}, idem("dup", 9)));
  }
  int applied = 0;
  int replayed = 0;
  std::vector<CommandOutcome> replays;
  CommandOutcome first;
  for (auto& o : outs) {
    auto out = o.get();
    REQUIRE(out.status);
    if (out.replayed) {
      ++replayed;
      replays.push_back(std::move(out));
    } else {
      ++applied;
      first = std::move(out);
    }
  }
  // Some came in the batch that applied it (replayed from the batch's copy of the record).
  for (const auto& r : replays) check_replays(r, first);
  CHECK(applied == 1);
  CHECK(replayed == 49);
  CHECK(f.balance("m-1").available == 90);
}

TEST_CASE("reopening the data dir gives identical balances, holds and chain head") {
  Fixture f(simple_rules(2, R"({"policy": "fixed", "days": 30})"));
  f.funded("m-1", "100.00");
  f.funded("m-2", "50.00");
  f.advance_days(2);
  f.ok(Redeem{.member = "m-1", .points = 30});
  auto h = f.ok(CreateHold{.member = "m-2", .points = 20});
  f.ok(purchase("m-1", "5.00"));
  auto b1 = f.balance("m-1");
  auto b2 = f.balance("m-2");
  std::string head = f.ledger->chain_head();
  Seq last = f.ledger->last_seq();
  f.reopen();
  CHECK(f.ledger->chain_head() == head);
  CHECK(f.ledger->last_seq() == last);
  auto a1 = f.balance("m-1");
  auto a2 = f.balance("m-2");
  CHECK(a1.available == b1.available);
  CHECK(a1.pending == b1.pending);
  CHECK(a1.expiring.size() == b1.expiring.size());
  CHECK(a2.held == b2.held);
  CHECK(f.ledger->hold(h.hold->id)->status == HoldStatus::active);
  // The journal chain links: each entry's hash covers the previous one.
  auto page = f.ledger->journal(0, 1000);
  REQUIRE(page);
  CHECK(page->entries.size() == last);
  CHECK(page->chain_head == head);
  CHECK(hash_hex(page->entries.back().hash) == head);
  // Writes continue from where they were.
  auto next = f.ok(Redeem{.member = "m-1", .points = 1});
  CHECK(next.entries[0].seq == last + 1);
  f.advance_days(1);
  f.check_sum("m-1");
  f.check_sum("m-2");
}

TEST_CASE("a storage error stops the writer: later commands are unavailable") {
  Fixture f;
  f.funded("m-1", "100.00");
  Seq before = f.ledger->last_seq();
  f.ledger->fail_writes_for_testing();
  auto out = f.run(Redeem{.member = "m-1", .points = 10});
  CHECK(code_of(out) == ErrorCode::unavailable);
  CHECK_FALSE(f.ledger->healthy());
  // Nothing half-written is visible.
  CHECK(f.balance("m-1").available == 100);
  CHECK(f.ledger->last_seq() == before);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 10})) == ErrorCode::unavailable);
  CHECK(code_of(f.run(EnrollMember{.id = "m-2"})) == ErrorCode::unavailable);
  // After a restart the state is the last durable one.
  f.reopen();
  CHECK(f.ledger->healthy());
  CHECK(f.balance("m-1").available == 100);
  CHECK(f.ledger->last_seq() == before);
}

TEST_CASE("the same commands applied twice give the same chain head") {
  auto script = [](Fixture& f) {
    f.funded("m-1", "100.00");
    f.funded("m-2", "42.00");
    f.ok(AdvanceClock{86'400});
    f.ok(Redeem{.member = "m-1", .points = 7});
    auto h = f.ok(CreateHold{.member = "m-2", .points = 40});
    f.ok(CaptureHold{.hold = h.hold->id, .points = 12});
    f.ok(Adjust{.member = "m-2", .points = -100, .reason = "oops"});
    f.ok(AdvanceClock{86'400});
    f.ok(purchase("m-2", "250.00"));
    return f.ledger->chain_head();
  };
  auto rules = simple_rules(1, R"({"policy": "fixed", "days": 365})");
  Fixture a(rules);
  Fixture b(rules);
  std::string head_a = script(a);
  std::string head_b = script(b);
  CHECK(head_a.size() == 64);
  CHECK(head_a == head_b);
}

TEST_CASE("a full queue answers unavailable at once") {
  Fixture f;
  f.extra.queue_max = 1;
  f.reopen();
  f.enroll("m-1");
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> done{0};
  constexpr int kCommands = 2000;
  for (int i = 0; i < kCommands; ++i) {
    f.ledger->submit(Adjust{.member = "m-1", .points = 1, .reason = "x"}, std::nullopt,
                     [&](CommandOutcome out) {
                       if (out.status) {
                         ++ok;
                       } else if (out.status.code() == ErrorCode::unavailable) {
                         ++unavailable;
                       }
                       ++done;
                     });
  }
  while (done.load() < kCommands) std::this_thread::yield();
  CHECK(ok + unavailable == kCommands);
  CHECK(unavailable > 0);
  CHECK(f.balance("m-1").available == ok.load());
}

TEST_CASE("32 threads redeeming from one member never overdraw") {
  Fixture f;
  f.enroll("m-1");
  f.ok(Adjust{.member = "m-1", .points = 1000, .reason = "stock"});
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto out = f.ledger->submit(Redeem{.member = "m-1", .points = 7}).get();
        if (out.status) {
          ++succeeded;
        } else {
          CHECK(out.status.code() == ErrorCode::insufficient_points);
          ++refused;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(succeeded == 1000 / 7);
  CHECK(refused == 320 - 1000 / 7);
  CHECK(f.balance("m-1").available == 1000 % 7);
  f.check_sum("m-1");
}

TEST_CASE("every durable batch is one timed WAL sync in the fsync histogram") {
  Fixture f;
  const LedgerStats before = f.ledger->stats();
  f.funded("m-fsync", "10.00");
  f.ok(Redeem{.member = "m-fsync", .points = 1});
  f.ok(Redeem{.member = "m-fsync", .points = 1});
  const LedgerStats after = f.ledger->stats();
  const std::uint64_t batches = after.batches - before.batches;
  REQUIRE(batches >= 3);
  // One command at a time: each batch is answered after its own sync (pipelined syncs cover
  // several batches only when the writer runs ahead).
  CHECK(after.fsync_count - before.fsync_count == batches);
  std::uint64_t in_buckets = 0;
  for (auto n : after.fsync_buckets) in_buckets += n;
  CHECK(in_buckets == after.fsync_count);
  CHECK(after.fsync_sum_us >= before.fsync_sum_us);
}

}  // namespace encore::ledger::testing
