// encore::ledger::verify (ledger/): replays the journal from empty with State::apply, then
// the profile changes and the events' visits, and compares the rebuilt members (with their
// lots and offer uses), holds, budgets, counters and chain head with what is stored. Opens
// RocksDB read-only, so it never writes to the data dir.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "ledger/internal/codec.h"
#include "ledger/internal/event_record.h"
#include "ledger/internal/state.h"
#include "ledger/internal/store.h"
#include "ledger/ledger.h"

namespace encore::ledger {
namespace {

using internal::Family;
using internal::HoldState;
using internal::Lot;
using internal::MemberState;
using internal::State;

// The meta names the writer uses (ledger.cc).
constexpr std::string_view kMetaLastSeq = "last_seq";
constexpr std::string_view kMetaChainHead = "chain_head";
constexpr std::string_view kMetaClock = "clock";

// Entries between two progress reports.
constexpr Seq progress_every = 4'096;

Error difference(std::string what) { return make_error(ErrorCode::internal, std::move(what)); }

std::string seq_text(Seq seq) { return "journal entry " + std::to_string(seq); }

std::string time_text(Timestamp t) {
  return t == internal::never ? std::string("never") : format_rfc3339(t);
}

std::string optional_time_text(const std::optional<Timestamp>& t) {
  return t ? format_rfc3339(*t) : std::string("none");
}

// Rule sets by version, loaded from the store once each (entries name the one in force).
class RuleSets {
 public:
  explicit RuleSets(const internal::Store& store) : store_(store) {}
  Result<const rules::RuleSet*> get(const std::string& version) {
    if (version.empty()) return static_cast<const rules::RuleSet*>(nullptr);
    auto it = loaded_.find(version);
    if (it != loaded_.end()) return it->second.get();
    ENCORE_ASSIGN_OR_RETURN(auto stored, store_.get(Family::rulesets, version));
    if (!stored) return difference("rule set " + version + " is not stored");
    ENCORE_ASSIGN_OR_RETURN(auto files, internal::decode_rule_files(*stored));
    auto result = rules::load_files(std::move(files));
    if (!result.rule_set) return difference("stored rule set " + version + " does not load");
    if (result.rule_set->version() != version) {
      return difference("stored rule set " + version + " loads as " + result.rule_set->version());
    }
    return loaded_.emplace(version, result.rule_set).first->second.get();
  }

 private:
  const internal::Store& store_;
  std::map<std::string, std::shared_ptr<const rules::RuleSet>, std::less<>> loaded_;
};

// What State::apply asserts, checked first so that a journal whose hashes were rewritten
// to match altered entries is reported as a difference instead of stopping the process.
Status check_applicable(const State& s, const Entry& e) {
  auto bad = [&](std::string why) {
    return difference(seq_text(e.seq) + " (" + std::string(entry_kind_name(e.kind)) + " of '" +
                      e.member + "') cannot apply: " + why);
  };
  auto mit = s.members.find(e.member);
  if (e.kind == EntryKind::enroll) {
    if (mit != s.members.end()) return bad("the member already exists");
    return Status::ok();
  }
  if (mit == s.members.end()) return bad("no such member");
  const MemberState& m = mit->second;
  if (!points_add(m.total, e.points)) return bad("points out of range");
  if (e.recorded_at < s.clock_max) return bad("recorded time goes backwards");
  auto hold = [&]() -> const HoldState* {
    auto it = s.holds.find(e.hold);
    if (it == s.holds.end() || it->second.hold.member != e.member) return nullptr;
    return &it->second;
  };
  auto sliced = [](const HoldState& h) {
    std::int64_t sum = 0;
    for (const auto& [seq, points] : h.slices) sum += points;
    return sum;
  };
  switch (e.kind) {
    case EntryKind::accrual:
      if (e.points <= 0 || !e.vests_at) return bad("not a positive accrual with vests_at");
      break;
    case EntryKind::vest: {
      auto lot = m.lots.find(e.lot);
      if (lot == m.lots.end() || lot->second.vested || lot->second.remaining != e.amount ||
          lot->second.held != 0) {
        return bad("no pending lot " + std::to_string(e.lot) + " of that amount");
      }
      break;
    }
    case EntryKind::redemption:
      if (e.points >= 0 || m.vested_remaining() < -e.points) return bad("not enough points");
      break;
    case EntryKind::hold:
      if (s.holds.contains(e.hold) || !e.expires_at || e.amount <= 0 ||
          m.vested_remaining() < e.amount) {
        return bad("hold id reused or not enough points");
      }
      break;
    case EntryKind::capture: {
      const HoldState* h = hold();
      if (h == nullptr || h->hold.status != HoldStatus::active || e.points >= 0 ||
          sliced(*h) < -e.points) {
        return bad("no active hold '" + e.hold + "' holding that much");
      }
      break;
    }
    case EntryKind::hold_release: {
      const HoldState* h = hold();
      if (h == nullptr || sliced(*h) != e.amount) {
        return bad("hold '" + e.hold + "' does not hold that much");
      }
      break;
    }
    case EntryKind::expiry: {
      if (e.points >= 0) return bad("not a negative expiry");
      if (e.lot != 0) {
        auto lot = m.lots.find(e.lot);
        if (lot == m.lots.end() || !lot->second.vested || lot->second.remaining < -e.points) {
          return bad("lot " + std::to_string(e.lot) + " has not that much");
        }
      } else if (m.vested_remaining() < -e.points) {
        return bad("not enough points");
      }
      break;
    }
    case EntryKind::reversal:
      if (e.reverses == 0 || e.reverses >= e.seq || e.points == 0) return bad("bad reversal");
      break;
    case EntryKind::adjustment:
      if (e.points == 0) return bad("zero adjustment");
      break;
    case EntryKind::tier_change:
    case EntryKind::enroll:
      break;
  }
  return Status::ok();
}

template <typename T>
Status same(const std::string& where, const char* field, const T& stored, const T& replayed) {
  if (stored == replayed) return Status::ok();
  return difference(where + ": " + field + " is " + std::to_string(stored) + " stored, " +
                    std::to_string(replayed) + " replayed");
}

Status same_text(const std::string& where, const char* field, const std::string& stored,
                 const std::string& replayed) {
  if (stored == replayed) return Status::ok();
  return difference(where + ": " + field + " is '" + stored + "' stored, '" + replayed +
                    "' replayed");
}

Status compare_lot(const std::string& member, Seq seq, const Lot& st, const Lot& re) {
  const std::string where = "lot " + std::to_string(seq) + " of member '" + member + "'";
  ENCORE_RETURN_IF_ERROR(same(where, "remaining", st.remaining, re.remaining));
  ENCORE_RETURN_IF_ERROR(same(where, "held", st.held, re.held));
  ENCORE_RETURN_IF_ERROR(
      same_text(where, "vests_at", time_text(st.vests_at), time_text(re.vests_at)));
  ENCORE_RETURN_IF_ERROR(
      same_text(where, "expires_at", time_text(st.expires_at), time_text(re.expires_at)));
  ENCORE_RETURN_IF_ERROR(same(where, "vested", int(st.vested), int(re.vested)));
  return Status::ok();
}

Status compare_lots(const MemberState& st, const MemberState& re) {
  const std::string& id = re.profile.id;
  for (const auto& [seq, lot] : st.lots) {
    auto it = re.lots.find(seq);
    if (it == re.lots.end()) {
      return difference("lot " + std::to_string(seq) + " of member '" + id +
                        "' is stored but the replay has spent it");
    }
    ENCORE_RETURN_IF_ERROR(compare_lot(id, seq, lot, it->second));
  }
  for (const auto& [seq, lot] : re.lots) {
    if (!st.lots.contains(seq)) {
      return difference("lot " + std::to_string(seq) + " of member '" + id + "' (" +
                        std::to_string(lot.remaining) + " points) is in the replay but not stored");
    }
  }
  return Status::ok();
}

Status compare_uses(const MemberState& st, const MemberState& re) {
  for (const auto& [offer, times] : re.offer_uses) {
    auto it = st.offer_uses.find(offer);
    if (it == st.offer_uses.end() || it->second != times) {
      return difference("offer '" + offer + "' for member '" + re.profile.id +
                        "': uses differ (" +
                        std::to_string(it == st.offer_uses.end() ? 0 : it->second.size()) +
                        " stored, " + std::to_string(times.size()) + " replayed)");
    }
  }
  for (const auto& [offer, times] : st.offer_uses) {
    if (!re.offer_uses.contains(offer)) {
      return difference("offer '" + offer + "' for member '" + re.profile.id +
                        "': uses are stored that never happened");
    }
  }
  return Status::ok();
}

Status compare_member(const MemberState& st, const MemberState& re) {
  const std::string where = "member '" + re.profile.id + "'";
  std::int64_t st_available = st.available();
  std::int64_t re_available = re.available();
  ENCORE_RETURN_IF_ERROR(same(where, "available", st_available, re_available));
  ENCORE_RETURN_IF_ERROR(same(where, "pending", st.pending, re.pending));
  ENCORE_RETURN_IF_ERROR(same(where, "held", st.held, re.held));
  ENCORE_RETURN_IF_ERROR(same(where, "total", st.total, re.total));
  ENCORE_RETURN_IF_ERROR(same(where, "lifetime_earned", st.lifetime_earned, re.lifetime_earned));
  ENCORE_RETURN_IF_ERROR(same(where, "debt", st.debt, re.debt));
  ENCORE_RETURN_IF_ERROR(same(where, "as_of", st.as_of, re.as_of));
  ENCORE_RETURN_IF_ERROR(same(where, "visits", st.visits, re.visits));
  ENCORE_RETURN_IF_ERROR(same_text(where, "last purchase", optional_time_text(st.last_purchase_at),
                                   optional_time_text(re.last_purchase_at)));
  ENCORE_RETURN_IF_ERROR(same_text(where, "inactivity expiry",
                                   optional_time_text(st.inactivity_expires),
                                   optional_time_text(re.inactivity_expires)));
  ENCORE_RETURN_IF_ERROR(same_text(where, "status",
                                   std::string(member_status_name(st.profile.status)),
                                   std::string(member_status_name(re.profile.status))));
  ENCORE_RETURN_IF_ERROR(same_text(
      where, "birthday", st.profile.birthday ? format_civil_date(*st.profile.birthday) : "none",
      re.profile.birthday ? format_civil_date(*re.profile.birthday) : "none"));
  if (st.profile.attributes != re.profile.attributes) {
    return difference(where + ": its attributes differ from the replay");
  }
  ENCORE_RETURN_IF_ERROR(same_text(where, "tier", st.profile.tier, re.profile.tier));
  ENCORE_RETURN_IF_ERROR(same_text(where, "enrolled_at", format_rfc3339(st.profile.enrolled_at),
                                   format_rfc3339(re.profile.enrolled_at)));
  if (st.reversed != re.reversed) {
    return difference(where + ": the points reversed per entry differ from the replay");
  }
  ENCORE_RETURN_IF_ERROR(compare_lots(st, re));
  ENCORE_RETURN_IF_ERROR(compare_uses(st, re));
  // The tier window is trimmed by the writer as days pass (not journaled): every day the
  // store still has must match, and every day it dropped must be older than those kept.
  for (const auto& [day, points] : st.window) {
    auto it = re.window.find(day);
    if (it == re.window.end() || it->second != points) {
      return difference(where + ": tier window day " + std::to_string(day) + " differs");
    }
  }
  for (const auto& [day, points] : re.window) {
    if (st.window.contains(day)) continue;
    if (!st.window.empty() && day > st.window.begin()->first) {
      return difference(where + ": tier window lacks day " + std::to_string(day));
    }
  }
  return Status::ok();
}

Status compare_hold(const HoldState& st, const HoldState& re) {
  const std::string where = "hold '" + re.hold.id + "'";
  ENCORE_RETURN_IF_ERROR(same_text(where, "member", st.hold.member, re.hold.member));
  ENCORE_RETURN_IF_ERROR(same(where, "points", st.hold.points, re.hold.points));
  ENCORE_RETURN_IF_ERROR(same_text(where, "status", std::string(hold_status_name(st.hold.status)),
                                   std::string(hold_status_name(re.hold.status))));
  ENCORE_RETURN_IF_ERROR(same(where, "captured", st.hold.captured, re.hold.captured));
  ENCORE_RETURN_IF_ERROR(same_text(where, "expires_at", time_text(st.hold.expires_at),
                                   time_text(re.hold.expires_at)));
  ENCORE_RETURN_IF_ERROR(same_text(where, "created_at", time_text(st.hold.created_at),
                                   time_text(re.hold.created_at)));
  ENCORE_RETURN_IF_ERROR(same_text(where, "order_id", st.hold.order_id, re.hold.order_id));
  if (st.slices != re.slices) return difference(where + ": its lot slices differ");
  return Status::ok();
}

// Scans one family, calling fn for each record; stops at fn's first error.
Status scan_all(const internal::Store& store, Family family,
                const std::function<Status(std::string_view, std::string_view)>& fn) {
  Status failed;
  ENCORE_RETURN_IF_ERROR(store.scan(family, "", "", [&](auto k, auto v) {
    failed = fn(k, v);
    return failed.is_ok();
  }));
  return failed;
}

class Verifier {
 public:
  Verifier(const internal::Store& store, const VerifyProgress& progress, VerifyReport& report)
      : store_(store), progress_(progress), report_(report), rule_sets_(store) {}

  Status run() {
    ENCORE_ASSIGN_OR_RETURN(auto last_seq, store_.get(Family::meta, kMetaLastSeq));
    ENCORE_ASSIGN_OR_RETURN(auto head, store_.get(Family::meta, kMetaChainHead));
    Seq meta_last = last_seq && last_seq->size() == 8 ? internal::be64_value(*last_seq) : 0;
    if (last_seq && last_seq->size() != 8) return difference("meta last_seq is corrupt");
    ENCORE_RETURN_IF_ERROR(replay(meta_last));
    report_.entries = state_.last_seq;
    report_.chain_head = state_.last_seq == 0 ? "" : hash_hex(state_.chain_head);
    if (state_.last_seq != meta_last) {
      return difference("meta last_seq is " + std::to_string(meta_last) +
                        " but the journal ends at " + std::to_string(state_.last_seq) +
                        (state_.last_seq < meta_last ? " (entries missing at the end)" : ""));
    }
    if (meta_last > 0) {
      if (!head || head->size() != 32 ||
          !std::equal(head->begin(), head->end(),
                      reinterpret_cast<const char*>(state_.chain_head.data()))) {
        std::string stored = "absent";
        if (head && head->size() == 32) {
          Hash h{};
          std::copy(head->begin(), head->end(), reinterpret_cast<char*>(h.data()));
          stored = hash_hex(h);
        }
        return difference("meta chain head is " + stored + " but the journal's is " +
                          hash_hex(state_.chain_head));
      }
    }
    ENCORE_RETURN_IF_ERROR(replay_profiles());
    ENCORE_RETURN_IF_ERROR(replay_visits());
    ENCORE_RETURN_IF_ERROR(check_members());
    ENCORE_RETURN_IF_ERROR(check_holds());
    ENCORE_RETURN_IF_ERROR(check_offers());
    ENCORE_RETURN_IF_ERROR(check_counters());
    return Status::ok();
  }

 private:
  Status replay(Seq total) {
    if (progress_) progress_(0, total);
    Status failed;
    ENCORE_RETURN_IF_ERROR(store_.scan(Family::journal, "", "", [&](auto k, auto v) {
      failed = replay_one(k, v);
      if (failed.is_ok() && progress_ && state_.last_seq % progress_every == 0) {
        progress_(state_.last_seq, std::max(total, state_.last_seq));
      }
      return failed.is_ok();
    }));
    ENCORE_RETURN_IF_ERROR(failed);
    if (progress_) progress_(state_.last_seq, std::max(total, state_.last_seq));
    return Status::ok();
  }

  Status replay_one(std::string_view key, std::string_view value) {
    const Seq expected = state_.last_seq + 1;
    if (key.size() != 8) return difference("a journal key is not 8 bytes");
    const Seq seq = internal::be64_value(key);
    if (seq != expected) {
      return difference(seq_text(expected) + " is missing (the next stored is " +
                        std::to_string(seq) + ")");
    }
    auto decoded = internal::decode_journal_value(value);
    if (!decoded) return difference(seq_text(seq) + ": " + decoded.error().detail);
    Entry e = std::move(decoded).value();
    if (e.seq != seq) {
      return difference(seq_text(seq) + " says it is seq " + std::to_string(e.seq));
    }
    std::string_view encoding = value.substr(0, value.size() - 32);
    if (internal::encode_entry(e) != encoding) {
      return difference(seq_text(seq) + " is not in canonical form (changed)");
    }
    if (internal::chain_hash(state_.chain_head, encoding) != e.hash) {
      return difference(seq_text(seq) + " was changed: its hash does not follow the chain");
    }
    ENCORE_ASSIGN_OR_RETURN(const rules::RuleSet* rules, rule_sets_.get(e.ruleset));
    ENCORE_RETURN_IF_ERROR(check_applicable(state_, e));
    ENCORE_RETURN_IF_ERROR(check_history_link(e));
    state_.apply(e, rules);
    state_.dirty.clear();
    state_.last_seq = seq;
    state_.chain_head = e.hash;
    state_.clock_max = std::max(state_.clock_max, e.recorded_at);
    return Status::ok();
  }

  // Profile changes no entry carries (the profiles family), in the order they were made.
  // They touch only birthday, attributes and status, which no entry reads or writes, so
  // replaying them after the journal gives the same members as interleaving them.
  Status replay_profiles() {
    return scan_all(store_, Family::profiles, [&](auto k, auto v) {
      internal::ProfileChange change;
      Seq position = 0;
      ENCORE_RETURN_IF_ERROR(internal::decode_profile(v, &change, &position));
      const std::string where = "profile change " + std::to_string(internal::be64_value(k));
      auto m = state_.members.find(change.member);
      if (m == state_.members.end() || position > state_.last_seq) {
        return Status(difference(where + " (after entry " + std::to_string(position) +
                                 ") names member '" + change.member + "', never enrolled"));
      }
      internal::apply_profile(m->second, std::move(change));
      return Status::ok();
    });
  }

  // Visits, the last purchase and the inactivity expiry come from the applied events (the
  // events family), which no entry reads. The writer's inactivity timer clears the expiry
  // once the clock passes it, whether or not points remained to expire: the stored clock
  // says whether it has.
  Status replay_visits() {
    Status scanned = scan_all(store_, Family::events, [&](auto k, auto v) {
      RecordedEvent r;
      ENCORE_RETURN_IF_ERROR(internal::decode_event_record(v, &r));
      const std::string where = "recorded event " + std::to_string(internal::be64_value(k));
      auto m = state_.members.find(r.member);
      if (m == state_.members.end()) {
        return Status(difference(where + " names member '" + r.member + "', never enrolled"));
      }
      ENCORE_ASSIGN_OR_RETURN(const rules::RuleSet* rules, rule_sets_.get(r.ruleset));
      if (rules == nullptr) return Status(difference(where + " names no rule set"));
      internal::record_visit(m->second, r.event.type, r.event.time, r.recorded_at,
                             rules->program());
      return Status::ok();
    });
    if (!scanned) return scanned;
    ENCORE_ASSIGN_OR_RETURN(auto clock, store_.get(Family::meta, kMetaClock));
    if (!clock) return Status::ok();
    internal::Decoder d(*clock);
    const Timestamp now{d.svarint()};
    for (auto& [id, m] : state_.members) {
      if (m.inactivity_expires && *m.inactivity_expires <= now) m.inactivity_expires.reset();
    }
    return Status::ok();
  }

  // Each entry names the member's entry before it (prev), the chain a member's history is
  // read through: a wrong link would hide or misplace entries in that history.
  Status check_history_link(const Entry& e) const {
    auto m = state_.members.find(e.member);
    const Seq expected = m == state_.members.end() ? 0 : m->second.as_of;
    if (e.prev == expected) return Status::ok();
    return difference(seq_text(e.seq) + " links to entry " + std::to_string(e.prev) +
                      " as the member's previous one; the replay says " +
                      std::to_string(expected));
  }

  Status check_members() {
    std::uint64_t count = 0;
    if (Status scanned = scan_all(store_, Family::members, [&](auto k, auto v) {
      MemberState st;
      ENCORE_RETURN_IF_ERROR(internal::decode_member(v, &st));
      st.profile.id = std::string(k);
      auto it = state_.members.find(k);
      if (it == state_.members.end()) {
        return Status(difference("member '" + std::string(k) + "' is stored but never enrolled"));
      }
      ++count;
      report_.lots += st.lots.size();
      return compare_member(st, it->second);
    }); !scanned) return scanned;
    if (count != state_.members.size()) {
      for (const auto& [id, m] : state_.members) {
        ENCORE_ASSIGN_OR_RETURN(auto v, store_.get(Family::members, id));
        if (!v) return difference("member '" + id + "' is in the journal but not stored");
      }
    }
    report_.members = count;
    return Status::ok();
  }

  Status check_holds() {
    std::uint64_t count = 0;
    if (Status scanned = scan_all(store_, Family::holds, [&](auto k, auto v) {
      HoldState st;
      ENCORE_RETURN_IF_ERROR(internal::decode_hold(v, &st));
      st.hold.id = std::string(k);
      auto it = state_.holds.find(k);
      if (it == state_.holds.end()) {
        return Status(difference("hold '" + std::string(k) + "' is stored but never made"));
      }
      ++count;
      return compare_hold(st, it->second);
    }); !scanned) return scanned;
    if (count != state_.holds.size()) {
      for (const auto& [id, h] : state_.holds) {
        ENCORE_ASSIGN_OR_RETURN(auto v, store_.get(Family::holds, id));
        if (!v) return difference("hold '" + id + "' is in the journal but not stored");
      }
    }
    report_.holds = count;
    return Status::ok();
  }

  Status check_offers() {
    std::map<std::string, std::int64_t, std::less<>> budgets;
    if (Status scanned = scan_all(store_, Family::offers, [&](auto k, auto v) {
      if (!k.starts_with("b")) return Status(difference("an offers key is corrupt"));
      internal::Decoder d(v);
      budgets[std::string(k.substr(1))] = d.svarint();
      if (!d.done()) return Status(difference("a budget record is corrupt"));
      return Status::ok();
    }); !scanned) return scanned;
    for (const auto& [offer, used] : state_.budget_used) {
      auto it = budgets.find(offer);
      std::int64_t stored = it == budgets.end() ? 0 : it->second;
      ENCORE_RETURN_IF_ERROR(same("offer '" + offer + "'", "budget used", stored, used));
    }
    for (const auto& [offer, used] : budgets) {
      if (used != 0 && !state_.budget_used.contains(offer)) {
        return difference("offer '" + offer + "': budget used is " + std::to_string(used) +
                          " stored, 0 replayed");
      }
    }
    return Status::ok();
  }

  Status check_counters() {
    std::map<std::int64_t, internal::DayCounters> stored;
    if (Status scanned = scan_all(store_, Family::counters, [&](auto k, auto v) {
      if (k.size() != 8) return Status(difference("a counters key is corrupt"));
      return internal::decode_counters(
          v, &stored[static_cast<std::int64_t>(internal::be64_value(k))]);
    }); !scanned) return scanned;
    for (const auto& [day, c] : state_.days) {
      auto it = stored.find(day);
      internal::DayCounters st = it == stored.end() ? internal::DayCounters{} : it->second;
      const std::string where = "daily counters of " + format_civil_date(civil_from_days(day));
      ENCORE_RETURN_IF_ERROR(same(where, "earned", st.earned, c.earned));
      ENCORE_RETURN_IF_ERROR(same(where, "redeemed", st.redeemed, c.redeemed));
      ENCORE_RETURN_IF_ERROR(same(where, "expired", st.expired, c.expired));
      ENCORE_RETURN_IF_ERROR(same(where, "reversed", st.reversed, c.reversed));
    }
    for (const auto& [day, c] : stored) {
      if (!state_.days.contains(day) && !(c == internal::DayCounters{})) {
        return difference("daily counters of " + format_civil_date(civil_from_days(day)) +
                          " are stored but nothing happened that day");
      }
    }
    return Status::ok();
  }

  const internal::Store& store_;
  const VerifyProgress& progress_;
  VerifyReport& report_;
  RuleSets rule_sets_;
  State state_;
};

}  // namespace

Status verify(const std::filesystem::path& data_dir, const VerifyProgress& progress,
              VerifyReport* out) {
  VerifyReport local;
  VerifyReport& report = out ? *out : local;
  report = VerifyReport{};
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return make_error(ErrorCode::unavailable, "no data dir at " + data_dir.string());
  }
  if (!std::filesystem::exists(data_dir / "CURRENT", ec)) {
    return make_error(ErrorCode::unavailable, data_dir.string() + " holds no Encore ledger");
  }
  ENCORE_ASSIGN_OR_RETURN(auto store,
                          internal::Store::open(data_dir, internal::OpenMode::read_only));
  Verifier verifier(*store, progress, report);
  Status s = verifier.run();
  if (!s && s.code() == ErrorCode::internal) report.difference = s.error().detail;
  return s;
}

}  // namespace encore::ledger
