// Proves `verify` (and `encore verify`): a ledger after many commands verifies; each kind of
// tampering done with RocksDB directly (a changed, missing or re-hashed journal entry, a
// member balance, lot, hold, counter, offer budget or the chain head in meta) is caught and named.
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ledger/internal/codec.h"
#include "ledger/internal/state.h"
#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

constexpr const char* kOffers = R"json({"offers": [
  {"id": "double", "name": "Double points", "award": "base", "priority": 10},
  {"id": "thanks", "name": "Thanks for the feedback", "on": "feedback", "award": "5"}
]})json";

// The data dir opened with RocksDB itself, as an intruder (or a bad disk) would.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), descriptors, &handles_, &db)
                .ok());
    db_.reset(db);
    names_ = names;
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
  rocksdb::ColumnFamilyHandle* family(const std::string& name) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return handles_[i];
    }
    FAIL("no column family " << name);
    return nullptr;
  }
  std::string get(const std::string& fam, const std::string& key) {
    std::string v;
    REQUIRE(db_->Get(rocksdb::ReadOptions(), family(fam), key, &v).ok());
    return v;
  }
  void put(const std::string& fam, const std::string& key, const std::string& value) {
    REQUIRE(db_->Put(rocksdb::WriteOptions(), family(fam), key, value).ok());
  }
  void del(const std::string& fam, const std::string& key) {
    REQUIRE(db_->Delete(rocksdb::WriteOptions(), family(fam), key).ok());
  }
  Entry entry(Seq seq) {
    auto e = internal::decode_journal_value(get("journal", internal::be64_key(seq)));
    REQUIRE(e);
    return *e;
  }
  // Rewrites an entry, keeping its stored hash (the chain then breaks).
  void put_entry_keep_hash(const Entry& e) {
    put("journal", internal::be64_key(e.seq),
        internal::journal_value(e, internal::encode_entry(e)));
  }
  // Rewrites entries [from, last] with a consistent chain and meta, as a careful forger would.
  void rehash_from(Seq from, Seq last) {
    Hash prev{};
    if (from > 1) prev = entry(from - 1).hash;
    for (Seq s = from; s <= last; ++s) {
      Entry e = entry(s);
      std::string enc = internal::encode_entry(e);
      e.hash = internal::chain_hash(prev, enc);
      put("journal", internal::be64_key(s), internal::journal_value(e, enc));
      prev = e.hash;
    }
    put("meta", "chain_head", std::string(reinterpret_cast<const char*>(prev.data()), 32));
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> names_;
};

// A ledger with every kind of entry: offers, holds captured/voided/expired, reversals,
// adjustments, vesting, expiry and tier changes.
void busy_ledger(Fixture& f) {
  for (int i = 0; i < 20; ++i) f.enroll("m-" + std::to_string(i));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i) {
      std::string id = "m-" + std::to_string(i);
      f.ok(purchase(id, (std::to_string(10 + i * 7 + round) + ".50").c_str()));
    }
    f.advance_days(2);
  }
  RecordEvent feedback;
  feedback.member = "m-3";
  feedback.event.type = "feedback";
  f.ok(feedback);
  f.ok(Redeem{.member = "m-1", .points = 30});
  auto h1 = f.ok(CreateHold{.member = "m-2", .points = 40});
  f.ok(CaptureHold{.hold = h1.hold->id, .points = 15});
  auto h2 = f.ok(CreateHold{.member = "m-4", .points = 20});
  f.ok(VoidHold{.hold = h2.hold->id});
  f.ok(CreateHold{.member = "m-5", .points = 10, .ttl_seconds = 60});
  Seq accrual = f.ok(purchase("m-6", "80.00")).entries[0].seq;
  f.ok(Reverse{.seq = accrual, .points = 30});
  Seq redemption = f.ok(Redeem{.member = "m-7", .points = 25}).entries[0].seq;
  f.ok(Reverse{.seq = redemption});
  f.ok(Adjust{.member = "m-8", .points = -500, .reason = "debt"});
  f.ok(Adjust{.member = "m-9", .points = 77, .reason = "gift"});
  f.advance_days(40);  // the short hold expires, lots expire, tiers fall
  f.ok(purchase("m-10", "300.00"));
}

std::shared_ptr<const rules::RuleSet> busy_rules() {
  const std::string tiers = R"({"window_days": 30, "levels": [
      {"id": "fan", "threshold": 0},
      {"id": "superfan", "threshold": 150, "multiplier": "2"}]})";
  return make_rules({{"program.json", program_json(1, R"({"policy": "fixed", "days": 30})",
                                                   tiers)},
                     {"offers.json", kOffers}});
}

// Verifies and returns the difference ("" when the ledger verifies).
std::string verify_difference(const std::filesystem::path& dir) {
  VerifyReport report;
  Status s = verify(dir, {}, &report);
  if (s) return "";
  CHECK(s.code() == ErrorCode::internal);
  CHECK(report.difference == s.error().detail);
  return s.error().detail;
}

int run_cli(const std::filesystem::path& dir) {
  std::string cmd = std::string(ENCORE_CLI_PATH) + " verify --data '" + dir.string() +
                    "' > /dev/null 2>&1";
  int rc = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(rc));
  return WEXITSTATUS(rc);
}

}  // namespace

TEST_CASE("a member record encodes and decodes every field exactly (lots relative to each other)") {
  std::mt19937_64 rng(7);
  auto any = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  for (int round = 0; round < 2'000; ++round) {
    internal::MemberState m;
    m.profile.id = "m-" + std::to_string(round);
    m.profile.tier = round % 2 ? "fan" : "";
    if (round % 3) m.profile.birthday = CivilDate{1950 + round % 60, 1 + round % 12, 1};
    m.profile.attributes["city"] = std::string("Lyon");
    m.profile.attributes["n"] = any(INT64_MIN / 2, INT64_MAX / 2);
    m.total = any(-1'000'000, 1'000'000'000'000);
    m.pending = any(0, 1'000);
    m.visits = any(0, 10'000);
    if (round % 4) m.last_purchase_at = Timestamp{any(INT64_MIN / 4, INT64_MAX / 4)};
    Seq seq = static_cast<Seq>(any(1, 1'000));
    for (int i = 0, n = static_cast<int>(any(0, 40)); i < n; ++i) {
      seq += static_cast<Seq>(any(1, 100'000));
      internal::Lot lot;
      lot.remaining = any(0, 1'000'000);
      lot.held = any(0, 1'000);
      // Vesting times that go back and forth; extreme values; never and finite expiries.
      lot.vests_at =
          Timestamp{i % 7 == 0 ? any(INT64_MIN, INT64_MAX) : any(0, 4'000'000'000'000'000)};
      lot.expires_at = i % 3 == 0 ? internal::never : Timestamp{any(INT64_MIN, INT64_MAX - 1)};
      lot.vested = any(0, 1) == 1;
      m.lots.emplace(seq, lot);
    }
    m.window[any(19'000, 21'000)] = any(-5, 500);
    m.reversed[seq + 1] = any(1, 99);
    m.offer_uses["welcome"] = {Timestamp{any(0, 1'000'000)}, Timestamp{any(0, 1'000'000)}};
    for (int i = 0, n = static_cast<int>(any(0, 30)); i < n; ++i) {  // back and forth, extremes
      const std::int64_t t = i % 5 ? any(0, INT64_MAX / 2) : any(INT64_MIN, INT64_MAX);
      m.offer_uses["vinyl"].push_back(Timestamp{t});
    }
    m.as_of = seq + 2;
    const std::string encoded = internal::encode_member(m);
    internal::MemberState d;
    REQUIRE(internal::decode_member(encoded, &d).is_ok());
    CHECK(d.lots == m.lots);
    CHECK(d.window == m.window);
    CHECK(d.reversed == m.reversed);
    CHECK(d.offer_uses == m.offer_uses);
    CHECK(d.profile.attributes == m.profile.attributes);
    CHECK(d.profile.birthday == m.profile.birthday);
    CHECK(d.profile.tier == m.profile.tier);
    CHECK(d.total == m.total);
    CHECK(d.visits == m.visits);
    CHECK(d.last_purchase_at == m.last_purchase_at);
    CHECK(d.as_of == m.as_of);
    d.profile.id = m.profile.id;
    CHECK(internal::encode_member(d) == encoded);
  }
}

TEST_CASE("verify passes on a ledger after many commands and reports what it replayed") {
  Fixture f(busy_rules());
  busy_ledger(f);
  const Seq last = f.ledger->last_seq();
  const std::string head = f.ledger->chain_head();
  f.ledger.reset();
  Seq calls = 0;
  Seq seen_total = 0;
  VerifyReport report;
  Status s = verify(f.dir.path(), [&](Seq, Seq total) { ++calls; seen_total = total; }, &report);
  if (!s) FAIL(s.error().detail);
  CHECK(report.entries == last);
  CHECK(report.chain_head == head);
  CHECK(report.members == 20);
  CHECK(report.lots > 0);
  CHECK(report.holds == 3);
  CHECK(report.difference.empty());
  CHECK(calls >= 2);
  CHECK(seen_total == last);
  // Reopening after verify works: verify wrote nothing.
  f.open();
  CHECK(f.ledger->chain_head() == head);
}

TEST_CASE("verify rebuilds profiles, visits and the inactivity expiry no entry carries") {
  Fixture f(simple_rules(0, R"({"policy": "inactivity", "days": 30})"));
  f.ok(EnrollMember{.id = "m-1",
                    .birthday = CivilDate{1990, 4, 2},
                    .attributes = {{"city", std::string("Lyon")}, {"fan_club", true}}});
  f.enroll("m-2");
  f.enroll("m-3");
  f.ok(purchase("m-1", "20.00"));
  f.ok(purchase("m-2", "0.40"));  // a visit that earns nothing
  RecordEvent feedback;
  feedback.member = "m-3";
  feedback.event.type = "feedback";  // not a purchase: no visit
  f.ok(feedback);
  f.ok(PatchMember{.id = "m-1",
                   .attributes = {{"city", std::nullopt}, {"vip", std::int64_t{2}}},
                   .birthday = CivilDate{1991, 5, 3},
                   .status = MemberStatus::frozen});
  f.advance_days(31);  // m-1's points and m-2's (none) expire for inactivity
  f.ok(purchase("m-1", "30.00"));
  f.ok(PatchMember{.id = "m-1", .status = MemberStatus::active});
  f.reopen();
  f.ledger.reset();
  REQUIRE(verify_difference(f.dir.path()).empty());

  auto tamper = [&](const char* id, auto change) {
    RawDb db(f.dir.path());
    internal::MemberState m;
    REQUIRE(internal::decode_member(db.get("members", id), &m).is_ok());
    change(m);
    db.put("members", id, internal::encode_member(m));
  };
  SUBCASE("visits") {
    tamper("m-1", [](internal::MemberState& m) { m.visits += 1; });
    CHECK(verify_difference(f.dir.path()) == "member 'm-1': visits is 3 stored, 2 replayed");
  }
  SUBCASE("an attribute") {
    tamper("m-1", [](internal::MemberState& m) { m.profile.attributes["city"] = "Paris"; });
    CHECK(verify_difference(f.dir.path()) ==
          "member 'm-1': its attributes differ from the replay");
  }
  SUBCASE("the status") {
    tamper("m-1", [](internal::MemberState& m) { m.profile.status = MemberStatus::frozen; });
    CHECK(verify_difference(f.dir.path()).starts_with("member 'm-1': status is 'frozen'"));
  }
  SUBCASE("the birthday") {
    tamper("m-1", [](internal::MemberState& m) { m.profile.birthday.reset(); });
    CHECK(verify_difference(f.dir.path()) ==
          "member 'm-1': birthday is 'none' stored, '1991-05-03' replayed");
  }
  SUBCASE("an inactivity expiry the timer cleared") {
    tamper("m-2", [](internal::MemberState& m) { m.inactivity_expires = t0().plus_days(30); });
    CHECK(verify_difference(f.dir.path()).starts_with("member 'm-2': inactivity expiry is "));
  }
  SUBCASE("the last purchase") {
    tamper("m-3", [](internal::MemberState& m) { m.last_purchase_at = t0(); });
    CHECK(verify_difference(f.dir.path()).starts_with("member 'm-3': last purchase is "));
  }
  SUBCASE("a profile change of a member never enrolled") {
    internal::ProfileChange ghost{.member = "m-ghost", .status = MemberStatus::frozen};
    RawDb(f.dir.path()).put("profiles", internal::be64_key(99), internal::encode_profile(ghost, 1));
    CHECK(verify_difference(f.dir.path()) ==
          "profile change 99 (after entry 1) names member 'm-ghost', never enrolled");
  }
}

TEST_CASE("verify reads a ledger that is open and writing (read-only, no lock taken)") {
  Fixture f(busy_rules());
  busy_ledger(f);
  VerifyReport report;
  Status s = verify(f.dir.path(), {}, &report);
  if (!s) FAIL(s.error().detail);
  CHECK(report.entries == f.ledger->last_seq());
  f.ok(purchase("m-1", "12.00"));  // the ledger still writes afterwards
  CHECK(f.ledger->healthy());
}

TEST_CASE("verify on an empty ledger and on a missing data dir") {
  Fixture f;
  f.ledger.reset();
  VerifyReport report;
  CHECK(verify(f.dir.path(), {}, &report).is_ok());
  CHECK(report.entries == 0);
  Status missing = verify(f.dir.path() / "nope", {}, nullptr);
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.code() == ErrorCode::unavailable);
}

// The busy ledger is built once; each subcase tampers with its own copy of the data dir.
struct BusyTemplate {
  Fixture fixture{busy_rules()};
  Seq last = 0;
  BusyTemplate() {
    busy_ledger(fixture);
    last = fixture.ledger->last_seq();
    fixture.ledger.reset();
  }
};

TEST_CASE("tampering with the stored ledger is caught and named") {
  static BusyTemplate busy;
  const Seq last = busy.last;
  struct Copy {
    TempDir dir;
  } f;
  std::filesystem::copy(busy.fixture.dir.path(), f.dir.path(),
                        std::filesystem::copy_options::recursive);
  REQUIRE(verify_difference(f.dir.path()).empty());
  // Find entries of some kinds to tamper with.
  Seq redemption = 0;
  {
    RawDb db(f.dir.path());
    for (Seq s = 1; s <= last && redemption == 0; ++s) {
      if (db.entry(s).kind == EntryKind::redemption) redemption = s;
    }
  }
  REQUIRE(redemption != 0);

  SUBCASE("a changed journal value breaks the hash chain") {
    {
      RawDb db(f.dir.path());
      Entry e = db.entry(redemption);
      e.points -= 1;
      db.put_entry_keep_hash(e);
    }
    std::string d = verify_difference(f.dir.path());
    CHECK(d == "journal entry " + std::to_string(redemption) +
                   " was changed: its hash does not follow the chain");
  }
  SUBCASE("a changed byte that no longer decodes is named") {
    {
      RawDb db(f.dir.path());
      std::string v = db.get("journal", internal::be64_key(5));
      v.resize(v.size() - 40);
      v += std::string(32, 'x');
      db.put("journal", internal::be64_key(5), v);
    }
    CHECK(verify_difference(f.dir.path()).starts_with("journal entry 5"));
  }
  SUBCASE("a missing entry in the middle") {
    RawDb(f.dir.path()).del("journal", internal::be64_key(7));
    CHECK(verify_difference(f.dir.path()) ==
          "journal entry 7 is missing (the next stored is 8)");
  }
  SUBCASE("a missing last entry") {
    RawDb(f.dir.path()).del("journal", internal::be64_key(last));
    CHECK(verify_difference(f.dir.path()).starts_with("meta last_seq is " +
                                                      std::to_string(last)));
  }
  SUBCASE("a changed entry with a re-forged chain still differs from the balances") {
    {
      RawDb db(f.dir.path());
      Entry e = db.entry(redemption);
      e.points += 1;  // one point less redeemed
      db.put_entry_keep_hash(e);
      db.rehash_from(redemption, last);
    }
    std::string d = verify_difference(f.dir.path());
    CHECK(d.find("member 'm-1'") != std::string::npos);
  }
  SUBCASE("a changed chain head in meta") {
    RawDb(f.dir.path()).put("meta", "chain_head", std::string(32, '\x01'));
    CHECK(verify_difference(f.dir.path()).starts_with("meta chain head is 0101"));
  }
  SUBCASE("a changed member balance") {
    {
      RawDb db(f.dir.path());
      internal::MemberState m;
      REQUIRE(internal::decode_member(db.get("members", "m-12"), &m).is_ok());
      m.total += 100;
      db.put("members", "m-12", internal::encode_member(m));
    }
    std::string d = verify_difference(f.dir.path());
    CHECK(d.starts_with("member 'm-12': available is "));
  }
  SUBCASE("a member that was never enrolled") {
    {
      RawDb db(f.dir.path());
      db.put("members", "m-ghost", db.get("members", "m-12"));
    }
    CHECK(verify_difference(f.dir.path()) == "member 'm-ghost' is stored but never enrolled");
  }
  SUBCASE("a changed or missing lot (kept in the member's record)") {
    internal::MemberState m;
    Seq s = last;
    {
      RawDb db(f.dir.path());
      // The member's latest accrual still has a lot.
      for (; s > 0; --s) {
        Entry a = db.entry(s);
        if (a.kind == EntryKind::accrual && a.member == "m-10") break;
      }
      REQUIRE(s > 0);
      REQUIRE(internal::decode_member(db.get("members", "m-10"), &m).is_ok());
      REQUIRE(m.lots.contains(s));
    }
    SUBCASE("changed") {
      m.lots.at(s).remaining += 1;
      RawDb(f.dir.path()).put("members", "m-10", internal::encode_member(m));
      CHECK(verify_difference(f.dir.path()).find("of member 'm-10': remaining is") !=
            std::string::npos);
    }
    SUBCASE("missing") {
      m.lots.erase(s);
      RawDb(f.dir.path()).put("members", "m-10", internal::encode_member(m));
      CHECK(verify_difference(f.dir.path()).find("is in the replay but not stored") !=
            std::string::npos);
    }
  }
  SUBCASE("a changed offer use (kept in the member's record)") {
    {
      RawDb db(f.dir.path());
      internal::MemberState m;
      REQUIRE(internal::decode_member(db.get("members", "m-1"), &m).is_ok());
      REQUIRE(m.offer_uses.contains("double"));
      m.offer_uses["double"].push_back(m.offer_uses["double"].back());
      db.put("members", "m-1", internal::encode_member(m));
    }
    CHECK(verify_difference(f.dir.path()).starts_with("offer 'double' for member 'm-1': uses "));
  }
  SUBCASE("a changed hold") {
    {
      RawDb db(f.dir.path());
      Seq s = 1;
      for (; s <= last; ++s) {
        if (db.entry(s).kind == EntryKind::capture) break;
      }
      REQUIRE(s <= last);
      std::string id = db.entry(s).hold;
      internal::HoldState h;
      REQUIRE(internal::decode_hold(db.get("holds", id), &h).is_ok());
      h.hold.captured += 5;
      db.put("holds", id, internal::encode_hold(h));
    }
    CHECK(verify_difference(f.dir.path()).find("': captured is 20 stored, 15 replayed") !=
          std::string::npos);
  }
  SUBCASE("a changed daily counter") {
    {
      RawDb db(f.dir.path());
      Entry e = db.entry(redemption);
      std::string key = internal::be64_key(
          static_cast<std::uint64_t>(days_from_civil(utc_date(e.recorded_at))));
      internal::DayCounters c;
      REQUIRE(internal::decode_counters(db.get("counters", key), &c).is_ok());
      c.redeemed += 1;
      db.put("counters", key, internal::encode_counters(c));
    }
    CHECK(verify_difference(f.dir.path()).starts_with("daily counters of "));
  }
  SUBCASE("a changed offer budget") {
    {
      RawDb db(f.dir.path());
      internal::Encoder e;
      e.svarint(1);
      db.put("offers", "bdouble", e.out());
    }
    CHECK(verify_difference(f.dir.path()).starts_with("offer 'double': budget used is 1"));
  }
  SUBCASE("a history link changed, with a re-forged chain") {
    {
      RawDb db(f.dir.path());
      Entry e = db.entry(redemption);
      REQUIRE(e.prev != 0);
      e.prev = 0;  // would cut the member's history short at this entry
      db.put_entry_keep_hash(e);
      db.rehash_from(redemption, last);
    }
    CHECK(verify_difference(f.dir.path()).starts_with(
        "journal entry " + std::to_string(redemption) + " links to entry 0 as the member's"));
  }
}

TEST_CASE("encore verify exits 0 on good data, 2 on a difference, 1 without a ledger") {
  Fixture f(busy_rules());
  busy_ledger(f);
  f.ledger.reset();
  CHECK(run_cli(f.dir.path()) == 0);
  CHECK(run_cli(f.dir.path() / "missing") == 1);
  {
    RawDb db(f.dir.path());
    Entry e = db.entry(3);
    e.order_id = "forged";
    db.put_entry_keep_hash(e);
  }
  CHECK(run_cli(f.dir.path()) == 2);
}

}  // namespace encore::ledger::testing
