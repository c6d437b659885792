// Unit tests of the loader's check of tier ids written in expressions: a text compared
// with `member.tier` (==, !=, either side, `in` a list) must be one of the program's tiers,
// else the rule set is refused with an error at that text, suggesting the closest tier.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "rules/rules.h"

using namespace encore;
using namespace encore::rules;

namespace {

const char* kProgram = R"({"program": {"name": "Test", "currency": "USD",
  "base_earn": {"points": 1, "per": "1.00"}}})";
const char* kTiers = R"({"tiers": {"levels": [{"id": "silver", "threshold": 0},
  {"id": "gold", "threshold": 5000}]}})";

// The offers file's one line: an offer whose `field` is `expression` (JSON-escaped).
std::string offer_line(const std::string& field, const std::string& expression) {
  return R"({"offers": [{"id": "a", "name": "A", ")" + field + R"(": ")" +
         expression + R"("}]})";
}

// Loads program, offers and tiers in that name order: the tiers come after the offers.
LoadResult load_with(const std::string& offers, const char* tiers = kTiers) {
  std::vector<RuleFile> files = {RuleFile{"a-program.json", kProgram},
                                 RuleFile{"b-offers.json", offers}};
  if (tiers) files.push_back(RuleFile{"c-tiers.json", tiers});
  return load_files(files);
}

// The errors as "file:line:column: message" lines.
std::string errors_of(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

// "b-offers.json:1:<column of `needle` in line>: message\n".
std::string error_at(const std::string& line, const std::string& needle,
                     const std::string& message) {
  std::size_t at = line.find(needle);
  REQUIRE(at != std::string::npos);
  return "b-offers.json:1:" + std::to_string(at + 1) + ": " + message + "\n";
}

}  // namespace

TEST_CASE("a misspelt tier id compared with member.tier is an error at the text") {
  const std::string did_you_mean = "unknown tier 'goldd'; did you mean 'gold'?";
  SUBCASE("member.tier == 'x'") {
    std::string line = offer_line("when", "member.tier == 'goldd'");
    CHECK(errors_of(load_with(line)) == error_at(line, "'goldd'", did_you_mean));
  }
  SUBCASE("'x' == member.tier") {
    std::string line = offer_line("when", "'goldd' == member.tier && event.total > 5");
    CHECK(errors_of(load_with(line)) == error_at(line, "'goldd'", did_you_mean));
  }
  SUBCASE("member.tier != 'x', in double quotes, in eligible") {
    std::string line = offer_line("eligible", R"(member.tier != \"goldd\")");
    CHECK(errors_of(load_with(line)) == error_at(line, R"(\"goldd\")", did_you_mean));
  }
  SUBCASE("member.tier in [...]: each text of the list") {
    std::string line = offer_line("when", "member.tier in ['silver', 'goldd', 'silvr']");
    CHECK(errors_of(load_with(line)) ==
          error_at(line, "'goldd'", did_you_mean) +
              error_at(line, "'silvr'", "unknown tier 'silvr'; did you mean 'silver'?"));
  }
  SUBCASE("inside an award's if(), in parentheses") {
    std::string line = offer_line("award", "if((member.tier) == 'goldd', 20, 10)");
    CHECK(errors_of(load_with(line)) == error_at(line, "'goldd'", did_you_mean));
  }
  SUBCASE("the case of a tier id matters") {
    std::string line = offer_line("when", "member.tier == 'Gold'");
    CHECK(errors_of(load_with(line)) ==
          error_at(line, "'Gold'", "unknown tier 'Gold'; did you mean 'gold'?"));
  }
}

TEST_CASE("an unknown tier id with no close tier lists the tiers") {
  std::string line = offer_line("when", "member.tier == 'bronze'");
  CHECK(errors_of(load_with(line)) ==
        error_at(line, "'bronze'", "unknown tier 'bronze'; the tiers are: 'silver', 'gold'"));
}

TEST_CASE("tier ids of the program load, whichever file defines the tiers") {
  for (const char* expression :
       {"member.tier == 'gold'", "'silver' == member.tier", "member.tier != 'gold'",
        "member.tier in ['silver', 'gold']", "member.tier == ''", "member.tier in []"}) {
    CAPTURE(expression);
    LoadResult r = load_with(offer_line("when", expression));
    CHECK(errors_of(r) == "");
    REQUIRE(r.rule_set != nullptr);
    CHECK(r.rule_set->offers().size() == 1);
  }
}

TEST_CASE("without tiers, a tier id compared with member.tier is an error; '' is not") {
  std::string line = offer_line("when", "member.tier == 'vip' || member.tier == ''");
  CHECK(errors_of(load_with(line, nullptr)) ==
        error_at(line, "'vip'", "unknown tier 'vip'; the rules define no \"tiers\", so no "
                                "member has a tier (`member.tier` is '')"));
  CHECK(load_with(offer_line("when", "member.tier == ''"), nullptr).rule_set != nullptr);
}

TEST_CASE("only texts compared with member.tier itself are tier ids") {
  for (const char* expression :
       {"member.id == 'goldd'", "event.channel in ['goldd']", "member.attributes.tier == 'x'"}) {
    CAPTURE(expression);
    CHECK(errors_of(load_with(offer_line("when", expression))) == "");
  }
}

TEST_CASE("tier errors come with the expression's other errors, but not after a syntax error") {
  std::string line = offer_line("when", "member.tier == 'goldd' && event.chanel == 'app'");
  CHECK(errors_of(load_with(line)) ==
        error_at(line, "'goldd'", "unknown tier 'goldd'; did you mean 'gold'?") +
            error_at(line, "event.chanel",
                     "unknown name `event.chanel`; did you mean `event.channel`?"));
  std::string syntax = offer_line("when", "member.tier == 'goldd' && (event.total > 5");
  CHECK(errors_of(load_with(syntax)) ==
        error_at(syntax, "(event", "this `(` is not closed; add a `)`"));
}

TEST_CASE("a broken tiers section is the only error, not every tier id after it") {
  std::string line = offer_line("when", "member.tier == 'gold'");
  LoadResult r = load_with(line, R"({"tiers": {"levels": []}})");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == "c-tiers.json");
}
