// The `events` family's record encoding (ledger/internal): version byte, then varints and
// strings in a fixed order (docs/storage.md, "events").
#include "ledger/internal/event_record.h"

#include <utility>
#include <vector>

#include "ledger/internal/codec.h"

namespace encore::ledger::internal {
namespace {

void encode_money(Encoder& e, Money m) { e.svarint(m.units()); }
Money decode_money(Decoder& d) { return Decimal::from_units(d.svarint()); }

}  // namespace

namespace {

using Awards = std::vector<std::pair<std::string_view, std::int64_t>>;

std::string encode(Seq first_seq, Seq last_seq, std::string_view member,
                   const rules::MemberView& v, const rules::Event& ev, Timestamp recorded_at,
                   std::string_view ruleset, std::int64_t base, const Awards& awards) {
  Encoder e;
  e.out().reserve(160 + member.size() + ev.items.size() * 48);
  e.u8(event_record_version);
  e.varint(first_seq);
  e.varint(last_seq);
  e.str(member);
  // The member view as evaluated (its id is the member's).
  e.str(v.tier);
  e.svarint(v.points);
  e.svarint(v.lifetime_points);
  e.svarint(v.visits);
  e.svarint(v.days_since_last_purchase);
  e.svarint(v.enrolled_days);
  e.u8(v.birthday ? 1 : 0);
  if (v.birthday) {
    e.svarint(v.birthday->year);
    e.varint(static_cast<std::uint64_t>(v.birthday->month));
    e.varint(static_cast<std::uint64_t>(v.birthday->day));
  }
  encode_attributes(e, v.attributes);
  // The event.
  e.str(ev.type);
  e.svarint(ev.time.micros);
  e.str(ev.channel);
  e.str(ev.store);
  e.str(ev.order_id);
  e.u8(ev.total ? 1 : 0);
  if (ev.total) encode_money(e, *ev.total);
  e.varint(ev.items.size());
  for (const auto& item : ev.items) {
    e.str(item.sku);
    e.str(item.category);
    e.svarint(item.quantity);
    encode_money(e, item.unit_price);
    encode_money(e, item.total);
  }
  encode_attributes(e, ev.attributes);
  // When, under which rules, and what it earned.
  e.svarint(recorded_at.micros);
  e.str(ruleset);
  e.svarint(base);
  e.varint(awards.size());
  for (const auto& [offer, points] : awards) {
    e.str(offer);
    e.svarint(points);
  }
  return e.take();
}

}  // namespace

std::string encode_event_record(const RecordedEvent& r) {
  Awards awards;
  for (const auto& a : r.offers) awards.emplace_back(a.offer, a.points);
  return encode(r.first_seq, r.last_seq, r.member, r.view, r.event, r.recorded_at, r.ruleset,
                r.base, awards);
}

std::string encode_event_record(Seq first_seq, Seq last_seq, std::string_view member,
                                const rules::MemberView& view, const rules::Event& event,
                                Timestamp recorded_at, const rules::RuleSet& rules,
                                const rules::Evaluation& evaluation) {
  Awards awards;
  awards.reserve(evaluation.offers.size());
  for (const auto& a : evaluation.offers) {
    awards.emplace_back(rules.offers()[a.offer_index].id, a.points);
  }
  return encode(first_seq, last_seq, member, view, event, recorded_at, rules.version(),
                evaluation.base > 0 ? evaluation.base : 0, awards);
}

Status decode_event_record(std::string_view value, RecordedEvent* r) {
  Decoder d(value);
  if (d.u8() != event_record_version) {
    return make_error(ErrorCode::internal, "event record of an unknown format");
  }
  r->first_seq = d.varint();
  r->last_seq = d.varint();
  r->member = d.str();
  rules::MemberView& v = r->view;
  v = rules::MemberView{};
  v.id = r->member;
  v.tier = d.str();
  v.points = d.svarint();
  v.lifetime_points = d.svarint();
  v.visits = d.svarint();
  v.days_since_last_purchase = d.svarint();
  v.enrolled_days = d.svarint();
  if (d.u8() != 0) {
    CivilDate b;
    b.year = static_cast<int>(d.svarint());
    b.month = static_cast<int>(d.varint());
    b.day = static_cast<int>(d.varint());
    v.birthday = b;
  }
  v.attributes = decode_attributes(d);
  rules::Event& ev = r->event;
  ev = rules::Event{};
  ev.type = d.str();
  ev.time = Timestamp{d.svarint()};
  ev.channel = d.str();
  ev.store = d.str();
  ev.order_id = d.str();
  if (d.u8() != 0) ev.total = decode_money(d);
  std::uint64_t items = d.varint();
  for (std::uint64_t k = 0; k < items && d.ok(); ++k) {
    rules::Item item;
    item.sku = d.str();
    item.category = d.str();
    item.quantity = d.svarint();
    item.unit_price = decode_money(d);
    item.total = decode_money(d);
    ev.items.push_back(std::move(item));
  }
  ev.attributes = decode_attributes(d);
  r->recorded_at = Timestamp{d.svarint()};
  r->ruleset = d.str();
  r->base = d.svarint();
  r->offers.clear();
  std::uint64_t awards = d.varint();
  for (std::uint64_t k = 0; k < awards && d.ok(); ++k) {
    RecordedAward award;
    award.offer = d.str();
    award.points = d.svarint();
    r->offers.push_back(std::move(award));
  }
  if (!d.done()) return make_error(ErrorCode::internal, "corrupt event record");
  return Status::ok();
}

}  // namespace encore::ledger::internal
