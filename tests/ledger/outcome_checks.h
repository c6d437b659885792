// Field-by-field comparisons of command outcomes (tests/ledger), shared by the codec's
// round trips and the ledger's replays: a failure names the field that differs.
#pragma once

#include <doctest/doctest.h>

#include "ledger/ledger.h"

namespace encore::ledger::testing {

inline void check_same_status(const Status& a, const Status& b) {
  REQUIRE(a.is_ok() == b.is_ok());
  if (a.is_ok()) return;
  CHECK(error_code_name(a.code()) == error_code_name(b.code()));
  CHECK(a.error().detail == b.error().detail);
}

inline void check_same_balance(const Balance& a, const Balance& b) {
  CHECK(a.member == b.member);
  CHECK(a.available == b.available);
  CHECK(a.pending == b.pending);
  CHECK(a.held == b.held);
  CHECK(a.lifetime_earned == b.lifetime_earned);
  CHECK(a.tier == b.tier);
  REQUIRE(a.expiring.size() == b.expiring.size());
  for (std::size_t i = 0; i < a.expiring.size(); ++i) {
    CHECK(a.expiring[i].date == b.expiring[i].date);
    CHECK(a.expiring[i].points == b.expiring[i].points);
  }
  CHECK(a.as_of == b.as_of);
}

inline void check_same_member(const Member& a, const Member& b) {
  CHECK(a.id == b.id);
  CHECK(a.status == b.status);
  CHECK(a.tier == b.tier);
  CHECK(a.birthday == b.birthday);
  CHECK(a.attributes == b.attributes);
  CHECK(a.enrolled_at == b.enrolled_at);
}

inline void check_same_hold(const Hold& a, const Hold& b) {
  CHECK(a.id == b.id);
  CHECK(a.member == b.member);
  CHECK(a.points == b.points);
  CHECK(a.status == b.status);
  CHECK(a.created_at == b.created_at);
  CHECK(a.expires_at == b.expires_at);
  CHECK(a.order_id == b.order_id);
  CHECK(a.captured == b.captured);
}

// Everything but the entries (which each caller compares as far as it has them) and
// `replayed`.
inline void check_same_outcome_fields(const CommandOutcome& a, const CommandOutcome& b) {
  check_same_status(a.status, b.status);
  CHECK(a.now == b.now);
  REQUIRE(a.entries.size() == b.entries.size());
  REQUIRE(a.balance.has_value() == b.balance.has_value());
  if (a.balance) check_same_balance(*a.balance, *b.balance);
  REQUIRE(a.member.has_value() == b.member.has_value());
  if (a.member) check_same_member(*a.member, *b.member);
  REQUIRE(a.hold.has_value() == b.hold.has_value());
  if (a.hold) check_same_hold(*a.hold, *b.hold);
  REQUIRE(a.offers.size() == b.offers.size());
  for (std::size_t i = 0; i < a.offers.size(); ++i) {
    CHECK(a.offers[i].id == b.offers[i].id);
    CHECK(a.offers[i].name == b.offers[i].name);
    CHECK(a.offers[i].points == b.offers[i].points);
  }
  CHECK(a.points == b.points);
}

}  // namespace encore::ledger::testing
