// Limits of the HTTP layer: every bound on requests that this layer owns, in one place. Each
// is a constexpr ..._max (or a default an operator may change) with the reason for its size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ledger/limits.h"

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
// Requests a connection may still have answered once a drain began (those already sent
// behind the one in flight). A till pipelines a handful at most; the bound keeps a client
// that always sends one more from holding the drain open until --drain-timeout.
inline constexpr int drain_pipelined_max = 16;
// Idempotency-Key header (API.md: 1-128 printable ASCII).
inline constexpr std::size_t idempotency_key_bytes_max = 128;
// X-Request-Id taken from a request: longer or non-printable ids are replaced by ours, so a
// client cannot put arbitrary text in our logs.
inline constexpr std::size_t request_id_bytes_max = 128;
// The bounds the API checks on a request's fields but the ledger owns are ledger/limits.h's,
// so each is defined once and the API never lets through what the ledger refuses: member
// ids (member_id_bytes_max), free text (entry_text_bytes_max: order ids, stores, reasons,
// and also basket skus and categories and attribute values), hold ttl_seconds
// (hold_ttl_seconds_max; the ledger applies the default), page sizes (entries_page_max,
// journal_page_max).

// Attribute keys: names such as "city" or "vip", as short as the member ids beside them.
inline constexpr std::size_t attribute_key_bytes_max = 64;
// Attributes on a member or an event: a profile has a handful; 100 bounds the state stored.
inline constexpr std::size_t attributes_max = 100;
// Basket items: a large order has tens of lines; 1,000 bounds rule evaluation per event.
inline constexpr std::size_t basket_items_max = 1'000;
// Quantity of one basket line: 10^6 of anything is beyond a real order and keeps
// quantity × unit_price far from overflow.
inline constexpr std::int64_t item_quantity_max = 1'000'000;
// GET /v1/members/{id}/entries when no limit= is given (API.md: 1-500, default 50).
inline constexpr std::int64_t entries_limit_default = 50;
// GET /v1/journal when no limit= is given (API.md: 1-1000, default 100).
inline constexpr std::int64_t journal_limit_default = 100;
// POST /v1/admin/clock: 100 years in one step is more than any test needs and keeps the
// clock far from overflow.
inline constexpr std::int64_t clock_advance_seconds_max = 100LL * 366 * 86'400;

}  // namespace encore::api
