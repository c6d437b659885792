// The ledger's implementation object (ledger/internal): the writer thread, its state and
// the read view published after each durable batch.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ledger/internal/state.h"
#include "ledger/internal/store.h"
#include "ledger/ledger.h"

namespace encore::ledger {

// What readers see: the state as of the last durable batch. Members are immutable
// snapshots shared with readers; the writer replaces them after each batch.
using internal::StringHash;

struct ReadView {
  // By id; looked up, replaced after each batch, and only summed over (liability), never
  // iterated where order matters.
  boost::unordered_flat_map<std::string, std::shared_ptr<const internal::MemberState>,
                            StringHash, std::equal_to<>>
      members;
  std::map<std::string, Hold, std::less<>> holds;
  std::map<std::string, std::int64_t, std::less<>> budget_used;
  std::map<std::int64_t, internal::DayCounters> days;
  std::shared_ptr<const rules::RuleSet> rules;
  Timestamp rules_loaded_at;
  Seq last_seq = 0;
  Hash chain_head{};
};

// An idempotency key (scope \0 Idempotency-Key) by the first 16 bytes of its SHA-256,
// computed on the submitting thread. The writer's index holds these, not strings: no
// allocation per command, one probe without chasing a string, 16 bytes in the purge order.
// The record keeps the key itself, which a replay checks.
struct KeyDigest {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend bool operator==(const KeyDigest&, const KeyDigest&) = default;
};
struct KeyDigestHash {
  std::size_t operator()(const KeyDigest& d) const { return d.hi ^ (d.lo * 0x9e3779b97f4a7c15); }
};
KeyDigest key_digest(std::string_view key);

class LedgerImpl {
 public:
  struct Pending {
    Command command;
    std::optional<IdempotencyRequest> idempotency;
    Completion done;
    std::string idempotency_key{};  // scope \0 key (set with idempotency, by submit)
    KeyDigest key_digest{};
  };
  // What a batch changed, copied by the writer for readers; published once durable.
  struct Published {
    std::vector<std::shared_ptr<const internal::MemberState>> members;
    std::vector<Hold> holds;
    std::vector<std::pair<std::string, std::int64_t>> budgets;
    std::vector<std::pair<std::int64_t, internal::DayCounters>> days;
    std::shared_ptr<const rules::RuleSet> rules;  // null: unchanged
    Timestamp rules_loaded_at;
    Seq last_seq = 0;
    Hash chain_head{};
    std::size_t entries = 0;
  };
  // A batch written (not yet synced, SyncMode::pipelined) and what to do once it is.
  struct Written {
    std::vector<Completion> done;
    std::vector<CommandOutcome> outcomes;
    Published view;
  };
  struct IdempotencyIndex {
    Fingerprint fingerprint{};
    std::int64_t created_micros = 0;
    std::uint64_t record = 0;  // its key in the idempotency family: be64(record)
    // Stored by batch number `batch` (0: before this run) as batch_records_[slot]: a
    // retry in the same batch replays from there (the record is not written yet).
    std::uint64_t batch = 0;
    std::size_t slot = 0;
  };

  Status open(std::shared_ptr<const rules::RuleSet> rule_set);
  void start();
  void stop();
  void submit(Pending pending);

  // Writer side.
  void writer_loop();
  void process(std::vector<Pending>& batch);
  CommandOutcome apply_command(Pending& pending);
  void next_now();
  // The earliest timer due (INT64_MAX: none); drops stale lot timers from the top.
  std::int64_t next_due_micros();
  void run_timers();
  const Entry& emit(Entry entry);
  Entry make_entry(EntryKind kind, const std::string& member) const;
  void update_tier(internal::MemberState& m);
  std::optional<Timestamp> lot_expiry(Timestamp vests_at) const;
  Result<Entry> find_entry(Seq seq) const;
  void fill_balance(const internal::MemberState& m, CommandOutcome& out) const;
  void build_batch();
  Published prepare_publish();
  void commit_publish(Published& view, std::size_t commands);
  // Calls each completion once the batch is durable; a replayed outcome's entries are read
  // back from the journal first.
  void complete(std::vector<Completion>& done, std::vector<CommandOutcome>& outcomes) const;
  static void fail_all(std::vector<Completion>& done, const std::string& detail);
  void syncer_loop();
  // The syncer's first step: the WAL buffer to the kernel, never beside a store write.
  Status flush_wal();
  // Adds one WAL sync's duration to stats_ (metrics only; never read by apply).
  void record_fsync(std::chrono::steady_clock::duration took);

  // The member a redemption or hold spends from: member_not_found, member_frozen or
  // insufficient_points ("<verb> N points needs that many available ...") otherwise.
  Result<internal::MemberState*> member_to_spend(const std::string& member, std::int64_t points,
                                                 std::string_view verb);
  // Applies a profile change and stores it (the profiles family) in this batch.
  void record_profile(internal::MemberState& m, internal::ProfileChange change);
  // The hold a capture or void acts on: not_found, or hold_not_active with its status.
  Result<Hold*> active_hold(const std::string& id);
  Status on(EnrollMember& c, CommandOutcome& out);
  Status on(PatchMember& c, CommandOutcome& out);
  Status on(RecordEvent& c, CommandOutcome& out);
  Status on(Redeem& c, CommandOutcome& out);
  Status on(CreateHold& c, CommandOutcome& out);
  Status on(CaptureHold& c, CommandOutcome& out);
  Status on(VoidHold& c, CommandOutcome& out);
  Status on(Reverse& c, CommandOutcome& out);
  Status on(Adjust& c, CommandOutcome& out);
  Status on(AdvanceClock& c, CommandOutcome& out);
  Status on(RunTimers& c, CommandOutcome& out);
  Status on(SetRules& c, CommandOutcome& out);

  // Read side helper: a consistent copy of what a read needs.
  std::shared_ptr<const internal::MemberState> view_member(std::string_view id,
                                                           ReadView* partial) const;

  LedgerOptions options_;
  std::unique_ptr<internal::Store> store_;

  // Writer-owned (only the writer thread touches these after open).
  internal::State state_;
  std::shared_ptr<const rules::RuleSet> rules_;
  Timestamp rules_loaded_at_;
  bool rules_changed_ = false;
  std::set<std::string, std::less<>> known_rulesets_;
  // Looked up by key only, never iterated (purged in idempotency_order_'s order).
  boost::unordered_flat_map<KeyDigest, IdempotencyIndex, KeyDigestHash> idempotency_;
  std::deque<std::pair<std::int64_t, KeyDigest>> idempotency_order_;
  std::uint64_t idempotency_records_ = 0;  // the last record number stored
  std::uint64_t batch_number_ = 0;               // batches processed by this writer
  std::vector<std::string> batch_records_;  // idempotency records stored by this batch
  std::optional<internal::Store::Batch> batch_;
  // This batch's entries: each command's in its outcome (collect_ while it runs,
  // batch_outcomes_ after), timers' that ran before a command in batch_entries_.
  std::vector<Entry> batch_entries_;
  std::vector<Entry>* collect_ = nullptr;
  std::vector<CommandOutcome>* batch_outcomes_ = nullptr;
  Seq batch_first_seq_ = 0;
  std::size_t batch_entry_count_ = 0;
  Timestamp now_;
  std::uint64_t events_recorded_ = 0;  // the last key of the events family (at open: read)
  std::uint64_t profiles_recorded_ = 0;  // the last key of the profiles family (at open: read)

  // Published.
  mutable std::shared_mutex view_mu_;
  ReadView view_;

  // Queue.
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::atomic<bool> failed_{false};
  std::thread writer_;

  // Syncer (SyncMode::pipelined).
  // Held by the writer's store writes and the syncer's WAL flushes (LedgerImpl::flush_wal).
  std::mutex wal_mu_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::deque<Written> sync_queue_;
  bool sync_stopping_ = false;
  std::thread syncer_;

  mutable std::mutex stats_mu_;
  LedgerStats stats_;
};

}  // namespace encore::ledger
