// Golden tests of the rules layer: each directory under tests/cases/rules/ is a case
// with a rules/ directory and either expected.txt (the exact `encore rules check`
// errors, file:line:column: message, or "valid") or events.ndjson + expected.ndjson
// (one evaluation per line, with usage carried from line to line as a ledger would).
// Adding a case is adding files. ENCORE_GOLDEN_UPDATE=1 rewrites the expected files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "rules/inputs.h"
#include "rules/base/json_text.h"
#include "rules/internal/json.h"
#include "rules/limits.h"
#include "rules/rules.h"

namespace fs = std::filesystem;
using namespace encore;
using namespace encore::rules;
namespace ri = encore::rules::internal;

namespace {

fs::path source_dir() {
  const char* dir = std::getenv("ENCORE_SOURCE_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "ENCORE_SOURCE_DIR must name the source tree (ctest sets it)");
  return fs::path(dir);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

bool updating() {
  const char* u = std::getenv("ENCORE_GOLDEN_UPDATE");
  return u != nullptr && std::string(u) == "1";
}

// What `encore rules check` prints for errors, or "valid" for a good set.
std::string check_output(const LoadResult& loaded) {
  if (loaded.rule_set) return "valid\n";
  std::string out;
  for (const auto& e : loaded.errors) out += e.to_string() + "\n";
  return out;
}

// Usage that a ledger would keep: awards are recorded after each event.
class RecordingUsage final : public UsageSource {
 public:
  explicit RecordingUsage(const std::string* member) : member_(member) {}
  std::int64_t budget_used(std::size_t offer) const override {
    auto it = budget_.find(offer);
    return it == budget_.end() ? 0 : it->second;
  }
  std::int64_t member_uses_since(std::size_t offer, Timestamp since) const override {
    auto it = uses_.find({*member_, offer});
    if (it == uses_.end()) return 0;
    return std::count_if(it->second.begin(), it->second.end(),
                         [&](Timestamp t) { return t >= since; });
  }
  void record(std::size_t offer, std::int64_t points, Timestamp t) {
    budget_[offer] += points;
    uses_[{*member_, offer}].push_back(t);
  }

 private:
  const std::string* member_;
  std::map<std::size_t, std::int64_t> budget_;
  std::map<std::pair<std::string, std::size_t>, std::vector<Timestamp>> uses_;
};

std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string evaluation_line(const RuleSet& set, const Evaluation& eval) {
  std::string out = "{\"base\": " + std::to_string(eval.base) + ", \"offers\": [";
  for (std::size_t k = 0; k < eval.offers.size(); ++k) {
    if (k) out += ", ";
    out += "{\"offer\": " + json_quote(set.offers()[eval.offers[k].offer_index].id) +
           ", \"points\": " + std::to_string(eval.offers[k].points) + "}";
  }
  out += "], \"points\": " + std::to_string(eval.points) + ", \"not_applied\": {";
  bool first = true;
  for (const auto& line : eval.trace) {
    if (line.outcome == OfferOutcome::applied) continue;
    if (!first) out += ", ";
    first = false;
    out += json_quote(set.offers()[line.offer_index].id) + ": " +
           json_quote(offer_outcome_name(line.outcome));
  }
  out += "}}\n";
  return out;
}

std::string run_events(const RuleSet& set, const std::string& events) {
  std::string member_id;
  RecordingUsage usage(&member_id);
  std::string out;
  std::istringstream lines(events);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    INFO("events.ndjson line ", number);
    auto c = parse_case_json(line, Timestamp{});
    REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().detail));
    Timestamp now = c->event.time;
    ri::JsonValue root;
    ri::JsonSyntaxError syntax;
    REQUIRE(ri::parse_json(line, json_depth_max, root, syntax));
    if (const auto* n = root.find("now")) {
      auto t = parse_rfc3339(n->text);
      REQUIRE(t.has_value());
      now = *t;
    }
    member_id = c->member.id;
    Evaluation eval = evaluate(set, c->member, c->event, now, usage, TraceMode::on);
    Evaluation quiet = evaluate(set, c->member, c->event, now, usage, TraceMode::off);
    CHECK(quiet.points == eval.points);  // the trace never changes the result
    for (const auto& a : eval.offers) usage.record(a.offer_index, a.points, c->event.time);
    out += evaluation_line(set, eval);
  }
  return out;
}

}  // namespace

TEST_CASE("every golden rules case gives exactly its expected output") {
  fs::path cases = source_dir() / "tests" / "cases" / "rules";
  REQUIRE(fs::is_directory(cases));
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(cases)) {
    if (entry.is_directory()) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  CHECK(dirs.size() >= 30);
  int check_cases = 0;
  int eval_cases = 0;
  for (const auto& dir : dirs) {
    INFO("case ", dir.filename().string());
    LoadResult loaded = load_directory(dir / "rules");
    // A failed load never carries a rule set, and a good one never carries errors.
    CHECK((loaded.rule_set == nullptr) != loaded.errors.empty());
    if (fs::exists(dir / "expected.txt")) {
      ++check_cases;
      std::string actual = check_output(loaded);
      if (updating()) write_file(dir / "expected.txt", actual);
      CHECK(actual == read_file(dir / "expected.txt"));
    }
    if (fs::exists(dir / "events.ndjson")) {
      ++eval_cases;
      REQUIRE_MESSAGE(loaded.rule_set != nullptr, check_output(loaded));
      std::string actual = run_events(*loaded.rule_set, read_file(dir / "events.ndjson"));
      if (updating()) write_file(dir / "expected.ndjson", actual);
      CHECK(actual == read_file(dir / "expected.ndjson"));
    }
  }
  CHECK(check_cases >= 25);
  CHECK(eval_cases >= 8);
}

TEST_CASE("every error message quoted in docs/rules.md is one a golden case produces") {
  fs::path root = source_dir();
  std::string all_expected;
  for (const auto& entry : fs::directory_iterator(root / "tests" / "cases" / "rules")) {
    if (fs::exists(entry.path() / "expected.txt")) {
      all_expected += read_file(entry.path() / "expected.txt");
    }
  }
  std::istringstream doc(read_file(root / "docs" / "rules.md"));
  std::string line;
  int quoted = 0;
  while (std::getline(doc, line)) {
    // A quoted message looks like "name.json:12:5: ..." or "(rule set):0:0: ...".
    auto colon = line.find(':');
    if (colon == std::string::npos || line.find(' ') < colon) {
      if (line.rfind("(rule set):", 0) != 0) continue;
    }
    if (line.find(".json:") == std::string::npos && line.rfind("(rule set):", 0) != 0) continue;
    if (line.find("`") == 0) continue;
    ++quoted;
    INFO("docs/rules.md: ", line);
    CHECK(all_expected.find(line + "\n") != std::string::npos);
  }
  CHECK(quoted >= 15);
}
