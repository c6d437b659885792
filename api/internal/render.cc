// JSON renderings of balances, entries, members and holds.
#include "api/internal/render.h"

namespace encore::api::internal {

void write_optional_time(JsonWriter& w, std::string_view key, const std::optional<Timestamp>& t) {
  w.key(key);
  if (t) {
    w.time(*t);
  } else {
    w.null();
  }
}

void write_balance(JsonWriter& w, const ledger::Balance& b) {
  w.begin_object();
  w.field("member", b.member);
  w.field("available", b.available);
  w.field("pending", b.pending);
  w.field("held", b.held);
  w.field("lifetime_earned", b.lifetime_earned);
  w.field_or_null("tier", b.tier);
  w.key("expiring").begin_array();
  for (const auto& x : b.expiring) {
    w.begin_object().field("date", format_civil_date(x.date)).field("points", x.points);
    w.end_object();
  }
  w.end_array();
  w.key("as_of").uinteger(b.as_of);
  w.end_object();
}

void write_entry(JsonWriter& w, const ledger::Entry& e) {
  w.begin_object();
  w.key("seq").uinteger(e.seq);
  w.field("member", e.member);
  w.field("kind", ledger::entry_kind_name(e.kind));
  w.field("points", e.points);
  w.field("amount", e.amount);
  w.key("occurred_at").time(e.occurred_at);
  w.key("recorded_at").time(e.recorded_at);
  w.field_or_null("channel", e.channel);
  w.field_or_null("store", e.store);
  w.field_or_null("order_id", e.order_id);
  w.field_or_null("offer", e.offer);
  w.key("reverses");
  if (e.reverses != 0) {
    w.uinteger(e.reverses);
  } else {
    w.null();
  }
  w.field_or_null("hold", e.hold);
  w.field_or_null("reason", e.reason);
  w.field("ruleset", e.ruleset);
  w.key("hash").hex(e.hash);
  if (!e.tier.empty()) w.field("tier", e.tier);
  if (e.lot != 0) w.key("lot").uinteger(e.lot);
  if (e.vests_at) w.key("vests_at").time(*e.vests_at);
  if (e.expires_at) w.key("expires_at").time(*e.expires_at);
  w.end_object();
}

void write_attributes(JsonWriter& w, const rules::Attributes& attributes) {
  w.begin_object();
  for (const auto& [k, v] : attributes) {
    w.key(k);
    if (const auto* s = std::get_if<std::string>(&v)) {
      w.string(*s);
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
      w.integer(*i);
    } else if (const auto* d = std::get_if<Decimal>(&v)) {
      w.raw(d->to_string());  // a JSON number, as it was sent
    } else {
      w.boolean(std::get<bool>(v));
    }
  }
  w.end_object();
}

void write_member(JsonWriter& w, const ledger::Member& m, const ledger::Balance* balance) {
  w.begin_object();
  w.field("id", m.id);
  w.field("status", ledger::member_status_name(m.status));
  w.field_or_null("tier", m.tier);
  w.key("birthday");
  if (m.birthday) {
    w.string(format_civil_date(*m.birthday));
  } else {
    w.null();
  }
  w.key("attributes");
  write_attributes(w, m.attributes);
  w.key("enrolled_at").time(m.enrolled_at);
  if (balance != nullptr) {
    w.key("balance");
    write_balance(w, *balance);
  }
  w.end_object();
}

void write_hold(JsonWriter& w, const ledger::Hold& h) {
  w.begin_object();
  w.field("id", h.id);
  w.field("member", h.member);
  w.field("points", h.points);
  w.field("status", ledger::hold_status_name(h.status));
  w.key("expires_at").time(h.expires_at);
  w.key("created_at").time(h.created_at);
  w.field_or_null("order_id", h.order_id);
  w.field("captured", h.captured);
  w.end_object();
}

void write_offer_points(JsonWriter& w, const std::vector<ledger::OfferPoints>& offers) {
  w.begin_array();
  for (const auto& o : offers) {
    w.begin_object().field("id", o.id).field("name", o.name).field("points", o.points);
    w.end_object();
  }
  w.end_array();
}

}  // namespace encore::api::internal
