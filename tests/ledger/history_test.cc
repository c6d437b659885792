// Proves the `events` family: every applied event is recorded in order, in the same write,
// with the member view it was evaluated with, the event and what it earned (also when it
// earned 0); failed events are not; the record survives a reopen and numbering continues;
// it reads read-only while the ledger is open, filtered by event time; a data dir from
// before the family reads as empty and gets the family when opened.
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include "ledger/history.h"
#include "ledger/internal/event_record.h"
#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

constexpr const char* kOffers = R"json({"offers": [
  {"id": "double", "name": "Double points", "award": "base", "limit": {"per_member": 1}},
  {"id": "vinyl", "name": "Vinyl bonus", "when": "any(event.items, item.category == 'vinyl')",
   "award": "50"}
]})json";

std::shared_ptr<const rules::RuleSet> offer_rules() {
  return make_rules({{"offers.json", kOffers}, {"program.json", program_json()}});
}

std::vector<RecordedEvent> all_events(const std::filesystem::path& dir,
                                      Timestamp from = Timestamp{INT64_MIN},
                                      Timestamp to = Timestamp{INT64_MAX}) {
  std::vector<RecordedEvent> out;
  Status s = for_each_event(dir, from, to, [&](const RecordedEvent& r) {
    out.push_back(r);
    return true;
  });
  if (!s) FAIL(s.error().detail);
  return out;
}

RecordEvent vinyl_purchase(const std::string& member) {
  RecordEvent e = purchase(member, "25.50");
  e.event.channel = "app";
  e.event.store = "s-9";
  e.event.order_id = "o-1";
  rules::Item item;
  item.sku = "LP-1";
  item.category = "vinyl";
  item.quantity = 2;
  item.unit_price = money("12.75");
  item.total = money("25.50");
  e.event.items.push_back(item);
  e.event.attributes.emplace("coupon", std::string("XMAS"));
  return e;
}

}  // namespace

TEST_CASE("each applied event is recorded in order with its member view, event and result") {
  Fixture f(offer_rules());
  EnrollMember enroll{.id = "m-1"};
  enroll.birthday = CivilDate{1990, 12, 24};
  enroll.attributes.emplace("city", std::string("Lyon"));
  enroll.attributes.emplace("age", std::int64_t{36});
  f.ok(enroll);
  f.ok(vinyl_purchase("m-1"));  // seqs 2-4: base 25, double 25, vinyl 50
  f.clock.advance_seconds(3'600);
  f.ok(purchase("m-1", "10.00"));  // seq 5: base 10 (double's limit reached)
  RecordEvent feedback;
  feedback.member = "m-1";
  feedback.event.type = "feedback";
  f.ok(feedback);  // earns nothing, writes no entry, still recorded
  CHECK(code_of(f.run(purchase("nobody", "5.00"))) == ErrorCode::member_not_found);

  auto events = all_events(f.dir.path());
  REQUIRE(events.size() == 3);
  const RecordedEvent& first = events[0];
  CHECK(first.number == 1);
  CHECK(first.first_seq == 2);
  CHECK(first.last_seq == 4);
  CHECK(first.member == "m-1");
  CHECK(first.view.id == "m-1");
  CHECK(first.view.points == 0);
  CHECK(first.view.visits == 0);
  CHECK(first.view.days_since_last_purchase == -1);
  CHECK(first.view.birthday == CivilDate{1990, 12, 24});
  CHECK(first.view.attributes.size() == 2);
  CHECK(std::get<std::string>(first.view.attributes.at("city")) == "Lyon");
  CHECK(std::get<std::int64_t>(first.view.attributes.at("age")) == 36);
  CHECK(first.event.type == "purchase");
  CHECK(first.event.time == t0());
  CHECK(first.event.channel == "app");
  CHECK(first.event.store == "s-9");
  CHECK(first.event.order_id == "o-1");
  CHECK(first.event.total == money("25.50"));
  REQUIRE(first.event.items.size() == 1);
  CHECK(first.event.items[0].sku == "LP-1");
  CHECK(first.event.items[0].category == "vinyl");
  CHECK(first.event.items[0].quantity == 2);
  CHECK(first.event.items[0].unit_price == money("12.75"));
  CHECK(first.event.items[0].total == money("25.50"));
  CHECK(std::get<std::string>(first.event.attributes.at("coupon")) == "XMAS");
  CHECK(first.recorded_at == t0());
  CHECK(first.ruleset == f.rules->version());
  CHECK(first.base == 25);
  REQUIRE(first.offers.size() == 2);
  CHECK(first.offers[0].offer == "double");
  CHECK(first.offers[0].points == 25);
  CHECK(first.offers[1].offer == "vinyl");
  CHECK(first.offers[1].points == 50);

  const RecordedEvent& second = events[1];
  CHECK(second.number == 2);
  CHECK(second.first_seq == 5);
  CHECK(second.last_seq == 5);
  CHECK(second.view.points == 100);
  CHECK(second.view.visits == 1);
  CHECK(second.view.days_since_last_purchase == 0);
  CHECK(second.recorded_at == t0().plus_seconds(3'600));
  CHECK(second.base == 10);
  CHECK(second.offers.empty());

  const RecordedEvent& third = events[2];
  CHECK(third.number == 3);
  CHECK(third.event.type == "feedback");
  CHECK_FALSE(third.event.total.has_value());
  CHECK(third.first_seq == 6);
  CHECK(third.last_seq == 5);  // no entry: the last seq at the time
  CHECK(third.base == 0);
  CHECK(third.offers.empty());
  CHECK(third.view.visits == 2);
}

TEST_CASE("recorded events survive a reopen and their numbering continues") {
  Fixture f(offer_rules());
  f.enroll("m-1");
  f.ok(purchase("m-1", "10.00"));
  f.ok(purchase("m-1", "20.00"));
  f.reopen();
  f.ok(purchase("m-1", "30.00"));
  f.reopen();
  f.ok(purchase("m-1", "40.00"));
  auto events = all_events(f.dir.path());
  REQUIRE(events.size() == 4);
  for (std::size_t k = 0; k < events.size(); ++k) {
    CHECK(events[k].number == k + 1);
    CHECK(events[k].base == static_cast<std::int64_t>(10 * (k + 1)));
  }
  CHECK(events[3].view.visits == 3);
}

TEST_CASE("recorded events are read while the ledger is open, filtered by event time") {
  Fixture f(offer_rules());
  f.enroll("m-1");
  f.ok(purchase("m-1", "10.00"));
  f.clock.advance_seconds(86'400);
  f.ok(purchase("m-1", "20.00"));
  RecordEvent backdated = purchase("m-1", "30.00");
  backdated.occurred_at = t0().plus_seconds(-3'600);
  f.ok(backdated);
  // [t0, t0 + 1 day): the first only; the backdated one is before t0 by its event time.
  auto day = all_events(f.dir.path(), t0(), t0().plus_days(1));
  REQUIRE(day.size() == 1);
  CHECK(day[0].base == 10);
  auto all = all_events(f.dir.path());
  REQUIRE(all.size() == 3);
  CHECK(all[2].event.time == t0().plus_seconds(-3'600));
  CHECK(all[2].recorded_at == t0().plus_days(1));
  // Stopping early.
  int seen = 0;
  REQUIRE(for_each_event(f.dir.path(), Timestamp{INT64_MIN}, Timestamp{INT64_MAX},
                         [&](const RecordedEvent&) { return ++seen < 2; }));
  CHECK(seen == 2);
  // The rule set that evaluated them is stored, file for file.
  auto files = stored_rule_set(f.dir.path(), all[0].ruleset);
  REQUIRE(files);
  REQUIRE(files->size() == 2);
  CHECK((*files)[0].name == "offers.json");
  CHECK((*files)[0].content == kOffers);
  CHECK(rules::load_files(*files).rule_set->version() == all[0].ruleset);
  CHECK(code_of_result(stored_rule_set(f.dir.path(), "sha256:00")) == ErrorCode::not_found);
}

TEST_CASE("reading the events of a missing data dir is not_found") {
  TempDir dir;
  Status s = for_each_event(dir.path() / "nope", Timestamp{INT64_MIN}, Timestamp{INT64_MAX},
                            [](const RecordedEvent&) { return true; });
  REQUIRE_FALSE(s);
  CHECK(s.code() == ErrorCode::not_found);
}

namespace {
// A RocksDB database with these (empty) column families, as another build would leave it.
void make_empty_db(const std::filesystem::path& dir, std::initializer_list<const char*> names) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const char* name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  REQUIRE(rocksdb::DB::Open(options, dir.string(), families, &handles, &db).ok());
  for (auto* h : handles) CHECK(db->DestroyColumnFamilyHandle(h).ok());
  CHECK(db->Close().ok());
  delete db;
}
}  // namespace

TEST_CASE("a data dir made before the events family reads as having no events, then gets it") {
  TempDir dir;
  // The families of a ledger from before `events` existed.
  make_empty_db(dir.path(), {"journal", "members", "holds", "idempotency", "offers", "rulesets",
                             "counters", "meta"});
  CHECK(all_events(dir.path()).empty());
  VerifyReport report;
  CHECK(verify(dir.path(), nullptr, &report));
  ManualClock clock(t0());
  LedgerOptions o;
  o.data_dir = dir.path();
  o.clock = &clock;
  o.manual_clock = &clock;
  {
    auto ledger = Ledger::open(o, offer_rules());
    REQUIRE(ledger);
    CHECK((*ledger)->submit(EnrollMember{.id = "m-1"}).get().status);
    CHECK((*ledger)->submit(purchase("m-1", "10.00")).get().status);
  }
  auto events = all_events(dir.path());
  REQUIRE(events.size() == 1);
  CHECK(events[0].number == 1);
  CHECK(events[0].base == 10);
}

TEST_CASE("a data dir of another storage schema is refused with a sentence, and written nothing") {
  TempDir dir;
  // Schema 1's families: lots and member_entries have since gone.
  make_empty_db(dir.path(), {"journal", "member_entries", "members", "lots", "meta"});
  ManualClock clock(t0());
  LedgerOptions o;
  o.data_dir = dir.path();
  o.clock = &clock;
  auto ledger = Ledger::open(o, offer_rules());
  REQUIRE_FALSE(ledger);
  CHECK(ledger.error().detail.find("has column families this build does not know "
                                   "('member_entries', 'lots')") != std::string::npos);
  Status verified = verify(dir.path(), nullptr, nullptr);
  REQUIRE_FALSE(verified);
  CHECK(verified.error().detail.find("storage schema") != std::string::npos);
}

TEST_CASE("an event record encodes and decodes every field exactly") {
  RecordedEvent r;
  r.first_seq = 1'000'000'007;
  r.last_seq = 1'000'000'009;
  r.member = "m:1@x";
  r.view.id = "m:1@x";
  r.view.tier = "superfan";
  r.view.points = -12;
  r.view.lifetime_points = 123'456'789'012;
  r.view.visits = 300;
  r.view.days_since_last_purchase = 61;
  r.view.enrolled_days = 700;
  r.view.birthday = CivilDate{2000, 2, 29};
  r.view.attributes.emplace("vip", true);
  r.view.attributes.emplace("ratio", money("-1.234567"));
  r.event.type = "referral";
  r.event.time = Timestamp{-5};
  r.event.attributes.emplace("n", std::int64_t{-7});
  r.recorded_at = Timestamp{1'790'000'000'000'000};
  r.ruleset = "sha256:abc";
  r.base = 0;
  r.offers = {{"a", 1}, {"b", 1'000'000'000'000'000}};
  std::string value = internal::encode_event_record(r);
  RecordedEvent back;
  REQUIRE(internal::decode_event_record(value, &back));
  CHECK(back.first_seq == r.first_seq);
  CHECK(back.last_seq == r.last_seq);
  CHECK(back.member == r.member);
  CHECK(back.view.id == r.view.id);
  CHECK(back.view.tier == r.view.tier);
  CHECK(back.view.points == r.view.points);
  CHECK(back.view.lifetime_points == r.view.lifetime_points);
  CHECK(back.view.visits == r.view.visits);
  CHECK(back.view.days_since_last_purchase == r.view.days_since_last_purchase);
  CHECK(back.view.enrolled_days == r.view.enrolled_days);
  CHECK(back.view.birthday == r.view.birthday);
  CHECK(back.view.attributes == r.view.attributes);
  CHECK(back.event.type == r.event.type);
  CHECK(back.event.time == r.event.time);
  CHECK_FALSE(back.event.total.has_value());
  CHECK(back.event.attributes == r.event.attributes);
  CHECK(back.recorded_at == r.recorded_at);
  CHECK(back.ruleset == r.ruleset);
  REQUIRE(back.offers.size() == 2);
  CHECK(back.offers[1].offer == "b");
  CHECK(back.offers[1].points == 1'000'000'000'000'000);
  // Truncated or of an unknown version: an error, not garbage.
  RecordedEvent bad;
  CHECK_FALSE(internal::decode_event_record(value.substr(0, value.size() - 1), &bad));
  CHECK_FALSE(internal::decode_event_record("\x02", &bad));
}

}  // namespace encore::ledger::testing
