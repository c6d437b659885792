// Limits of the HTTP layer: every bound on requests, in one place. Each is a
// constexpr ..._max (or a default an operator may change) with the reason for its size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace encore::api {

// Request body (API.md: 64 KiB by default, 413 above): a purchase with a large basket is a
// few KiB; operators may raise it (--body-limit) for big rule files sent to validate.
inline constexpr std::size_t body_bytes_default = 64 * 1024;
// Request line + headers: a POS sends a handful of short headers; 16 KiB bounds the memory
// a slow or hostile client can pin per connection.
inline constexpr std::size_t header_bytes_default = 16 * 1024;
// Open connections: a small shop has tens of tills; each connection costs a coroutine and
// two buffers (~10 KiB), so 10,000 stays well under 200 MiB.
inline constexpr std::size_t connections_default = 10'000;
// After a 413 (or a request we cannot frame) the server reads and drops what the client
// still sends before closing, so the answer is not lost to a TCP reset; at most this much
// (and at most 1 s): enough for a body a few times over the default limit.
inline constexpr std::size_t linger_bytes_max = 1 << 20;
// Idempotency-Key header (API.md: 1-128 printable ASCII).
inline constexpr std::size_t idempotency_key_bytes_max = 128;
// X-Request-Id taken from a request: longer or non-printable ids are replaced by ours, so a
// client cannot put arbitrary text in our logs.
inline constexpr std::size_t request_id_bytes_max = 128;
// Member ids (API.md: 1-64 of [A-Za-z0-9._:@-]).
inline constexpr std::size_t member_id_bytes_max = 64;
// Short free-text fields (order ids, stores, reasons, channels, attribute keys and values):
// they are stored in journal entries forever; 1 KiB is far above any real value.
inline constexpr std::size_t text_bytes_max = 1024;
// Attributes on a member or an event: a profile has a handful; 100 bounds the state stored.
inline constexpr std::size_t attributes_max = 100;
// Basket items: a large order has tens of lines; 1,000 bounds rule evaluation per event.
inline constexpr std::size_t basket_items_max = 1'000;
// Quantity of one basket line: 10^6 of anything is beyond a real order and keeps
// quantity × unit_price far from overflow.
inline constexpr std::int64_t item_quantity_max = 1'000'000;
// GET /v1/members/{id}/entries?limit= (API.md: 1-500, default 50).
inline constexpr std::int64_t entries_limit_max = 500;
inline constexpr std::int64_t entries_limit_default = 50;
// GET /v1/journal?limit= (API.md: 1-1000, default 100).
inline constexpr std::int64_t journal_limit_max = 1'000;
inline constexpr std::int64_t journal_limit_default = 100;
// Holds (API.md: ttl default 900 s, max 604,800 s = 7 days).
inline constexpr std::int64_t hold_ttl_seconds_default = 900;
inline constexpr std::int64_t hold_ttl_seconds_max = 604'800;
// POST /v1/admin/clock: 100 years in one step is more than any test needs and keeps the
// clock far from overflow.
inline constexpr std::int64_t clock_advance_seconds_max = 100LL * 366 * 86'400;

}  // namespace encore::api
