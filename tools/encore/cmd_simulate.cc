// `encore rules simulate --data DIR --rules DRAFT [--from DATE --to DATE] [--json]`: replays
// the events a ledger recorded against a draft rule set and compares, per offer, what the
// draft would have given with what the rules in force gave (docs/rules.md, "Simulating").
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <date/tz.h>

#include "ledger/history.h"
#include "rules/base/json_text.h"
#include "rules/rules.h"
#include "tools/encore/commands.h"

namespace encore::cli {
namespace {

struct SimulateOptions {
  std::string data;
  std::string rules;
  std::string from;
  std::string to;
  bool json = false;
};

// Offer usage as the draft would have kept it, from the start of the replay: its budgets
// and each member's uses (event times) of each offer.
class ReplayUsage final : public rules::UsageSource {
 public:
  explicit ReplayUsage(std::size_t offers) : budget_(offers, 0) {}
  void set_member(const std::string& member) {
    auto it = uses_.find(member);
    if (it == uses_.end()) it = uses_.emplace(member, Uses()).first;
    member_ = &it->second;
  }
  void record(std::size_t offer_index, std::int64_t points, Timestamp at) {
    budget_[offer_index] += points;
    (*member_)[offer_index].push_back(at);
  }
  std::int64_t budget_used(std::size_t offer_index) const override {
    return budget_[offer_index];
  }
  std::int64_t member_uses_since(std::size_t offer_index, Timestamp since) const override {
    auto it = member_->find(offer_index);
    if (it == member_->end()) return 0;
    return std::count_if(it->second.begin(), it->second.end(),
                         [&](Timestamp t) { return t >= since; });
  }

 private:
  // Offer index -> event times of the member's awards; only offers the member got.
  using Uses = std::map<std::size_t, std::vector<Timestamp>>;
  std::vector<std::int64_t> budget_;
  std::map<std::string, Uses, std::less<>> uses_;
  Uses* member_ = nullptr;
};

// What one side (draft or actual) gave for one offer, the base or the total.
struct Side {
  std::set<std::string, std::less<>> members;  // distinct members awarded
  std::int64_t times = 0;                      // events that awarded it
  std::int64_t points = 0;
  void add(const std::string& member, std::int64_t p) {
    if (p <= 0) return;
    members.insert(member);
    ++times;
    points += p;
  }
};

struct Row {
  std::string id;
  std::string name;
  bool in_draft = false;
  Side draft;
  Side actual;
};

struct Report {
  std::vector<Row> offers;  // the draft's offers in its order, then the others seen
  Row base;
  Row total;
  std::uint64_t events = 0;
  std::set<std::string, std::less<>> members;  // members with a replayed event
};

// Money as exact text: points × point value, with the currency's digits (more when the
// point value has more).
__extension__ typedef __int128 Int128;  // points x point value: beyond 64 bits for big sums
__extension__ typedef unsigned __int128 UInt128;

class MoneyFormat {
 public:
  MoneyFormat(Money point_value, int currency_digits)
      : units_(point_value.units()), digits_(currency_digits) {
    std::int64_t frac = units_ % Decimal::scale;
    int needed = Decimal::scale_digits;
    while (needed > 0 && frac % 10 == 0 && frac != 0) {
      frac /= 10;
      --needed;
    }
    if (units_ % Decimal::scale == 0) needed = 0;
    digits_ = std::max(digits_, needed);
  }
  std::string value(std::int64_t points) const {
    Int128 u = static_cast<Int128>(points) * units_;
    bool negative = u < 0;
    if (negative) u = -u;
    UInt128 whole = static_cast<UInt128>(u) / Decimal::scale;
    auto frac = static_cast<std::int64_t>(static_cast<UInt128>(u) % Decimal::scale);
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
      whole /= 10;
    } while (whole != 0);
    std::string out = negative ? "-" + digits : digits;
    if (digits_ > 0) {
      std::string f = std::to_string(frac + Decimal::scale).substr(1);  // 6 digits
      out += "." + f.substr(0, static_cast<std::size_t>(digits_));
    }
    return out;
  }

 private:
  std::int64_t units_;
  int digits_;
};

// Midnight of a date in the program timezone, or an RFC 3339 time.
Result<Timestamp> parse_bound(const std::string& text, const rules::RuleSet& set) {
  if (auto t = parse_rfc3339(text)) return *t;
  auto d = parse_civil_date(text);
  if (!d) {
    return make_error(ErrorCode::invalid_request,
                      "\"" + text + "\" is not a date like 2026-12-01 (or an RFC 3339 time)");
  }
  try {
    const date::time_zone* zone = date::locate_zone(set.program().timezone);
    auto local = date::local_days{date::year{d->year} / d->month / d->day};
    auto sys = zone->to_sys(local, date::choose::earliest);
    return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(
                         sys.time_since_epoch())
                         .count()};
  } catch (const std::exception& e) {
    return make_error(ErrorCode::invalid_request, std::string("time zone: ") + e.what());
  }
}

std::string side_json(const Side& s, const MoneyFormat& money) {
  std::string out = "{\"members\": " + std::to_string(s.members.size()) +
                    ", \"times\": " + std::to_string(s.times) +
                    ", \"points\": " + std::to_string(s.points) + ", \"value\": ";
  append_json_string(out, money.value(s.points));
  return out + "}";
}

std::string row_json(const Row& r, const MoneyFormat& money) {
  std::string out = "{\"draft\": " + side_json(r.draft, money) +
                    ", \"actual\": " + side_json(r.actual, money) +
                    ", \"difference\": {\"points\": " +
                    std::to_string(r.draft.points - r.actual.points) + ", \"value\": ";
  append_json_string(out, money.value(r.draft.points - r.actual.points));
  return out + "}}";
}

void print_json(const SimulateOptions& opt, const rules::RuleSet& set, const Report& rep,
                const MoneyFormat& money) {
  const rules::Program& p = set.program();
  std::string out = "{\"draft\": ";
  append_json_string(out, set.version());
  out += ", \"from\": ";
  if (opt.from.empty()) out += "null"; else append_json_string(out, opt.from);
  out += ", \"to\": ";
  if (opt.to.empty()) out += "null"; else append_json_string(out, opt.to);
  out += ", \"timezone\": ";
  append_json_string(out, p.timezone);
  out += ", \"currency\": ";
  append_json_string(out, p.currency);
  out += ", \"point_value\": ";
  append_json_string(out, p.point_value.to_string());
  out += ", \"events\": " + std::to_string(rep.events) +
         ", \"members\": " + std::to_string(rep.members.size()) + ", \"offers\": [";
  for (std::size_t k = 0; k < rep.offers.size(); ++k) {
    const Row& r = rep.offers[k];
    out += k ? ", {\"id\": " : "{\"id\": ";
    append_json_string(out, r.id);
    out += ", \"name\": ";
    append_json_string(out, r.name);
    out += std::string(", \"in_draft\": ") + (r.in_draft ? "true" : "false") + ", ";
    out += row_json(r, money).substr(1);
  }
  out += "], \"base\": " + row_json(rep.base, money);
  out += ", \"total\": " + row_json(rep.total, money) + "}\n";
  std::fputs(out.c_str(), stdout);
}

std::string signed_text(std::int64_t v) {
  return v > 0 ? "+" + std::to_string(v) : std::to_string(v);
}

void print_table(const SimulateOptions& opt, const rules::RuleSet& set, const Report& rep,
                 const MoneyFormat& money) {
  const rules::Program& p = set.program();
  std::printf("draft    %s (%s)\n", set.version().c_str(), opt.rules.c_str());
  std::printf("data     %s\n", opt.data.c_str());
  std::printf("events   %llu replayed, %zu member(s); %s to %s (%s)\n",
              static_cast<unsigned long long>(rep.events), rep.members.size(),
              opt.from.empty() ? "the first" : opt.from.c_str(),
              opt.to.empty() ? "the last" : opt.to.c_str(), p.timezone.c_str());
  std::printf("value    %s %s per point\n\n", p.point_value.to_string().c_str(),
              p.currency.c_str());
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"", "draft", "", "", "", "actual", "", "", "", "difference", ""});
  rows.push_back({"offer", "members", "times", "points", "value", "members", "times", "points",
                  "value", "points", "value"});
  auto add = [&](const std::string& label, const Row& r) {
    std::int64_t diff = r.draft.points - r.actual.points;
    std::string diff_value = money.value(diff);
    if (diff > 0) diff_value = "+" + diff_value;
    rows.push_back({label, std::to_string(r.draft.members.size()),
                    std::to_string(r.draft.times), std::to_string(r.draft.points),
                    money.value(r.draft.points), std::to_string(r.actual.members.size()),
                    std::to_string(r.actual.times), std::to_string(r.actual.points),
                    money.value(r.actual.points), signed_text(diff), diff_value});
  };
  bool any_missing = false;
  for (const Row& r : rep.offers) {
    add(r.in_draft ? r.id : r.id + " *", r);
    any_missing = any_missing || !r.in_draft;
  }
  add("(base points)", rep.base);
  add("TOTAL", rep.total);
  std::vector<std::size_t> width(rows[1].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (k + 2 == rows.size()) {  // a rule above the totals
      std::string line;
      for (std::size_t c = 0; c < width.size(); ++c) {
        line += (c ? (c == 1 || c == 5 || c == 9 ? "  |  " : "  ") : "") +
                std::string(width[c], '-');
      }
      std::printf("%s\n", line.c_str());
    }
    std::string line;
    for (std::size_t c = 0; c < rows[k].size(); ++c) {
      const std::string& cell = rows[k][c];
      std::string pad(width[c] - cell.size(), ' ');
      if (c) line += (c == 1 || c == 5 || c == 9) ? "  |  " : "  ";
      line += (c == 0 || k == 0) ? cell + pad : pad + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
  if (any_missing) std::printf("\n* not in the draft: what the rules in force gave\n");
  std::printf("\nmembers: distinct members awarded; times: events that awarded it; "
              "difference: draft - actual\n");
}

int run_simulate(const SimulateOptions& opt) {
  std::error_code ec;
  if (!std::filesystem::is_directory(opt.data, ec)) {
    std::fprintf(stderr, "encore rules simulate: no data dir at %s\n", opt.data.c_str());
    return 1;
  }
  if (!std::filesystem::is_directory(opt.rules, ec)) {
    std::fprintf(stderr, "encore rules simulate: no rules directory at %s\n", opt.rules.c_str());
    return 1;
  }
  rules::LoadResult loaded = rules::load_directory(opt.rules);
  if (!loaded.rule_set) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    std::fprintf(stderr, "encore rules simulate: the draft rules in %s are not valid\n",
                 opt.rules.c_str());
    return 1;
  }
  const rules::RuleSet& set = *loaded.rule_set;
  Timestamp from{INT64_MIN};
  Timestamp to{INT64_MAX};
  for (auto [text, bound, flag] : {std::tuple{&opt.from, &from, "--from"},
                                   std::tuple{&opt.to, &to, "--to"}}) {
    if (text->empty()) continue;
    auto t = parse_bound(*text, set);
    if (!t) {
      std::fprintf(stderr, "encore rules simulate: %s: %s\n", flag, t.error().detail.c_str());
      return 1;
    }
    *bound = *t;
  }
  if (!(from < to)) {
    std::fprintf(stderr, "encore rules simulate: --from must be before --to\n");
    return 1;
  }

  Report rep;
  std::map<std::string, std::size_t, std::less<>> row_of;
  for (const auto& offer : set.offers()) {
    row_of.emplace(offer.id, rep.offers.size());
    rep.offers.push_back(Row{offer.id, offer.name, true, {}, {}});
  }
  ReplayUsage usage(set.offers().size());
  // Offers given but not in the draft: named from the stored rule set that gave them.
  std::map<std::string, std::vector<std::size_t>, std::less<>> named_by;
  Status s = ledger::for_each_event(opt.data, from, to, [&](const ledger::RecordedEvent& r) {
    ++rep.events;
    rep.members.insert(r.member);
    usage.set_member(r.member);
    rules::Evaluation ev = rules::evaluate(set, r.view, r.event, r.recorded_at, usage);
    std::int64_t draft_base = std::max<std::int64_t>(ev.base, 0);
    std::int64_t draft_total = draft_base;
    rep.base.draft.add(r.member, draft_base);
    for (const auto& award : ev.offers) {
      rep.offers[award.offer_index].draft.add(r.member, award.points);
      usage.record(award.offer_index, award.points, r.event.time);
      draft_total += award.points;
    }
    rep.total.draft.add(r.member, draft_total);
    std::int64_t actual_total = r.base;
    rep.base.actual.add(r.member, r.base);
    for (const auto& award : r.offers) {
      auto it = row_of.find(award.offer);
      if (it == row_of.end()) {
        it = row_of.emplace(award.offer, rep.offers.size()).first;
        rep.offers.push_back(Row{award.offer, "", false, {}, {}});
        named_by[r.ruleset].push_back(it->second);
      }
      rep.offers[it->second].actual.add(r.member, award.points);
      actual_total += award.points;
    }
    rep.total.actual.add(r.member, actual_total);
    return true;
  });
  if (!s) {
    std::fprintf(stderr, "encore rules simulate: %s\n", s.error().detail.c_str());
    return 1;
  }
  for (const auto& [version, rows] : named_by) {
    auto files = ledger::stored_rule_set(opt.data, version);
    if (!files) continue;  // the name is only for reading; the id says which offer it is
    auto old_rules = rules::load_files(std::move(files).value());
    if (!old_rules.rule_set) continue;
    for (std::size_t k : rows) {
      for (const auto& offer : old_rules.rule_set->offers()) {
        if (offer.id == rep.offers[k].id) rep.offers[k].name = offer.name;
      }
    }
  }
  MoneyFormat money(set.program().point_value, set.program().currency_digits);
  if (opt.json) {
    print_json(opt, set, rep, money);
  } else {
    print_table(opt, set, rep, money);
  }
  return 0;
}

}  // namespace

void add_simulate_command(CLI::App& rules_cmd, int& exit_code) {
  auto opt = std::make_shared<SimulateOptions>();
  CLI::App* cmd = rules_cmd.add_subcommand(
      "simulate", "Replay the events a ledger recorded against a draft rule set and compare, "
                  "per offer, members reached, points and their value with what was given "
                  "(reads the data dir read-only; safe while the server runs)");
  cmd->add_option("--data", opt->data, "The ledger's data dir")->required();
  cmd->add_option("--rules", opt->rules, "Directory of the draft *.json rule files")->required();
  cmd->add_option("--from", opt->from,
                  "First day, YYYY-MM-DD in the draft's timezone (or RFC 3339); default: all");
  cmd->add_option("--to", opt->to, "Day after the last (exclusive); default: all");
  cmd->add_flag("--json", opt->json, "Print the report as JSON");
  cmd->callback([opt, &exit_code] { exit_code = run_simulate(*opt); });
}

}  // namespace encore::cli
