// Reads Event and MemberView from JSON (rules/inputs.h) with the position-keeping
// reader, so a mistake in a hand-written file is reported at its line and column.
#include "rules/inputs.h"

#include <string>

#include "rules/internal/json.h"
#include "rules/limits.h"

namespace encore::rules {
namespace {

using internal::JsonKind;
using internal::JsonValue;

Error bad(const JsonValue& v, const std::string& message) {
  return make_error(ErrorCode::invalid_request, std::to_string(v.pos.line) + ":" +
                                                    std::to_string(v.pos.column) + ": " + message);
}

Result<JsonValue> parse(std::string_view text) {
  JsonValue root;
  internal::JsonSyntaxError syntax;
  if (!internal::parse_json(text, json_depth_max, root, syntax)) {
    return make_error(ErrorCode::invalid_request, std::to_string(syntax.pos.line) + ":" +
                                                      std::to_string(syntax.pos.column) + ": " +
                                                      syntax.message);
  }
  return root;
}

Result<std::string> as_string(const JsonValue& v, std::string_view field) {
  if (v.kind != JsonKind::string) {
    return bad(v, "`" + std::string(field) + "` must be text in quotes");
  }
  return v.text;
}

Result<std::int64_t> as_int(const JsonValue& v, std::string_view field) {
  std::int64_t n = 0;
  if (!internal::json_integer(v, n)) {
    return bad(v, "`" + std::string(field) + "` must be a whole number");
  }
  return n;
}

Result<Decimal> as_money(const JsonValue& v, std::string_view field) {
  if (v.kind != JsonKind::string && v.kind != JsonKind::number) {
    return bad(v, "`" + std::string(field) + "` must be an amount like \"59.90\"");
  }
  auto d = Decimal::parse(v.text);
  if (!d) return bad(v, "`" + std::string(field) + "`: " + d.error().detail);
  return *d;
}

Result<Attributes> as_attributes(const JsonValue& v) {
  if (v.kind != JsonKind::object) return bad(v, "`attributes` must be an object {...}");
  Attributes out;
  for (const auto& m : v.members) {
    const JsonValue& a = m.value;
    std::int64_t n = 0;
    if (a.kind == JsonKind::string) {
      out[m.key] = a.text;
    } else if (a.kind == JsonKind::boolean) {
      out[m.key] = a.boolean;
    } else if (a.kind == JsonKind::number && internal::json_integer(a, n)) {
      out[m.key] = n;
    } else if (a.kind == JsonKind::number) {
      auto d = Decimal::parse(a.text);
      if (!d) return bad(a, "attribute `" + m.key + "`: " + d.error().detail);
      out[m.key] = *d;
    } else {
      return bad(a, "attribute `" + m.key + "` must be text, a number or true/false");
    }
  }
  return out;
}

Result<Item> item_from(const JsonValue& v) {
  if (v.kind != JsonKind::object) return bad(v, "each item must be an object {...}");
  Item item;
  bool has_total = false;
  for (const auto& m : v.members) {
    if (m.key == "sku") {
      ENCORE_ASSIGN_OR_RETURN(item.sku, as_string(m.value, "sku"));
    } else if (m.key == "category") {
      ENCORE_ASSIGN_OR_RETURN(item.category, as_string(m.value, "category"));
    } else if (m.key == "quantity") {
      ENCORE_ASSIGN_OR_RETURN(item.quantity, as_int(m.value, "quantity"));
      if (item.quantity < 1 || item.quantity > 1'000'000) {
        return bad(m.value, "`quantity` must be between 1 and 1000000");
      }
    } else if (m.key == "unit_price") {
      ENCORE_ASSIGN_OR_RETURN(item.unit_price, as_money(m.value, "unit_price"));
    } else if (m.key == "total") {
      ENCORE_ASSIGN_OR_RETURN(item.total, as_money(m.value, "total"));
      has_total = true;
    } else {
      return bad(m.value, "unknown item field `" + m.key + "`");
    }
  }
  if (!has_total) {
    auto q = Decimal::from_integer(item.quantity);
    auto t = q ? item.unit_price.mul(*q) : std::nullopt;
    if (!t) return bad(v, "the item's total is too large");
    item.total = *t;
  }
  return item;
}

Status basket_part(const JsonValue& v, std::string_view key, Event& e) {
  if (key == "total") {
    ENCORE_ASSIGN_OR_RETURN(e.total, as_money(v, "total"));
    return Status::ok();
  }
  if (v.kind != JsonKind::array) return bad(v, "`items` must be a list [...]");
  for (const auto& it : v.items) {
    ENCORE_ASSIGN_OR_RETURN(Item item, item_from(it));
    e.items.push_back(std::move(item));
  }
  return Status::ok();
}

Result<Event> event_from(const JsonValue& v, Timestamp default_time) {
  if (v.kind != JsonKind::object) return bad(v, "the event must be a JSON object {...}");
  Event e;
  e.time = default_time;
  for (const auto& m : v.members) {
    const std::string& k = m.key;
    if (k == "member") {
      continue;
    } else if (k == "type") {
      ENCORE_ASSIGN_OR_RETURN(e.type, as_string(m.value, "type"));
    } else if (k == "occurred_at" || k == "time") {
      ENCORE_ASSIGN_OR_RETURN(std::string t, as_string(m.value, k));
      auto ts = parse_rfc3339(t);
      if (!ts) return bad(m.value, ts.error().detail);
      e.time = *ts;
    } else if (k == "channel") {
      ENCORE_ASSIGN_OR_RETURN(e.channel, as_string(m.value, "channel"));
    } else if (k == "store") {
      ENCORE_ASSIGN_OR_RETURN(e.store, as_string(m.value, "store"));
    } else if (k == "order_id") {
      ENCORE_ASSIGN_OR_RETURN(e.order_id, as_string(m.value, "order_id"));
    } else if (k == "total" || k == "items") {
      ENCORE_RETURN_IF_ERROR(basket_part(m.value, k, e));
    } else if (k == "basket") {
      if (m.value.kind != JsonKind::object) return bad(m.value, "`basket` must be an object");
      for (const auto& b : m.value.members) {
        if (b.key != "total" && b.key != "items") {
          return bad(b.value, "unknown basket field `" + b.key + "`");
        }
        ENCORE_RETURN_IF_ERROR(basket_part(b.value, b.key, e));
      }
    } else if (k == "attributes") {
      ENCORE_ASSIGN_OR_RETURN(e.attributes, as_attributes(m.value));
    } else {
      return bad(m.value, "unknown event field `" + k + "`");
    }
  }
  return e;
}

Result<MemberView> member_from(const JsonValue& v) {
  if (v.kind != JsonKind::object) return bad(v, "the member must be a JSON object {...}");
  MemberView mv;
  for (const auto& m : v.members) {
    const std::string& k = m.key;
    if (k == "id") {
      ENCORE_ASSIGN_OR_RETURN(mv.id, as_string(m.value, k));
    } else if (k == "tier") {
      ENCORE_ASSIGN_OR_RETURN(mv.tier, as_string(m.value, k));
    } else if (k == "points") {
      ENCORE_ASSIGN_OR_RETURN(mv.points, as_int(m.value, k));
    } else if (k == "lifetime_points") {
      ENCORE_ASSIGN_OR_RETURN(mv.lifetime_points, as_int(m.value, k));
    } else if (k == "visits") {
      ENCORE_ASSIGN_OR_RETURN(mv.visits, as_int(m.value, k));
    } else if (k == "days_since_last_purchase") {
      ENCORE_ASSIGN_OR_RETURN(mv.days_since_last_purchase, as_int(m.value, k));
    } else if (k == "enrolled_days") {
      ENCORE_ASSIGN_OR_RETURN(mv.enrolled_days, as_int(m.value, k));
    } else if (k == "birthday") {
      if (m.value.kind == JsonKind::null) continue;
      ENCORE_ASSIGN_OR_RETURN(std::string b, as_string(m.value, k));
      auto d = parse_civil_date(b);
      if (!d) return bad(m.value, d.error().detail);
      mv.birthday = *d;
    } else if (k == "attributes") {
      ENCORE_ASSIGN_OR_RETURN(mv.attributes, as_attributes(m.value));
    } else {
      return bad(m.value, "unknown member field `" + k + "`");
    }
  }
  return mv;
}

}  // namespace

Result<Event> parse_event_json(std::string_view text, Timestamp default_time) {
  ENCORE_ASSIGN_OR_RETURN(JsonValue root, parse(text));
  return event_from(root, default_time);
}

Result<MemberView> parse_member_json(std::string_view text) {
  ENCORE_ASSIGN_OR_RETURN(JsonValue root, parse(text));
  return member_from(root);
}

Result<InputCase> parse_case_json(std::string_view text, Timestamp default_time) {
  ENCORE_ASSIGN_OR_RETURN(JsonValue root, parse(text));
  if (root.kind != JsonKind::object) return bad(root, "expected {\"member\": ..., \"event\": ...}");
  const JsonValue* member = root.find("member");
  const JsonValue* event = root.find("event");
  if (!member || !event) return bad(root, "expected {\"member\": ..., \"event\": ...}");
  InputCase c;
  ENCORE_ASSIGN_OR_RETURN(c.member, member_from(*member));
  ENCORE_ASSIGN_OR_RETURN(c.event, event_from(*event, default_time));
  return c;
}

}  // namespace encore::rules
