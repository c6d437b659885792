// Reading an Event and a MemberView from JSON text (rules layer): for `encore rules
// explain`, golden tests and benchmarks. The HTTP layer parses request bodies itself.
#pragma once

#include <string_view>

#include "rules/base/status.h"
#include "rules/rules.h"

namespace encore::rules {

// An event in the shape of API.md's POST /v1/events body: type, occurred_at, channel,
// store, order_id, basket {total, items [{sku, category, quantity, unit_price, total?}]},
// attributes; `member` is accepted and ignored. For pasting a line of the benchmark
// corpus, `time` is accepted for occurred_at, and `total`/`items` outside a basket.
// Money is parsed exactly from its text (string or number). Without a time, the event
// is at default_time. Unknown fields are errors. Errors: invalid_request with
// "line:column: sentence".
Result<Event> parse_event_json(std::string_view text, Timestamp default_time);

// A member view: id, tier, points, lifetime_points, visits, days_since_last_purchase,
// enrolled_days, birthday ("YYYY-MM-DD"), attributes. Every field optional.
Result<MemberView> parse_member_json(std::string_view text);

// One evaluation context, {"member": {...}, "event": {...}} (the corpus of
// shared/bench/peers/rules/gen-events.js); other top-level keys are ignored.
struct InputCase {
  MemberView member;
  Event event;
};
Result<InputCase> parse_case_json(std::string_view text, Timestamp default_time);

}  // namespace encore::rules
