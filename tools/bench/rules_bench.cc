// rules_bench: evaluations per second of the rules engine on one core, over the peer
// benchmark's corpus and 20 offers (shared/bench/peers/rules), and the time to load and
// check 1,000 generated offers. Figures are quoted in docs/performance.md.
//   rules_bench [--benchmark_filter=...]
//   ENCORE_RULES_CORPUS=events-100k.ndjson rules_bench   (default: expected-5k.ndjson)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rules/inputs.h"
#include "rules/rules.h"

namespace fs = std::filesystem;
using namespace encore;
using namespace encore::rules;

namespace {

fs::path peers_dir() {
  const char* src = std::getenv("ENCORE_SOURCE_DIR");
  fs::path root = src ? fs::path(src) : fs::path(ENCORE_DEFAULT_SOURCE_DIR);
  return root / ".." / "shared" / "bench" / "peers" / "rules";
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "rules_bench: cannot read %s\n", p.string().c_str());
    std::exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Corpus {
  std::shared_ptr<const RuleSet> rules;
  std::vector<InputCase> cases;
};

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus out;
    LoadResult loaded =
        load_files({RuleFile{"offers.json", read_file(peers_dir() / "encore" / "offers.json")}});
    if (!loaded.rule_set) {
      for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
      std::exit(1);
    }
    out.rules = loaded.rule_set;
    const char* path = std::getenv("ENCORE_RULES_CORPUS");
    fs::path file = path ? fs::path(path) : peers_dir() / "expected-5k.ndjson";
    std::ifstream in(file, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      auto parsed = parse_case_json(line, Timestamp{});
      if (!parsed) {
        std::fprintf(stderr, "rules_bench: %s: %s\n", file.string().c_str(),
                     parsed.error().detail.c_str());
        std::exit(1);
      }
      out.cases.push_back(std::move(*parsed));
    }
    // The offers' points over the whole corpus: rules-peers.sh prints the same sum as
    // "points awarded" for every engine, so this checks the corpus end to end.
    NoUsage usage;
    std::int64_t offer_points = 0;
    for (const auto& ic : out.cases) {
      Evaluation eval = evaluate(*out.rules, ic.member, ic.event, ic.event.time, usage);
      offer_points += eval.points - eval.base;
    }
    std::fprintf(stderr, "rules_bench: %zu events from %s; offer points awarded: %lld\n",
                 out.cases.size(), file.string().c_str(), static_cast<long long>(offer_points));
    return out;
  }();
  return c;
}

// One evaluation of all 20 offers per iteration, walking the corpus in order.
void evaluate_corpus(benchmark::State& state, TraceMode trace) {
  const Corpus& c = corpus();
  NoUsage usage;
  std::size_t k = 0;
  std::int64_t points = 0;
  for (auto _ : state) {
    const InputCase& in = c.cases[k];
    Evaluation eval = evaluate(*c.rules, in.member, in.event, in.event.time, usage, trace);
    points += eval.points;
    benchmark::DoNotOptimize(eval);
    if (++k == c.cases.size()) k = 0;
  }
  benchmark::DoNotOptimize(points);
  state.SetItemsProcessed(state.iterations());
  state.counters["events"] = static_cast<double>(c.cases.size());
}

void BM_evaluate(benchmark::State& state) { evaluate_corpus(state, TraceMode::off); }
void BM_evaluate_with_trace(benchmark::State& state) { evaluate_corpus(state, TraceMode::on); }

// 1,000 offers built from the 20 benchmark conditions, in 10 files of 100.
std::vector<RuleFile> generated_offers() {
  static const char* kWhens[] = {
      "member.tier == 'gold'",
      "weekday(event.time) in ['sat', 'sun']",
      "event.channel in ['online', 'phone'] && event.total >= 30",
      "any(event.items, item.category == 'vinyl')",
      "member.days_since_last_purchase > 60 && member.tier in ['gold', 'platinum']",
      "month(member.birthday) == month(event.time) && event.total >= 50",
      "count(event.items, true) >= 5",
      "weekday(event.time) in ['tue', 'wed'] && event.channel == 'store'",
  };
  static const char* kAwards[] = {"base", "floor(base * 0.5)", "100", "base * 2",
                                  "sum(filter(event.items, item.category == 'vinyl'), "
                                  "item.total)"};
  std::vector<RuleFile> files;
  files.push_back(RuleFile{"program.json", R"({"program": {"name": "Bench", "currency": "USD",
      "base_earn": {"points": 1, "per": "1.00"}}})"});
  // The conditions name these tiers (tier ids are checked against the program's).
  files.push_back(RuleFile{"tiers.json", R"({"tiers": {"window_days": 365, "levels": [
      {"id": "silver", "name": "Silver", "threshold": 0},
      {"id": "gold", "name": "Gold", "threshold": 1000},
      {"id": "platinum", "name": "Platinum", "threshold": 5000}]}})"});
  for (int f = 0; f < 10; ++f) {
    std::string text = "{\"offers\": [\n";
    for (int k = 0; k < 100; ++k) {
      int n = f * 100 + k;
      text += (k ? ",\n" : "") + std::string("  {\"id\": \"offer-") + std::to_string(n) +
              "\", \"name\": \"Generated offer " + std::to_string(n) + "\", \"when\": \"" +
              kWhens[n % 8] + "\", \"award\": \"" + kAwards[n % 5] +
              "\", \"limit\": {\"per_member\": 2, \"period_days\": 30}, \"priority\": " +
              std::to_string(n % 7) + ", \"starts_at\": \"2026-01-01T00:00:00Z\"}";
    }
    text += "\n]}\n";
    char name[32];
    std::snprintf(name, sizeof name, "offers-%02d.json", f);
    files.push_back(RuleFile{name, text});
  }
  return files;
}

void BM_load_1000_offers(benchmark::State& state) {
  const std::vector<RuleFile> files = generated_offers();
  std::size_t bytes = 0;
  for (const auto& f : files) bytes += f.content.size();
  for (auto _ : state) {
    LoadResult loaded = load_files(files);
    if (!loaded.rule_set || loaded.rule_set->offers().size() != 1000) {
      state.SkipWithError("the generated offers did not load");
      break;
    }
    benchmark::DoNotOptimize(loaded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

}  // namespace

BENCHMARK(BM_evaluate);
BENCHMARK(BM_evaluate_with_trace);
BENCHMARK(BM_load_1000_offers)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
