// Loads and checks rule files (rules layer, internal): JSON with positions, then the
// program, tiers and offers field by field, then the expressions. Errors are collected
// (up to rule_errors_max), never thrown; a rule set is built only when there are none.
#include "rules/internal/loader.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <date/tz.h>

#include "rules/base/hex.h"
#include "rules/base/points.h"
#include "rules/internal/expr.h"
#include "rules/internal/json.h"
#include "rules/internal/rule_set_impl.h"
#include "rules/limits.h"

namespace encore::rules::internal {
namespace {

using Keys = std::vector<std::string_view>;

const Keys kTopKeys = {"program", "tiers", "offers"};
const Keys kProgramKeys = {"name",        "description",       "currency", "base_earn",
                           "rounding",    "pending_days",      "expiry",   "max_backdate_days",
                           "timezone",    "point_value"};
const Keys kBaseEarnKeys = {"points", "per"};
const Keys kExpiryKeys = {"policy", "days"};
const Keys kTiersKeys = {"window_days", "levels"};
const Keys kLevelKeys = {"id", "name", "threshold", "multiplier"};
const Keys kOfferKeys = {"id",        "name",   "description", "on",       "when",
                         "award",     "starts_at", "ends_at",  "limit",    "budget",
                         "priority",  "exclusive", "eligible"};
const Keys kLimitKeys = {"per_member", "period_days"};

std::string quote(std::string_view s) { return "`" + std::string(s.substr(0, 80)) + "`"; }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      char ca = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i - 1])));
      char cb = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j - 1])));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (ca == cb ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > rule_id_bytes_max) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
  });
}

bool valid_event_type(std::string_view t) {
  if (t.empty() || t.size() > 32 || t[0] < 'a' || t[0] > 'z') return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

struct IdPlace {
  std::string file;
  SourcePos pos;
};

// A tier id written in an expression, where it is in its file.
struct TierIdPlace {
  const RuleFile* file;
  SourcePos pos;
  std::string id;
};

class Loader {
 public:
  LoadResult run(std::vector<RuleFile> files) {
    std::sort(files.begin(), files.end(),
              [](const RuleFile& a, const RuleFile& b) { return a.name < b.name; });
    impl_ = std::make_unique<RuleSetImpl>();
    if (files.empty()) {
      error_at_set("there are no rule files (*.json); the rules need at least a file with "
                   "the \"program\"");
    }
    if (files.size() > rule_files_max) {
      error_at_set("there are " + std::to_string(files.size()) + " rule files; at most " +
                   std::to_string(rule_files_max) + " are allowed");
    }
    for (std::size_t k = 1; k < files.size(); ++k) {
      if (files[k].name == files[k - 1].name) {
        error_at_set("two rule files are named " + quote(files[k].name));
      }
    }
    for (const auto& f : files) {
      if (full()) break;
      load_file(f);
    }
    check_tier_ids();
    if (!program_seen_ && !full()) {
      error_at_set("no file defines the \"program\"; exactly one file must have "
                   "\"program\": {\"name\": ..., \"currency\": ..., \"base_earn\": ...}");
    }
    LoadResult result;
    if (!errors_.empty()) {
      sort_errors(files);
      result.errors = std::move(errors_);
      return result;
    }
    impl_->files = std::move(files);
    impl_->version = rule_set_version(impl_->files);
    impl_->order.resize(impl_->offers.size());
    for (std::size_t k = 0; k < impl_->order.size(); ++k) impl_->order[k] = k;
    std::stable_sort(impl_->order.begin(), impl_->order.end(), [&](std::size_t a, std::size_t b) {
      return impl_->offers[a].priority > impl_->offers[b].priority;
    });
    if (!impl_->zone) impl_->zone = locate("UTC");
    ENCORE_ASSERT(impl_->zone != nullptr);
    result.rule_set = std::make_shared<const RuleSet>(std::move(impl_));
    return result;
  }

 private:
  // ---- errors ----

  bool full() const { return errors_.size() > rule_errors_max; }

  void error(SourcePos pos, std::string message) {
    if (full()) return;
    if (errors_.size() == rule_errors_max) {
      errors_.push_back(RuleError{file_ ? file_->name : "(rule set)", 0, 0,
                                  "more than " + std::to_string(rule_errors_max) +
                                      " errors; fix these and check again"});
      return;
    }
    errors_.push_back(RuleError{file_ ? file_->name : "(rule set)", pos.line, pos.column,
                                std::move(message)});
  }

  void error_at_set(std::string message) {
    const RuleFile* saved = file_;
    file_ = nullptr;
    error(SourcePos{}, std::move(message));
    file_ = saved;
  }

  // Puts errors in reading order: by file, line and column; problems of the whole set
  // after those of files, and the "more errors" note last.
  void sort_errors(const std::vector<RuleFile>& files) {
    auto rank = [&](const RuleError& e) {
      if (e.line == 0) return files.size();
      for (std::size_t k = 0; k < files.size(); ++k) {
        if (files[k].name == e.file) return k;
      }
      return files.size();
    };
    auto end = errors_.size() > rule_errors_max ? errors_.begin() + rule_errors_max
                                                 : errors_.end();
    std::stable_sort(errors_.begin(), end, [&](const RuleError& a, const RuleError& b) {
      auto ra = rank(a);
      auto rb = rank(b);
      if (ra != rb) return ra < rb;
      if (a.line != b.line) return a.line < b.line;
      return a.column < b.column;
    });
  }

  // ---- files ----

  void load_file(const RuleFile& f) {
    file_ = &f;
    if (f.content.size() > rule_file_bytes_max) {
      error(SourcePos{1, 1, 0}, "the file is larger than " +
                                    std::to_string(rule_file_bytes_max) +
                                    " bytes, the most a rule file may have; split it into one "
                                    "file per campaign");
      return;
    }
    JsonValue root;
    JsonSyntaxError syntax;
    if (!parse_json(f.content, json_depth_max, root, syntax)) {
      error(syntax.pos, syntax.message);
      return;
    }
    if (root.kind != JsonKind::object) {
      error(root.pos, "a rule file must be a JSON object { ... } with \"program\", \"tiers\" "
                      "or \"offers\", not " + std::string(json_kind_description(root.kind)));
      return;
    }
    check_keys(root, kTopKeys, "a rule file");
    for (std::size_t k = 0; k < root.members.size(); ++k) {
      const auto& m = root.members[k];
      // A key given twice is reported by check_keys; read only its first value.
      if (root.find(m.key) != &m.value) continue;
      if (m.key == "program") {
        if (program_seen_) {
          error(m.key_pos, "a second \"program\"; the program is already defined at " +
                               program_place_.file + ":" + std::to_string(program_place_.pos.line) +
                               ":" + std::to_string(program_place_.pos.column) +
                               " and there must be exactly one");
        } else {
          program_seen_ = true;
          program_place_ = IdPlace{f.name, m.key_pos};
          load_program(m.value);
        }
      } else if (m.key == "tiers") {
        if (tiers_seen_) {
          error(m.key_pos, "a second \"tiers\"; tiers are already defined at " +
                               tiers_place_.file + ":" + std::to_string(tiers_place_.pos.line) +
                               ":" + std::to_string(tiers_place_.pos.column) +
                               " and may appear only once");
        } else {
          tiers_seen_ = true;
          tiers_place_ = IdPlace{f.name, m.key_pos};
          load_tiers(m.value);
        }
      } else if (m.key == "offers") {
        load_offers(m.value);
      }
    }
  }

  // ---- generic field readers ----

  // Reports unknown keys (with a suggestion) and keys given twice.
  void check_keys(const JsonValue& obj, const Keys& allowed, std::string_view what) {
    for (std::size_t k = 0; k < obj.members.size(); ++k) {
      const auto& m = obj.members[k];
      bool known = std::find(allowed.begin(), allowed.end(), m.key) != allowed.end();
      if (!known) {
        std::string msg = "unknown field " + quote(m.key) + " in " + std::string(what);
        std::string guess = closest_word(m.key, allowed);
        if (!guess.empty()) {
          msg += "; did you mean " + quote(guess) + "?";
        } else {
          msg += "; the fields are:";
          for (std::size_t a = 0; a < allowed.size(); ++a) {
            msg += (a ? ", " : " ") + std::string(allowed[a]);
          }
        }
        error(m.key_pos, msg);
        continue;
      }
      for (std::size_t j = 0; j < k; ++j) {
        if (obj.members[j].key == m.key) {
          error(m.key_pos, quote(m.key) + " appears twice in " + std::string(what) +
                               " (first at line " + std::to_string(obj.members[j].key_pos.line) +
                               "); keep only one");
          break;
        }
      }
    }
  }

  void wrong_kind(const JsonValue& v, std::string_view field, std::string_view expected) {
    error(v.pos, quote(field) + " must be " + std::string(expected) + ", not " +
                     std::string(json_kind_description(v.kind)));
  }

  void missing(const JsonValue& obj, std::string_view what, std::string_view field,
               std::string_view example) {
    error(obj.pos, std::string(what) + " has no " + quote(field) + "; it is required, for "
                   "example " + std::string(example));
  }

  std::optional<std::string> read_string(const JsonValue& obj, std::string_view field) {
    const JsonValue* v = obj.find(field);
    if (!v) return std::nullopt;
    if (v->kind != JsonKind::string) {
      wrong_kind(*v, field, "text in quotes");
      return std::nullopt;
    }
    return v->text;
  }

  std::optional<std::int64_t> read_int(const JsonValue& obj, std::string_view field,
                                       std::int64_t min, std::int64_t max,
                                       std::int64_t example) {
    const JsonValue* v = obj.find(field);
    if (!v) return std::nullopt;
    std::int64_t n = 0;
    if (v->kind == JsonKind::string) {
      JsonValue as_number;
      as_number.kind = JsonKind::number;
      as_number.text = v->text;
      if (json_integer(as_number, n)) {
        error(v->pos, quote(field) + " must be a whole number without quotes: write " +
                          v->text + ", not \"" + v->text + "\"");
      } else {
        error(v->pos, quote(field) + " must be a whole number, like " + std::to_string(example) +
                          ", not text in quotes");
      }
      return std::nullopt;
    }
    if (v->kind != JsonKind::number) {
      wrong_kind(*v, field, "a whole number");
      return std::nullopt;
    }
    if (!json_integer(*v, n)) {
      error(v->pos, quote(field) + " must be a whole number, not " + v->text.substr(0, 40));
      return std::nullopt;
    }
    if (n < min || n > max) {
      error(v->pos, quote(field) + " must be between " + std::to_string(min) + " and " +
                        std::to_string(max) + ", not " + std::to_string(n));
      return std::nullopt;
    }
    return n;
  }

  std::optional<bool> read_bool(const JsonValue& obj, std::string_view field) {
    const JsonValue* v = obj.find(field);
    if (!v) return std::nullopt;
    if (v->kind != JsonKind::boolean) {
      wrong_kind(*v, field, "true or false (without quotes)");
      return std::nullopt;
    }
    return v->boolean;
  }

  // A decimal from text in quotes or a number, parsed exactly from what is written.
  std::optional<Decimal> read_decimal(const JsonValue& obj, std::string_view field,
                                      Decimal min_exclusive, Decimal max,
                                      std::string_view example) {
    const JsonValue* v = obj.find(field);
    if (!v) return std::nullopt;
    if (v->kind != JsonKind::string && v->kind != JsonKind::number) {
      wrong_kind(*v, field, "a decimal number in quotes, like " + std::string(example));
      return std::nullopt;
    }
    auto parsed = Decimal::parse(v->text);
    if (!parsed) {
      error(v->pos, quote(field) + ": " + parsed.error().detail + " (write it like " +
                        std::string(example) + ")");
      return std::nullopt;
    }
    if (*parsed <= min_exclusive || *parsed > max) {
      error(v->pos, quote(field) + " must be more than " + min_exclusive.to_string() +
                        " and at most " + max.to_string() + ", not " + parsed->to_string());
      return std::nullopt;
    }
    return *parsed;
  }

  std::optional<Timestamp> read_time(const JsonValue& obj, std::string_view field) {
    const JsonValue* v = obj.find(field);
    if (!v) return std::nullopt;
    if (v->kind != JsonKind::string) {
      wrong_kind(*v, field, "a time in quotes, like \"2026-12-01T00:00:00Z\"");
      return std::nullopt;
    }
    auto t = parse_rfc3339(v->text);
    if (!t && parse_civil_date(v->text).has_value()) {
      error(v->pos, quote(field) + " needs a time of day as well as the date, like \"" +
                        v->text + "T00:00:00Z\" (Z is UTC; write -05:00 instead of Z for "
                        "midnight five hours behind UTC)");
      return std::nullopt;
    }
    if (!t) {
      error(v->pos, quote(field) + ": " + t.error().detail);
      return std::nullopt;
    }
    return *t;
  }

  const JsonValue* read_object(const JsonValue& obj, std::string_view field,
                               std::string_view example) {
    const JsonValue* v = obj.find(field);
    if (!v) return nullptr;
    if (v->kind != JsonKind::object) {
      wrong_kind(*v, field, "an object, like " + std::string(example));
      return nullptr;
    }
    return v;
  }

  static const date::time_zone* locate(const std::string& name) {
    try {
      return date::locate_zone(name);
    } catch (const std::exception&) {  // date's only way to say "no such zone"
      return nullptr;
    }
  }

  // The closest IANA zone name, for "did you mean"; empty when none is close.
  static std::string closest_zone(const std::string& name) {
    std::vector<std::string_view> names;
    try {
      const auto& db = date::get_tzdb();
      for (const auto& z : db.zones) names.push_back(z.name());
      return closest_word(name, names);
    } catch (const std::exception&) {  // no tz database: no suggestion
      return {};
    }
  }

  // ---- program ----

  void load_program(const JsonValue& v) {
    if (v.kind != JsonKind::object) return wrong_kind(v, "program", "an object { ... }");
    check_keys(v, kProgramKeys, "the program");
    Program& p = impl_->program;
    // Defaults for what RULES.md's example always gives: USD, a point per 1.00.
    p.currency = "USD";
    p.currency_digits = currency_fraction_digits(p.currency);
    p.base_points = 1;
    p.base_per = Decimal::from_units(Decimal::scale);
    if (auto name = read_string(v, "name")) {
      if (name->empty() || name->size() > rule_text_bytes_max) {
        error(v.find("name")->pos, "the program's `name` must be 1 to " +
                                       std::to_string(rule_text_bytes_max) + " characters");
      }
      p.name = *name;
    }
    if (auto currency = read_string(v, "currency")) {
      bool ok = currency->size() == 3 &&
                std::all_of(currency->begin(), currency->end(),
                            [](char c) { return c >= 'A' && c <= 'Z'; });
      if (!ok) {
        error(v.find("currency")->pos, "`currency` must be a three-letter ISO 4217 code in "
                                       "capitals, like \"USD\" or \"EUR\", not \"" +
                                           currency->substr(0, 20) + "\"");
      }
      p.currency = *currency;
      p.currency_digits = currency_fraction_digits(*currency);
    }
    if (const JsonValue* be = read_object(v, "base_earn", "{\"points\": 1, \"per\": \"1.00\"}")) {
      check_keys(*be, kBaseEarnKeys, "`base_earn`");
      if (auto pts = read_int(*be, "points", 0, base_points_max, 1)) p.base_points = *pts;
      else if (!be->find("points")) missing(*be, "`base_earn`", "points", "\"points\": 1");
      auto per_max = Decimal::from_integer(1'000'000'000);
      if (auto per = read_decimal(*be, "per", Decimal{}, *per_max, "\"1.00\"")) p.base_per = *per;
      else if (!be->find("per")) missing(*be, "`base_earn`", "per", "\"per\": \"1.00\"");
    }
    if (auto r = read_string(v, "rounding")) {
      if (*r == "floor") p.rounding = Rounding::floor;
      else if (*r == "round") p.rounding = Rounding::round;
      else if (*r == "ceil") p.rounding = Rounding::ceil;
      else error(v.find("rounding")->pos, "`rounding` must be \"floor\", \"round\" or \"ceil\", "
                                          "not \"" + r->substr(0, 40) + "\"");
    }
    if (auto d = read_int(v, "pending_days", 0, rule_days_max, 14)) p.pending_days = *d;
    if (auto d = read_int(v, "max_backdate_days", 0, rule_days_max, 7)) p.max_backdate_days = *d;
    auto point_value_max = Decimal::from_integer(1'000'000);
    if (auto pv = read_decimal(v, "point_value", Decimal{}, *point_value_max, "\"0.01\"")) {
      p.point_value = *pv;
    }
    if (const JsonValue* ex = read_object(v, "expiry", "{\"policy\": \"fixed\", \"days\": 365}")) {
      check_keys(*ex, kExpiryKeys, "`expiry`");
      auto policy = read_string(*ex, "policy");
      auto days = read_int(*ex, "days", 1, rule_days_max, 365);
      if (policy) {
        if (*policy == "none") {
          p.expiry_policy = ExpiryPolicy::none;
        } else if (*policy == "fixed" || *policy == "inactivity") {
          p.expiry_policy = *policy == "fixed" ? ExpiryPolicy::fixed : ExpiryPolicy::inactivity;
          if (days) p.expiry_days = *days;
          else if (!ex->find("days")) {
            error(ex->pos, "`expiry` with policy \"" + *policy + "\" needs `days`, for example "
                           "\"days\": 365");
          }
        } else {
          error(ex->find("policy")->pos, "`expiry.policy` must be \"none\", \"fixed\" or "
                                         "\"inactivity\", not \"" + policy->substr(0, 40) + "\"");
        }
      } else if (!ex->find("policy")) {
        missing(*ex, "`expiry`", "policy", "\"policy\": \"none\"");
      }
    }
    if (auto tz = read_string(v, "timezone")) {
      const date::time_zone* zone = tz->empty() ? nullptr : locate(*tz);
      if (!zone) {
        std::string msg = "unknown time zone \"" + tz->substr(0, 60) + "\"";
        std::string guess = closest_zone(*tz);
        if (!guess.empty()) {
          msg += "; did you mean \"" + guess + "\"?";
        } else {
          msg += "; use an IANA name such as \"UTC\", \"Europe/Paris\" or "
                 "\"America/New_York\"";
        }
        error(v.find("timezone")->pos, msg);
      } else {
        p.timezone = *tz;
        impl_->zone = zone;
      }
    }
  }

  // ---- tiers ----

  void load_tiers(const JsonValue& v) {
    if (v.kind != JsonKind::object) return wrong_kind(v, "tiers", "an object { ... }");
    check_keys(v, kTiersKeys, "`tiers`");
    Tiers tiers;
    if (auto w = read_int(v, "window_days", 1, rule_days_max, 365)) tiers.window_days = *w;
    const JsonValue* levels = v.find("levels");
    if (!levels) {
      missing(v, "`tiers`", "levels", "\"levels\": [{\"id\": \"fan\", \"threshold\": 0}]");
    } else if (levels->kind != JsonKind::array) {
      wrong_kind(*levels, "levels", "a list [...] of levels");
    } else if (levels->items.empty()) {
      error(levels->pos, "`levels` is empty; give at least one level, like "
                         "{\"id\": \"fan\", \"threshold\": 0}");
    } else if (levels->items.size() > tier_levels_max) {
      error(levels->pos, "at most " + std::to_string(tier_levels_max) + " tier levels");
    } else {
      std::optional<std::int64_t> previous;
      for (const auto& lv : levels->items) {
        if (lv.kind != JsonKind::object) {
          wrong_kind(lv, "levels", "a list of objects like {\"id\": \"fan\", \"threshold\": 0}");
          continue;
        }
        check_keys(lv, kLevelKeys, "a tier level");
        TierLevel level;
        level.multiplier = Decimal::from_units(Decimal::scale);
        if (auto id = read_string(lv, "id")) {
          if (!valid_id(*id)) {
            error(lv.find("id")->pos, "tier id \"" + id->substr(0, 70) + "\" may only use "
                                      "letters, digits and . _ : - (1 to 64 of them)");
          }
          for (const auto& other : tiers.levels) {
            if (other.id == *id) error(lv.find("id")->pos, "tier id " + quote(*id) +
                                                               " is used twice");
          }
          level.id = *id;
        } else if (!lv.find("id")) {
          missing(lv, "this tier level", "id", "\"id\": \"superfan\"");
        }
        if (auto t = read_int(lv, "threshold", 0, points_max, 5000)) {
          if (previous && *t <= *previous) {
            error(lv.find("threshold")->pos,
                  "tier thresholds must go up from one level to the next: " + std::to_string(*t) +
                      " is not more than " + std::to_string(*previous) + " (the level before)");
          }
          previous = *t;
          level.threshold = *t;
        } else if (!lv.find("threshold")) {
          missing(lv, "this tier level", "threshold", "\"threshold\": 5000");
        }
        auto mul_max = Decimal::from_integer(tier_multiplier_max);
        if (auto m = read_decimal(lv, "multiplier", Decimal{}, *mul_max, "\"1.25\"")) {
          level.multiplier = *m;
        }
        tiers.levels.push_back(std::move(level));
      }
    }
    impl_->tiers = std::move(tiers);
  }

  // Tier ids compared with `member.tier` must be tiers, or the comparison never holds.
  // Checked once every file is read: the tiers may come in a file after the offers. ''
  // (a member below every threshold, or no tiers) is always allowed. When the "tiers"
  // themselves have an error, it is the one reported.
  void check_tier_ids() {
    if (tiers_seen_ && (!impl_->tiers || impl_->tiers->levels.empty())) return;
    Keys ids;
    if (impl_->tiers) {
      for (const auto& level : impl_->tiers->levels) ids.push_back(level.id);
    }
    const RuleFile* saved = file_;
    for (const auto& used : tier_ids_used_) {
      if (used.id.empty() || std::find(ids.begin(), ids.end(), used.id) != ids.end()) continue;
      file_ = used.file;
      error(used.pos, unknown_tier_message(used.id, ids));
    }
    file_ = saved;
  }

  static std::string unknown_tier_message(std::string_view id, const Keys& ids) {
    std::string message = "unknown tier '" + std::string(id.substr(0, 70)) + "'";
    if (ids.empty()) {
      return message + "; the rules define no \"tiers\", so no member has a tier "
                       "(`member.tier` is '')";
    }
    std::string guess = closest_word(id, ids);
    if (!guess.empty()) return message + "; did you mean '" + guess + "'?";
    message += "; the tiers are:";
    for (std::size_t k = 0; k < ids.size(); ++k) {
      message += (k ? ", '" : " '") + std::string(ids[k]) + "'";
    }
    return message;
  }

  // ---- offers ----

  void load_offers(const JsonValue& v) {
    if (v.kind != JsonKind::array) return wrong_kind(v, "offers", "a list [...] of offers");
    for (const auto& o : v.items) {
      if (full()) return;
      if (impl_->offers.size() >= offers_max) {
        error(o.pos, "too many offers: a rule set may have at most " +
                         std::to_string(offers_max));
        return;
      }
      if (o.kind != JsonKind::object) {
        wrong_kind(o, "offers", "a list of objects like {\"id\": ..., \"name\": ...}");
        continue;
      }
      load_offer(o);
    }
  }

  // Compiles an expression field and maps its errors into the file.
  std::shared_ptr<const CompiledExpr> compile(const JsonValue& obj, std::string_view field,
                                              ExprContext context, ExprResult result) {
    const JsonValue* v = obj.find(field);
    if (!v) return nullptr;
    std::string text;
    if (v->kind == JsonKind::string) {
      text = v->text;
    } else if (v->kind == JsonKind::number && result == ExprResult::number) {
      text = v->text;
    } else if (v->kind == JsonKind::boolean && result == ExprResult::boolean) {
      text = v->boolean ? "true" : "false";
    } else {
      wrong_kind(*v, field, result == ExprResult::number
                                ? "an expression in quotes, like \"100\" or \"base * 2\""
                                : "a condition in quotes, like \"event.total >= 100\"");
      return nullptr;
    }
    CompileOutput out = compile_expression(text, context, result);
    for (const auto& e : out.errors) {
      SourcePos at = v->kind == JsonKind::boolean ? v->pos
                                                  : value_char_pos(file_->content, *v, e.offset);
      error(at, e.message);
    }
    for (const auto& t : out.tier_literals) {
      tier_ids_used_.push_back(
          TierIdPlace{file_, value_char_pos(file_->content, *v, t.offset), t.text});
    }
    if (!out.errors.empty()) return nullptr;
    ENCORE_ASSERT(out.expr != nullptr);
    return out.expr;
  }

  void load_offer(const JsonValue& o) {
    check_keys(o, kOfferKeys, "an offer");
    Offer offer;
    CompiledOffer compiled;
    offer.file = file_->name;
    std::size_t errors_before = errors_.size();
    if (auto id = read_string(o, "id")) {
      const JsonValue* idv = o.find("id");
      if (!valid_id(*id)) {
        error(idv->pos, "offer id \"" + id->substr(0, 70) + "\" may only use letters, digits "
                        "and . _ : - (1 to 64 of them)");
      } else if (auto it = ids_.find(*id); it != ids_.end()) {
        error(idv->pos, "offer id " + quote(*id) + " is already used at " + it->second.file +
                            ":" + std::to_string(it->second.pos.line) + ":" +
                            std::to_string(it->second.pos.column) + "; offer ids must be unique");
      } else {
        ids_.emplace(*id, IdPlace{file_->name, idv->pos});
      }
      offer.id = *id;
    } else if (!o.find("id")) {
      missing(o, "this offer", "id", "\"id\": \"weekend-double\"");
    }
    if (auto name = read_string(o, "name")) {
      if (name->empty() || name->size() > rule_text_bytes_max) {
        error(o.find("name")->pos, "an offer's `name` must be 1 to " +
                                       std::to_string(rule_text_bytes_max) + " characters");
      }
      offer.name = *name;
    } else if (!o.find("name")) {
      missing(o, "this offer", "name", "\"name\": \"Weekend double points\"");
    }
    if (auto d = read_string(o, "description")) {
      if (d->size() > rule_text_bytes_max) {
        error(o.find("description")->pos, "`description` is longer than " +
                                              std::to_string(rule_text_bytes_max) + " characters");
      }
      offer.description = *d;
    }
    if (auto on = read_string(o, "on")) {
      if (!valid_event_type(*on)) {
        error(o.find("on")->pos, "`on` must be an event type such as \"purchase\" or "
                                 "\"feedback\": a lower-case letter, then up to 31 lower-case "
                                 "letters, digits or _");
      }
      offer.on = *on;
    }
    offer.starts_at = read_time(o, "starts_at");
    offer.ends_at = read_time(o, "ends_at");
    if (offer.starts_at && offer.ends_at && *offer.ends_at <= *offer.starts_at) {
      error(o.find("ends_at")->pos, "`ends_at` (" + format_rfc3339(*offer.ends_at) +
                                        ") must be after `starts_at` (" +
                                        format_rfc3339(*offer.starts_at) + ")");
    }
    if (const JsonValue* lim =
            read_object(o, "limit", "{\"per_member\": 1, \"period_days\": 30}")) {
      check_keys(*lim, kLimitKeys, "`limit`");
      offer.limit_per_member = read_int(*lim, "per_member", 1, 1'000'000'000, 1);
      offer.limit_period_days = read_int(*lim, "period_days", 1, rule_days_max, 30);
      if (!lim->find("per_member")) {
        missing(*lim, "`limit`", "per_member", "\"per_member\": 1 (uses per member)");
      }
    }
    offer.budget = read_int(o, "budget", 1, points_max, 100000);
    if (auto p = read_int(o, "priority", -offer_priority_max, offer_priority_max, 10)) {
      offer.priority = *p;
    }
    if (auto x = read_bool(o, "exclusive")) offer.exclusive = *x;
    compiled.when = compile(o, "when", ExprContext::event, ExprResult::boolean);
    compiled.eligible = compile(o, "eligible", ExprContext::member_only, ExprResult::boolean);
    compiled.award = compile(o, "award", ExprContext::event, ExprResult::number);
    if (!o.find("award")) {
      // RULES.md requires only id and name: without an award the offer gives nothing.
      CompileOutput zero = compile_expression("0", ExprContext::event, ExprResult::number);
      ENCORE_ASSERT(zero.expr != nullptr);
      compiled.award = zero.expr;
    }
    if (errors_.size() == errors_before) {
      impl_->offers.push_back(std::move(offer));
      impl_->compiled.push_back(std::move(compiled));
    }
  }

  const RuleFile* file_ = nullptr;
  std::vector<RuleError> errors_;
  std::unique_ptr<RuleSetImpl> impl_;
  bool program_seen_ = false;
  bool tiers_seen_ = false;
  IdPlace program_place_;
  IdPlace tiers_place_;
  std::map<std::string, IdPlace, std::less<>> ids_;
  std::vector<TierIdPlace> tier_ids_used_;
};

}  // namespace

int currency_fraction_digits(std::string_view code) {
  static constexpr std::pair<std::string_view, int> kTable[] = {
      {"BHD", 3}, {"CLP", 0}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KRW", 0}, {"KWD", 3},
      {"OMR", 3}, {"PYG", 0}, {"TND", 3}, {"UGX", 0}, {"VND", 0}, {"XAF", 0}, {"XOF", 0},
  };
  for (const auto& [c, digits] : kTable) {
    if (c == code) return digits;
  }
  return 2;  // USD, EUR, GBP and most others
}

std::string closest_word(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (auto c : candidates) {
    std::size_t d = edit_distance(word, c);
    bool prefix = word.size() >= 3 && (c.substr(0, word.size()) == word ||
                                       word.substr(0, c.size()) == c);
    if (prefix) d = std::min<std::size_t>(d, 1);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  std::size_t allowed = std::max<std::size_t>(1, std::min(word.size(), best.size()) / 3);
  return best_distance <= allowed ? best : std::string();
}

std::string rule_set_version(const std::vector<RuleFile>& sorted_files) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ENCORE_ASSERT(ctx != nullptr);
  int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  static constexpr char kNul = '\0';
  for (const auto& f : sorted_files) {
    std::string length = std::to_string(f.content.size());
    ok &= EVP_DigestUpdate(ctx, f.name.data(), f.name.size());
    ok &= EVP_DigestUpdate(ctx, &kNul, 1);
    ok &= EVP_DigestUpdate(ctx, length.data(), length.size());
    ok &= EVP_DigestUpdate(ctx, &kNul, 1);
    ok &= EVP_DigestUpdate(ctx, f.content.data(), f.content.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  ok &= EVP_DigestFinal_ex(ctx, digest, &digest_size);
  EVP_MD_CTX_free(ctx);
  ENCORE_ASSERT(ok == 1 && digest_size == 32);
  std::string out = "sha256:";
  append_hex(out, std::span<const std::uint8_t>(digest, digest_size));
  return out;
}

LoadResult load_rule_files(std::vector<RuleFile> files) {
  Loader loader;
  return loader.run(std::move(files));
}

}  // namespace encore::rules::internal
