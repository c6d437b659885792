// Unit tests of the rules layer's loader and evaluator: the JSON reader's positions,
// the rule-set version, directory loading and limits, the error cap, time zones and
// tiers, exact base points, and evaluation (order, exclusive, limits, budgets,
// eligible()). Real files in a temporary directory; no mocks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "rules/inputs.h"
#include "rules/internal/json.h"
#include "rules/internal/loader.h"
#include "rules/limits.h"
#include "rules/rules.h"

namespace fs = std::filesystem;
using namespace encore;
using namespace encore::rules;
namespace ri = encore::rules::internal;

namespace {

const char* kProgram = R"({"program": {"name": "Test", "currency": "USD",
  "base_earn": {"points": 1, "per": "1.00"}}})";

LoadResult load(const std::string& offers_json, const std::string& program = kProgram) {
  return load_files({RuleFile{"a-program.json", program},
                     RuleFile{"b-offers.json", "{\"offers\": " + offers_json + "}"}});
}

std::shared_ptr<const RuleSet> must_load(const std::string& offers_json,
                                         const std::string& program = kProgram) {
  LoadResult r = load(offers_json, program);
  for (const auto& e : r.errors) MESSAGE(e.to_string());
  REQUIRE(r.rule_set != nullptr);
  return r.rule_set;
}

Event purchase(const char* total, const char* time = "2026-11-23T12:00:00Z") {
  Event e;
  e.type = "purchase";
  e.time = *parse_rfc3339(time);
  e.total = *Decimal::parse(total);
  return e;
}

// A UsageSource with fixed answers.
class FixedUsage final : public UsageSource {
 public:
  std::int64_t budget = 0;
  std::int64_t uses = 0;
  Timestamp asked_since{0};
  std::int64_t budget_used(std::size_t) const override { return budget; }
  std::int64_t member_uses_since(std::size_t, Timestamp since) const override {
    const_cast<FixedUsage*>(this)->asked_since = since;
    return uses;
  }
};

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("encore-rules-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
  }
  static inline int counter = 0;
};

}  // namespace

TEST_CASE("the JSON reader records the line and column of every value and key") {
  ri::JsonValue v;
  ri::JsonSyntaxError err;
  REQUIRE(ri::parse_json("{\n  \"a\": [1, \"x\"],\n\t\"b\": true\n}", 8, v, err));
  REQUIRE(v.members.size() == 2);
  CHECK(v.members[0].key_pos.line == 2);
  CHECK(v.members[0].key_pos.column == 3);
  CHECK(v.members[0].value.items[1].pos.column == 12);
  CHECK(v.members[1].key_pos.line == 3);
  CHECK(v.members[1].key_pos.column == 2);
  CHECK(v.members[1].value.boolean);

  SUBCASE("a missing comma is reported where the next field starts") {
    CHECK_FALSE(ri::parse_json("{\"a\": 1\n \"b\": 2}", 8, v, err));
    CHECK(err.pos.line == 2);
    CHECK(err.pos.column == 2);
    CHECK(err.message == "a comma is missing before this field");
  }
  SUBCASE("nesting beyond the depth limit is an error, not a stack overflow") {
    std::string deep(100000, '[');
    CHECK_FALSE(ri::parse_json(deep, 32, v, err));
    CHECK(err.message.find("32 levels") != std::string::npos);
  }
  SUBCASE("a position inside a string accounts for the quote and escapes") {
    std::string src = "{\"k\": \"a\\\"b\\u00e9c\"}";  // decoded: a"béc
    REQUIRE(ri::parse_json(src, 8, v, err));
    const auto& s = v.members[0].value;
    CHECK(s.text == "a\"b\xC3\xA9" "c");
    CHECK(ri::value_char_pos(src, s, 0).column == 8);   // a
    CHECK(ri::value_char_pos(src, s, 1).column == 9);   // \"
    CHECK(ri::value_char_pos(src, s, 2).column == 11);  // b
    CHECK(ri::value_char_pos(src, s, 3).column == 12);  // \u00e9
    CHECK(ri::value_char_pos(src, s, 5).column == 18);  // c
    CHECK(ri::value_char_pos(src, s, 6).column == 19);  // closing quote
  }
  SUBCASE("invalid UTF-8 in text is an error") {
    CHECK_FALSE(ri::parse_json("[\"\xff\"]", 8, v, err));
    CHECK(err.message.find("UTF-8") != std::string::npos);
  }
}

TEST_CASE("the version is sha256 over name, NUL, length, NUL, content in name order") {
  const std::string program = kProgram;
  // Computed independently: python3 hashlib over the same bytes.
  auto one = load_files({RuleFile{"z.json", "{\"offers\": []}"}, RuleFile{"p.json", program}});
  auto two = load_files({RuleFile{"p.json", program}, RuleFile{"z.json", "{\"offers\": []}"}});
  REQUIRE(one.rule_set);
  REQUIRE(two.rule_set);
  CHECK(one.rule_set->version() == two.rule_set->version());
  CHECK(ri::rule_set_version({RuleFile{"a.json", "{\"program\": 1}"},
                                    RuleFile{"b.json", ""}}) ==
        "sha256:f8f9e962fc924916e158621120b136fbf156c91a41e5d3a5920243782403787b");
  CHECK(one.rule_set->files()[0].name == "p.json");
  auto changed = load_files({RuleFile{"p.json", program + " "}, RuleFile{"z.json", "{}"}});
  REQUIRE(changed.rule_set);  // a file with nothing in it is allowed
  CHECK(changed.rule_set->version() != one.rule_set->version());
}

TEST_CASE("a rules directory loads every *.json in name order and skips the rest") {
  TempDir dir;
  dir.write("program.json", kProgram);
  dir.write("b.json", R"({"offers": [{"id": "b", "name": "B", "award": "2"}]})");
  dir.write("a.json", R"({"offers": [{"id": "a", "name": "A", "award": "1"}]})");
  dir.write(".#a.json", "not json");   // an editor's lock file
  dir.write("notes.txt", "not json");
  dir.write("old.json.bak", "not json");
  LoadResult r = load_directory(dir.path);
  REQUIRE(r.rule_set != nullptr);
  REQUIRE(r.rule_set->offers().size() == 2);
  CHECK(r.rule_set->offers()[0].id == "a");
  CHECK(r.rule_set->offers()[0].file == "a.json");
  CHECK(r.rule_set->files().size() == 3);

  SUBCASE("a missing directory is one error") {
    LoadResult missing = load_directory(dir.path / "nope");
    CHECK(missing.rule_set == nullptr);
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].message.find("does not exist") != std::string::npos);
  }
  SUBCASE("a file over the size limit is refused with its name") {
    dir.write("huge.json", std::string(rule_file_bytes_max + 10, ' '));
    LoadResult big = load_directory(dir.path);
    CHECK(big.rule_set == nullptr);
    REQUIRE(big.errors.size() == 1);
    CHECK(big.errors[0].to_string().find("huge.json:1:1: the file is larger than") == 0);
  }
}

TEST_CASE("an empty directory and a set without a program are errors at line 0") {
  TempDir dir;
  LoadResult r = load_directory(dir.path);
  CHECK(r.rule_set == nullptr);
  REQUIRE(!r.errors.empty());
  CHECK(r.errors[0].line == 0);
  LoadResult no_program = load_files({RuleFile{"o.json", "{\"offers\": []}"}});
  REQUIRE(no_program.errors.size() == 1);
  CHECK(no_program.errors[0].to_string().find("(rule set):0:0: no file defines") == 0);
}

TEST_CASE("errors are reported up to the cap, then one line says there are more") {
  std::string offers = "[";
  for (int k = 0; k < 150; ++k) {
    offers += (k ? ",\n" : "") + std::string("{\"id\": \"o") + std::to_string(k) +
              "\", \"name\": \"x\", \"award\": \"1\", \"budjet\": 5}";
  }
  LoadResult r = load(offers + "]");
  CHECK(r.rule_set == nullptr);
  REQUIRE(r.errors.size() == rule_errors_max + 1);
  CHECK(r.errors[0].message == "unknown field `budjet` in an offer; did you mean `budget`?");
  CHECK(r.errors[0].line == 1);
  CHECK(r.errors[99].line == 100);
  CHECK(r.errors.back().message.find("more than 100 errors") == 0);
}

TEST_CASE("more offers than offers_max is an error") {
  std::string offers = "[";
  for (std::size_t k = 0; k <= offers_max; ++k) {
    offers += (k ? "," : "") + std::string("{\"id\":\"o") + std::to_string(k) +
              "\",\"name\":\"x\",\"award\":\"1\"}";
  }
  LoadResult r = load(offers + "]");
  CHECK(r.rule_set == nullptr);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("too many offers") == 0);
}

TEST_CASE("an expression longer than the limit is an error in the file") {
  std::string when(expression_bytes_max + 10, ' ');
  when += "true";
  LoadResult r = load(R"([{"id": "a", "name": "A", "award": "1", "when": ")" + when + "\"}]");
  CHECK(r.rule_set == nullptr);
  REQUIRE(!r.errors.empty());
  CHECK(r.errors[0].file == "b-offers.json");
  CHECK(r.errors[0].line == 1);
}

TEST_CASE("local dates, tiers and multipliers follow the program") {
  auto set = must_load("[]", R"({"program": {"name": "T", "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"}, "timezone": "America/New_York"},
    "tiers": {"levels": [{"id": "fan", "threshold": 0},
                         {"id": "superfan", "threshold": 5000, "multiplier": "1.25"}]}})");
  CHECK(set->program().timezone == "America/New_York");
  // 03:00 UTC on 1 March is still 28 February in New York.
  CHECK(set->local_date(*parse_rfc3339("2026-03-01T03:00:00Z")) == CivilDate{2026, 2, 28});
  CHECK(set->local_date(*parse_rfc3339("2026-03-01T05:00:00Z")) == CivilDate{2026, 3, 1});
  // Summer time past 2037, where the zone file lists no more transitions (UTC-4):
  // 04:30 UTC on 1 July 2045 is 00:30 on 1 July in New York, as weekday()/month() say.
  CHECK(set->local_date(*parse_rfc3339("2045-07-01T04:30:00Z")) == CivilDate{2045, 7, 1});
  CHECK(set->tier_for(0) == "fan");
  CHECK(set->tier_for(4999) == "fan");
  CHECK(set->tier_for(5000) == "superfan");
  CHECK(set->tier_multiplier("superfan") == *Decimal::parse("1.25"));
  CHECK(set->tier_multiplier("nobody") == *Decimal::parse("1"));
  MemberView super;
  super.tier = "superfan";
  NoUsage usage;
  auto e = purchase("10.00");
  CHECK(evaluate(*set, super, e, e.time, usage).base == 12);  // floor(12.5)
}

TEST_CASE("base points are exact decimals, rounded once by the program") {
  SUBCASE("0.90 at 1 point per 0.30 is 3, not 2.999") {
    auto set = must_load("[]", R"({"program": {"name": "T", "currency": "USD",
      "base_earn": {"points": 1, "per": "0.30"}}})");
    NoUsage usage;
    auto e = purchase("0.90");
    CHECK(evaluate(*set, MemberView{}, e, e.time, usage).base == 3);
  }
  SUBCASE("each rounding mode") {
    for (auto [mode, want] : {std::pair{"floor", 2}, std::pair{"round", 3}, std::pair{"ceil", 3}}) {
      auto set = must_load("[]", R"({"program": {"name": "T", "currency": "USD",
        "base_earn": {"points": 1, "per": "2.00"}, "rounding": ")" + std::string(mode) + "\"}}");
      NoUsage usage;
      auto e = purchase("5.00");
      CHECK(evaluate(*set, MemberView{}, e, e.time, usage).base == want);
    }
  }
  SUBCASE("no basket or another event type earns no base") {
    auto set = must_load("[]");
    NoUsage usage;
    Event feedback;
    feedback.type = "feedback";
    feedback.total = *Decimal::parse("100");
    CHECK(evaluate(*set, MemberView{}, feedback, feedback.time, usage).base == 0);
    Event no_basket;
    CHECK(evaluate(*set, MemberView{}, no_basket, no_basket.time, usage).base == 0);
  }
  SUBCASE("a huge basket cannot overflow") {
    auto set = must_load("[]", R"({"program": {"name": "T", "currency": "USD",
      "base_earn": {"points": 1000000, "per": "0.000001"}}})");
    NoUsage usage;
    auto e = purchase("9000000000000");
    CHECK(evaluate(*set, MemberView{}, e, e.time, usage).base == 0);
  }
}

TEST_CASE("offers apply in priority order and an exclusive one stops those after it") {
  auto set = must_load(R"([
    {"id": "low", "name": "L", "award": "1"},
    {"id": "top", "name": "T", "award": "10", "priority": 5},
    {"id": "excl", "name": "E", "award": "5", "priority": 3, "exclusive": true},
    {"id": "same", "name": "S", "award": "7", "priority": 3}])");
  NoUsage usage;
  auto e = purchase("10.00");
  Evaluation eval = evaluate(*set, MemberView{}, e, e.time, usage, TraceMode::on);
  REQUIRE(eval.offers.size() == 2);
  CHECK(set->offers()[eval.offers[0].offer_index].id == "top");
  CHECK(set->offers()[eval.offers[1].offer_index].id == "excl");
  CHECK(eval.points == 10 + 10 + 5);
  REQUIRE(eval.trace.size() == 4);
  CHECK(eval.trace[2].outcome == OfferOutcome::excluded);
  CHECK(eval.trace[3].outcome == OfferOutcome::excluded);
  CHECK(eval.trace[3].detail == "`excl` is exclusive and applied first");
}

TEST_CASE("limits count uses in the rolling period and budgets cut the last award") {
  auto set = must_load(R"([
    {"id": "lim", "name": "L", "award": "100", "limit": {"per_member": 2, "period_days": 30},
     "budget": 250}])");
  FixedUsage usage;
  auto e = purchase("1.00");
  usage.uses = 1;
  usage.budget = 200;
  Evaluation eval = evaluate(*set, MemberView{}, e, e.time, usage, TraceMode::on);
  REQUIRE(eval.offers.size() == 1);
  CHECK(eval.offers[0].points == 50);  // cut to what is left
  CHECK(usage.asked_since == e.time.plus_days(-30));
  usage.uses = 2;
  eval = evaluate(*set, MemberView{}, e, e.time, usage, TraceMode::on);
  CHECK(eval.offers.empty());
  CHECK(eval.trace[0].outcome == OfferOutcome::limit_reached);
  CHECK(eval.trace[0].detail == "used 2 of 2 times in the last 30 days");
  usage.uses = 0;
  usage.budget = 250;
  eval = evaluate(*set, MemberView{}, e, e.time, usage, TraceMode::on);
  CHECK(eval.trace[0].outcome == OfferOutcome::budget_exhausted);
}

TEST_CASE("the personalized list holds offers in window, within limits, eligible") {
  auto set = must_load(R"([
    {"id": "all", "name": "A", "award": "1", "limit": {"per_member": 3}},
    {"id": "vip", "name": "V", "award": "1", "eligible": "member.tier == 'vip'"},
    {"id": "later", "name": "L", "award": "1", "starts_at": "2030-01-01T00:00:00Z"},
    {"id": "spent", "name": "S", "award": "1", "budget": 10}])",
                       R"({"program": {"name": "Test", "currency": "USD",
    "base_earn": {"points": 1, "per": "1.00"}},
    "tiers": {"levels": [{"id": "fan", "threshold": 0}, {"id": "vip", "threshold": 9000}]}})");
  FixedUsage usage;
  usage.uses = 1;
  usage.budget = 10;
  MemberView m;
  m.tier = "fan";
  auto list = eligible(*set, m, *parse_rfc3339("2026-11-23T00:00:00Z"), usage);
  REQUIRE(list.size() == 1);
  CHECK(set->offers()[list[0].offer_index].id == "all");
  CHECK(list[0].remaining_uses == 2);
  m.tier = "vip";
  list = eligible(*set, m, *parse_rfc3339("2026-11-23T00:00:00Z"), usage);
  CHECK(list.size() == 2);
}

TEST_CASE("an award of 0 or less does not apply and does not trigger exclusive") {
  auto set = must_load(R"([
    {"id": "zero", "name": "Z", "award": "base - 100", "exclusive": true, "priority": 1},
    {"id": "one", "name": "O", "award": "1"}])");
  NoUsage usage;
  auto e = purchase("10.00");
  Evaluation eval = evaluate(*set, MemberView{}, e, e.time, usage, TraceMode::on);
  REQUIRE(eval.offers.size() == 1);
  CHECK(eval.trace[0].outcome == OfferOutcome::zero_award);
  CHECK(eval.points == 11);
}

TEST_CASE("expression errors point at the character in the file, escapes included") {
  // Line 2; the expression starts after `"when": "` and has an escaped quote pair.
  LoadResult r = load("[\n{\"id\": \"a\", \"name\": \"A\", \"award\": \"1\", "
                      "\"when\": \"event.channel == \\\"app\\\" && member.tierr == 'x'\"}]");
  REQUIRE(r.errors.size() >= 1);
  CHECK(r.errors[0].line == 2);
  // Column of `member.tierr` in the file line.
  std::string line = "{\"id\": \"a\", \"name\": \"A\", \"award\": \"1\", "
                     "\"when\": \"event.channel == \\\"app\\\" && member.tierr == 'x'\"}]";
  CHECK(r.errors[0].column == static_cast<int>(line.find("member.tierr")) + 1);
}

TEST_CASE("events and members are read from JSON with exact money") {
  auto e = parse_event_json(R"({"member": "m-1", "type": "purchase",
    "occurred_at": "2026-11-22T14:00:00Z", "channel": "app",
    "basket": {"total": "59.90", "items": [{"sku": "LP-1", "category": "vinyl",
    "quantity": 2, "unit_price": 19.95}]}, "attributes": {"coupon": "X", "n": 2}})",
                            Timestamp{});
  REQUIRE(e.has_value());
  CHECK(e->total == *Decimal::parse("59.9"));
  REQUIRE(e->items.size() == 1);
  CHECK(e->items[0].total == *Decimal::parse("39.90"));
  CHECK(std::get<std::int64_t>(e->attributes.at("n")) == 2);
  auto bad = parse_event_json("{\"typo\": 1}", Timestamp{});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().detail == "1:10: unknown event field `typo`");
  auto m = parse_member_json(R"({"id": "m-1", "tier": "gold", "birthday": "1990-02-28"})");
  REQUIRE(m.has_value());
  CHECK(m->birthday == CivilDate{1990, 2, 28});
}

TEST_CASE("mangled rule files never crash and every error points inside its file") {
  const char* src = std::getenv("ENCORE_SOURCE_DIR");
  REQUIRE_MESSAGE(src != nullptr, "ENCORE_SOURCE_DIR must name the source tree");
  std::vector<RuleFile> demo;
  for (const auto& entry : fs::directory_iterator(fs::path(src) / "docs/examples/rules")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    demo.push_back(RuleFile{entry.path().filename().string(), content});
  }
  REQUIRE(load_files(demo).rule_set != nullptr);
  // A fixed-seed generator: the same mutations on every run.
  std::uint64_t state = 20261123;
  auto next = [&state](std::uint64_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((state >> 33) % bound);
  };
  static const char kChars[] = "{}[],:\"'\\ a1.-\n=&|()*";
  int invalid = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<RuleFile> files = demo;
    for (int m = 0, count = 1 + static_cast<int>(next(3)); m < count; ++m) {
      std::string& text = files[next(files.size())].content;
      std::size_t at = next(text.size() + 1);
      switch (next(4)) {
        case 0: if (at < text.size()) text.erase(at, 1 + next(3)); break;
        case 1: text.insert(at, 1, kChars[next(sizeof kChars - 1)]); break;
        case 2: text.resize(at); break;
        default: if (at < text.size()) text[at] = kChars[next(sizeof kChars - 1)]; break;
      }
    }
    LoadResult r = load_files(files);
    REQUIRE((r.rule_set == nullptr) != r.errors.empty());
    if (!r.rule_set) ++invalid;
    for (const auto& e : r.errors) {
      INFO(e.to_string());
      CHECK(!e.message.empty());
      if (e.line == 0) {
        CHECK(e.column == 0);
        continue;
      }
      auto f = std::find_if(files.begin(), files.end(),
                            [&](const RuleFile& rf) { return rf.name == e.file; });
      REQUIRE(f != files.end());
      // The line exists and the column is within it (or just past its end).
      std::size_t line_start = 0;
      for (int l = 1; l < e.line; ++l) {
        line_start = f->content.find('\n', line_start);
        REQUIRE(line_start != std::string::npos);
        ++line_start;
      }
      std::size_t line_end = f->content.find('\n', line_start);
      if (line_end == std::string::npos) line_end = f->content.size();
      CHECK(e.column >= 1);
      CHECK(static_cast<std::size_t>(e.column) <= line_end - line_start + 1);
    }
  }
  CHECK(invalid > 1000);  // most mutations break something, and were reported
}

TEST_CASE("a rule set with more files than rule_files_max is refused") {
  // In memory: writing 1,000 files to a busy disk takes seconds; load_directory counts
  // the same way before it reads.
  std::vector<RuleFile> files{RuleFile{"program.json", kProgram}};
  for (std::size_t k = 0; k < rule_files_max; ++k) {
    files.push_back(RuleFile{"offer-" + std::to_string(k) + ".json", "{\"offers\": []}"});
  }
  LoadResult r = load_files(files);
  CHECK(r.rule_set == nullptr);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("at most 1000") != std::string::npos);
}

TEST_CASE("an offer without an award loads, gives nothing and is still listed") {
  auto set = must_load(R"([{"id": "news", "name": "Read our news"}])");
  NoUsage usage;
  auto e = purchase("10.00");
  Evaluation eval = evaluate(*set, MemberView{}, e, e.time, usage, TraceMode::on);
  CHECK(eval.offers.empty());
  CHECK(eval.trace[0].outcome == OfferOutcome::zero_award);
  CHECK(eligible(*set, MemberView{}, e.time, usage).size() == 1);
}
