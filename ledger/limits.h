// Limits of the ledger layer (ledger/): every bound on the writer, holds and reads, with
// the reason for its size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace encore::ledger {

// Commands waiting for the writer. A full queue answers 503 at once instead of letting
// latency grow without bound; 16,384 is ~64 batches of 256 concurrent requests and a few
// MiB of memory.
inline constexpr std::size_t writer_queue_max = 16'384;
// Commands applied in one WriteBatch (one fsync). It must be at least the number of
// concurrent requests (PERFORMANCE.md: a cap of 16 lost 11-26%); 4,096 bounds the batch's
// memory and the latency of the slowest command in it.
inline constexpr std::size_t writer_batch_max = 4'096;
// Batches written but not yet fsynced (SyncMode::pipelined). Two keep the disk busy while
// the writer applies the next batch; more only adds memory and latency.
inline constexpr std::size_t sync_pipeline_batches_max = 2;
// RocksDB memtable size per column family (MiB), before it is flushed to a table file; up
// to two per family are in memory, and five families take writes on every purchase. 64 MiB
// suits a small shop; at 256 submitters and 60,000 purchases/s, 256 MiB switched memtables
// a quarter as often and cut the p99 by ~1 ms (docs/performance.md).
inline constexpr std::size_t memtable_mb_default = 64;
inline constexpr std::size_t memtable_mb_min = 4;
inline constexpr std::size_t memtable_mb_max = 1'024;
// An idle writer re-checks its timers at least this often: the clock can move without a
// command (a manual clock, a wall clock stepped by NTP); one second is the API's resolution.
inline constexpr std::int64_t timer_poll_micros_max = 1'000'000;
// Holds: API.md's default and maximum time to live.
inline constexpr std::int64_t hold_ttl_seconds_default = 900;
inline constexpr std::int64_t hold_ttl_seconds_max = 604'800;
// Member ids (API.md): 1-64 characters of [A-Za-z0-9._:@-].
inline constexpr std::size_t member_id_bytes_max = 64;
// Free text carried into journal entries (reason, order id, channel, store): bounded so
// one entry stays small; the HTTP body limit bounds them first.
inline constexpr std::size_t entry_text_bytes_max = 1'000;
// Reads: a member's history page (API.md: limit 1-500) and a journal page (1-1000).
inline constexpr std::size_t entries_page_max = 500;
inline constexpr std::size_t journal_page_max = 1'000;
// Offer uses kept per member and offer (for limit.per_member over period_days): those within
// that offer's period (plus the backdating allowed), and at least this many days, so a reload
// that adds or lengthens a limit of up to a year still counts the uses made before it.
// Without a bound the record grew with every use and was re-encoded in full on each one
// (O(uses) per purchase).
inline constexpr std::int64_t offer_uses_days_min = 400;
// A member's vested, never-expiring, unheld lots kept apart before the oldest are pooled
// into one (State::pool_lots): the record is rewritten whole on every command, so it must
// not grow with every purchase of a member who never redeems (expiry none or inactivity).
// Pooled lots are interchangeable for every balance field, so a small bound costs nothing
// but the lot a reversal names (it then takes from the balance, which holds the same
// points): 8/4 gave 7% more purchases/s than 32/16 over 30 s at 256 submitters.
inline constexpr std::size_t lots_poolable_max = 8;
inline constexpr std::size_t lots_poolable_keep = 4;
// Balance `expiring` and the liability report look this many days ahead (API.md).
inline constexpr std::int64_t expiring_days_max = 90;
// Liability report: days of activity listed (API.md: the last 90 days).
inline constexpr std::int64_t report_days_max = 90;

}  // namespace encore::ledger
