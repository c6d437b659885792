// Cross-check against the answer key: the 20 benchmark offers in Encore's format
// (shared/bench/peers/rules/encore/offers.json) evaluated on the first 5,000 corpus
// events must give exactly the base and per-offer points of reference.js
// (expected-5k.ndjson). The key lists an offer even when its award is 0 (for example
// floor(base * 0.5) on a base of 1); RULES.md says such an offer does not apply, so the
// key's 0-point entries are dropped before comparing. The member's tier is an input.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "rules/inputs.h"
#include "rules/internal/json.h"
#include "rules/limits.h"
#include "rules/rules.h"

namespace fs = std::filesystem;
using namespace encore;
using namespace encore::rules;
namespace ri = encore::rules::internal;

TEST_CASE("the benchmark offers give exactly the answer key's points on 5,000 events") {
  const char* src = std::getenv("ENCORE_SOURCE_DIR");
  REQUIRE_MESSAGE(src != nullptr, "ENCORE_SOURCE_DIR must name the source tree");
  // The shared directory sits beside the repository (CI clones it there): required.
  fs::path peers = fs::path(src) / ".." / "shared" / "bench" / "peers" / "rules";
  REQUIRE_MESSAGE(fs::exists(peers / "expected-5k.ndjson"),
                  "missing " << (peers / "expected-5k.ndjson").string()
                             << ": the shared/ directory must sit beside the repository");

  std::ifstream offers_in(peers / "encore" / "offers.json", std::ios::binary);
  std::stringstream offers_text;
  offers_text << offers_in.rdbuf();
  LoadResult loaded = load_files({RuleFile{"offers.json", offers_text.str()}});
  for (const auto& e : loaded.errors) MESSAGE(e.to_string());
  REQUIRE(loaded.rule_set != nullptr);
  const RuleSet& set = *loaded.rule_set;
  REQUIRE(set.offers().size() == 20);

  std::ifstream lines(peers / "expected-5k.ndjson", std::ios::binary);
  std::string line;
  int count = 0;
  int mismatches = 0;
  NoUsage usage;
  while (std::getline(lines, line)) {
    ++count;
    auto c = parse_case_json(line, Timestamp{});
    REQUIRE_MESSAGE(c.has_value(), "line " << count << ": " << (c ? "" : c.error().detail));
    ri::JsonValue root;
    ri::JsonSyntaxError syntax;
    REQUIRE(ri::parse_json(line, json_depth_max, root, syntax));
    const ri::JsonValue* expected = root.find("expected");
    REQUIRE(expected != nullptr);

    std::string want = "base=" + expected->find("base")->text;
    std::int64_t want_total = 0;
    for (const auto& o : expected->find("offers")->items) {
      std::int64_t points = 0;
      REQUIRE(ri::json_integer(*o.find("points"), points));
      if (points == 0) continue;  // an award of 0 does not apply (RULES.md)
      want += " " + o.find("offer")->text + "=" + std::to_string(points);
      want_total += points;
    }
    Evaluation eval = evaluate(set, c->member, c->event, c->event.time, usage);
    std::string got = "base=" + std::to_string(eval.base);
    for (const auto& a : eval.offers) {
      got += " " + set.offers()[a.offer_index].id + "=" + std::to_string(a.points);
    }
    if (got != want || eval.points != eval.base + want_total) {
      ++mismatches;
      if (mismatches <= 5) {
        MESSAGE("line " << count << ": expected " << want << ", got " << got);
      }
    }
  }
  CHECK(count == 5000);
  CHECK(mismatches == 0);
}
