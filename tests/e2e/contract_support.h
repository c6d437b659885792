// Helpers of the contract tests (contract_*.cc): problem+json and body shape checks that
// name what differs, RFC 3339 times, and small request shortcuts on top of the e2e harness.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/harness.h"

namespace encore::e2e::contract {

// What a problem+json answer lacks against (status, code); "" when it matches: the status,
// Content-Type application/problem+json, and type/title/status/code/detail in the body.
std::string problem_mismatch(const Reply& r, int status, const std::string& code);
#define CHECK_PROBLEM(reply, st, cd) \
  CHECK(::encore::e2e::contract::problem_mismatch((reply), (st), (cd)) == std::string())

enum class T { integer, string, boolean, array, object, string_or_null, integer_or_null };
using Shape = std::initializer_list<std::pair<const char*, T>>;
// What `v` lacks against `shape` (every field present with its type); "" when it matches.
// Extra fields are allowed (API.md: fields may be added).
std::string shape_mismatch(const json::value& v, Shape shape, const std::string& what);
#define CHECK_SHAPE(value, shape, what) \
  CHECK(::encore::e2e::contract::shape_mismatch((value), shape, (what)) == std::string())

extern const Shape balance_shape;
extern const Shape entry_shape;
extern const Shape member_shape;
extern const Shape hold_shape;
// Balance, with each `expiring` item {date YYYY-MM-DD, points}.
std::string balance_mismatch(const json::value& v);

bool is_int(const json::value& v);
std::int64_t int_at(const json::value& v, const char* key);
std::string str_at(const json::value& v, const char* key);
bool valid_member_id(const std::string& id);
bool is_date(const std::string& s);  // YYYY-MM-DD

// RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac]Z" to Unix seconds; -1 when malformed.
std::int64_t parse_time(const std::string& s);
std::string format_time(std::int64_t unix_seconds);

std::vector<Header> with_key(const char* key, std::vector<Header> more);
std::vector<Header> json_headers(const char* key, const std::string& idempotency_key);

void enroll_member(Client& c, const std::string& id);
void admin_adjust(Client& c, const std::string& id, std::int64_t points);
json::value balance_of(Client& c, const std::string& id);
// Every entry of the member, newest first.
std::vector<json::value> entries_of(Client& c, const std::string& id);
std::int64_t first_seq_of_kind(Client& c, const std::string& id, const std::string& kind);
std::string chain_head(Client& c);
// The server's manual clock now (advance 0), Unix seconds.
std::int64_t server_now(Client& c);
std::int64_t advance(Client& c, std::int64_t seconds);

}  // namespace encore::e2e::contract
