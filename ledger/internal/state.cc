// State::apply, the fold of journal entries into member state, and the record encodings
// (ledger/internal). Deterministic: ordered containers only, no clock.
#include "ledger/internal/state.h"

#include <algorithm>

#include "ledger/limits.h"

namespace encore::ledger::internal {
namespace {

std::int64_t counter_day(Timestamp t, const rules::RuleSet* rules) {
  return days_from_civil(rules ? rules->local_date(t) : utc_date(t));
}

void put_opt_time(Encoder& e, const std::optional<Timestamp>& t) {
  e.u8(t ? 1 : 0);
  if (t) e.svarint(t->micros);
}

std::optional<Timestamp> get_opt_time(Decoder& d) {
  if (d.u8() == 0) return std::nullopt;
  return Timestamp{d.svarint()};
}

// Lots are encoded in seq order, each relative to the one before (`previous`, zero before
// the first): the seq and vesting time as differences, the expiry as a difference from the
// vesting time (none when it never expires). ~12 bytes a lot instead of ~25; the record is
// rewritten on every command of its member.
std::int64_t wrapping_difference(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

std::int64_t wrapping_sum(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

constexpr std::uint8_t kLotVested = 1;
constexpr std::uint8_t kLotNeverExpires = 2;

struct LotPosition {
  Seq seq = 0;
  std::int64_t vests_at = 0;
};

void put_lot(Encoder& e, Seq seq, const Lot& lot, LotPosition& previous) {
  e.varint(seq - previous.seq);
  e.svarint(lot.remaining);
  e.svarint(lot.held);
  e.svarint(wrapping_difference(lot.vests_at.micros, previous.vests_at));
  const bool never_expires = lot.expires_at == never;
  e.u8((lot.vested ? kLotVested : 0) | (never_expires ? kLotNeverExpires : 0));
  if (!never_expires) e.svarint(wrapping_difference(lot.expires_at.micros, lot.vests_at.micros));
  previous = {seq, lot.vests_at.micros};
}

std::pair<Seq, Lot> get_lot(Decoder& d, LotPosition& previous) {
  const Seq seq = previous.seq + d.varint();
  Lot lot;
  lot.remaining = d.svarint();
  lot.held = d.svarint();
  lot.vests_at.micros = wrapping_sum(previous.vests_at, d.svarint());
  const std::uint8_t flags = d.u8();
  lot.vested = (flags & kLotVested) != 0;
  lot.expires_at = (flags & kLotNeverExpires) != 0
                       ? never
                       : Timestamp{wrapping_sum(lot.vests_at.micros, d.svarint())};
  previous = {seq, lot.vests_at.micros};
  return {seq, lot};
}

Status corrupt(const char* what) {
  return make_error(ErrorCode::internal, std::string("corrupt ") + what + " record");
}

}  // namespace

std::int64_t utc_day(Timestamp t) {
  std::int64_t d = t.micros / micros_per_day;
  if (t.micros % micros_per_day < 0) --d;
  return d;
}

MemberState* State::find_member(std::string_view id) {
  // A command looks its member up, then each of its entries does again: remember the last.
  if (last_found_ != nullptr && last_found_->profile.id == id) return last_found_;
  auto it = member_index.find(id);
  if (it != member_index.end()) return last_found_ = it->second;
  auto m = members.find(id);
  if (m == members.end()) return nullptr;
  member_index.emplace(m->first, &m->second);  // loaded at open, not yet indexed
  return last_found_ = &m->second;
}

namespace {

// Each offer's retention under one rule set, computed once per version (per thread: the
// writer and verify each keep their own).
struct RetentionCache {
  std::string version;
  std::int64_t unknown_offer = 0;  // an offer the rule set no longer has
  boost::unordered_flat_map<std::string, std::int64_t, StringHash, std::equal_to<>> days;
};

}  // namespace

std::int64_t offer_uses_retention_days(const rules::RuleSet* rules, std::string_view offer) {
  if (rules == nullptr) return -1;
  thread_local RetentionCache cache;
  if (cache.version != rules->version()) {
    cache.version = rules->version();
    cache.days.clear();
    // An event may be backdated: its limit looks back from its own time.
    const std::int64_t backdate = rules->program().max_backdate_days + 1;
    cache.unknown_offer = offer_uses_days_min + backdate;
    for (const auto& o : rules->offers()) {
      std::int64_t days = offer_uses_days_min;
      if (o.limit_per_member) {
        if (!o.limit_period_days) {  // a limit over all time counts every use (at most it)
          cache.days.insert_or_assign(o.id, -1);
          continue;
        }
        days = std::max(days, *o.limit_period_days);
      }
      cache.days.insert_or_assign(o.id, days + backdate);
    }
  }
  auto it = cache.days.find(offer);
  return it == cache.days.end() ? cache.unknown_offer : it->second;
}

void prune_uses(std::string_view offer, std::vector<Timestamp>& uses, Timestamp now,
                const rules::RuleSet* rules) {
  const std::int64_t days = offer_uses_retention_days(rules, offer);
  if (days < 0) return;
  const Timestamp cutoff = now.plus_days(-days);
  std::erase_if(uses, [&](Timestamp t) { return t < cutoff; });
}

namespace {
// Interchangeable for every balance field: vested, never expiring, holding nothing.
bool poolable(const Lot& lot) {
  return lot.vested && lot.expires_at == never && lot.held == 0 && lot.remaining > 0;
}
}  // namespace

void State::pool_lots(MemberState& m) {
  if (m.lots.size() <= lots_poolable_max) return;  // the usual case: no walk over the lots
  std::size_t count = 0;
  for (const auto& [seq, lot] : m.lots) count += poolable(lot) ? 1 : 0;
  if (count <= lots_poolable_max) return;
  std::size_t to_merge = count - lots_poolable_keep;  // the oldest (lots are in seq order)
  Lot* into = nullptr;
  std::vector<Seq> merged;
  for (auto& [seq, lot] : m.lots) {
    if (to_merge == 0) break;
    if (!poolable(lot)) continue;
    --to_merge;
    if (into == nullptr) {
      into = &lot;
      continue;
    }
    into->remaining += lot.remaining;
    merged.push_back(seq);
  }
  for (Seq seq : merged) m.lots.erase(seq);
  mark(m);
}

std::int64_t MemberState::vested_remaining() const {
  std::int64_t sum = 0;
  for (const auto& [seq, lot] : lots) {
    if (lot.vested) sum += lot.remaining;
  }
  return sum;
}

namespace {
// The heap's "less": the later item sinks, so the earliest (time, seq) is in front.
bool later(const LotTimer& a, const LotTimer& b) {
  return a.micros != b.micros ? a.micros > b.micros : a.seq > b.seq;
}
bool same(const LotTimer& a, const LotTimer& b) {
  return a.micros == b.micros && a.seq == b.seq;
}
// Stale items a small heap may keep before a compaction (it would run too often on its own).
constexpr std::size_t kLotTimersSlack = 64;
}  // namespace

bool LotTimers::needed(const LotTimer& t) const {
  auto it = t.member->lots.find(t.seq);
  if (it == t.member->lots.end()) return false;
  return kind_ == Kind::expiry || !it->second.vested;
}

void LotTimers::push(const LotTimer& t) {
  heap_.push_back(t);
  std::push_heap(heap_.begin(), heap_.end(), later);
  // Stale items (and a lot's duplicates) outnumber the live ones: keep the heap within twice
  // the live lots, so the work stays O(log n) per item amortized.
  if (heap_.size() > 2 * live_ + kLotTimersSlack) compact();
}

void LotTimers::compact() {
  std::erase_if(heap_, [&](const LotTimer& t) { return !needed(t); });
  // Sorted earliest first is a valid heap for `later`, and puts duplicates side by side.
  std::sort(heap_.begin(), heap_.end(), [](const LotTimer& a, const LotTimer& b) {
    return later(b, a);
  });
  heap_.erase(std::unique(heap_.begin(), heap_.end(), same), heap_.end());
}

void LotTimers::schedule(const LotTimer& t) {
  ++live_;
  push(t);
}

void LotTimers::reschedule(const LotTimer& t) { push(t); }

void LotTimers::unschedule() {
  ENCORE_ASSERT(live_ > 0);
  --live_;
}

std::int64_t LotTimers::next_due() {
  while (!heap_.empty() && !needed(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
  return heap_.empty() ? INT64_MAX : heap_.front().micros;
}

std::optional<LotTimer> LotTimers::pop_due(std::int64_t now) {
  if (heap_.empty() || heap_.front().micros > now) return std::nullopt;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  LotTimer t = heap_.back();
  heap_.pop_back();
  return t;
}

void State::schedule_lot(MemberState& m, Seq seq, const Lot& lot) {
  if (!lot.vested) vest_due.schedule({lot.vests_at.micros, seq, &m});
  if (lot.expires_at != never) expire_due.schedule({lot.expires_at.micros, seq, &m});
}

void State::unschedule_lot(const Lot& lot) {
  if (!lot.vested) vest_due.unschedule();
  if (lot.expires_at != never) expire_due.unschedule();
}

void State::touch_lot(MemberState& m, Seq seq) {
  mark(m);
  auto it = m.lots.find(seq);
  if (it == m.lots.end()) return;
  ENCORE_ASSERT(it->second.remaining >= 0 && it->second.held >= 0);
  if (it->second.remaining == 0 && it->second.held == 0) {
    unschedule_lot(it->second);
    m.lots.erase(it);
  }
}

std::vector<std::pair<Seq, std::int64_t>> State::consume(MemberState& m, std::int64_t points) {
  auto slices = take_vested(m, points);
  for (const auto& [seq, take] : slices) touch_lot(m, seq);
  return slices;
}

std::vector<std::pair<Seq, std::int64_t>> State::take_vested(MemberState& m,
                                                            std::int64_t points) {
  std::vector<std::tuple<std::int64_t, Seq>> order;
  for (const auto& [seq, lot] : m.lots) {
    if (lot.vested && lot.remaining > 0) order.emplace_back(lot.expires_at.micros, seq);
  }
  std::sort(order.begin(), order.end());
  std::vector<std::pair<Seq, std::int64_t>> slices;
  for (const auto& [expires, seq] : order) {
    if (points == 0) break;
    Lot& lot = m.lots.at(seq);
    std::int64_t take = std::min(points, lot.remaining);
    lot.remaining -= take;
    points -= take;
    slices.emplace_back(seq, take);
  }
  return slices;
}

void State::settle_debt(MemberState& m) {
  if (m.debt <= 0) return;
  std::int64_t repaid = 0;
  for (const auto& [seq, take] : consume(m, m.debt)) repaid += take;
  m.debt -= repaid;
}

void State::apply(const Entry& e, const rules::RuleSet* rules) {
  if (e.kind == EntryKind::enroll) {
    MemberState m;
    m.profile.id = e.member;
    m.profile.enrolled_at = e.recorded_at;
    m.profile.tier = e.tier;
    m.as_of = e.seq;
    auto [it, inserted] = members.emplace(e.member, std::move(m));
    ENCORE_ASSERT(inserted);
    member_index.emplace(it->first, &it->second);
    mark(it->second);
    return;
  }
  MemberState* found = find_member(e.member);
  ENCORE_ASSERT(found != nullptr);
  MemberState& m = *found;
  m.as_of = e.seq;
  mark(m);
  auto total = points_add(m.total, e.points);
  ENCORE_ASSERT(total.has_value());
  m.total = *total;
  const std::int64_t day = counter_day(e.recorded_at, rules);
  auto& counters = days[day];
  dirty.days.insert(day);

  auto new_lot = [&](std::int64_t points, Timestamp vests_at, Timestamp expires_at) {
    Lot lot;
    lot.remaining = points;
    lot.vests_at = vests_at;
    lot.expires_at = expires_at;
    lot.vested = vests_at <= e.recorded_at;
    if (!lot.vested) m.pending += points;
    m.lots[e.seq] = lot;
    schedule_lot(m, e.seq, lot);
    touch_lot(m, e.seq);
    if (lot.vested) settle_debt(m);
  };

  switch (e.kind) {
    case EntryKind::accrual: {
      ENCORE_ASSERT(e.points > 0 && e.vests_at.has_value());
      m.lifetime_earned += e.points;
      m.window[utc_day(e.recorded_at)] += e.points;
      if (!e.offer.empty()) {
        budget_used[e.offer] += e.points;
        dirty.budgets.insert(e.offer);
        auto uses = m.offer_uses.try_emplace(e.offer).first;
        uses->second.push_back(e.occurred_at);
        prune_uses(e.offer, uses->second, e.recorded_at, rules);
      }
      counters.earned += e.points;
      new_lot(e.points, *e.vests_at, e.expires_at.value_or(never));
      break;
    }
    case EntryKind::vest: {
      Lot& lot = m.lots.at(e.lot);
      ENCORE_ASSERT(!lot.vested && lot.remaining == e.amount && lot.held == 0);
      vest_due.unschedule();
      lot.vested = true;
      m.pending -= e.amount;
      touch_lot(m, e.lot);
      settle_debt(m);
      break;
    }
    case EntryKind::redemption: {
      std::int64_t want = -e.points;
      std::int64_t got = 0;
      for (const auto& [seq, take] : consume(m, want)) got += take;
      ENCORE_ASSERT(got == want);
      counters.redeemed += want;
      break;
    }
    case EntryKind::hold: {
      HoldState h;
      h.hold.id = e.hold;
      h.hold.member = e.member;
      h.hold.points = e.amount;
      h.hold.status = HoldStatus::active;
      h.hold.created_at = e.recorded_at;
      ENCORE_ASSERT(e.expires_at.has_value());
      h.hold.expires_at = *e.expires_at;
      h.hold.order_id = e.order_id;
      std::int64_t got = 0;
      h.slices = take_vested(m, e.amount);
      for (auto& [seq, take] : h.slices) {
        got += take;
        m.lots.at(seq).held += take;
        touch_lot(m, seq);
      }
      ENCORE_ASSERT(got == e.amount);
      m.held += e.amount;
      hold_due.emplace(h.hold.expires_at.micros, e.hold);
      auto [hit, inserted] = holds.emplace(e.hold, std::move(h));
      ENCORE_ASSERT(inserted);
      dirty.holds.insert(e.hold);
      break;
    }
    case EntryKind::capture: {
      HoldState& h = holds.at(e.hold);
      ENCORE_ASSERT(h.hold.status == HoldStatus::active);
      std::int64_t want = -e.points;
      for (auto& [seq, points] : h.slices) {
        if (want == 0) break;
        std::int64_t take = std::min(want, points);
        Lot& lot = m.lots.at(seq);
        lot.held -= take;
        points -= take;
        want -= take;
        touch_lot(m, seq);
      }
      ENCORE_ASSERT(want == 0);
      std::erase_if(h.slices, [](const auto& s) { return s.second == 0; });
      m.held += e.points;
      h.hold.captured += -e.points;
      h.hold.status = HoldStatus::captured;
      hold_due.erase({h.hold.expires_at.micros, e.hold});
      dirty.holds.insert(e.hold);
      counters.redeemed += -e.points;
      break;
    }
    case EntryKind::hold_release: {
      HoldState& h = holds.at(e.hold);
      std::int64_t released = 0;
      for (auto& [seq, points] : h.slices) {
        Lot& lot = m.lots.at(seq);
        lot.held -= points;
        lot.remaining += points;
        released += points;
        // Its expiry item may have been dropped while the hold had all its points.
        if (lot.expires_at != never) expire_due.reschedule({lot.expires_at.micros, seq, &m});
        touch_lot(m, seq);
      }
      ENCORE_ASSERT(released == e.amount);
      h.slices.clear();
      m.held -= e.amount;
      if (e.reason == "voided") h.hold.status = HoldStatus::voided;
      if (e.reason == "expired") h.hold.status = HoldStatus::expired;
      hold_due.erase({h.hold.expires_at.micros, e.hold});
      dirty.holds.insert(e.hold);
      settle_debt(m);
      break;
    }
    case EntryKind::expiry: {
      std::int64_t want = -e.points;
      if (e.lot != 0) {
        Lot& lot = m.lots.at(e.lot);
        ENCORE_ASSERT(lot.vested && lot.remaining >= want);
        lot.remaining -= want;
        touch_lot(m, e.lot);
      } else {
        std::int64_t got = 0;
        for (const auto& [seq, take] : consume(m, want)) got += take;
        ENCORE_ASSERT(got == want);
      }
      counters.expired += want;
      break;
    }
    case EntryKind::reversal: {
      m.reversed[e.reverses] += e.points < 0 ? -e.points : e.points;
      counters.reversed += e.points < 0 ? -e.points : e.points;
      if (e.points < 0) {
        std::int64_t want = -e.points;
        m.lifetime_earned -= want;
        m.window[utc_day(e.recorded_at)] -= want;
        auto lot_it = m.lots.find(e.reverses);
        if (lot_it != m.lots.end()) {
          std::int64_t take = std::min(want, lot_it->second.remaining);
          lot_it->second.remaining -= take;
          if (!lot_it->second.vested) m.pending -= take;
          want -= take;
          touch_lot(m, e.reverses);
        }
        for (const auto& [seq, take] : consume(m, want)) want -= take;
        m.debt += want;
      } else {
        new_lot(e.points, e.recorded_at, e.expires_at.value_or(never));
      }
      break;
    }
    case EntryKind::adjustment: {
      if (e.points > 0) {
        counters.earned += e.points;
        new_lot(e.points, e.recorded_at, e.expires_at.value_or(never));
      } else {
        std::int64_t want = -e.points;
        for (const auto& [seq, take] : consume(m, want)) want -= take;
        m.debt += want;
      }
      break;
    }
    case EntryKind::tier_change:
      m.profile.tier = e.tier;
      break;
    case EntryKind::enroll:
      break;
  }
  pool_lots(m);
  ENCORE_ASSERT(m.pending >= 0 && m.held >= 0 && m.debt >= 0);
  ENCORE_VERIFY(m.available() == m.vested_remaining() - m.debt);
}

void apply_profile(MemberState& m, ProfileChange change) {
  for (auto& [key, value] : change.attributes) {
    if (value) {
      m.profile.attributes.insert_or_assign(key, std::move(*value));
    } else {
      auto a = m.profile.attributes.find(key);
      if (a != m.profile.attributes.end()) m.profile.attributes.erase(a);
    }
  }
  if (change.birthday) m.profile.birthday = change.birthday;
  if (change.status) m.profile.status = *change.status;
}

std::string encode_profile(const ProfileChange& change, Seq position) {
  Encoder e;
  e.u8(1);
  e.varint(position);
  e.str(change.member);
  e.varint(change.attributes.size());
  for (const auto& [key, value] : change.attributes) {
    e.str(key);
    e.u8(value ? 1 : 0);
    if (value) encode_attribute_value(e, *value);
  }
  e.u8(change.birthday ? 1 : 0);
  if (change.birthday) e.svarint(days_from_civil(*change.birthday));
  e.u8(change.status ? 1 + static_cast<std::uint8_t>(*change.status) : 0);
  return e.take();
}

Status decode_profile(std::string_view value, ProfileChange* change, Seq* position) {
  Decoder d(value);
  if (d.u8() != 1) return corrupt("profile change");
  *position = d.varint();
  change->member = d.str();
  std::uint64_t n = d.varint();
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    std::string key = d.str();
    std::optional<rules::AttributeValue> v;
    if (d.u8() != 0) v = decode_attribute_value(d);
    change->attributes.insert_or_assign(std::move(key), std::move(v));
  }
  if (d.u8() != 0) change->birthday = civil_from_days(d.svarint());
  std::uint8_t status = d.u8();
  if (status > 2) return corrupt("profile change");
  if (status != 0) change->status = static_cast<MemberStatus>(status - 1);
  if (!d.done()) return corrupt("profile change");
  return Status::ok();
}

void record_visit(MemberState& m, std::string_view event_type, Timestamp event_time,
                  Timestamp now, const rules::Program& program) {
  if (event_type != "purchase") return;
  m.visits += 1;
  if (!m.last_purchase_at || *m.last_purchase_at < event_time) m.last_purchase_at = event_time;
  if (program.expiry_policy == rules::ExpiryPolicy::inactivity) {
    m.inactivity_expires = now.plus_days(program.expiry_days);
  }
}

Balance make_balance(const MemberState& m, const rules::RuleSet& rules, Timestamp now,
                     Seq as_of) {
  Balance b;
  b.member = m.profile.id;
  b.available = m.available();
  b.pending = m.pending;
  b.held = m.held;
  b.lifetime_earned = m.lifetime_earned;
  b.tier = m.profile.tier;
  b.as_of = as_of;
  const std::int64_t today = days_from_civil(rules.local_date(now));
  std::map<std::int64_t, std::int64_t> by_day;
  // Any time zone is within a day of UTC: lots far outside the window skip the calendar.
  const std::int64_t lowest = now.micros - 2 * micros_per_day;
  const std::int64_t highest = now.micros + (expiring_days_max + 2) * micros_per_day;
  auto add = [&](Timestamp at, std::int64_t points) {
    if (points <= 0 || at.micros < lowest || at.micros > highest) return;
    std::int64_t d = days_from_civil(rules.local_date(at));
    if (d >= today && d - today <= expiring_days_max) by_day[d] += points;
  };
  for (const auto& [seq, lot] : m.lots) add(lot.expires_at, lot.remaining);
  if (m.inactivity_expires) add(*m.inactivity_expires, m.vested_remaining());
  for (const auto& [d, points] : by_day) b.expiring.push_back({civil_from_days(d), points});
  return b;
}

std::string encode_member(const MemberState& m) {
  Encoder e;
  // One allocation: room for the fixed fields, the attributes' usual size and ~20 bytes per
  // lot, window day and reversal.
  e.out().reserve(160 + m.profile.tier.size() + 48 * m.profile.attributes.size() +
                  20 * (m.lots.size() + m.window.size() + m.reversed.size()) +
                  32 * m.offer_uses.size());
  e.u8(1);
  e.u8(static_cast<std::uint8_t>(m.profile.status));
  e.str(m.profile.tier);
  e.u8(m.profile.birthday ? 1 : 0);
  if (m.profile.birthday) e.svarint(days_from_civil(*m.profile.birthday));
  encode_attributes(e, m.profile.attributes);
  e.svarint(m.profile.enrolled_at.micros);
  for (std::int64_t v : {m.total, m.pending, m.held, m.lifetime_earned, m.debt, m.visits}) {
    e.svarint(v);
  }
  put_opt_time(e, m.last_purchase_at);
  put_opt_time(e, m.inactivity_expires);
  e.varint(m.window.size());
  for (const auto& [day, points] : m.window) {
    e.svarint(day);
    e.svarint(points);
  }
  e.varint(m.reversed.size());
  for (const auto& [seq, points] : m.reversed) {
    e.varint(seq);
    e.svarint(points);
  }
  e.varint(m.lots.size());
  LotPosition previous;
  for (const auto& [seq, lot] : m.lots) put_lot(e, seq, lot, previous);
  e.varint(m.offer_uses.size());
  for (const auto& [offer, uses] : m.offer_uses) {
    e.str(offer);
    e.varint(uses.size());
    std::int64_t last = 0;  // each time as a difference from the one before
    for (Timestamp t : uses) {
      e.svarint(wrapping_difference(t.micros, last));
      last = t.micros;
    }
  }
  e.varint(m.as_of);
  return e.take();
}

Status decode_member(std::string_view value, MemberState* m) {
  Decoder d(value);
  if (d.u8() != 1) return corrupt("member");
  std::uint8_t status = d.u8();
  if (status > 1) return corrupt("member");
  m->profile.status = static_cast<MemberStatus>(status);
  m->profile.tier = d.str();
  if (d.u8() != 0) m->profile.birthday = civil_from_days(d.svarint());
  m->profile.attributes = decode_attributes(d);
  m->profile.enrolled_at.micros = d.svarint();
  for (std::int64_t* v : {&m->total, &m->pending, &m->held, &m->lifetime_earned, &m->debt,
                          &m->visits}) {
    *v = d.svarint();
  }
  m->last_purchase_at = get_opt_time(d);
  m->inactivity_expires = get_opt_time(d);
  std::uint64_t n = d.varint();
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    std::int64_t day = d.svarint();
    m->window[day] = d.svarint();
  }
  n = d.varint();
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    Seq seq = d.varint();
    m->reversed[seq] = d.svarint();
  }
  n = d.varint();
  LotPosition previous;
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    auto [seq, lot] = get_lot(d, previous);
    m->lots.emplace_hint(m->lots.end(), seq, lot);  // in seq order
  }
  n = d.varint();
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    auto& uses = m->offer_uses[d.str()];
    std::uint64_t count = d.varint();
    std::int64_t last = 0;
    for (std::uint64_t k = 0; k < count && d.ok(); ++k) {
      last = wrapping_sum(last, d.svarint());
      uses.push_back({last});
    }
  }
  m->as_of = d.varint();
  if (!d.done()) return corrupt("member");
  return Status::ok();
}

std::string encode_hold(const HoldState& h) {
  Encoder e;
  e.u8(1);
  e.str(h.hold.member);
  e.svarint(h.hold.points);
  e.u8(static_cast<std::uint8_t>(h.hold.status));
  e.svarint(h.hold.created_at.micros);
  e.svarint(h.hold.expires_at.micros);
  e.str(h.hold.order_id);
  e.svarint(h.hold.captured);
  e.varint(h.slices.size());
  for (const auto& [seq, points] : h.slices) {
    e.varint(seq);
    e.svarint(points);
  }
  return e.take();
}

Status decode_hold(std::string_view value, HoldState* h) {
  Decoder d(value);
  if (d.u8() != 1) return corrupt("hold");
  h->hold.member = d.str();
  h->hold.points = d.svarint();
  std::uint8_t status = d.u8();
  if (status > 3) return corrupt("hold");
  h->hold.status = static_cast<HoldStatus>(status);
  h->hold.created_at.micros = d.svarint();
  h->hold.expires_at.micros = d.svarint();
  h->hold.order_id = d.str();
  h->hold.captured = d.svarint();
  std::uint64_t n = d.varint();
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    Seq seq = d.varint();
    h->slices.emplace_back(seq, d.svarint());
  }
  if (!d.done()) return corrupt("hold");
  return Status::ok();
}

std::string encode_counters(const DayCounters& c) {
  Encoder e;
  e.u8(1);
  for (std::int64_t v : {c.earned, c.redeemed, c.expired, c.reversed}) e.svarint(v);
  return e.take();
}

Status decode_counters(std::string_view value, DayCounters* c) {
  Decoder d(value);
  if (d.u8() != 1) return corrupt("counters");
  for (std::int64_t* v : {&c->earned, &c->redeemed, &c->expired, &c->reversed}) {
    *v = d.svarint();
  }
  if (!d.done()) return corrupt("counters");
  return Status::ok();
}

}  // namespace encore::ledger::internal
