// Proves that concurrent submitters cannot overdraw: 32 threads redeeming or holding from one
// member get exactly as many successes as the balance allows, a hold is captured or voided
// once however many threads race for it, and the ledger verifies afterwards.
#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

constexpr int kThreads = 32;

// Runs fn(thread index) on kThreads threads released together.
template <typename Fn>
void race(Fn fn) {
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      fn(t);
    });
  }
  for (auto& th : threads) th.join();
}

void verify_closed(Fixture& f) {
  f.ledger.reset();
  Status s = verify(f.dir.path(), {}, nullptr);
  if (!s) FAIL(s.error().detail);
  f.open();
}

}  // namespace

TEST_CASE("32 threads redeeming 50 from a balance of 1000: exactly 20 succeed") {
  Fixture f;
  f.enroll("m-1");
  f.ok(Adjust{.member = "m-1", .points = 1000, .reason = "stock"});
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  race([&](int) {
    for (int i = 0; i < 2; ++i) {
      auto out = f.ledger->submit(Redeem{.member = "m-1", .points = 50}).get();
      if (out.status) {
        ++succeeded;
        if (out.balance->available < 0) ++other;
      } else if (out.status.code() == ErrorCode::insufficient_points) {
        ++refused;
      } else {
        ++other;
      }
    }
  });
  CHECK(succeeded == 20);
  CHECK(refused == 2 * kThreads - 20);
  CHECK(other == 0);
  CHECK(f.balance("m-1").available == 0);
  f.check_sum("m-1");
  verify_closed(f);
}

TEST_CASE("32 threads holding 50 from a balance of 1000: exactly 20 holds, then 0 available") {
  Fixture f;
  f.enroll("m-1");
  f.ok(Adjust{.member = "m-1", .points = 1000, .reason = "stock"});
  std::mutex mu;
  std::vector<std::string> holds;
  std::atomic<int> refused{0};
  race([&](int) {
    for (int i = 0; i < 2; ++i) {
      auto out = f.ledger->submit(CreateHold{.member = "m-1", .points = 50}).get();
      if (out.status) {
        std::lock_guard lock(mu);
        holds.push_back(out.hold->id);
      } else {
        CHECK(out.status.code() == ErrorCode::insufficient_points);
        ++refused;
      }
    }
  });
  REQUIRE(holds.size() == 20);
  CHECK(refused == 2 * kThreads - 20);
  Balance b = f.balance("m-1");
  CHECK(b.available == 0);
  CHECK(b.held == 1000);
  CHECK(code_of(f.run(Redeem{.member = "m-1", .points = 1})) == ErrorCode::insufficient_points);

  SUBCASE("racing captures and voids of the same holds: each hold ends once") {
    std::atomic<int> captured{0};
    std::atomic<int> voided{0};
    std::atomic<int> not_active{0};
    race([&](int t) {
      for (const auto& id : holds) {
        auto out = t % 2 == 0 ? f.ledger->submit(CaptureHold{.hold = id, .points = 30}).get()
                              : f.ledger->submit(VoidHold{.hold = id}).get();
        if (out.status) {
          (t % 2 == 0 ? captured : voided)++;
        } else {
          CHECK(out.status.code() == ErrorCode::hold_not_active);
          ++not_active;
        }
      }
    });
    CHECK(captured + voided == 20);
    CHECK(not_active == 20 * kThreads - 20);
    Balance after = f.balance("m-1");
    CHECK(after.held == 0);
    // A capture of 30 spends 30 and releases 20; a void releases 50.
    CHECK(after.available == captured * 20 + voided * 50);
    CHECK(after.total() == 1000 - captured * 30);
  }
  SUBCASE("redemptions racing holds share one balance") {
    for (const auto& id : holds) f.ok(VoidHold{.hold = id});
    std::atomic<std::int64_t> taken{0};
    std::atomic<std::int64_t> redeemed{0};
    race([&](int t) {
      for (int i = 0; i < 3; ++i) {
        auto out = t % 2 == 0
                       ? f.ledger->submit(Redeem{.member = "m-1", .points = 30}).get()
                       : f.ledger->submit(CreateHold{.member = "m-1", .points = 30}).get();
        if (out.status) {
          taken += 30;
          if (t % 2 == 0) redeemed += 30;
        } else {
          CHECK(out.status.code() == ErrorCode::insufficient_points);
        }
      }
    });
    CHECK(taken == 990);  // 33 of 96 requests fit in 1000
    Balance after = f.balance("m-1");
    CHECK(after.available == 10);
    CHECK(after.held + redeemed == 990);
    CHECK(after.total() == 1000 - redeemed);
  }
  f.check_sum("m-1");
  verify_closed(f);
}

TEST_CASE("concurrent purchases and redemptions over many members keep every balance exact") {
  Fixture f;
  constexpr int kMembers = 8;
  for (int i = 0; i < kMembers; ++i) f.enroll("c-" + std::to_string(i));
  std::atomic<std::int64_t> earned[kMembers] = {};
  std::atomic<std::int64_t> spent[kMembers] = {};
  race([&](int t) {
    for (int i = 0; i < 40; ++i) {
      int m = (t + i) % kMembers;
      std::string id = "c-" + std::to_string(m);
      if ((t + i) % 3 == 0) {
        auto out = f.ledger->submit(Redeem{.member = id, .points = 7}).get();
        if (out.status) spent[m] += 7;
      } else {
        auto out = f.ledger->submit(purchase(id, "5.00")).get();
        REQUIRE(out.status);
        earned[m] += out.points;
      }
    }
  });
  for (int m = 0; m < kMembers; ++m) {
    std::string id = "c-" + std::to_string(m);
    Balance b = f.balance(id);
    CHECK(b.available == earned[m] - spent[m]);
    CHECK(b.available >= 0);
    CHECK(b.lifetime_earned == earned[m]);
    f.check_sum(id);
  }
  verify_closed(f);
}

}  // namespace encore::ledger::testing
