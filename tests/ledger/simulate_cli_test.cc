// Proves `encore rules simulate` end to end: a ledger records purchases under the rules in
// force, the built CLI replays them against a draft that doubles an offer (while the
// ledger is still open) and reports exact members, points, money and differences; bad
// input (missing data dir, a broken draft, a bad date) gives clear messages and exit 1.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "ledger/ledger.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

constexpr const char* kProgram = R"json({"program": {"name": "Test Club", "currency": "USD",
  "base_earn": {"points": 1, "per": "1.00"}, "expiry": {"policy": "none"}}}
)json";

constexpr const char* kOffersInForce = R"json({"offers": [
  {"id": "vinyl", "name": "Vinyl bonus", "when": "any(event.items, item.category == 'vinyl')",
   "award": "50"},
  {"id": "app", "name": "App bonus", "when": "event.channel == 'app'", "award": "10",
   "budget": 15}
]}
)json";

// The draft doubles the vinyl bonus and values a point at two cents.
constexpr const char* kDraftProgram = R"json({"program": {"name": "Test Club",
  "currency": "USD", "base_earn": {"points": 1, "per": "1.00"}, "point_value": "0.02"}}
)json";

constexpr const char* kDraftOffers = R"json({"offers": [
  {"id": "vinyl", "name": "Vinyl bonus", "when": "any(event.items, item.category == 'vinyl')",
   "award": "100"},
  {"id": "app", "name": "App bonus", "when": "event.channel == 'app'", "award": "10",
   "budget": 15}
]}
)json";

// Another draft: vinyl at 100 with a budget of 150, no app offer, Tokyo time.
constexpr const char* kTokyoProgram = R"json({"program": {"name": "Test Club",
  "currency": "USD", "base_earn": {"points": 1, "per": "1.00"}, "timezone": "Asia/Tokyo"}}
)json";

constexpr const char* kBudgetOffers = R"json({"offers": [
  {"id": "vinyl", "name": "Vinyl bonus", "when": "any(event.items, item.category == 'vinyl')",
   "award": "100", "budget": 150}
]}
)json";

constexpr const char* kBrokenOffers = R"json({"offers": [
  {"id": "vinyl", "name": "Vinyl bonus", "when": "any(event.itemz, true)", "award": "100"},
  {"id": "app", "nme": "App bonus"}
]}
)json";

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CliResult run_simulate(const TempDir& scratch, const std::string& args) {
  auto out = scratch.path() / "stdout.txt";
  auto err = scratch.path() / "stderr.txt";
  std::string cmd = std::string(ENCORE_CLI_PATH) + " rules simulate " + args + " > '" +
                    out.string() + "' 2> '" + err.string() + "'";
  int rc = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(rc));
  return CliResult{WEXITSTATUS(rc), read_file(out), read_file(err)};
}

RecordEvent sale(const std::string& member, const char* total, const std::string& channel,
                 bool vinyl) {
  RecordEvent e = purchase(member, total);
  e.event.channel = channel;
  if (vinyl) {
    rules::Item item;
    item.sku = "LP-1";
    item.category = "vinyl";
    item.unit_price = money(total);
    item.total = money(total);
    e.event.items.push_back(item);
  }
  return e;
}

// A ledger (left open) with the rules in force and five events over two days; the draft
// and a broken draft on disk.
struct SimulateFixture {
  TempDir scratch;
  std::filesystem::path in_force = scratch.path() / "rules";
  std::filesystem::path draft = scratch.path() / "draft";
  std::filesystem::path broken = scratch.path() / "broken";
  std::filesystem::path tokyo = scratch.path() / "tokyo";
  std::unique_ptr<Fixture> f;

  SimulateFixture() {
    std::filesystem::create_directories(scratch.path());
    write_file(in_force / "offers.json", kOffersInForce);
    write_file(in_force / "program.json", kProgram);
    write_file(draft / "offers.json", kDraftOffers);
    write_file(draft / "program.json", kDraftProgram);
    write_file(broken / "offers.json", kBrokenOffers);
    write_file(broken / "program.json", kDraftProgram);
    write_file(tokyo / "offers.json", kBudgetOffers);
    write_file(tokyo / "program.json", kTokyoProgram);
    auto loaded = rules::load_directory(in_force);
    REQUIRE(loaded.rule_set);
    f = std::make_unique<Fixture>(loaded.rule_set);
    f->enroll("m-1");
    f->enroll("m-2");
    f->enroll("m-3");
    // 2026-11-22: base 20, vinyl 50, app 10 | base 5, app 5 (budget cut) | base 30, vinyl 50
    CHECK(f->ok(sale("m-1", "20.00", "app", true)).points == 80);
    CHECK(f->ok(sale("m-2", "5.00", "app", false)).points == 10);
    CHECK(f->ok(sale("m-2", "30.00", "", true)).points == 80);
    RecordEvent feedback;
    feedback.member = "m-3";
    feedback.event.type = "feedback";
    CHECK(f->ok(feedback).points == 0);
    // 2026-11-23: base 10.
    f->clock.advance_seconds(86'400);
    CHECK(f->ok(sale("m-1", "10.00", "web", false)).points == 10);
  }
  std::string data() const { return "--data '" + f->dir.path().string() + "'"; }
};

}  // namespace

TEST_CASE("simulate replays recorded events against a draft and reports exact differences") {
  SimulateFixture s;
  CliResult r = run_simulate(s.scratch, s.data() + " --rules '" + s.draft.string() + "'");
  INFO("stdout:\n" << r.out << "stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("events   5 replayed, 3 member(s); the first to the last (UTC)\n") !=
        std::string::npos);
  CHECK(r.out.find("value    0.02 USD per point\n") != std::string::npos);
  // offer, then draft / actual: members, times, points, value; difference: points, value.
  CHECK(r.out.find("vinyl          |        2      2     200   4.00  |        2      2     "
                   "100   2.00  |        +100  +2.00\n") != std::string::npos);
  CHECK(r.out.find("app            |        2      2      15   0.30  |        2      2      "
                   "15   0.30  |           0   0.00\n") != std::string::npos);
  CHECK(r.out.find("(base points)  |        2      4      65   1.30  |        2      4      "
                   "65   1.30  |           0   0.00\n") != std::string::npos);
  CHECK(r.out.find("TOTAL          |        2      4     280   5.60  |        2      4     "
                   "180   3.60  |        +100  +2.00\n") != std::string::npos);

  CliResult j = run_simulate(s.scratch, s.data() + " --rules '" + s.draft.string() + "' --json");
  REQUIRE(j.exit_code == 0);
  CHECK(j.out.find("\"events\": 5, \"members\": 3, \"offers\": [{\"id\": \"vinyl\", \"name\": "
                   "\"Vinyl bonus\", \"in_draft\": true, \"draft\": {\"members\": 2, \"times\": "
                   "2, \"points\": 200, \"value\": \"4.00\"}, \"actual\": {\"members\": 2, "
                   "\"times\": 2, \"points\": 100, \"value\": \"2.00\"}, \"difference\": "
                   "{\"points\": 100, \"value\": \"2.00\"}}") != std::string::npos);
  CHECK(j.out.find("\"total\": {\"draft\": {\"members\": 2, \"times\": 4, \"points\": 280, "
                   "\"value\": \"5.60\"}, \"actual\": {\"members\": 2, \"times\": 4, \"points\": "
                   "180, \"value\": \"3.60\"}, \"difference\": {\"points\": 100, \"value\": "
                   "\"2.00\"}}}\n") != std::string::npos);
  CHECK(j.out.find("\"point_value\": \"0.02\"") != std::string::npos);
}

TEST_CASE("simulate against the rules in force reproduces what was given, day by day") {
  SimulateFixture s;
  CliResult same =
      run_simulate(s.scratch, s.data() + " --rules '" + s.in_force.string() + "' --json");
  REQUIRE(same.exit_code == 0);
  CHECK(same.out.find("\"total\": {\"draft\": {\"members\": 2, \"times\": 4, \"points\": 180, "
                      "\"value\": \"1.80\"}, \"actual\": {\"members\": 2, \"times\": 4, "
                      "\"points\": 180, \"value\": \"1.80\"}, \"difference\": {\"points\": 0, "
                      "\"value\": \"0.00\"}}}\n") != std::string::npos);
  // Only the second day: one purchase of base 10, no offer.
  CliResult day = run_simulate(s.scratch, s.data() + " --rules '" + s.draft.string() +
                                              "' --from 2026-11-23 --to 2026-11-24 --json");
  REQUIRE(day.exit_code == 0);
  CHECK(day.out.find("\"events\": 1, \"members\": 1,") != std::string::npos);
  CHECK(day.out.find("\"base\": {\"draft\": {\"members\": 1, \"times\": 1, \"points\": 10, "
                     "\"value\": \"0.20\"}") != std::string::npos);
  CHECK(day.out.find("\"difference\": {\"points\": 0, \"value\": \"0.00\"}}}\n") !=
        std::string::npos);
}

TEST_CASE("simulate counts the draft's budget from the replay's start; dates are the draft's") {
  SimulateFixture s;
  CliResult r =
      run_simulate(s.scratch, s.data() + " --rules '" + s.tokyo.string() + "' --json");
  INFO("stdout:\n" << r.out << "stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  // 100 to m-1, then the last 50 of the budget to m-2.
  CHECK(r.out.find("{\"id\": \"vinyl\", \"name\": \"Vinyl bonus\", \"in_draft\": true, "
                   "\"draft\": {\"members\": 2, \"times\": 2, \"points\": 150, \"value\": "
                   "\"1.50\"}") != std::string::npos);
  // Given by the rules in force, not in the draft.
  CHECK(r.out.find("{\"id\": \"app\", \"name\": \"App bonus\", \"in_draft\": false, \"draft\": "
                   "{\"members\": 0, \"times\": 0, \"points\": 0, \"value\": \"0.00\"}, "
                   "\"actual\": {\"members\": 2, \"times\": 2, \"points\": 15, \"value\": "
                   "\"0.15\"}, \"difference\": {\"points\": -15, \"value\": \"-0.15\"}}") !=
        std::string::npos);
  CliResult text = run_simulate(s.scratch, s.data() + " --rules '" + s.tokyo.string() + "'");
  CHECK(text.out.find("app *") != std::string::npos);
  CHECK(text.out.find("* not in the draft") != std::string::npos);
  // 2026-11-22 in Tokyo is [2026-11-21T15:00Z, 2026-11-22T15:00Z): the four events at
  // 12:00Z on the 22nd, not the one on the 23rd.
  CliResult day = run_simulate(s.scratch, s.data() + " --rules '" + s.tokyo.string() +
                                              "' --from 2026-11-22 --to 2026-11-23 --json");
  CHECK(day.out.find("\"timezone\": \"Asia/Tokyo\"") != std::string::npos);
  CHECK(day.out.find("\"events\": 4, \"members\": 3,") != std::string::npos);
  CliResult late = run_simulate(s.scratch, s.data() + " --rules '" + s.tokyo.string() +
                                               "' --from 2026-11-22T15:00:00Z --json");
  CHECK(late.out.find("\"events\": 1, \"members\": 1,") != std::string::npos);
}

TEST_CASE("simulate refuses a missing data dir, a broken draft and bad dates, exit 1") {
  SimulateFixture s;
  CliResult missing = run_simulate(
      s.scratch, "--data '" + (s.scratch.path() / "nope").string() + "' --rules '" +
                     s.draft.string() + "'");
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err == "encore rules simulate: no data dir at " +
                           (s.scratch.path() / "nope").string() + "\n");

  std::filesystem::create_directories(s.scratch.path() / "empty");
  CliResult empty = run_simulate(
      s.scratch, "--data '" + (s.scratch.path() / "empty").string() + "' --rules '" +
                     s.draft.string() + "'");
  CHECK(empty.exit_code == 1);
  CHECK(empty.err == "encore rules simulate: " + (s.scratch.path() / "empty").string() +
                         " is not an Encore data dir (it holds no database)\n");

  CliResult broken = run_simulate(s.scratch, s.data() + " --rules '" + s.broken.string() + "'");
  CHECK(broken.exit_code == 1);
  CHECK(broken.out.empty());
  CHECK(broken.err ==
        "offers.json:2:55: unknown name `event.itemz`; did you mean `event.items`?\n"
        "offers.json:3:3: this offer has no `name`; it is required, for example \"name\": "
        "\"Weekend double points\"\n"
        "offers.json:3:17: unknown field `nme` in an offer; did you mean `name`?\n"
        "encore rules simulate: the draft rules in " + s.broken.string() +
            " are not valid\n");

  CliResult bad_date = run_simulate(s.scratch, s.data() + " --rules '" + s.draft.string() +
                                                   "' --from 2026-13-01");
  CHECK(bad_date.exit_code == 1);
  CHECK(bad_date.err.find("encore rules simulate: --from: ") == 0);

  CliResult reversed = run_simulate(s.scratch, s.data() + " --rules '" + s.draft.string() +
                                                   "' --from 2026-11-24 --to 2026-11-23");
  CHECK(reversed.exit_code == 1);
  CHECK(reversed.err == "encore rules simulate: --from must be before --to\n");

  CliResult no_rules = run_simulate(s.scratch, s.data());
  CHECK(no_rules.exit_code != 0);
}

}  // namespace encore::ledger::testing
