// The business endpoints: parse the body into a ledger command or read, submit it, and
// render the outcome. Writes answer through a PendingResponse completed by the ledger
// after the batch is durable and rendered on the session's thread; idempotent writes have
// their outcome stored with the effect, and a retry renders the stored outcome.
#include "api/internal/endpoints.h"

#include <memory>

#include "api/internal/json_reader.h"
#include "api/internal/json_writer.h"
#include "api/internal/metrics.h"
#include "api/internal/render.h"
#include "api/limits.h"
#include "ledger/ledger.h"
#include "rules/base/clock.h"

namespace encore::api::internal {

namespace {

using Render = std::function<Response(const ledger::CommandOutcome&)>;

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response unavailable(const Error& e) {
  Response r = problem(e);
  r.retry_after_seconds = 1;
  return r;
}

Response error_response(const Error& e) {
  return e.code == ErrorCode::unavailable ? unavailable(e) : problem(e);
}

Response outcome_response(const ledger::CommandOutcome& o, const Render& render) {
  if (!o.status) return error_response(o.status.error());
  return render(o);
}

// A ledger write: submitted when the session starts it, answered after the batch is
// durable. The outcome is rendered by finish(), on the session's thread: a retry with the
// same Idempotency-Key gets the stored outcome back and renders the same answer from it.
class LedgerWrite final : public PendingResponse,
                          public std::enable_shared_from_this<LedgerWrite> {
 public:
  LedgerWrite(ledger::Ledger& ledger, ledger::Command command,
              std::optional<ledger::IdempotencyRequest> idempotency, Render render)
      : ledger_(ledger),
        command_(std::move(command)),
        idempotency_(std::move(idempotency)),
        render_(std::move(render)) {}

  void start(std::function<void()> ready) override {
    // The completion writes outcome_ before calling ready; whoever calls finish() was told
    // by ready (through a post or a future), which orders the two. It keeps this object
    // alive: the session may be gone by the time the ledger completes.
    ledger_.submit(std::move(command_), std::move(idempotency_),
                   [self = shared_from_this(), ready = std::move(ready)](
                       ledger::CommandOutcome o) {
                     self->outcome_ = std::move(o);
                     ready();
                   });
  }

  Response finish() override {
    Response r = outcome_response(outcome_, render_);
    r.replayed = outcome_.replayed;
    return r;
  }

 private:
  ledger::Ledger& ledger_;
  ledger::Command command_;
  std::optional<ledger::IdempotencyRequest> idempotency_;
  Render render_;
  ledger::CommandOutcome outcome_;
};

ledger::Fingerprint fingerprint(const Call& c) {
  std::string text;
  text.reserve(16 + c.path.size() + c.request.body.size());
  text += method_name(c.request.method);
  text += ' ';
  text += c.path;
  text += '\n';
  text += c.request.body;
  return sha256(text);
}

Response write(const Call& c, ledger::Command command, Render render) {
  std::optional<ledger::IdempotencyRequest> idem;
  if (c.route.idempotency_key && c.key != nullptr) {
    idem.emplace();
    idem->scope = c.key->client;
    idem->key = std::string(c.request.idempotency_key);
    idem->fingerprint = fingerprint(c);
  }
  Response r;
  r.pending = std::make_shared<LedgerWrite>(*c.context.ledger, std::move(command),
                                            std::move(idem), std::move(render));
  return r;
}

// Parses the body (an object) field by field. An empty body reads as {} where allowed.
template <typename F>
Status parse_body(const Call& c, std::initializer_list<std::string_view> names, F&& f) {
  if (c.request.body.empty() && c.route.body == BodyKind::json_optional) return Status::ok();
  JsonBody body;
  ENCORE_RETURN_IF_ERROR(body.parse(c.request.body));
  ENCORE_RETURN_IF_ERROR(for_each_field(body.object(), names, f));
  return body.finish();
}

Status check_channel(std::string_view channel) {
  if (channel == "store" || channel == "online" || channel == "phone" || channel == "app") {
    return Status::ok();
  }
  return invalid("channel must be store, online, phone or app");
}

Status check_event_type(std::string_view type) {
  bool ok = !type.empty() && type.size() <= 32 && type[0] >= 'a' && type[0] <= 'z';
  for (char ch : type) {
    ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_');
  }
  return ok ? Status::ok() : Status(invalid("type must match [a-z][a-z0-9_]{0,31}"));
}

// The member id of a path: one that cannot exist is simply not found. A write with an
// Idempotency-Key leaves that to the ledger, which stores its 404 with the key: API.md has
// every 404 replayed, and the key refused for another request.
Result<std::string> path_member(const Call& c) {
  if (!c.route.idempotency_key && !check_member_id(c.param)) {
    return make_error(ErrorCode::member_not_found, "no member with this id");
  }
  return std::string(c.param);
}

const ledger::Entry* entry_of_kind(const ledger::CommandOutcome& o, ledger::EntryKind kind) {
  for (const auto& e : o.entries) {
    if (e.kind == kind) return &e;
  }
  return o.entries.empty() ? nullptr : &o.entries.front();
}

void write_entry_or_null(JsonWriter& w, const ledger::Entry* e) {
  if (e != nullptr) {
    write_entry(w, *e);
  } else {
    w.null();
  }
}

void write_balance_or_null(JsonWriter& w, const std::optional<ledger::Balance>& b) {
  if (b) {
    write_balance(w, *b);
  } else {
    w.null();
  }
}

// {"entry": <entry of kind>, "balance": ...}
Render entry_and_balance(int status, ledger::EntryKind kind) {
  return [status, kind](const ledger::CommandOutcome& o) {
    Response r = json_response(status, {});
    JsonWriter w(r.body);
    w.begin_object().key("entry");
    write_entry_or_null(w, entry_of_kind(o, kind));
    w.key("balance");
    write_balance_or_null(w, o.balance);
    w.end_object();
    return r;
  };
}

Response hold_and_balance(int status, const ledger::CommandOutcome& o, bool with_entry) {
  Response r = json_response(status, {});
  JsonWriter w(r.body);
  w.begin_object().key("hold");
  if (o.hold) {
    write_hold(w, *o.hold);
  } else {
    w.null();
  }
  if (with_entry) {
    w.key("entry");
    write_entry_or_null(w, entry_of_kind(o, ledger::EntryKind::capture));
  }
  w.key("balance");
  write_balance_or_null(w, o.balance);
  w.end_object();
  return r;
}

// %XX escapes decoded; '+' is a space only in a query string (plus_is_space).
std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto hex = [](char ch) -> int {
      if (ch >= '0' && ch <= '9') return ch - '0';
      if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
      if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
      return -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Response rules_invalid(const std::vector<rules::RuleError>& errors) {
  return problem_with(
      ErrorCode::rules_invalid,
      std::to_string(errors.size()) + (errors.size() == 1 ? " error" : " errors") +
          " in the rule files",
      [&errors](JsonWriter& w) {
        w.key("errors").begin_array();
        for (const auto& e : errors) {
          w.begin_object();
          w.field("file", e.file);
          w.field("line", static_cast<std::int64_t>(e.line));
          w.field("column", static_cast<std::int64_t>(e.column));
          w.field("message", e.message);
          w.end_object();
        }
        w.end_array();
      });
}

// ---- Members ---------------------------------------------------------------------

Response members_create(const Call& c) {
  ledger::EnrollMember cmd;
  Status st = parse_body(c, {"id", "birthday", "attributes"}, [&](std::size_t i, sj::value& v) {
    if (take_null(v)) return Status::ok();
    switch (i) {
      case 0: {
        ENCORE_ASSIGN_OR_RETURN(cmd.id, read_member_id(v, "id"));
        return Status::ok();
      }
      case 1: {
        ENCORE_ASSIGN_OR_RETURN(cmd.birthday, read_date(v, "birthday"));
        return Status::ok();
      }
      default: {
        ENCORE_ASSIGN_OR_RETURN(auto attrs, read_attributes(v, "attributes", false));
        for (auto& [k, val] : attrs) cmd.attributes.emplace(std::move(k), std::move(*val));
        return Status::ok();
      }
    }
  });
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), [](const ledger::CommandOutcome& o) {
    Response r = json_response(201, {});
    JsonWriter w(r.body);
    w.begin_object().key("member");
    if (o.member) {
      write_member(w, *o.member, nullptr);
    } else {
      w.null();
    }
    w.key("balance");
    write_balance_or_null(w, o.balance);
    w.end_object();
    return r;
  });
}

Response member_get(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  auto& ledger = *c.context.ledger;
  auto member = ledger.member(*id);
  if (!member) return error_response(member.error());
  auto balance = ledger.balance(*id);
  if (!balance) return error_response(balance.error());
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  write_member(w, *member, &*balance);
  return r;
}

Response member_patch(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  ledger::PatchMember cmd;
  cmd.id = *id;
  Status st = parse_body(c, {"attributes", "birthday", "status"}, [&](std::size_t i, sj::value& v) {
    if (take_null(v)) return Status::ok();
    switch (i) {
      case 0: {
        ENCORE_ASSIGN_OR_RETURN(auto attrs, read_attributes(v, "attributes", true));
        for (auto& [k, val] : attrs) cmd.attributes[std::move(k)] = std::move(val);
        return Status::ok();
      }
      case 1: {
        ENCORE_ASSIGN_OR_RETURN(cmd.birthday, read_date(v, "birthday"));
        return Status::ok();
      }
      default: {
        ENCORE_ASSIGN_OR_RETURN(std::string s, read_string(v, "status", 16));
        if (s == "active") {
          cmd.status = ledger::MemberStatus::active;
        } else if (s == "frozen") {
          cmd.status = ledger::MemberStatus::frozen;
        } else {
          return Status(invalid("status must be active or frozen"));
        }
        return Status::ok();
      }
    }
  });
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), [](const ledger::CommandOutcome& o) {
    Response r = json_response(200, {});
    JsonWriter w(r.body);
    if (o.member) {
      write_member(w, *o.member, o.balance ? &*o.balance : nullptr);
    } else {
      w.null();
    }
    return r;
  });
}

Response member_balance(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  auto balance = c.context.ledger->balance(*id);
  if (!balance) return error_response(balance.error());
  Response r = json_response(200, {});
  r.body.reserve(256);
  JsonWriter w(r.body);
  write_balance(w, *balance);
  return r;
}

Response member_entries(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  std::int64_t limit = entries_limit_default;
  std::optional<Seq> before;
  if (auto s = query_param(c.query, "limit")) {
    auto v = parse_int_text(*s, "limit", 1, ledger::entries_page_max);
    if (!v) return problem(v.error());
    limit = *v;
  }
  if (auto s = query_param(c.query, "before")) {
    auto v = parse_int_text(*s, "before", 1, INT64_MAX);
    if (!v) return problem(v.error());
    before = static_cast<Seq>(*v);
  }
  auto page = c.context.ledger->entries(*id, before, static_cast<std::size_t>(limit));
  if (!page) return error_response(page.error());
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  w.begin_object().key("entries").begin_array();
  for (const auto& e : page->entries) write_entry(w, e);
  w.end_array().key("next_before");
  if (page->next_before) {
    w.uinteger(*page->next_before);
  } else {
    w.null();
  }
  w.end_object();
  return r;
}

Response member_offers(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  auto offers = c.context.ledger->offers_for(*id);
  if (!offers) return error_response(offers.error());
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  w.begin_object().key("offers").begin_array();
  for (const auto& o : *offers) {
    w.begin_object();
    w.field("id", o.id).field("name", o.name).field("description", o.description);
    write_optional_time(w, "ends_at", o.ends_at);
    w.key("remaining_uses");
    if (o.remaining_uses) {
      w.integer(*o.remaining_uses);
    } else {
      w.null();
    }
    w.end_object();
  }
  w.end_array().end_object();
  return r;
}

// ---- Spending --------------------------------------------------------------------

Response member_redemptions(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  ledger::Redeem cmd;
  cmd.member = *id;
  bool has_points = false;
  Status st = parse_body(c, {"points", "order_id", "reason", "channel", "store"},
                         [&](std::size_t i, sj::value& v) {
    if (i != 0 && take_null(v)) return Status::ok();
    switch (i) {
      case 0: {
        ENCORE_ASSIGN_OR_RETURN(cmd.points, read_points(v, "points"));
        if (cmd.points <= 0) return Status(invalid("points must be greater than 0"));
        has_points = true;
        return Status::ok();
      }
      case 1: {
        ENCORE_ASSIGN_OR_RETURN(cmd.order_id, read_text(v, "order_id"));
        return Status::ok();
      }
      case 2: {
        ENCORE_ASSIGN_OR_RETURN(cmd.reason, read_text(v, "reason"));
        return Status::ok();
      }
      case 3: {
        ENCORE_ASSIGN_OR_RETURN(cmd.channel, read_string(v, "channel", 16));
        return check_channel(cmd.channel);
      }
      default: {
        ENCORE_ASSIGN_OR_RETURN(cmd.store, read_text(v, "store"));
        return Status::ok();
      }
    }
  });
  if (st && !has_points) st = invalid("points is required");
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), entry_and_balance(201, ledger::EntryKind::redemption));
}

Response member_holds(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  ledger::CreateHold cmd;
  cmd.member = *id;
  bool has_points = false;
  Status st = parse_body(c, {"points", "ttl_seconds", "order_id"}, [&](std::size_t i,
                                                                       sj::value& v) {
    if (i != 0 && take_null(v)) return Status::ok();
    switch (i) {
      case 0: {
        ENCORE_ASSIGN_OR_RETURN(cmd.points, read_points(v, "points"));
        if (cmd.points <= 0) return Status(invalid("points must be greater than 0"));
        has_points = true;
        return Status::ok();
      }
      case 1: {
        ENCORE_ASSIGN_OR_RETURN(cmd.ttl_seconds,
                                read_int(v, "ttl_seconds", 1, ledger::hold_ttl_seconds_max));
        return Status::ok();
      }
      default: {
        ENCORE_ASSIGN_OR_RETURN(cmd.order_id, read_text(v, "order_id"));
        return Status::ok();
      }
    }
  });
  if (st && !has_points) st = invalid("points is required");
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), [](const ledger::CommandOutcome& o) {
    return hold_and_balance(201, o, false);
  });
}

Response hold_get(const Call& c) {
  if (c.param.size() > 128) return problem(ErrorCode::not_found, "no hold with this id");
  auto hold = c.context.ledger->hold(c.param);
  if (!hold) return error_response(hold.error());
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  write_hold(w, *hold);
  return r;
}

// Hold ids of any length go to the ledger: its 404 is stored with the Idempotency-Key.
Response hold_capture(const Call& c) {
  ledger::CaptureHold cmd;
  cmd.hold = std::string(c.param);
  Status st = parse_body(c, {"points"}, [&](std::size_t, sj::value& v) {
    if (take_null(v)) return Status::ok();
    ENCORE_ASSIGN_OR_RETURN(cmd.points, read_points(v, "points"));
    if (*cmd.points <= 0) return Status(invalid("points must be greater than 0"));
    return Status::ok();
  });
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), [](const ledger::CommandOutcome& o) {
    return hold_and_balance(200, o, true);
  });
}

Response hold_void(const Call& c) {
  ledger::VoidHold cmd;
  cmd.hold = std::string(c.param);
  Status st = parse_body(c, {}, [&](std::size_t, sj::value&) { return Status::ok(); });
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), [](const ledger::CommandOutcome& o) {
    return hold_and_balance(200, o, false);
  });
}

// ---- Corrections -----------------------------------------------------------------

Response entry_reverse(const Call& c) {
  // A seq that is not one (not a number, out of range) is the entry no journal has, 0: the
  // ledger's 404 for it is stored with the Idempotency-Key like any other.
  auto seq = parse_int_text(c.param, "seq", 1, INT64_MAX);
  ledger::Reverse cmd;
  cmd.seq = seq ? static_cast<Seq>(*seq) : 0;
  Status st = parse_body(c, {"points", "reason"}, [&](std::size_t i, sj::value& v) {
    if (take_null(v)) return Status::ok();
    if (i == 0) {
      ENCORE_ASSIGN_OR_RETURN(cmd.points, read_points(v, "points"));
      if (*cmd.points <= 0) return Status(invalid("points must be greater than 0"));
      return Status::ok();
    }
    ENCORE_ASSIGN_OR_RETURN(cmd.reason, read_text(v, "reason"));
    return Status::ok();
  });
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), entry_and_balance(201, ledger::EntryKind::reversal));
}

Response member_adjustments(const Call& c) {
  auto id = path_member(c);
  if (!id) return problem(id.error());
  ledger::Adjust cmd;
  cmd.member = *id;
  bool has_points = false;
  Status st = parse_body(c, {"points", "reason"}, [&](std::size_t i, sj::value& v) {
    if (i == 0) {
      ENCORE_ASSIGN_OR_RETURN(cmd.points, read_points(v, "points"));
      if (cmd.points == 0) return Status(invalid("points must not be 0"));
      has_points = true;
      return Status::ok();
    }
    if (take_null(v)) return Status::ok();
    ENCORE_ASSIGN_OR_RETURN(cmd.reason, read_text(v, "reason"));
    return Status::ok();
  });
  if (st && !has_points) st = invalid("points is required");
  if (st && cmd.reason.empty()) st = invalid("reason is required");
  if (!st) return problem(st.error());
  return write(c, std::move(cmd), entry_and_balance(201, ledger::EntryKind::adjustment));
}

// ---- Earning ---------------------------------------------------------------------

struct ParsedEvent {
  std::optional<std::string> member;
  rules::Event event;
  std::optional<Timestamp> occurred_at;
};

Status parse_items(sj::value& v, int digits, std::vector<rules::Item>& items) {
  sj::array arr;
  sj::json_type t;
  if (auto e = v.type().get(t)) return json_error(e);
  if (t != sj::json_type::array) return invalid("basket.items must be an array");
  if (auto e = v.get_array().get(arr)) return json_error(e);
  for (auto item_result : arr) {
    sj::value item_value;
    if (auto e = std::move(item_result).get(item_value)) return json_error(e);
    if (items.size() >= basket_items_max) {
      return invalid("basket.items has more than " + std::to_string(basket_items_max) + " lines");
    }
    sj::object obj;
    if (item_value.type().get(t) || t != sj::json_type::object) {
      return invalid("basket.items must hold objects");
    }
    if (auto e = item_value.get_object().get(obj)) return json_error(e);
    rules::Item item;
    bool has_price = false;
    ENCORE_RETURN_IF_ERROR(for_each_field(
        obj, {"sku", "category", "quantity", "unit_price"}, [&](std::size_t i, sj::value& f) {
          if (take_null(f)) return Status::ok();
          switch (i) {
            case 0: {
              ENCORE_ASSIGN_OR_RETURN(item.sku, read_text(f, "sku"));
              return Status::ok();
            }
            case 1: {
              ENCORE_ASSIGN_OR_RETURN(item.category, read_text(f, "category"));
              return Status::ok();
            }
            case 2: {
              ENCORE_ASSIGN_OR_RETURN(item.quantity,
                                      read_int(f, "quantity", 1, item_quantity_max));
              return Status::ok();
            }
            default: {
              ENCORE_ASSIGN_OR_RETURN(item.unit_price, read_money(f, "unit_price", digits));
              has_price = true;
              return Status::ok();
            }
          }
        }));
    if (!has_price) return invalid("basket.items[].unit_price is required");
    auto q = Decimal::from_integer(item.quantity);
    auto total = q ? item.unit_price.mul(*q) : std::nullopt;
    if (!total) return invalid("basket item total is too large");
    item.total = *total;
    items.push_back(std::move(item));
  }
  return Status::ok();
}

Result<ParsedEvent> parse_event(const Call& c, const rules::Program& program,
                                bool member_required) {
  ParsedEvent p;
  bool has_type = false;
  const int digits = program.currency_digits;
  Status st = parse_body(
      c, {"member", "type", "occurred_at", "channel", "store", "order_id", "basket",
          "attributes"},
      [&](std::size_t i, sj::value& v) {
        if (take_null(v)) return Status::ok();
        switch (i) {
          case 0: {
            ENCORE_ASSIGN_OR_RETURN(p.member, read_member_id(v, "member"));
            return Status::ok();
          }
          case 1: {
            ENCORE_ASSIGN_OR_RETURN(p.event.type, read_string(v, "type", 32));
            has_type = true;
            return check_event_type(p.event.type);
          }
          case 2: {
            ENCORE_ASSIGN_OR_RETURN(p.occurred_at, read_time(v, "occurred_at"));
            return Status::ok();
          }
          case 3: {
            ENCORE_ASSIGN_OR_RETURN(p.event.channel, read_string(v, "channel", 16));
            return check_channel(p.event.channel);
          }
          case 4: {
            ENCORE_ASSIGN_OR_RETURN(p.event.store, read_text(v, "store"));
            return Status::ok();
          }
          case 5: {
            ENCORE_ASSIGN_OR_RETURN(p.event.order_id, read_text(v, "order_id"));
            return Status::ok();
          }
          case 6: {
            sj::object basket;
            sj::json_type t;
            if (v.type().get(t) || t != sj::json_type::object) {
              return Status(invalid("basket must be an object"));
            }
            if (auto e = v.get_object().get(basket)) return Status(json_error(e));
            std::optional<Money> total;
            bool has_items = false;
            ENCORE_RETURN_IF_ERROR(for_each_field(
                basket, {"total", "items"}, [&](std::size_t j, sj::value& f) {
                  if (take_null(f)) return Status::ok();
                  if (j == 0) {
                    ENCORE_ASSIGN_OR_RETURN(total, read_money(f, "basket.total", digits));
                    return Status::ok();
                  }
                  has_items = true;
                  return parse_items(f, digits, p.event.items);
                }));
            if (!total) {
              Money sum;
              for (const auto& item : p.event.items) {
                auto s = sum.add(item.total);
                if (!s) return Status(invalid("basket total is too large"));
                sum = *s;
              }
              total = sum;
            }
            (void)has_items;
            p.event.total = total;
            return Status::ok();
          }
          default: {
            ENCORE_ASSIGN_OR_RETURN(auto attrs, read_attributes(v, "attributes", false));
            for (auto& [k, val] : attrs) p.event.attributes.emplace(std::move(k), std::move(*val));
            return Status::ok();
          }
        }
      });
  if (!st) return std::move(st).error();
  if (!has_type) return invalid("type is required");
  if (member_required && !p.member) return invalid("member is required");
  if (p.occurred_at) {
    const Timestamp now = c.context.ledger->now();
    if (*p.occurred_at > now) return invalid("occurred_at is in the future");
    if (*p.occurred_at < now.plus_days(-program.max_backdate_days)) {
      return invalid("occurred_at is more than " + std::to_string(program.max_backdate_days) +
                     " days ago");
    }
    p.event.time = *p.occurred_at;
  }
  return p;
}

Response events(const Call& c) {
  const auto rule_set = c.context.ledger->rule_set();
  auto parsed = parse_event(c, rule_set->program(), true);
  if (!parsed) return problem(parsed.error());
  ledger::RecordEvent cmd;
  cmd.member = std::move(*parsed->member);
  cmd.event = std::move(parsed->event);
  cmd.occurred_at = parsed->occurred_at;
  return write(c, std::move(cmd), [](const ledger::CommandOutcome& o) {
    Response r = json_response(201, {});
    r.body.reserve(512 + 400 * o.entries.size());
    JsonWriter w(r.body);
    w.begin_object();
    w.field("points", o.points);
    w.key("entries").begin_array();
    for (const auto& e : o.entries) write_entry(w, e);
    w.end_array();
    w.key("offers");
    write_offer_points(w, o.offers);
    w.key("balance");
    write_balance_or_null(w, o.balance);
    w.end_object();
    return r;
  });
}

Response quote(const Call& c) {
  const auto rule_set = c.context.ledger->rule_set();
  auto parsed = parse_event(c, rule_set->program(), false);
  if (!parsed) return problem(parsed.error());
  std::optional<std::string_view> member;
  if (parsed->member) member = *parsed->member;
  auto q = c.context.ledger->quote(parsed->event, member, parsed->occurred_at);
  if (!q) return error_response(q.error());
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  w.begin_object().field("points", q->points).key("offers");
  write_offer_points(w, q->offers);
  w.end_object();
  return r;
}

// ---- Rules -----------------------------------------------------------------------

std::string_view offer_status(const rules::Offer& o, std::int64_t used, Timestamp now) {
  if (o.starts_at && now < *o.starts_at) return "scheduled";
  if (o.ends_at && now >= *o.ends_at) return "ended";
  if (o.budget && used >= *o.budget) return "exhausted";
  return "active";
}

Response rules_get(const Call& c) {
  const auto info = c.context.ledger->rules();
  const auto& rs = *info.rule_set;
  const Timestamp now = c.context.ledger->now();
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  w.begin_object();
  w.field("version", rs.version());
  w.key("loaded_at").time(info.loaded_at);
  w.key("offers").begin_array();
  for (std::size_t i = 0; i < rs.offers().size(); ++i) {
    const auto& o = rs.offers()[i];
    const std::int64_t used = i < info.budget_used.size() ? info.budget_used[i] : 0;
    w.begin_object();
    w.field("id", o.id).field("name", o.name).field("description", o.description);
    w.field("status", offer_status(o, used, now));
    write_optional_time(w, "starts_at", o.starts_at);
    write_optional_time(w, "ends_at", o.ends_at);
    w.key("budget").begin_object().key("limit");
    if (o.budget) {
      w.integer(*o.budget);
    } else {
      w.null();
    }
    w.field("used", used).end_object();
    w.field("on", o.on).field("priority", o.priority).field("file", o.file);
    w.end_object();
  }
  w.end_array();
  w.key("tiers").begin_array();
  if (rs.tiers()) {
    for (const auto& t : rs.tiers()->levels) {
      w.begin_object().field("id", t.id).field("threshold", t.threshold);
      w.key("multiplier").raw(t.multiplier.to_string());
      w.end_object();
    }
  }
  w.end_array();
  w.end_object();
  return r;
}

Response rules_validate(const Call& c) {
  std::string name = "~validate.json";
  if (auto f = query_param(c.query, "file")) name = percent_decode(*f, true);
  if (name.empty() || name.size() > 255 || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos || name == "." || name == "..") {
    return problem(ErrorCode::invalid_request, "file must be a plain file name");
  }
  for (char ch : name) {
    if (static_cast<unsigned char>(ch) < 0x20) {
      return problem(ErrorCode::invalid_request, "file must be a plain file name");
    }
  }
  const auto info = c.context.ledger->rules();
  std::vector<rules::RuleFile> files;
  bool replaced = false;
  for (const auto& f : info.rule_set->files()) {
    if (f.name == name) {
      files.push_back({name, std::string(c.request.body)});
      replaced = true;
    } else {
      files.push_back(f);
    }
  }
  if (!replaced) files.push_back({name, std::string(c.request.body)});
  auto loaded = rules::load_files(std::move(files));
  if (!loaded.rule_set) return rules_invalid(loaded.errors);
  std::int64_t offers = 0;
  for (const auto& o : loaded.rule_set->offers()) offers += o.file == name ? 1 : 0;
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  w.begin_object().field("valid", true).field("offers", offers).end_object();
  return r;
}

Response journal(const Call& c) {
  std::int64_t limit = journal_limit_default;
  Seq after = 0;
  if (auto s = query_param(c.query, "limit")) {
    auto v = parse_int_text(*s, "limit", 1, ledger::journal_page_max);
    if (!v) return problem(v.error());
    limit = *v;
  }
  if (auto s = query_param(c.query, "after")) {
    auto v = parse_int_text(*s, "after", 0, INT64_MAX);
    if (!v) return problem(v.error());
    after = static_cast<Seq>(*v);
  }
  auto page = c.context.ledger->journal(after, static_cast<std::size_t>(limit));
  if (!page) return error_response(page.error());
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  w.begin_object().key("entries").begin_array();
  for (const auto& e : page->entries) write_entry(w, e);
  w.end_array();
  w.key("next_after").uinteger(page->next_after);
  w.field_or_null("chain_head", page->chain_head);
  w.end_object();
  return r;
}

Response liability(const Call& c) {
  auto rep = c.context.ledger->liability();
  if (!rep) return error_response(rep.error());
  Response r = json_response(200, {});
  JsonWriter w(r.body);
  w.begin_object();
  w.field("available", rep->available).field("pending", rep->pending).field("held", rep->held);
  w.key("expiring").begin_object();
  w.field("30d", rep->expiring_30d).field("60d", rep->expiring_60d);
  w.field("90d", rep->expiring_90d).end_object();
  w.key("days").begin_array();
  for (const auto& d : rep->days) {
    w.begin_object().field("date", format_civil_date(d.date));
    w.field("earned", d.earned).field("redeemed", d.redeemed);
    w.field("expired", d.expired).field("reversed", d.reversed).end_object();
  }
  w.end_array().end_object();
  return r;
}

Response admin_clock(const Call& c) {
  ledger::AdvanceClock cmd;
  bool has = false;
  Status st = parse_body(c, {"advance_seconds"}, [&](std::size_t, sj::value& v) {
    ENCORE_ASSIGN_OR_RETURN(cmd.seconds,
                            read_int(v, "advance_seconds", 0, clock_advance_seconds_max));
    has = true;
    return Status::ok();
  });
  if (st && !has) st = invalid("advance_seconds is required");
  if (!st) return problem(st.error());
  ManualClock* clock = c.context.manual_clock;
  return write(c, std::move(cmd), [clock](const ledger::CommandOutcome& o) {
    Timestamp now = o.now;
    if (clock != nullptr && clock->now() > now) now = clock->now();
    Response r = json_response(200, {});
    JsonWriter w(r.body);
    w.begin_object().key("now").time(now).end_object();
    return r;
  });
}

}  // namespace

Response run_endpoint(const Call& call) {
  // Path parameters may be percent-encoded (a client encoding ':' and '@' of a member id).
  std::string decoded;
  const bool encoded = call.param.find('%') != std::string_view::npos;
  if (encoded) decoded = percent_decode(call.param, false);
  const Call c{call.request, call.context, call.route, call.path,
               encoded ? std::string_view(decoded) : call.param, call.query, call.key};
  switch (c.route.id) {
    case RouteId::members_create: return members_create(c);
    case RouteId::member_get: return member_get(c);
    case RouteId::member_patch: return member_patch(c);
    case RouteId::member_balance: return member_balance(c);
    case RouteId::member_entries: return member_entries(c);
    case RouteId::member_offers: return member_offers(c);
    case RouteId::member_redemptions: return member_redemptions(c);
    case RouteId::member_holds: return member_holds(c);
    case RouteId::member_adjustments: return member_adjustments(c);
    case RouteId::events: return events(c);
    case RouteId::quote: return quote(c);
    case RouteId::hold_get: return hold_get(c);
    case RouteId::hold_capture: return hold_capture(c);
    case RouteId::hold_void: return hold_void(c);
    case RouteId::entry_reverse: return entry_reverse(c);
    case RouteId::rules_get: return rules_get(c);
    case RouteId::rules_validate: return rules_validate(c);
    case RouteId::rules_reload: return reload_rules(c.context);
    case RouteId::journal: return journal(c);
    case RouteId::liability: return liability(c);
    case RouteId::admin_clock: return admin_clock(c);
    case RouteId::healthz:
    case RouteId::readyz:
    case RouteId::metrics:
      break;
  }
  return problem(ErrorCode::not_found, "no such path");
}

}  // namespace encore::api::internal

namespace encore::api {

Response reload_rules(Context& ctx) {
  if (ctx.ledger == nullptr) {
    Response r = problem(ErrorCode::unavailable, "the ledger is not open");
    r.retry_after_seconds = 1;
    return r;
  }
  auto loaded = rules::load_directory(ctx.rules_dir);
  if (!loaded.rule_set) return internal::rules_invalid(loaded.errors);
  auto rule_set = loaded.rule_set;
  internal::Metrics* metrics = ctx.metrics;
  ledger::Ledger* ledger = ctx.ledger;
  Response r;
  r.pending = std::make_shared<internal::LedgerWrite>(
      *ctx.ledger, ledger::SetRules{rule_set}, std::nullopt,
      [rule_set, metrics, ledger](const ledger::CommandOutcome&) {
        // The ledger's rule set now, not this reload's: answers of two reloads may be
        // rendered in either order, the metric must end on the one in force.
        if (metrics != nullptr) metrics->set_rule_set_version(ledger->rule_set()->version());
        Response out;
        internal::JsonWriter w(out.body);
        w.begin_object().field("version", rule_set->version()).end_object();
        return out;
      });
  return r;
}

}  // namespace encore::api
