// `encore rules explain DIR --member F --event F [--at T] [--json]`: how an event would earn
// and why each offer applied or not.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "rules/base/clock.h"
#include "rules/inputs.h"
#include "rules/base/json_text.h"
#include "rules/rules.h"
#include "tools/encore/cli_support.h"
#include "tools/encore/commands.h"

namespace encore::cli {
namespace {

using rules::RuleSet;

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

void add_rules_explain_command(CLI::App& rules_cmd, int& exit_code) {
  auto opt = std::make_shared<ExplainOptions>();
  CLI::App* explain = rules_cmd.add_subcommand(
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
}

}  // namespace encore::cli
