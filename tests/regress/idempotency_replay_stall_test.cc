// Regression (found by ledger_bench, 2026-11-23): replaying an idempotency key reads its
// record with a RocksDB Get on the writer thread, and the idempotency family uses the vector
// memtable, whose Get sorts a copy of the whole memtable. With 12,000-20,000 recent records each
// replay held the writer for 6-10 ms (50,000: ~20 ms), stalling every other command: a
// burst of client retries would stall the ledger. A replay must cost about what a new
// command costs.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

IdempotencyRequest request(int i) {
  IdempotencyRequest r;
  r.scope = "pos";
  r.key = "k-" + std::to_string(i);
  r.fingerprint.fill(static_cast<std::uint8_t>(i));
  return r;
}

Command adjust() { return Adjust{.member = "m-1", .points = 1, .reason = "r"}; }

// Submits keys [from, from + n) at once and waits for all; returns the seconds taken.
double burst(Fixture& f, int from, int n, bool* all_replayed) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::future<CommandOutcome>> futures;
  for (int i = from; i < from + n; ++i) futures.push_back(f.ledger->submit(adjust(), request(i)));
  *all_replayed = true;
  for (auto& fu : futures) {
    auto out = fu.get();
    REQUIRE(out.status);
    if (!out.replayed) *all_replayed = false;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("replaying recent idempotency keys costs about what new commands cost") {
  Fixture f;
  f.enroll("m-1");
  constexpr int kWritten = 12'000;
  constexpr int kBurst = 100;
  std::atomic<int> done{0};
  for (int i = 0; i < kWritten; ++i) {
    while (i - done.load() >= 2'048) std::this_thread::yield();
    f.ledger->submit(adjust(), request(i), [&](CommandOutcome) { done.fetch_add(1); });
  }
  while (done.load() < kWritten) std::this_thread::yield();
  bool replayed = false;
  const double fresh = burst(f, kWritten, kBurst, &replayed);
  CHECK_FALSE(replayed);
  const double replays = burst(f, kWritten - 3'000, kBurst, &replayed);
  CHECK(replayed);
  MESSAGE(kBurst << " new commands: " << fresh * 1e3 << " ms; " << kBurst
                 << " replays of recent keys: " << replays * 1e3 << " ms");
  CHECK(replays < std::max(4 * fresh, 0.1));
}

}  // namespace encore::ledger::testing
