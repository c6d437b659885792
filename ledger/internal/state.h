// The ledger's in-memory state and the one function that moves points: State::apply
// folds a journal entry into members, lots, holds, offer usage and daily counters
// (ledger/internal). The writer and `verify` share it, so replay rebuilds exactly.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/container/flat_map.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "ledger/internal/codec.h"
#include "ledger/ledger.h"

namespace encore::ledger::internal {

// Hashes std::string and std::string_view alike (lookups by view without a copy).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

inline constexpr Timestamp never{INT64_MAX};

// Points earned by one entry (an accrual, a positive adjustment or a reversal that gives
// points back). `remaining` is spendable (or pending until vested); `held` is in holds.
struct Lot {
  std::int64_t remaining = 0;
  std::int64_t held = 0;
  Timestamp vests_at;
  Timestamp expires_at = never;
  bool vested = false;
  friend bool operator==(const Lot&, const Lot&) = default;
};

struct MemberState {
  Member profile;
  // total = sum of the member's entries' points = available + pending + held.
  std::int64_t total = 0;
  std::int64_t pending = 0;
  std::int64_t held = 0;
  std::int64_t lifetime_earned = 0;
  // Points owed after a reversal took more than the vested lots had; repaid first by
  // points that become available. Invariant: available = vested lots' remaining - debt,
  // and debt > 0 only while vested lots hold nothing.
  std::int64_t debt = 0;
  std::int64_t visits = 0;                      // purchases so far
  std::optional<Timestamp> last_purchase_at;    // occurred_at of the latest purchase
  std::optional<Timestamp> inactivity_expires;  // expiry policy inactivity: when all expire
  // Sorted vectors (few elements, new keys mostly last): a member's record is encoded and
  // copied for readers after every command, which walks each container whole; a tree node
  // per element made that a chase of cache misses and an allocation per element.
  boost::container::flat_map<std::int64_t, std::int64_t> window;  // tier window: UTC day -> pts
  boost::container::flat_map<Seq, std::int64_t> reversed;  // entry seq -> points reversed so far
  boost::container::flat_map<Seq, Lot> lots;               // by the seq of the entry that made it
  // offer id -> event times of its awards, those within offer_uses_retention_days only
  // (in the order awarded; a backdated event's time may be earlier than the one before).
  boost::container::flat_map<std::string, std::vector<Timestamp>, std::less<>> offer_uses;
  Seq as_of = 0;                                // seq of the member's latest entry
  bool dirty = false;                           // listed in State::dirty.members
  std::int64_t tier_due_micros = 0;             // the tier_due key scheduled (not stored)
  std::int64_t inactivity_due_micros = 0;       // the inactivity_due key (not stored)

  std::int64_t available() const { return total - pending - held; }
  std::int64_t vested_remaining() const;
};

// A lot's vesting or expiry, due at `micros`. A lot's times never change and its seq names it
// alone (lots are never moved between members; merged lots never expire and are vested).
struct LotTimer {
  std::int64_t micros = 0;
  Seq seq = 0;
  MemberState* member = nullptr;  // members are never erased and map nodes are stable
};

// One kind of lot timer: a binary heap of small items, earliest first, ties by lot seq (a seq
// names one lot, so the order is total and deterministic; duplicates of an item are equal).
// It replaced a tree keyed by (time, member id, seq): a node and a copy of the id per accrual.
// Deletion is lazy: a lot redeemed, reversed or vested leaves its item behind, the writer acts
// on a due item only if its lot still needs it (run_timers checks), and stale items are dropped
// when they reach the top or, once they outnumber the live ones, all at once (compaction).
class LotTimers {
 public:
  enum class Kind { vest, expiry };
  explicit LotTimers(Kind kind) : kind_(kind) {}

  void schedule(const LotTimer& t);    // a lot that needs this timer (counted once per lot)
  void reschedule(const LotTimer& t);  // again, for a lot already counted (a hold released it)
  void unschedule();                   // a lot no longer needs it: only counted, lazily
  // The earliest item's time (INT64_MAX: none), after dropping items whose lot is gone (or
  // vested, for vesting) from the top: an idle writer does not wake for them.
  std::int64_t next_due();
  // Removes the earliest item if it is due at `now`; the caller checks that its lot needs it.
  std::optional<LotTimer> pop_due(std::int64_t now);

 private:
  bool needed(const LotTimer& t) const;  // its lot exists (and, for vesting, is not vested)
  void push(const LotTimer& t);
  void compact();

  Kind kind_;
  std::vector<LotTimer> heap_;  // std::push_heap order: the earliest (time, seq) in front
  std::size_t live_ = 0;        // lots that need this timer: at most one item each is needed
};

struct HoldState {
  Hold hold;
  std::vector<std::pair<Seq, std::int64_t>> slices;  // lot seq -> points held from it
};

struct DayCounters {
  std::int64_t earned = 0;
  std::int64_t redeemed = 0;
  std::int64_t expired = 0;
  std::int64_t reversed = 0;
  friend bool operator==(const DayCounters&, const DayCounters&) = default;
};

// What a batch changed, written from the final state when the batch ends.
struct Dirty {
  // Each once (MemberState::dirty); map nodes are stable. A member's record holds its lots
  // and offer uses, so a change to those marks the member.
  std::vector<MemberState*> members;
  std::set<std::string, std::less<>> holds;
  std::set<std::string, std::less<>> budgets;
  std::set<std::int64_t> days;
  void clear() {
    for (MemberState* m : members) m->dirty = false;
    *this = Dirty();
  }
};

class State {
 public:
  // Not copyable: member_index and find_member's memory point into this object's members.
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Folds one entry in. REQUIRES: the entry is valid for this state (the writer checked
  // it; replay reads what the writer wrote). `rules` gives the calendar (may be null: UTC).
  void apply(const Entry& entry, const rules::RuleSet* rules);

  // Takes up to `points` from vested lots, earliest expiry first; returns the slices.
  std::vector<std::pair<Seq, std::int64_t>> consume(MemberState& m, std::int64_t points);
  // As consume, but leaves emptied lots in place (the caller moves the points elsewhere).
  std::vector<std::pair<Seq, std::int64_t>> take_vested(MemberState& m, std::int64_t points);
  // Lots whose points become available again repay debt first.
  void settle_debt(MemberState& m);
  void mark(MemberState& m) {  // the member's record is to be written
    if (!m.dirty) {
      m.dirty = true;
      dirty.members.push_back(&m);
    }
  }
  void touch_lot(MemberState& m, Seq seq);  // marks the member; erases an empty lot
  // Vested lots that never expire and hold nothing are interchangeable for every balance
  // field: past lots_poolable_max of them (limits.h) the oldest are merged into the oldest,
  // keeping the newest lots_poolable_keep apart (a reversal takes back from its accrual's
  // own lot while it exists, else from the balance). Bounds the member's record, which is
  // rewritten whole on every command, under the expiry policies none and inactivity.
  void pool_lots(MemberState& m);
  void schedule_lot(MemberState& m, Seq seq, const Lot& lot);
  void unschedule_lot(const Lot& lot);  // the lot is erased

  std::map<std::string, MemberState, std::less<>> members;
  // Lookups by id without string compares down the tree: id (the map's key) -> member.
  // Members are never erased and map nodes are stable. Never iterated (determinism).
  // Open addressing (Boost 1.81): about half the time of std::unordered_map's node chase.
  boost::unordered_flat_map<std::string_view, MemberState*> member_index;
  MemberState* find_member(std::string_view id);  // null when unknown
  std::map<std::string, HoldState, std::less<>> holds;
  std::map<std::string, std::int64_t, std::less<>> budget_used;  // offer id -> points
  std::map<std::int64_t, DayCounters> days;  // days_from_civil(local date) -> activity
  Seq last_seq = 0;
  Hash chain_head{};
  Timestamp clock_max;  // the latest recorded time

  // Timers (ordered, so running them is deterministic). Vesting runs before expiry.
  LotTimers vest_due{LotTimers::Kind::vest};
  LotTimers expire_due{LotTimers::Kind::expiry};
  std::set<std::pair<std::int64_t, std::string>> hold_due;
  std::set<std::pair<std::int64_t, std::string>> inactivity_due;
  // Tier checks: due time -> member ids (views of MemberState::profile.id; members are never
  // erased). Scheduling appends (most members share a due time: a tree insert per member
  // cost a walk of string compares); the writer sorts a due time's ids before running them,
  // so they run in (time, id) order as before.
  std::map<std::int64_t, std::vector<std::string_view>> tier_due;

  Dirty dirty;

 private:
  MemberState* last_found_ = nullptr;  // find_member's last answer (members are never erased)
};

// A change to a member's profile that no journal entry carries: an enrollment's birthday and
// attributes, a patch's attributes, birthday and status. The writer applies it and stores it
// (the `profiles` family, in the same batch); `verify` replays the stored ones in order.
struct ProfileChange {
  std::string member{};
  // Attributes set, or dropped (nullopt).
  std::map<std::string, std::optional<rules::AttributeValue>, std::less<>> attributes{};
  std::optional<CivilDate> birthday{};
  std::optional<MemberStatus> status{};
};
void apply_profile(MemberState& m, ProfileChange change);
// `position`: the last journal seq when the change was made (it follows that entry).
std::string encode_profile(const ProfileChange& change, Seq position);
Status decode_profile(std::string_view value, ProfileChange* change, Seq* position);

// What an applied event does to its member besides its entries: a purchase counts a visit,
// moves the last purchase time and, under the inactivity policy, when all points expire
// (`now` + expiry_days). The writer and `verify` (from the events family) share it.
void record_visit(MemberState& m, std::string_view event_type, Timestamp event_time,
                  Timestamp now, const rules::Program& program);

// The member's balance at `now` (expiring: the next 90 days in the program timezone).
Balance make_balance(const MemberState& m, const rules::RuleSet& rules, Timestamp now,
                     Seq as_of);
std::int64_t utc_day(Timestamp t);

// How many days of an offer's uses a member's record keeps (-1: all): what that offer's
// per-member limit can look back over, at least offer_uses_days_min (limits.h), plus the
// backdating allowed. All of them under a limit over all time (then at most the limit).
std::int64_t offer_uses_retention_days(const rules::RuleSet* rules, std::string_view offer);
// Drops uses older than the retention before `now` (the recorded time of the use added).
void prune_uses(std::string_view offer, std::vector<Timestamp>& uses, Timestamp now,
                const rules::RuleSet* rules);

// Record encodings (docs/storage.md).
std::string encode_member(const MemberState& m);
Status decode_member(std::string_view value, MemberState* m);
std::string encode_hold(const HoldState& h);
Status decode_hold(std::string_view value, HoldState* h);
std::string encode_counters(const DayCounters& c);
Status decode_counters(std::string_view value, DayCounters* c);

}  // namespace encore::ledger::internal
