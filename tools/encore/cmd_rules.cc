// `encore rules check DIR` and `encore rules explain DIR --member F --event F`: check a
// rules directory the way the server would load it, and show how an event would earn.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "rules/base/clock.h"
#include "rules/inputs.h"
#include "rules/limits.h"
#include "rules/rules.h"
#include "tools/encore/commands.h"
#include "tools/encore/json_text.h"

namespace encore::cli {
namespace {

using rules::LoadResult;
using rules::RuleSet;

// Reads a whole small file; nullopt after printing one line on stderr.
std::optional<std::string> read_small_file(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "encore: cannot read the %s file %s: %s\n", what, path.c_str(),
                 std::strerror(errno));
    return std::nullopt;
  }
  std::string content(rules::input_file_bytes_max + 1, '\0');
  std::size_t n = std::fread(content.data(), 1, content.size(), f);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    std::fprintf(stderr, "encore: cannot read the %s file %s\n", what, path.c_str());
    return std::nullopt;
  }
  if (n > rules::input_file_bytes_max) {
    std::fprintf(stderr, "encore: the %s file %s is larger than %zu bytes\n", what, path.c_str(),
                 rules::input_file_bytes_max);
    return std::nullopt;
  }
  content.resize(n);
  return content;
}

// Loads the rules, or prints every error as file:line:column: message and returns null.
std::shared_ptr<const RuleSet> load_or_report(const std::string& dir) {
  LoadResult loaded = rules::load_directory(dir);
  for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  return loaded.rule_set;
}

std::string_view rounding_name(rules::Rounding r) {
  switch (r) {
    case rules::Rounding::floor: return "floor";
    case rules::Rounding::round: return "round";
    case rules::Rounding::ceil: return "ceil";
  }
  return "floor";
}

std::string_view expiry_name(rules::ExpiryPolicy p) {
  switch (p) {
    case rules::ExpiryPolicy::none: return "none";
    case rules::ExpiryPolicy::fixed: return "fixed";
    case rules::ExpiryPolicy::inactivity: return "inactivity";
  }
  return "none";
}

int run_check(const std::string& dir) {
  auto set = load_or_report(dir);
  if (!set) return 1;
  const rules::Program& p = set->program();
  std::printf("rules are valid: %s\n", dir.c_str());
  std::printf("program  %s: %lld point(s) per %s %s, rounding %s, timezone %s\n",
              p.name.empty() ? "(no name)" : p.name.c_str(),
              static_cast<long long>(p.base_points),
              p.base_per.to_string_fixed(p.currency_digits).c_str(), p.currency.c_str(),
              std::string(rounding_name(p.rounding)).c_str(), p.timezone.c_str());
  std::printf("         pending %lld days, expiry %s", static_cast<long long>(p.pending_days),
              std::string(expiry_name(p.expiry_policy)).c_str());
  if (p.expiry_policy != rules::ExpiryPolicy::none) {
    std::printf(" after %lld days", static_cast<long long>(p.expiry_days));
  }
  std::printf(", backdating up to %lld days\n", static_cast<long long>(p.max_backdate_days));
  if (const auto& tiers = set->tiers()) {
    std::printf("tiers    over %lld days:", static_cast<long long>(tiers->window_days));
    for (std::size_t k = 0; k < tiers->levels.size(); ++k) {
      const auto& level = tiers->levels[k];
      std::printf("%s %s from %lld (x%s)", k ? ";" : "", level.id.c_str(),
                  static_cast<long long>(level.threshold), level.multiplier.to_string().c_str());
    }
    std::printf("\n");
  } else {
    std::printf("tiers    none\n");
  }
  std::printf("offers   %zu in %zu file(s), in the order they are tried:\n",
              set->offers().size(), set->files().size());
  // Priority descending, ties in file and position order: how evaluate() tries them.
  std::vector<std::size_t> order(set->offers().size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return set->offers()[a].priority > set->offers()[b].priority;
  });
  for (std::size_t index : order) {
    const rules::Offer& o = set->offers()[index];
    std::string facts = "on " + o.on + ", priority " + std::to_string(o.priority);
    if (o.exclusive) facts += ", exclusive";
    if (o.starts_at) facts += ", from " + format_rfc3339(*o.starts_at);
    if (o.ends_at) facts += ", until " + format_rfc3339(*o.ends_at);
    if (o.limit_per_member) {
      facts += ", " + std::to_string(*o.limit_per_member) + " per member";
      facts += o.limit_period_days
                   ? " in " + std::to_string(*o.limit_period_days) + " days"
                   : std::string(" ever");
    }
    if (o.budget) facts += ", budget " + std::to_string(*o.budget) + " points";
    std::printf("  %s (%s): %s\n      %s\n", o.id.c_str(), o.file.c_str(), o.name.c_str(),
                facts.c_str());
  }
  std::printf("version  %s\n", set->version().c_str());
  return 0;
}

struct ExplainOptions {
  std::string dir;
  std::string member_file;
  std::string event_file;
  std::string at;
  bool json = false;
};

void print_explain_text(const RuleSet& set, const rules::MemberView& member,
                        const rules::Event& event, const rules::Evaluation& eval) {
  const rules::Program& p = set.program();
  static constexpr const char* kWeekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                              "Friday", "Saturday", "Sunday"};
  CivilDate local = set.local_date(event.time);
  int weekday = weekday_from_days(days_from_civil(local));
  std::printf("rules    %s\n", set.version().c_str());
  std::printf("event    %s at %s (%s %s in %s)", event.type.c_str(),
              format_rfc3339(event.time).c_str(), kWeekdays[weekday - 1],
              format_civil_date(local).c_str(), p.timezone.c_str());
  if (event.total) {
    std::printf(", basket %s %s, %zu item(s)",
                event.total->to_string_fixed(p.currency_digits).c_str(), p.currency.c_str(),
                event.items.size());
  }
  std::printf("\nmember   %s, tier %s\n", member.id.empty() ? "(no id)" : member.id.c_str(),
              member.tier.empty() ? "(none)" : member.tier.c_str());
  if (event.type == "purchase" && event.total) {
    std::printf("base     %lld points = %s(%s / %s x %lld x tier multiplier %s)\n",
                static_cast<long long>(eval.base), std::string(rounding_name(p.rounding)).c_str(),
                event.total->to_string_fixed(p.currency_digits).c_str(),
                p.base_per.to_string_fixed(p.currency_digits).c_str(),
                static_cast<long long>(p.base_points),
                set.tier_multiplier(member.tier).to_string().c_str());
  } else {
    std::printf("base     0 points (only purchases with a basket earn base points)\n");
  }
  std::printf("offers   in the order they are tried (priority, then file and position):\n");
  for (const auto& line : eval.trace) {
    const rules::Offer& o = set.offers()[line.offer_index];
    if (line.outcome == rules::OfferOutcome::applied) {
      std::printf("  %+8lld  %s: %s\n", static_cast<long long>([&] {
                    for (const auto& a : eval.offers) {
                      if (a.offer_index == line.offer_index) return a.points;
                    }
                    return std::int64_t{0};
                  }()),
                  o.id.c_str(), line.detail.c_str());
    } else {
      std::printf("         -  %s: %s: %s\n", o.id.c_str(),
                  std::string(rules::offer_outcome_name(line.outcome)).c_str(),
                  line.detail.c_str());
    }
  }
  std::printf("total    %lld points\n", static_cast<long long>(eval.points));
}

void print_explain_json(const RuleSet& set, const rules::Evaluation& eval) {
  std::string out = "{\"version\": ";
  append_json_string(out, set.version());
  out += ", \"base\": " + std::to_string(eval.base) + ", \"offers\": [";
  for (std::size_t k = 0; k < eval.offers.size(); ++k) {
    const rules::Offer& o = set.offers()[eval.offers[k].offer_index];
    out += k ? ", {\"id\": " : "{\"id\": ";
    append_json_string(out, o.id);
    out += ", \"name\": ";
    append_json_string(out, o.name);
    out += ", \"points\": " + std::to_string(eval.offers[k].points) + "}";
  }
  out += "], \"points\": " + std::to_string(eval.points) + ", \"trace\": [";
  for (std::size_t k = 0; k < eval.trace.size(); ++k) {
    const auto& line = eval.trace[k];
    out += k ? ", {\"offer\": " : "{\"offer\": ";
    append_json_string(out, set.offers()[line.offer_index].id);
    out += ", \"outcome\": ";
    append_json_string(out, rules::offer_outcome_name(line.outcome));
    out += ", \"detail\": ";
    append_json_string(out, line.detail);
    out += "}";
  }
  out += "]}\n";
  std::fputs(out.c_str(), stdout);
}

int run_explain(const ExplainOptions& opt) {
  auto set = load_or_report(opt.dir);
  if (!set) return 1;
  auto member_text = read_small_file(opt.member_file, "member");
  if (!member_text) return 1;
  auto event_text = read_small_file(opt.event_file, "event");
  if (!event_text) return 1;
  std::optional<Timestamp> at;
  if (!opt.at.empty()) {
    auto t = parse_rfc3339(opt.at);
    if (!t) {
      std::fprintf(stderr, "encore: --at: %s\n", t.error().detail.c_str());
      return 1;
    }
    at = *t;
  }
  SystemClock clock;
  Timestamp now = at ? *at : clock.now();
  auto member = rules::parse_member_json(*member_text);
  if (!member) {
    std::fprintf(stderr, "encore: %s:%s\n", opt.member_file.c_str(),
                 member.error().detail.c_str());
    return 1;
  }
  auto event = rules::parse_event_json(*event_text, now);
  if (!event) {
    std::fprintf(stderr, "encore: %s:%s\n", opt.event_file.c_str(), event.error().detail.c_str());
    return 1;
  }
  if (!at) now = event->time;  // without --at, the event is recorded when it occurred
  rules::NoUsage usage;
  rules::Evaluation eval =
      rules::evaluate(*set, *member, *event, now, usage, rules::TraceMode::on);
  if (opt.json) {
    print_explain_json(*set, eval);
  } else {
    print_explain_text(*set, *member, *event, eval);
  }
  return 0;
}

}  // namespace

void add_rules_commands(CLI::App& app, int& exit_code) {
  CLI::App* rules_cmd = app.add_subcommand(
      "rules", "Check rule files, explain evaluations, simulate a draft on history");
  rules_cmd->require_subcommand(1);

  auto dir = std::make_shared<std::string>();
  CLI::App* check = rules_cmd->add_subcommand(
      "check", "Check a rules directory: every error as file:line:column: message (exit 1), "
               "or a summary of the rule set (exit 0)");
  check->add_option("DIR", *dir, "Directory of *.json rule files")->required();
  check->callback([dir, &exit_code] { exit_code = run_check(*dir); });

  auto opt = std::make_shared<ExplainOptions>();
  CLI::App* explain = rules_cmd->add_subcommand(
      "explain", "Show what an event would earn and why each offer applied or not (no prior "
                 "uses, untouched budgets)");
  explain->add_option("DIR", opt->dir, "Directory of *.json rule files")->required();
  explain->add_option("--member", opt->member_file, "Member view JSON file")->required();
  explain->add_option("--event", opt->event_file, "Event JSON file (POST /v1/events body)")
      ->required();
  explain->add_option("--at", opt->at,
                      "Recorded time, RFC 3339 (default: the event's time; for days_since)");
  explain->add_flag("--json", opt->json, "Print the result and trace as JSON");
  explain->callback([opt, &exit_code] { exit_code = run_explain(*opt); });

  add_simulate_command(*rules_cmd, exit_code);
}

}  // namespace encore::cli
