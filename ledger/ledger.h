// The ledger's public API (ledger/): commands in, journal entries and member state out,
// durable in RocksDB. One writer thread applies every command; reads run on the caller's
// thread and see every acknowledged write and nothing that is not yet durable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "rules/base/clock.h"
#include "rules/base/points.h"
#include "rules/base/status.h"
#include "rules/base/time.h"
#include "rules/rules.h"

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace encore::ledger {

// ---- Objects (API.md's fields; the HTTP layer renders them) --------------------

enum class EntryKind : std::uint8_t {
  accrual = 1,       // +points: earned by an event (base or one offer)
  redemption = 2,    // -points
  reversal = 3,      // the opposite sign of the entry it reverses
  adjustment = 4,    // ±points (admin)
  expiry = 5,        // -points
  capture = 6,       // -points: a hold (or part of it) spent
  hold = 7,          // 0, amount: points moved from available to held
  hold_release = 8,  // 0, amount: points moved from held back to available
  vest = 9,          // 0, amount: points moved from pending to available
  tier_change = 10,  // 0: the member's tier changed (new tier in `tier`)
  enroll = 11,       // 0: the member joined
};
std::string_view entry_kind_name(EntryKind kind);  // "accrual", ...

using Hash = std::array<std::uint8_t, 32>;
std::string hash_hex(const Hash& hash);  // 64 lowercase hex digits

struct Entry {
  Seq seq = 0;
  std::string member{};
  EntryKind kind = EntryKind::enroll;
  std::int64_t points = 0;   // signed change to the member's total
  std::int64_t amount = 0;   // for 0-point kinds that move points; else 0
  Timestamp occurred_at{};     // business time (= recorded_at unless an event said otherwise)
  Timestamp recorded_at{};     // the writer's clock, never going backwards
  std::string channel{};       // "" = null
  std::string store{};
  std::string order_id{};
  std::string offer{};         // accruals from an offer: its id; "" = base or none
  Seq reverses = 0;          // reversal: the seq it reverses; 0 = null
  std::string hold{};          // hold, capture, hold_release: the hold id; "" = null
  std::string reason{};        // hold_release: "captured" | "voided" | "expired"
  std::string ruleset{};       // "sha256:<hex>" of the rule set in force
  Hash hash{};               // SHA-256 over this entry's encoding and the previous hash
  // Additions to API.md's fields (allowed: "you may add fields"):
  std::string tier{};          // tier_change: the new tier id
  Seq prev = 0;  // the member's entry before this one (0: none): a member's history is a chain
  Seq lot = 0;               // vest, expiry: the accrual seq of the lot concerned (0 = all)
  std::optional<Timestamp> vests_at{};    // accrual and point-returning entries: the new lot's
  std::optional<Timestamp> expires_at{};  // vesting/expiry; hold: the hold's expiry
};

struct ExpiringPoints {
  CivilDate date{};  // program timezone
  std::int64_t points = 0;
};

struct Balance {
  std::string member{};
  std::int64_t available = 0;  // total - pending - held; may be negative
  std::int64_t pending = 0;
  std::int64_t held = 0;
  std::int64_t lifetime_earned = 0;
  std::string tier{};                       // "" when the program has no tiers
  std::vector<ExpiringPoints> expiring{};   // next 90 days, date ascending
  Seq as_of = 0;                          // the journal seq this reflects
  std::int64_t total() const { return available + pending + held; }
};

enum class MemberStatus : std::uint8_t { active = 0, frozen = 1 };
std::string_view member_status_name(MemberStatus status);  // "active" | "frozen"

// API.md's member ids: 1-64 characters of [A-Za-z0-9._:@-] (member_id_bytes_max).
bool valid_member_id(std::string_view id);

struct Member {
  std::string id{};
  MemberStatus status = MemberStatus::active;
  std::string tier{};
  std::optional<CivilDate> birthday{};
  rules::Attributes attributes{};
  Timestamp enrolled_at{};
};

enum class HoldStatus : std::uint8_t { active = 0, captured = 1, voided = 2, expired = 3 };
std::string_view hold_status_name(HoldStatus status);

struct Hold {
  std::string id{};
  std::string member{};
  std::int64_t points = 0;    // held at creation
  HoldStatus status = HoldStatus::active;
  Timestamp created_at{};
  Timestamp expires_at{};
  std::string order_id{};
  std::int64_t captured = 0;  // points captured (0 unless status is captured)
};

struct OfferPoints {
  std::string id{};
  std::string name{};
  std::int64_t points = 0;
};

struct EntryPage {
  std::vector<Entry> entries{};       // newest first
  std::optional<Seq> next_before{};   // nullopt when the page ends with the oldest entry
};

struct JournalPage {
  std::vector<Entry> entries{};  // oldest first
  Seq next_after = 0;          // seq of the last entry returned, or `after` when none
  std::string chain_head{};      // hex hash of the last durable entry ("" when empty)
};

struct LiabilityDay {
  CivilDate date{};
  std::int64_t earned = 0;    // accruals and positive adjustments
  std::int64_t redeemed = 0;  // redemptions and captures, less reversals of them
  std::int64_t expired = 0;
  std::int64_t reversed = 0;  // points taken back by reversals of accruals
};

struct LiabilityReport {
  std::int64_t available = 0;
  std::int64_t pending = 0;
  std::int64_t held = 0;
  std::int64_t expiring_30d = 0;  // cumulative
  std::int64_t expiring_60d = 0;
  std::int64_t expiring_90d = 0;
  std::vector<LiabilityDay> days{};  // last 90 days with activity, newest first
};

struct MemberOffer {
  std::string id{};
  std::string name{};
  std::string description{};
  std::optional<Timestamp> ends_at{};
  std::optional<std::int64_t> remaining_uses{};  // nullopt: no per-member limit
};

struct Quote {
  std::int64_t points = 0;
  std::vector<OfferPoints> offers{};
};

struct RulesInfo {
  std::shared_ptr<const rules::RuleSet> rule_set{};
  Timestamp loaded_at{};
  std::vector<std::int64_t> budget_used{};  // per offer index of rule_set->offers()
};

// ---- Commands -------------------------------------------------------------------

// id: nullopt = the server makes one (deterministic, from the journal seq).
struct EnrollMember {
  std::optional<std::string> id{};
  std::optional<CivilDate> birthday{};
  rules::Attributes attributes{};
};

struct PatchMember {
  std::string id{};
  // Merged into the member's attributes; nullopt deletes the key.
  std::map<std::string, std::optional<rules::AttributeValue>, std::less<>> attributes{};
  std::optional<CivilDate> birthday{};
  std::optional<MemberStatus> status{};
};

// A purchase or other event. event.time is replaced by occurred_at, or the recorded time.
struct RecordEvent {
  std::string member{};
  rules::Event event{};
  std::optional<Timestamp> occurred_at{};
};

struct Redeem {
  std::string member{};
  std::int64_t points = 0;  // > 0
  std::string order_id{};
  std::string reason{};
  std::string channel{};
  std::string store{};
};

struct CreateHold {
  std::string member{};
  std::int64_t points = 0;                 // > 0
  std::optional<std::int64_t> ttl_seconds{};  // default hold_ttl_seconds_default
  std::string order_id{};
};

struct CaptureHold {
  std::string hold{};
  std::optional<std::int64_t> points{};  // default: all held; 0 < points <= held
};

struct VoidHold {
  std::string hold{};
};

struct Reverse {
  Seq seq = 0;
  std::optional<std::int64_t> points{};  // default: all not yet reversed
  std::string reason{};
};

struct Adjust {
  std::string member{};
  std::int64_t points = 0;  // != 0
  std::string reason{};       // required
};

// Manual clock only (LedgerOptions::manual_clock): advance, then run every due timer.
struct AdvanceClock {
  std::int64_t seconds = 0;  // >= 0
};

// Runs every timer due now: hold expiry, vesting, lot expiry, tier downgrades,
// idempotency purge. (Every batch runs due timers first; this only forces a batch.)
struct RunTimers {};

// Puts a new rule set in force (reload). Stored in the rulesets family by version.
struct SetRules {
  std::shared_ptr<const rules::RuleSet> rule_set{};
};

using Command = std::variant<EnrollMember, PatchMember, RecordEvent, Redeem, CreateHold,
                             CaptureHold, VoidHold, Reverse, Adjust, AdvanceClock, RunTimers,
                             SetRules>;

// ---- Outcomes and idempotency ---------------------------------------------------

struct CommandOutcome {
  Status status{};                      // ok, or the business error (never partial)
  std::vector<Entry> entries{};         // the entries written, in seq order
  std::optional<Balance> balance{};     // the member's balance after the command
  std::optional<Member> member{};       // enroll, patch
  std::optional<Hold> hold{};           // hold create/capture/void
  std::vector<OfferPoints> offers{};    // events: offers that applied, in order
  std::int64_t points = 0;            // events: points earned
  Timestamp now{};                      // the recorded time of the command
  // True when an idempotency record answered: everything above is the outcome first
  // answered (from the record, its entries read back from the journal); nothing was written.
  bool replayed = false;
};

using Fingerprint = std::array<std::uint8_t, 32>;  // sha256 of method, path and body

struct IdempotencyRequest {
  std::string scope{};  // the API key's id
  std::string key{};    // the Idempotency-Key header
  Fingerprint fingerprint{};
  // The outcome is stored in the same write as the effect when it is a success or an
  // error whose HTTP status is 404 or 409; a retry then gets it back with `replayed` set.
};

// Runs after the batch is durable (never before), on the writer thread (SyncMode::per_batch)
// or the syncer thread (pipelined): keep it cheap and never wait in it for another command
// (that would block the thread that completes it). It may call reads and submit.
using Completion = std::function<void(CommandOutcome)>;

// ---- Options, stats, verify -----------------------------------------------------

// How a batch becomes durable. per_batch: Write(sync = true), then answer. pipelined: the
// writer calls Write(sync = false) and moves on to the next batch while a syncer thread
// fsyncs the WAL for every batch written so far, then publishes them to readers and
// answers. Either way no reader sees, and no caller is told of, a write before it is on disk.
enum class SyncMode : std::uint8_t { per_batch, pipelined };

struct LedgerOptions {
  std::filesystem::path data_dir{};
  Clock* clock = nullptr;                 // required; outlives the Ledger
  ManualClock* manual_clock = nullptr;    // set with --manual-clock (same object as clock)
  std::size_t queue_max = 0;              // 0: limits.h default
  std::size_t batch_max = 0;              // 0: limits.h default
  std::size_t memtable_mb = 0;            // 0: limits.h default; else memtable_mb_min..max
  std::int64_t idempotency_ttl_days = 7;
  SyncMode sync_mode = SyncMode::pipelined;
  // Tests only: the file system RocksDB writes through, in place of the operating system's
  // (tests/ledger/power_loss_test.cc drops what was never synced). Null: the default.
  std::shared_ptr<rocksdb::FileSystem> file_system{};
};

struct LedgerStats {
  std::uint64_t commands = 0;
  std::uint64_t batches = 0;
  std::uint64_t entries = 0;
  std::uint64_t rejected_queue_full = 0;
  std::size_t queue_depth = 0;
  Seq last_seq = 0;
  // batches by size: [0] = 1, [1] = 2-3, [2] = 4-7, ... [k] = 2^k .. 2^(k+1)-1
  std::array<std::uint64_t, 16> batch_size_log2{};
  // WAL syncs (pipelined: each SyncWAL of the syncer; per_batch: each Write(sync = true) of a
  // batch), timed with steady_clock for metrics only. fsync_buckets[i] counts the syncs that
  // took <= fsync_bounds_us[i] microseconds and more than the bound before it (not
  // cumulative); the last bucket is the rest (+Inf). fsync_count and fsync_sum_us cover all.
  static constexpr std::array<std::uint64_t, 10> fsync_bounds_us = {
      100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000};
  std::array<std::uint64_t, fsync_bounds_us.size() + 1> fsync_buckets{};
  std::uint64_t fsync_count = 0;
  std::uint64_t fsync_sum_us = 0;
};

struct VerifyReport {
  Seq entries = 0;         // journal entries replayed
  std::uint64_t members = 0;
  std::uint64_t lots = 0;
  std::uint64_t holds = 0;
  std::string chain_head{};  // hex
  std::string difference{};  // the first difference found ("" when none)
};

// Called now and then while verifying: entries done, entries in the journal.
using VerifyProgress = std::function<void(Seq done, Seq total)>;

// Replays the journal of data_dir (not open elsewhere) from empty, rebuilds members'
// balances, lots, holds, offer usage and daily counters, then their profiles (the
// profiles family), visits, last purchase and inactivity expiry (the events family), and
// compares them and the chain head with what is stored. Returns internal with the first
// difference named (also in out->difference), or an I/O error as unavailable. out may be
// null.
Status verify(const std::filesystem::path& data_dir, const VerifyProgress& progress,
              VerifyReport* out);

// ---- The ledger -----------------------------------------------------------------

class LedgerImpl;

class Ledger {
 public:
  // Opens (creating if missing) the data dir, loads state, records the rule set if new
  // (or the last one stored if rule_set is null and one exists; else invalid_request)
  // and starts the writer. With a manual clock, moves it to the latest time stored.
  static Result<std::unique_ptr<Ledger>> open(LedgerOptions options,
                                              std::shared_ptr<const rules::RuleSet> rule_set);
  // Drains the queue (every submitted command completes), stops the writer, closes.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Thread-safe. Queues a command; `done` runs once the batch is durable (see Completion),
  // or at once on this thread with `unavailable` when the queue is full or the writer
  // stopped after a storage error.
  void submit(Command command, std::optional<IdempotencyRequest> idempotency,
              Completion done);
  std::future<CommandOutcome> submit(Command command,
                                     std::optional<IdempotencyRequest> idempotency = {});

  // Reads: thread-safe, see every acknowledged write and nothing not yet durable.
  // Unknown member: member_not_found; unknown hold: not_found.
  Result<Balance> balance(std::string_view member) const;
  Result<Member> member(std::string_view id) const;
  // Newest first, seqs < before (nullopt: from the newest). REQUIRES 1 <= limit.
  Result<EntryPage> entries(std::string_view member, std::optional<Seq> before,
                            std::size_t limit) const;
  Result<Hold> hold(std::string_view id) const;
  // Oldest first, seqs > after.
  Result<JournalPage> journal(Seq after, std::size_t limit) const;
  Result<Entry> entry(Seq seq) const;  // not_found when absent
  Result<LiabilityReport> liability() const;
  // What the event would earn now, writing nothing; no member: quoted for a new one.
  Result<Quote> quote(const rules::Event& event, std::optional<std::string_view> member,
                      std::optional<Timestamp> occurred_at) const;
  Result<std::vector<MemberOffer>> offers_for(std::string_view member) const;
  RulesInfo rules() const;
  // The rule set in force alone (no copy of the budgets): what a request parses against.
  std::shared_ptr<const rules::RuleSet> rule_set() const;
  Timestamp now() const;
  bool healthy() const;  // false once a storage error stopped the writer
  LedgerStats stats() const;
  Seq last_seq() const;
  std::string chain_head() const;  // hex

  // Test hook: every later RocksDB write fails as an I/O error would.
  void fail_writes_for_testing();

 private:
  explicit Ledger(std::unique_ptr<LedgerImpl> impl);
  std::unique_ptr<LedgerImpl> impl_{};
};

}  // namespace encore::ledger

// Usage:
//   encore::SystemClock clock;
//   auto ledger = encore::ledger::Ledger::open({.data_dir = "data", .clock = &clock}, rules);
//   auto out = (*ledger)->submit(encore::ledger::Redeem{.member = "m-1", .points = 100}).get();
//   if (!out.status) { /* out.status.error().code == ErrorCode::insufficient_points ... */ }
//   auto balance = (*ledger)->balance("m-1");
