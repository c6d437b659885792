// Helpers for the ledger tests: a temp data dir, rule sets from strings, a ledger on a
// manual clock, and a check that a member's entries sum to their balance.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "rules/rules.h"

namespace encore::ledger::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("encore-ledger-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A program file: pending days, expiry JSON, optional tiers JSON.
inline std::string program_json(int pending_days = 0,
                                 const std::string& expiry = R"({"policy": "none"})",
                                 const std::string& tiers = "") {
  std::string s = R"({"program": {"name": "Test Club", "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"}, "pending_days": )" +
                  std::to_string(pending_days) + R"(, "expiry": )" + expiry +
                  R"(, "max_backdate_days": 7})";
  if (!tiers.empty()) s += R"(, "tiers": )" + tiers;
  s += "}";
  return s;
}

inline std::shared_ptr<const rules::RuleSet> make_rules(std::vector<rules::RuleFile> files) {
  auto loaded = rules::load_files(std::move(files));
  for (const auto& e : loaded.errors) MESSAGE(e.to_string());
  REQUIRE(loaded.rule_set);
  return loaded.rule_set;
}

inline std::shared_ptr<const rules::RuleSet> simple_rules(int pending_days = 0,
                                                          const std::string& expiry =
                                                              R"({"policy": "none"})",
                                                          const std::string& tiers = "") {
  return make_rules({{"program.json", program_json(pending_days, expiry, tiers)}});
}

inline Timestamp t0() { return parse_rfc3339("2026-11-22T12:00:00Z").value(); }

inline Money money(const char* text) { return Decimal::parse(text).value(); }

inline RecordEvent purchase(const std::string& member, const char* total) {
  RecordEvent e;
  e.member = member;
  e.event.type = "purchase";
  e.event.total = money(total);
  return e;
}

struct Fixture {
  TempDir dir;
  ManualClock clock{t0()};
  std::shared_ptr<const rules::RuleSet> rules;
  std::unique_ptr<Ledger> ledger;
  LedgerOptions extra;

  explicit Fixture(std::shared_ptr<const rules::RuleSet> r = simple_rules()) : rules(std::move(r)) {
    open();
  }

  void open() {
    LedgerOptions o = extra;
    // ctest runs this binary twice: once per SyncMode (ledger_test_per_batch).
    const char* mode = std::getenv("ENCORE_LEDGER_SYNC_MODE");
    if (mode != nullptr && std::string(mode) == "per_batch") o.sync_mode = SyncMode::per_batch;
    o.data_dir = dir.path();
    o.clock = &clock;
    o.manual_clock = &clock;
    auto l = Ledger::open(o, rules);
    if (!l) FAIL((l.error().detail));
    ledger = std::move(l).value();
  }
  void reopen() {
    ledger.reset();
    open();
  }

  CommandOutcome run(Command c, std::optional<IdempotencyRequest> idem = {}) {
    return ledger->submit(std::move(c), std::move(idem)).get();
  }
  CommandOutcome ok(Command c) {
    auto out = run(std::move(c));
    if (!out.status) {
      FAIL((std::string(error_code_name(out.status.code())) + ": " + out.status.error().detail));
    }
    return out;
  }
  void enroll(const std::string& id) { ok(EnrollMember{.id = id}); }
  // Enrolls and gives `points` available points through a purchase.
  void funded(const std::string& id, const char* total) {
    enroll(id);
    ok(purchase(id, total));
  }
  Balance balance(const std::string& id) {
    auto b = ledger->balance(id);
    REQUIRE(b);
    return *b;
  }
  void advance_days(std::int64_t days) { ok(AdvanceClock{days * 86'400}); }

  // Every entry of the member, oldest first.
  std::vector<Entry> history(const std::string& id) {
    std::vector<Entry> all;
    std::optional<Seq> before;
    while (true) {
      auto page = ledger->entries(id, before, 7);
      REQUIRE(page);
      all.insert(all.end(), page->entries.begin(), page->entries.end());
      if (!page->next_before) break;
      before = page->next_before;
    }
    std::reverse(all.begin(), all.end());
    return all;
  }
  // API.md: total = available + pending + held = the sum of the member's entries' points.
  void check_sum(const std::string& id) {
    std::int64_t sum = 0;
    for (const auto& e : history(id)) sum += e.points;
    CHECK(balance(id).total() == sum);
  }
};

inline ErrorCode code_of(const CommandOutcome& out) {
  REQUIRE_FALSE(out.status.is_ok());
  return out.status.code();
}

template <typename T>
ErrorCode code_of_result(const Result<T>& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error().code;
}

}  // namespace encore::ledger::testing
