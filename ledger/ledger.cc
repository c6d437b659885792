// The ledger (ledger/): open and load, the single writer with group commit, the
// commands, and the reads served from the view published after each durable batch.
#include "ledger/ledger.h"

#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <utility>

#include "ledger/internal/codec.h"
#include "ledger/internal/event_record.h"
#include "ledger/internal/ledger_impl.h"
#include "ledger/internal/state.h"
#include "ledger/internal/store.h"
#include "ledger/limits.h"
#include "rules/base/hex.h"

namespace encore::ledger {

using internal::Family;
using internal::MemberState;

namespace {

constexpr std::string_view kMetaLastSeq = "last_seq";
constexpr std::string_view kMetaChainHead = "chain_head";
constexpr std::string_view kMetaClock = "clock";
constexpr std::string_view kMetaRuleset = "ruleset";
constexpr std::string_view kMetaRulesetLoadedAt = "ruleset_loaded_at";
constexpr std::string_view kMetaSchema = "schema";
// 2: a member's lots and offer uses in its record, entries chained by prev (no lots,
// member_entries or offer-use keys). 3: idempotency records keep the command's outcome,
// not a rendered response. A data dir of another schema is refused at open.
constexpr std::string_view kSchemaVersion = "3";

Error invalid(std::string detail) { return make_error(ErrorCode::invalid_request, detail); }

Error stopped_after_storage_error() {
  return make_error(ErrorCode::unavailable, "the ledger stopped after a storage error");
}

Error member_not_found(std::string_view id) {
  return make_error(ErrorCode::member_not_found, "no member with id '" + std::string(id) + "'");
}

bool valid_event_type(std::string_view type) {
  if (type.empty() || type.size() > 32 || type[0] < 'a' || type[0] > 'z') return false;
  for (char c : type) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Status check_text(std::string_view field, std::string_view value) {
  if (value.size() > entry_text_bytes_max) {
    return invalid(std::string(field) + " is longer than " +
                   std::to_string(entry_text_bytes_max) + " bytes");
  }
  return Status::ok();
}

Status check_positive_points(std::int64_t points) {
  if (points <= 0) return invalid("points must be a whole number above 0");
  if (points > points_max) return invalid("points must be at most 10^15");
  return Status::ok();
}

std::int64_t floor_days(std::int64_t micros) {
  std::int64_t d = micros / micros_per_day;
  if (micros % micros_per_day < 0) --d;
  return d;
}

rules::MemberView member_view(const MemberState& m, Timestamp event_time) {
  rules::MemberView v;
  v.id = m.profile.id;
  v.tier = m.profile.tier;
  v.points = m.available();
  v.lifetime_points = m.lifetime_earned;
  v.visits = m.visits;
  v.days_since_last_purchase =
      m.last_purchase_at
          ? std::max<std::int64_t>(0, floor_days(event_time.micros - m.last_purchase_at->micros))
          : -1;
  v.enrolled_days =
      std::max<std::int64_t>(0, floor_days(event_time.micros - m.profile.enrolled_at.micros));
  v.birthday = m.profile.birthday;
  v.attributes = m.profile.attributes;
  return v;
}

// Offer usage read from a member's state and the offers' budgets.
class StateUsage final : public rules::UsageSource {
 public:
  StateUsage(const rules::RuleSet& rules,
             const std::map<std::string, std::int64_t, std::less<>>& budgets,
             const MemberState* member)
      : rules_(rules), budgets_(budgets), member_(member) {}
  std::int64_t budget_used(std::size_t offer_index) const override {
    auto it = budgets_.find(rules_.offers()[offer_index].id);
    return it == budgets_.end() ? 0 : it->second;
  }
  std::int64_t member_uses_since(std::size_t offer_index, Timestamp since) const override {
    if (member_ == nullptr) return 0;
    auto it = member_->offer_uses.find(rules_.offers()[offer_index].id);
    if (it == member_->offer_uses.end()) return 0;
    return std::count_if(it->second.begin(), it->second.end(),
                         [&](Timestamp t) { return t >= since; });
  }

 private:
  const rules::RuleSet& rules_;
  const std::map<std::string, std::int64_t, std::less<>>& budgets_;
  const MemberState* member_;
};

std::string encode_time(Timestamp t) {
  internal::Encoder e;
  e.svarint(t.micros);
  return e.take();
}

Timestamp decode_time(std::string_view v) {
  internal::Decoder d(v);
  return Timestamp{d.svarint()};
}

// The idempotency family's value: the request's key (scope \0 Idempotency-Key), its
// fingerprint, when it was stored and the command's outcome (docs/storage.md).
std::string encode_idempotency(std::string_view key, const Fingerprint& fp, std::int64_t created,
                               const CommandOutcome& outcome) {
  internal::Encoder e;
  e.out().reserve(160 + key.size());
  e.u8(2);
  e.str(key);
  e.raw(std::string_view(reinterpret_cast<const char*>(fp.data()), fp.size()));
  e.svarint(created);
  internal::encode_outcome(e, outcome);
  return e.take();
}

// outcome null: the key, fingerprint and time only (what open indexes).
Status decode_idempotency(std::string_view value, std::string* key, Fingerprint* fp,
                          std::int64_t* created, CommandOutcome* outcome) {
  internal::Decoder d(value);
  if (d.u8() != 2) return make_error(ErrorCode::internal, "corrupt idempotency record");
  *key = d.str();
  std::string_view raw = d.raw(32);
  if (d.ok()) std::copy(raw.begin(), raw.end(), reinterpret_cast<char*>(fp->data()));
  *created = d.svarint();
  const bool good = outcome != nullptr ? internal::decode_outcome(d, outcome) && d.done() : d.ok();
  if (!good) return make_error(ErrorCode::internal, "corrupt idempotency record");
  return Status::ok();
}

std::string budget_key(std::string_view offer) { return "b" + std::string(offer); }

std::string idempotency_key(const IdempotencyRequest& r) {
  std::string k = r.scope;
  k.push_back('\0');
  k.append(r.key);
  return k;
}

}  // namespace

KeyDigest key_digest(std::string_view key) {
  const Hash h = internal::sha256(key);
  KeyDigest d;
  std::memcpy(&d.hi, h.data(), sizeof d.hi);
  std::memcpy(&d.lo, h.data() + sizeof d.hi, sizeof d.lo);
  return d;
}

std::string_view entry_kind_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::accrual: return "accrual";
    case EntryKind::redemption: return "redemption";
    case EntryKind::reversal: return "reversal";
    case EntryKind::adjustment: return "adjustment";
    case EntryKind::expiry: return "expiry";
    case EntryKind::capture: return "capture";
    case EntryKind::hold: return "hold";
    case EntryKind::hold_release: return "hold_release";
    case EntryKind::vest: return "vest";
    case EntryKind::tier_change: return "tier_change";
    case EntryKind::enroll: return "enroll";
  }
  return "unknown";
}

std::string hash_hex(const Hash& hash) {
  std::string out;
  append_hex(out, hash);
  return out;
}

std::string_view member_status_name(MemberStatus status) {
  return status == MemberStatus::frozen ? "frozen" : "active";
}

std::string_view hold_status_name(HoldStatus status) {
  switch (status) {
    case HoldStatus::active: return "active";
    case HoldStatus::captured: return "captured";
    case HoldStatus::voided: return "voided";
    case HoldStatus::expired: return "expired";
  }
  return "unknown";
}

// ---- Open and load ----------------------------------------------------------------

bool valid_member_id(std::string_view id) {
  if (id.empty() || id.size() > member_id_bytes_max) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status LedgerImpl::open(std::shared_ptr<const rules::RuleSet> rule_set) {
  ENCORE_ASSERT(options_.clock != nullptr);
  if (options_.queue_max == 0) options_.queue_max = writer_queue_max;
  if (options_.batch_max == 0) options_.batch_max = writer_batch_max;
  if (options_.memtable_mb == 0) options_.memtable_mb = memtable_mb_default;
  if (options_.memtable_mb < memtable_mb_min || options_.memtable_mb > memtable_mb_max) {
    return make_error(ErrorCode::invalid_request,
                      "the memtable size must be " + std::to_string(memtable_mb_min) + " to " +
                          std::to_string(memtable_mb_max) + " MiB, got " +
                          std::to_string(options_.memtable_mb));
  }
  ENCORE_ASSIGN_OR_RETURN(store_, internal::Store::open(options_.data_dir,
                                                         internal::OpenMode::read_write,
                                                         options_.memtable_mb,
                                                         options_.file_system));
  auto meta = [&](std::string_view key) { return store_->get(Family::meta, key); };
  ENCORE_ASSIGN_OR_RETURN(auto last_seq, meta(kMetaLastSeq));
  ENCORE_ASSIGN_OR_RETURN(auto head, meta(kMetaChainHead));
  ENCORE_ASSIGN_OR_RETURN(auto clock, meta(kMetaClock));
  ENCORE_ASSIGN_OR_RETURN(auto ruleset, meta(kMetaRuleset));
  ENCORE_ASSIGN_OR_RETURN(auto loaded_at, meta(kMetaRulesetLoadedAt));
  ENCORE_ASSIGN_OR_RETURN(auto schema, meta(kMetaSchema));
  if (schema && *schema != kSchemaVersion) {
    return make_error(ErrorCode::unavailable, "the data dir " + options_.data_dir.string() +
                                                  " has storage schema " + *schema +
                                                  "; this build reads schema " +
                                                  std::string(kSchemaVersion) +
                                                  " (no migration before a release: use the "
                                                  "build that wrote it, or a new data dir)");
  }
  if (last_seq) state_.last_seq = internal::be64_value(*last_seq);
  if (head && head->size() == 32) std::copy(head->begin(), head->end(), state_.chain_head.begin());
  if (clock) state_.clock_max = decode_time(*clock);
  if (loaded_at) rules_loaded_at_ = decode_time(*loaded_at);

  ENCORE_RETURN_IF_ERROR(store_->scan(Family::rulesets, "", "", [&](auto k, auto) {
    known_rulesets_.emplace(k);
    return true;
  }));
  ENCORE_RETURN_IF_ERROR(store_->scan_reverse(Family::events, std::string(9, '\xff'), "",
                                              [&](auto k, auto) {
    events_recorded_ = internal::be64_value(k);  // the last event recorded
    return false;
  }));
  ENCORE_RETURN_IF_ERROR(store_->scan_reverse(Family::profiles, std::string(9, '\xff'), "",
                                              [&](auto k, auto) {
    profiles_recorded_ = internal::be64_value(k);  // the last profile change recorded
    return false;
  }));
  if (!rule_set) {
    if (!ruleset) return invalid("the data dir has no rule set and none was given");
    ENCORE_ASSIGN_OR_RETURN(auto stored, store_->get(Family::rulesets, *ruleset));
    if (!stored) return make_error(ErrorCode::internal, "rule set " + *ruleset + " missing");
    ENCORE_ASSIGN_OR_RETURN(auto files, internal::decode_rule_files(*stored));
    auto loaded = rules::load_files(std::move(files));
    if (!loaded.rule_set) {
      return make_error(ErrorCode::rules_invalid, "the stored rule set " + *ruleset +
                                                      " does not load: " +
                                                      loaded.errors.front().to_string());
    }
    rule_set = loaded.rule_set;
  }
  rules_ = rule_set;

  // Members (with their lots and offer uses), holds, budgets, counters, idempotency index.
  Status decode_status;
  ENCORE_RETURN_IF_ERROR(store_->scan(Family::members, "", "", [&](auto k, auto v) {
    MemberState m;
    decode_status = internal::decode_member(v, &m);
    if (!decode_status) return false;
    m.profile.id = std::string(k);
    state_.members.emplace(std::string(k), std::move(m));
    return true;
  }));
  ENCORE_RETURN_IF_ERROR(decode_status);
  ENCORE_RETURN_IF_ERROR(store_->scan(Family::holds, "", "", [&](auto k, auto v) {
    internal::HoldState h;
    decode_status = internal::decode_hold(v, &h);
    if (!decode_status) return false;
    h.hold.id = std::string(k);
    state_.holds.emplace(std::string(k), std::move(h));
    return true;
  }));
  ENCORE_RETURN_IF_ERROR(decode_status);
  ENCORE_RETURN_IF_ERROR(store_->scan(Family::offers, "", "", [&](auto k, auto v) {
    if (!k.starts_with("b")) {
      decode_status = make_error(ErrorCode::internal, "corrupt offers key");
      return false;
    }
    internal::Decoder d(v);
    state_.budget_used[std::string(k.substr(1))] = d.svarint();
    return true;
  }));
  ENCORE_RETURN_IF_ERROR(decode_status);
  ENCORE_RETURN_IF_ERROR(store_->scan(Family::counters, "", "", [&](auto k, auto v) {
    internal::DayCounters c;
    decode_status = internal::decode_counters(v, &c);
    if (!decode_status) return false;
    state_.days[static_cast<std::int64_t>(internal::be64_value(k))] = c;
    return true;
  }));
  ENCORE_RETURN_IF_ERROR(decode_status);
  // Records are numbered in the order they were stored, which is the purge order.
  ENCORE_RETURN_IF_ERROR(store_->scan(Family::idempotency, "", "", [&](auto k, auto v) {
    IdempotencyIndex index;
    std::string key;
    decode_status =
        decode_idempotency(v, &key, &index.fingerprint, &index.created_micros, nullptr);
    if (!decode_status) return false;
    index.record = internal::be64_value(k);
    idempotency_records_ = index.record;
    const KeyDigest digest = key_digest(key);
    idempotency_order_.emplace_back(index.created_micros, digest);
    idempotency_.insert_or_assign(digest, index);
    return true;
  }));
  ENCORE_RETURN_IF_ERROR(decode_status);

  // Timers, and the invariants of what was loaded.
  for (auto& [id, m] : state_.members) {
    std::int64_t pending = 0;
    std::int64_t lots_total = 0;
    for (const auto& [seq, lot] : m.lots) {
      state_.schedule_lot(m, seq, lot);
      if (!lot.vested) pending += lot.remaining;
      lots_total += lot.remaining + lot.held;
    }
    ENCORE_ASSERT(pending == m.pending);
    ENCORE_ASSERT(lots_total - m.debt == m.total);
    if (m.inactivity_expires) {
      m.inactivity_due_micros = m.inactivity_expires->micros;
      state_.inactivity_due.emplace(m.inactivity_due_micros, id);
    }
    if (rules_->tiers() && !m.window.empty()) {
      m.tier_due_micros = (m.window.begin()->first + rules_->tiers()->window_days) *
                          micros_per_day;
      state_.tier_due[m.tier_due_micros].push_back(m.profile.id);
    }
  }
  for (const auto& [id, h] : state_.holds) {
    if (h.hold.status == HoldStatus::active) state_.hold_due.emplace(h.hold.expires_at.micros, id);
  }
  if (state_.last_seq > 0) {
    ENCORE_ASSIGN_OR_RETURN(auto last, store_->get(Family::journal,
                                                   internal::be64_key(state_.last_seq)));
    if (!last) return make_error(ErrorCode::internal, "the journal lacks its last entry");
    ENCORE_ASSIGN_OR_RETURN(auto entry, internal::decode_journal_value(*last));
    ENCORE_ASSERT(entry.seq == state_.last_seq && entry.hash == state_.chain_head);
  }

  // The manual clock starts at the latest time reached; recorded time never goes back.
  if (options_.manual_clock) options_.manual_clock->advance_to(state_.clock_max);
  now_ = std::max(options_.clock->now(), state_.clock_max);

  // Record the rule set if it is new (its own durable batch).
  if (!ruleset || *ruleset != rules_->version() || !known_rulesets_.contains(rules_->version())) {
    auto batch = store_->new_batch();
    if (!known_rulesets_.contains(rules_->version())) {
      batch.put(Family::rulesets, rules_->version(), internal::encode_rule_files(rules_->files()));
      known_rulesets_.insert(rules_->version());
    }
    rules_loaded_at_ = now_;
    batch.put(Family::meta, kMetaRuleset, rules_->version());
    batch.put(Family::meta, kMetaRulesetLoadedAt, encode_time(rules_loaded_at_));
    batch.put(Family::meta, kMetaSchema, kSchemaVersion);
    ENCORE_RETURN_IF_ERROR(store_->write_sync(batch));
  }

  // The first read view: everything.
  for (const auto& [id, m] : state_.members) {
    view_.members.emplace(id, std::make_shared<const MemberState>(m));
  }
  for (const auto& [id, h] : state_.holds) view_.holds.emplace(id, h.hold);
  view_.budget_used = state_.budget_used;
  view_.days = state_.days;
  view_.rules = rules_;
  view_.rules_loaded_at = rules_loaded_at_;
  view_.last_seq = state_.last_seq;
  view_.chain_head = state_.chain_head;
  stats_.last_seq = state_.last_seq;
  return Status::ok();
}

void LedgerImpl::start() {
  // glibc returns the top of a thread's heap to the kernel whenever it is freed (the writer
  // and syncer free a batch's outcomes and copies every batch) and maps it again on the next
  // batch: perf showed ~3% of the writer in mprotect. Keep up to 256 MiB instead (process-wide;
  // memory in use is unchanged).
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  if (options_.sync_mode == SyncMode::pipelined) {
    syncer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "encore-syncer");
      syncer_loop();
    });
  }
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "encore-writer");
    writer_loop();
  });
}

void LedgerImpl::stop() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(sync_mu_);
    sync_stopping_ = true;
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
}

void LedgerImpl::submit(Pending pending) {
  std::optional<Error> refused;
  bool full = false;
  {
    std::lock_guard lock(queue_mu_);
    if (failed_.load()) {
      refused = stopped_after_storage_error();
    } else if (stopping_) {
      refused = make_error(ErrorCode::unavailable, "the ledger is shutting down");
    } else if (queue_.size() >= options_.queue_max) {
      refused = make_error(ErrorCode::unavailable, "the writer's queue is full; retry shortly");
      full = true;
    } else {
      queue_.push_back(std::move(pending));
    }
  }
  if (refused) {
    if (full) {  // the metric counts back-pressure only, not shutdown or a failed disk
      std::lock_guard lock(stats_mu_);
      ++stats_.rejected_queue_full;
    }
    CommandOutcome out;
    out.status = std::move(*refused);
    if (pending.done) pending.done(std::move(out));
    return;
  }
  queue_cv_.notify_one();
}

// ---- The writer ---------------------------------------------------------------------

void LedgerImpl::writer_loop() {
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      // Idle: sleep until a command comes or a timer falls due (hold expiry, vesting, ...),
      // so timers run on time even when nobody writes. Re-checked at least every second
      // (the clock may be moved by hand).
      while (!stopping_ && queue_.empty()) {
        const std::int64_t due = failed_.load() ? INT64_MAX : next_due_micros();
        const std::int64_t now = options_.clock->now().micros;
        if (due <= now) break;
        queue_cv_.wait_for(lock, std::chrono::microseconds(std::min<std::int64_t>(
                                     due - now, timer_poll_micros_max)));
      }
      if (queue_.empty() && stopping_) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < options_.batch_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.empty()) batch.push_back(Pending{RunTimers{}, std::nullopt, nullptr});
    if (failed_.load()) {
      for (auto& p : batch) {
        CommandOutcome out;
        out.status = stopped_after_storage_error();
        if (p.done) p.done(std::move(out));
      }
    } else {
      try {
        process(batch);
      } catch (const std::exception& e) {
        // A bug or out of memory: stop taking writes rather than guess at the state.
        failed_.store(true);
        for (auto& p : batch) {
          CommandOutcome out;
          out.status = make_error(ErrorCode::unavailable,
                                  std::string("the ledger stopped: ") + e.what());
          if (p.done) p.done(std::move(out));
        }
      }
    }
    batch.clear();
  }
}

std::int64_t LedgerImpl::next_due_micros() {
  auto& s = state_;
  std::int64_t due = std::min(s.vest_due.next_due(), s.expire_due.next_due());
  if (!s.hold_due.empty()) due = std::min(due, s.hold_due.begin()->first);
  if (!s.inactivity_due.empty()) due = std::min(due, s.inactivity_due.begin()->first);
  if (!s.tier_due.empty()) due = std::min(due, s.tier_due.begin()->first);
  if (!idempotency_order_.empty()) {
    due = std::min(due, idempotency_order_.front().first +
                            options_.idempotency_ttl_days * micros_per_day);
  }
  return due;
}

void LedgerImpl::next_now() {
  now_ = std::max({options_.clock->now(), state_.clock_max, now_});
  state_.clock_max = now_;
}

void LedgerImpl::process(std::vector<Pending>& batch) {
  // One WriteBatch kept across batches: its buffer (MiBs at 256 in flight) is reused instead
  // of being grown and freed per batch.
  if (!batch_) batch_.emplace(store_->new_batch());
  batch_->clear();
  batch_entries_.clear();
  batch_first_seq_ = state_.last_seq + 1;
  batch_entry_count_ = 0;
  ++batch_number_;
  batch_records_.clear();
  rules_changed_ = false;
  std::vector<CommandOutcome> outcomes;
  outcomes.reserve(batch.size());
  batch_outcomes_ = &outcomes;
  for (auto& p : batch) outcomes.push_back(apply_command(p));
  batch_outcomes_ = nullptr;
  build_batch();
  std::vector<Completion> done;
  done.reserve(batch.size());
  for (auto& p : batch) done.push_back(std::exchange(p.done, nullptr));
  const bool pipelined = options_.sync_mode == SyncMode::pipelined;
  const auto write_start = std::chrono::steady_clock::now();
  Status written;
  {
    std::lock_guard lock(wal_mu_);  // see flush_wal()
    written = failed_.load() ? Status(stopped_after_storage_error())
                             : store_->write(*batch_, pipelined ? internal::Durability::buffered
                                                                : internal::Durability::sync);
    if (!written) failed_.store(true);
  }
  if (!pipelined && written) record_fsync(std::chrono::steady_clock::now() - write_start);
  if (!written) {
    fail_all(done, written.error().detail);
    return;
  }
  Published view = prepare_publish();
  if (!pipelined) {
    commit_publish(view, done.size());
    complete(done, outcomes);
    return;
  }
  {
    std::unique_lock lock(sync_mu_);
    sync_cv_.wait(lock, [&] { return sync_queue_.size() < sync_pipeline_batches_max; });
    sync_queue_.push_back(Written{std::move(done), std::move(outcomes), std::move(view)});
  }
  sync_cv_.notify_all();
}

void LedgerImpl::syncer_loop() {
  bool broken = false;  // after a failed fsync nothing later can be trusted to be on disk
  std::string broken_detail;
  while (true) {
    std::deque<Written> items;
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return sync_stopping_ || !sync_queue_.empty(); });
      if (sync_queue_.empty()) return;  // stopping and drained
      items.swap(sync_queue_);
    }
    sync_cv_.notify_all();  // room for the writer
    if (!broken) {
      const auto sync_start = std::chrono::steady_clock::now();
      Status synced = flush_wal();
      if (synced) synced = store_->sync_wal();
      if (synced) record_fsync(std::chrono::steady_clock::now() - sync_start);
      if (!synced) {
        broken = true;
        broken_detail = synced.error().detail;
        failed_.store(true);
      }
    }
    for (auto& item : items) {
      if (broken) {
        fail_all(item.done, broken_detail);
        continue;
      }
      commit_publish(item.view, item.done.size());
      complete(item.done, item.outcomes);
    }
  }
}

// The WAL's buffer goes to the kernel with the writer's writes kept out, and not at all once
// either failed: RocksDB (Debian builds it with its assertions on) aborts the process when a
// WAL writer that saw an I/O error is written to again, as the writer's next batch would be
// after a failed flush (a full disk). The fsync that follows runs beside the writer's writes;
// RocksDB allows that, and a failed fsync lets later writes fail without aborting. Left open:
// a write of the writer's own that fails (a memtable switch's) just before the syncer's fsync
// starts; it needs both a failing disk and that timing.
Status LedgerImpl::flush_wal() {
  std::lock_guard lock(wal_mu_);
  if (failed_.load()) return stopped_after_storage_error();
  Status flushed = store_->flush_wal();
  if (!flushed) failed_.store(true);
  return flushed;
}

void LedgerImpl::record_fsync(std::chrono::steady_clock::duration took) {
  const std::int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, micros));
  const auto& bounds = LedgerStats::fsync_bounds_us;
  std::size_t i = 0;
  while (i < bounds.size() && us > bounds[i]) ++i;
  std::lock_guard lock(stats_mu_);
  ++stats_.fsync_buckets[i];
  ++stats_.fsync_count;
  stats_.fsync_sum_us += us;
}

void LedgerImpl::complete(std::vector<Completion>& done,
                          std::vector<CommandOutcome>& outcomes) const {
  for (std::size_t i = 0; i < done.size(); ++i) {
    CommandOutcome& o = outcomes[i];
    // Read once durable (by the syncer; per_batch: by the writer after its synced write):
    // the journal has them now and never drops them. A read error may pass (unavailable:
    // retry); a missing entry will not (internal).
    for (std::size_t k = 0; o.replayed && k < o.entries.size(); ++k) {
      const Seq seq = o.entries[k].seq;
      auto value = store_->get(Family::journal, internal::be64_key(seq));
      Result<Entry> entry =
          !value                ? Result<Entry>(value.error())
          : !value->has_value() ? Result<Entry>(make_error(
                                      ErrorCode::internal, "the idempotency record names entry " +
                                                               std::to_string(seq) +
                                                               ", which is not in the journal"))
                                : internal::decode_journal_value(**value);
      if (!entry) {
        o = CommandOutcome{};
        o.status = entry.error();
        break;
      }
      o.entries[k] = std::move(*entry);
    }
    // Taken out first: if a callback throws, the handler completes only the rest.
    Completion d = std::exchange(done[i], nullptr);
    if (d) d(std::move(outcomes[i]));
  }
}

void LedgerImpl::fail_all(std::vector<Completion>& done, const std::string& detail) {
  for (auto& d : done) {
    Completion f = std::exchange(d, nullptr);
    CommandOutcome out;
    out.status = make_error(ErrorCode::unavailable, detail);
    if (f) f(std::move(out));
  }
}

CommandOutcome LedgerImpl::apply_command(Pending& p) {
  next_now();
  run_timers();
  CommandOutcome out;
  out.now = now_;
  const std::string& idem_key = p.idempotency_key;
  if (p.idempotency) {
    const Fingerprint& fp = p.idempotency->fingerprint;
    auto known = idempotency_.find(p.key_digest);
    if (known != idempotency_.end()) {
      // The record: this batch's copy (not written yet) or the stored one. Its key is
      // checked before either answer (the index knows only the key's digest). Its entries
      // are placeholders with their seq, read back from the journal once durable (complete()).
      std::string record;
      if (known->second.batch == batch_number_) {
        record = batch_records_[known->second.slot];
      } else {
        auto stored =
            store_->get(Family::idempotency, internal::be64_key(known->second.record));
        if (!stored || !stored->has_value()) {
          out.status = make_error(ErrorCode::unavailable, "cannot read the idempotency record");
          return out;
        }
        record = std::move(**stored);
      }
      std::string stored_key;
      Fingerprint ignored{};
      std::int64_t created = 0;
      CommandOutcome replay;
      Status s = decode_idempotency(record, &stored_key, &ignored, &created, &replay);
      if (s && stored_key != idem_key) {
        s = make_error(ErrorCode::internal, "idempotency record " +
                                                std::to_string(known->second.record) +
                                                " belongs to another key");
      }
      if (!s) {
        out.status = s;
        return out;
      }
      if (known->second.fingerprint != fp) {
        out.status = make_error(ErrorCode::idempotency_key_reused,
                                "this Idempotency-Key was used for a different request");
        return out;
      }
      replay.replayed = true;
      return replay;
    }
  }
  std::vector<Entry> entries;
  collect_ = &entries;
  Status s = std::visit([&](auto& c) { return on(c, out); }, p.command);
  collect_ = nullptr;
  out.status = std::move(s);
  out.entries = std::move(entries);
  out.now = now_;
  if (p.idempotency) {
    int http = out.status ? 200 : error_code_http_status(out.status.code());
    if (out.status || http == 404 || http == 409) {
      const std::uint64_t record = ++idempotency_records_;
      std::string value =
          encode_idempotency(idem_key, p.idempotency->fingerprint, now_.micros, out);
      batch_->put(Family::idempotency, internal::be64_key(record), value);
      idempotency_[p.key_digest] = IdempotencyIndex{
          p.idempotency->fingerprint, now_.micros, record, batch_number_, batch_records_.size()};
      idempotency_order_.emplace_back(now_.micros, p.key_digest);
      batch_records_.push_back(std::move(value));
    }
  }
  return out;
}

Entry LedgerImpl::make_entry(EntryKind kind, const std::string& member) const {
  Entry e;
  e.kind = kind;
  e.member = member;
  e.occurred_at = now_;
  return e;
}

const Entry& LedgerImpl::emit(Entry e) {
  e.seq = state_.last_seq + 1;
  e.recorded_at = now_;
  e.ruleset = rules_->version();
  // Links the member's history (Ledger::entries walks it newest first): no index to write.
  const MemberState* m = state_.find_member(e.member);
  e.prev = m != nullptr ? m->as_of : 0;
  // The journal value is the encoding followed by its hash (internal::journal_value), built
  // in place.
  std::string value = internal::encode_entry(e);
  e.hash = internal::chain_hash(state_.chain_head, value);
  value.append(reinterpret_cast<const char*>(e.hash.data()), e.hash.size());
  batch_->put(Family::journal, internal::be64_key(e.seq), value);
  state_.apply(e, rules_.get());
  state_.last_seq = e.seq;
  state_.chain_head = e.hash;
  ++batch_entry_count_;
  // Kept once: in the command's outcome, or (timers run before a command) in batch_entries_.
  std::vector<Entry>& keep = collect_ ? *collect_ : batch_entries_;
  keep.push_back(std::move(e));
  return keep.back();
}

std::optional<Timestamp> LedgerImpl::lot_expiry(Timestamp vests_at) const {
  const auto& program = rules_->program();
  if (program.expiry_policy != rules::ExpiryPolicy::fixed) return std::nullopt;
  return vests_at.plus_days(program.expiry_days);
}

void LedgerImpl::update_tier(MemberState& m) {
  const auto& tiers = rules_->tiers();
  if (!tiers) return;
  const std::int64_t today = internal::utc_day(now_);
  const std::int64_t first_day = today - tiers->window_days + 1;
  while (!m.window.empty() && m.window.begin()->first < first_day) m.window.erase(m.window.begin());
  state_.mark(m);
  std::int64_t earned = 0;
  for (const auto& [day, points] : m.window) earned += points;
  std::string tier(rules_->tier_for(earned));
  if (tier != m.profile.tier) {
    Entry e = make_entry(EntryKind::tier_change, m.profile.id);
    e.tier = tier;
    e.reason = "points earned in the last " + std::to_string(tiers->window_days) +
               " days: " + std::to_string(earned);
    emit(std::move(e));
  }
  if (!m.window.empty()) {
    const std::int64_t due = (m.window.begin()->first + tiers->window_days) * micros_per_day;
    if (m.tier_due_micros != due) {
      state_.tier_due[due].push_back(m.profile.id);
      m.tier_due_micros = due;
    }
  }
}

void LedgerImpl::run_timers() {
  const std::int64_t now = now_.micros;
  auto& s = state_;
  while (!s.hold_due.empty() && s.hold_due.begin()->first <= now) {
    auto [t, id] = *s.hold_due.begin();
    s.hold_due.erase(s.hold_due.begin());
    auto& h = s.holds.at(id);
    if (h.hold.status != HoldStatus::active) continue;
    Entry e = make_entry(EntryKind::hold_release, h.hold.member);
    e.amount = h.hold.points - h.hold.captured;
    e.hold = id;
    e.order_id = h.hold.order_id;
    e.reason = "expired";
    emit(std::move(e));
  }
  // Lot timers in (due time, lot seq) order, vesting first. An item is stale (dropped) unless
  // its lot is still there with points, unvested (vesting) or vested (expiry): a lot redeemed,
  // reversed or vested since left its item behind (LotTimers). A lot's times never change.
  while (auto t = s.vest_due.pop_due(now)) {
    auto lot = t->member->lots.find(t->seq);
    if (lot == t->member->lots.end() || lot->second.vests_at.micros != t->micros) continue;
    if (lot->second.vested || lot->second.remaining == 0) continue;
    Entry e = make_entry(EntryKind::vest, t->member->profile.id);
    e.amount = lot->second.remaining;
    e.lot = t->seq;
    emit(std::move(e));
  }
  while (auto t = s.expire_due.pop_due(now)) {
    auto lot = t->member->lots.find(t->seq);
    if (lot == t->member->lots.end() || lot->second.expires_at.micros != t->micros) continue;
    if (!lot->second.vested || lot->second.remaining == 0) continue;
    Entry e = make_entry(EntryKind::expiry, t->member->profile.id);
    e.points = -lot->second.remaining;
    e.lot = t->seq;
    emit(std::move(e));
  }
  while (!s.inactivity_due.empty() && s.inactivity_due.begin()->first <= now) {
    auto [t, member] = *s.inactivity_due.begin();
    s.inactivity_due.erase(s.inactivity_due.begin());
    auto& m = s.members.at(member);
    if (m.inactivity_due_micros != t) continue;  // superseded
    m.inactivity_due_micros = 0;
    if (!m.inactivity_expires) continue;
    if (m.inactivity_expires->micros > now) {  // a later purchase moved it: wait again
      m.inactivity_due_micros = m.inactivity_expires->micros;
      s.inactivity_due.emplace(m.inactivity_due_micros, member);
      continue;
    }
    m.inactivity_expires.reset();
    s.mark(m);
    std::int64_t points = m.vested_remaining();
    if (points <= 0) continue;
    Entry e = make_entry(EntryKind::expiry, member);
    e.points = -points;
    e.reason = "no purchase for " + std::to_string(rules_->program().expiry_days) + " days";
    emit(std::move(e));
  }
  while (!s.tier_due.empty() && s.tier_due.begin()->first <= now) {
    auto due = s.tier_due.extract(s.tier_due.begin());
    const std::int64_t t = due.key();
    auto& ids = due.mapped();
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (std::string_view member : ids) {
      auto& m = *s.find_member(member);
      if (m.tier_due_micros == t) m.tier_due_micros = 0;
      update_tier(m);  // schedules only after now (the window's next day)
    }
  }
  const std::int64_t ttl = options_.idempotency_ttl_days * micros_per_day;
  while (!idempotency_order_.empty() && idempotency_order_.front().first + ttl <= now) {
    auto [created, key] = std::move(idempotency_order_.front());
    idempotency_order_.pop_front();
    auto it = idempotency_.find(key);
    if (it == idempotency_.end() || it->second.created_micros != created) continue;
    batch_->del(Family::idempotency, internal::be64_key(it->second.record));
    idempotency_.erase(it);
  }
}

Result<Entry> LedgerImpl::find_entry(Seq seq) const {
  if (batch_entry_count_ > 0 && seq >= batch_first_seq_) {  // written by this batch
    auto in = [seq](const std::vector<Entry>& entries) -> const Entry* {
      for (const Entry& e : entries) {
        if (e.seq == seq) return &e;
      }
      return nullptr;
    };
    if (const Entry* e = in(batch_entries_)) return *e;
    if (collect_) {
      if (const Entry* e = in(*collect_)) return *e;
    }
    if (batch_outcomes_) {
      for (const CommandOutcome& o : *batch_outcomes_) {
        if (const Entry* e = in(o.entries)) return *e;
      }
    }
    ENCORE_ASSERT(false && "an entry of this batch is kept in memory");
  }
  ENCORE_ASSIGN_OR_RETURN(auto value, store_->get(Family::journal, internal::be64_key(seq)));
  if (!value) return make_error(ErrorCode::not_found, "no entry " + std::to_string(seq));
  return internal::decode_journal_value(*value);
}

void LedgerImpl::fill_balance(const MemberState& m, CommandOutcome& out) const {
  out.balance = internal::make_balance(m, *rules_, now_, state_.last_seq);
}

void LedgerImpl::build_batch() {
  auto& s = state_;
  auto& b = *batch_;
  for (const MemberState* m : s.dirty.members) {
    b.put(Family::members, m->profile.id, internal::encode_member(*m));
  }
  for (const auto& id : s.dirty.holds) {
    b.put(Family::holds, id, internal::encode_hold(s.holds.at(id)));
  }
  for (const auto& offer : s.dirty.budgets) {
    internal::Encoder e;
    e.svarint(s.budget_used.at(offer));
    b.put(Family::offers, budget_key(offer), e.out());
  }
  for (std::int64_t day : s.dirty.days) {
    b.put(Family::counters, internal::be64_key(static_cast<std::uint64_t>(day)),
          internal::encode_counters(s.days.at(day)));
  }
  b.put(Family::meta, kMetaLastSeq, internal::be64_key(s.last_seq));
  b.put(Family::meta, kMetaChainHead,
        std::string_view(reinterpret_cast<const char*>(s.chain_head.data()), 32));
  b.put(Family::meta, kMetaClock, encode_time(s.clock_max));
}

LedgerImpl::Published LedgerImpl::prepare_publish() {
  auto& s = state_;
  Published v;
  v.members.reserve(s.dirty.members.size());
  for (MemberState* m : s.dirty.members) {
    // Readers need neither the tier window nor the reversed amounts: set them aside (an O(1)
    // swap) instead of copying them.
    decltype(m->window) window;
    decltype(m->reversed) reversed;
    window.swap(m->window);
    reversed.swap(m->reversed);
    v.members.push_back(std::make_shared<const MemberState>(*m));
    window.swap(m->window);
    reversed.swap(m->reversed);
  }
  for (const auto& id : s.dirty.holds) v.holds.push_back(s.holds.at(id).hold);
  for (const auto& offer : s.dirty.budgets) v.budgets.emplace_back(offer, s.budget_used.at(offer));
  for (std::int64_t day : s.dirty.days) v.days.emplace_back(day, s.days.at(day));
  if (rules_changed_) {
    v.rules = rules_;
    v.rules_loaded_at = rules_loaded_at_;
  }
  v.last_seq = s.last_seq;
  v.chain_head = s.chain_head;
  v.entries = batch_entry_count_;
  s.dirty.clear();
  return v;
}

void LedgerImpl::commit_publish(Published& v, std::size_t commands) {
  {
    std::unique_lock lock(view_mu_);
    for (auto& m : v.members) {
      auto it = view_.members.find(m->profile.id);
      if (it == view_.members.end()) {
        view_.members.emplace(m->profile.id, std::move(m));
      } else {
        it->second = std::move(m);
      }
    }
    for (auto& h : v.holds) view_.holds[h.id] = std::move(h);
    for (auto& [offer, used] : v.budgets) view_.budget_used[offer] = used;
    for (auto& [day, counters] : v.days) view_.days[day] = counters;
    if (v.rules) {
      view_.rules = std::move(v.rules);
      view_.rules_loaded_at = v.rules_loaded_at;
    }
    view_.last_seq = v.last_seq;
    view_.chain_head = v.chain_head;
  }
  std::lock_guard lock(stats_mu_);
  stats_.commands += commands;
  stats_.batches += 1;
  stats_.entries += v.entries;
  stats_.last_seq = v.last_seq;
  std::size_t bucket = 0;
  for (std::size_t n = commands; n > 1 && bucket + 1 < stats_.batch_size_log2.size(); n >>= 1) {
    ++bucket;
  }
  ++stats_.batch_size_log2[bucket];
}

// ---- Commands -------------------------------------------------------------------------

Status LedgerImpl::on(EnrollMember& c, CommandOutcome& out) {
  std::string id;
  if (c.id) {
    if (!valid_member_id(*c.id)) {
      return invalid("a member id is 1-64 characters of A-Z a-z 0-9 . _ : @ -");
    }
    if (state_.members.contains(*c.id)) {
      return make_error(ErrorCode::member_exists, "member '" + *c.id + "' already exists");
    }
    id = *c.id;
  } else {
    id = "m-" + std::to_string(state_.last_seq + 1);
    for (int n = 2; state_.members.contains(id); ++n) {
      id = "m-" + std::to_string(state_.last_seq + 1) + "-" + std::to_string(n);
    }
  }
  for (const auto& [key, value] : c.attributes) {
    ENCORE_RETURN_IF_ERROR(check_text("attribute", key));
  }
  Entry e = make_entry(EntryKind::enroll, id);
  e.tier = std::string(rules_->tier_for(0));
  emit(std::move(e));
  MemberState& m = state_.members.at(id);
  if (c.birthday || !c.attributes.empty()) {
    internal::ProfileChange change{.member = id, .birthday = c.birthday};
    for (auto& [key, value] : c.attributes) change.attributes.emplace(key, std::move(value));
    record_profile(m, std::move(change));
  }
  out.member = m.profile;
  fill_balance(m, out);
  return Status::ok();
}

void LedgerImpl::record_profile(MemberState& m, internal::ProfileChange change) {
  batch_->put(Family::profiles, internal::be64_key(++profiles_recorded_),  // docs/storage.md
              internal::encode_profile(change, state_.last_seq));
  internal::apply_profile(m, std::move(change));
  state_.mark(m);
}

Status LedgerImpl::on(PatchMember& c, CommandOutcome& out) {
  auto it = state_.members.find(c.id);
  if (it == state_.members.end()) return member_not_found(c.id);
  MemberState& m = it->second;
  for (auto& [key, value] : c.attributes) {
    ENCORE_RETURN_IF_ERROR(check_text("attribute", key));
  }
  record_profile(m, internal::ProfileChange{.member = c.id,
                                            .attributes = std::move(c.attributes),
                                            .birthday = c.birthday,
                                            .status = c.status});
  out.member = m.profile;
  fill_balance(m, out);
  return Status::ok();
}

Status LedgerImpl::on(RecordEvent& c, CommandOutcome& out) {
  if (!valid_event_type(c.event.type)) {
    return invalid("an event type is 1-32 characters of a-z 0-9 _ starting with a letter");
  }
  for (auto text : {c.event.channel, c.event.store, c.event.order_id}) {
    ENCORE_RETURN_IF_ERROR(check_text("channel, store and order_id", text));
  }
  MemberState* found = state_.find_member(c.member);
  if (found == nullptr) return member_not_found(c.member);
  MemberState& m = *found;
  const auto& program = rules_->program();
  Timestamp t = c.occurred_at.value_or(now_);
  if (t > now_) return invalid("occurred_at is in the future");
  if (t < now_.plus_days(-program.max_backdate_days)) {
    return invalid("occurred_at is more than " + std::to_string(program.max_backdate_days) +
                   " days ago");
  }
  c.event.time = t;
  StateUsage usage(*rules_, state_.budget_used, &m);
  const Seq first_seq = state_.last_seq + 1;
  rules::MemberView view = member_view(m, t);
  rules::Evaluation ev = rules::evaluate(*rules_, view, c.event, now_, usage);
  std::int64_t earned = std::max<std::int64_t>(ev.base, 0);
  for (const auto& award : ev.offers) {
    auto sum = points_add(earned, award.points);
    if (!sum) return invalid("the points this event earns are out of range");
    earned = *sum;
  }
  if (!points_add(m.total, earned) || !points_add(m.lifetime_earned, earned)) {
    return invalid("the member's points would leave the range of +-10^15");
  }
  const Timestamp vests_at = now_.plus_days(program.pending_days);
  auto accrual = [&](std::int64_t points, std::string offer) {
    Entry e = make_entry(EntryKind::accrual, c.member);
    e.points = points;
    e.occurred_at = t;
    e.channel = c.event.channel;
    e.store = c.event.store;
    e.order_id = c.event.order_id;
    e.offer = std::move(offer);
    e.vests_at = vests_at;
    e.expires_at = lot_expiry(vests_at);
    emit(std::move(e));
  };
  if (ev.base > 0) accrual(ev.base, "");
  for (const auto& award : ev.offers) {
    const auto& offer = rules_->offers()[award.offer_index];
    accrual(award.points, offer.id);
    out.offers.push_back(OfferPoints{offer.id, offer.name, award.points});
  }
  if (c.event.type == "purchase") {
    internal::record_visit(m, c.event.type, t, now_, program);  // verify replays it from events
    // Scheduled once; when that key falls due it re-schedules to the latest time.
    if (m.inactivity_expires && m.inactivity_due_micros == 0) {
      m.inactivity_due_micros = m.inactivity_expires->micros;
      state_.inactivity_due.emplace(m.inactivity_due_micros, c.member);
    }
    state_.mark(m);
  }
  if (earned > 0) update_tier(m);
  batch_->put(Family::events, internal::be64_key(++events_recorded_),  // docs/storage.md
              internal::encode_event_record(first_seq, state_.last_seq, c.member, view,
                                            c.event, now_, *rules_, ev));
  out.points = earned;
  fill_balance(m, out);
  return Status::ok();
}

// The member a redemption or hold spends from: enrolled, not frozen, with `points` available.
Result<MemberState*> LedgerImpl::member_to_spend(const std::string& member, std::int64_t points,
                                                 std::string_view verb) {
  MemberState* m = state_.find_member(member);
  if (m == nullptr) return member_not_found(member);
  if (m->profile.status == MemberStatus::frozen) {
    return make_error(ErrorCode::member_frozen, "member '" + member + "' is frozen");
  }
  if (points > m->available()) {
    return make_error(ErrorCode::insufficient_points,
                      std::string(verb) + " " + std::to_string(points) + " points needs that many "
                      "available; the member has " + std::to_string(m->available()));
  }
  return m;
}

Status LedgerImpl::on(Redeem& c, CommandOutcome& out) {
  ENCORE_RETURN_IF_ERROR(check_positive_points(c.points));
  for (auto text : {c.order_id, c.reason, c.channel, c.store}) {
    ENCORE_RETURN_IF_ERROR(check_text("order_id, reason, channel and store", text));
  }
  ENCORE_ASSIGN_OR_RETURN(MemberState * found, member_to_spend(c.member, c.points, "redeeming"));
  MemberState& m = *found;
  Entry e = make_entry(EntryKind::redemption, c.member);
  e.points = -c.points;
  e.order_id = c.order_id;
  e.reason = c.reason;
  e.channel = c.channel;
  e.store = c.store;
  emit(std::move(e));
  fill_balance(m, out);
  return Status::ok();
}

Status LedgerImpl::on(CreateHold& c, CommandOutcome& out) {
  ENCORE_RETURN_IF_ERROR(check_positive_points(c.points));
  ENCORE_RETURN_IF_ERROR(check_text("order_id", c.order_id));
  std::int64_t ttl = c.ttl_seconds.value_or(hold_ttl_seconds_default);
  if (ttl <= 0 || ttl > hold_ttl_seconds_max) {
    return invalid("ttl_seconds must be from 1 to " + std::to_string(hold_ttl_seconds_max));
  }
  ENCORE_ASSIGN_OR_RETURN(MemberState * found, member_to_spend(c.member, c.points, "holding"));
  MemberState& m = *found;
  Entry e = make_entry(EntryKind::hold, c.member);
  e.amount = c.points;
  e.hold = "h-" + std::to_string(state_.last_seq + 1);
  e.order_id = c.order_id;
  e.expires_at = now_.plus_seconds(ttl);
  std::string id = e.hold;
  emit(std::move(e));
  out.hold = state_.holds.at(id).hold;
  fill_balance(m, out);
  return Status::ok();
}

Result<Hold*> LedgerImpl::active_hold(const std::string& id) {
  auto it = state_.holds.find(id);
  if (it == state_.holds.end()) {
    return make_error(ErrorCode::not_found, "no hold with id '" + id + "'");
  }
  Hold& hold = it->second.hold;
  if (hold.status != HoldStatus::active) {
    return make_error(ErrorCode::hold_not_active,
                      "hold '" + id + "' is " + std::string(hold_status_name(hold.status)));
  }
  return &hold;
}

Status LedgerImpl::on(CaptureHold& c, CommandOutcome& out) {
  auto found = active_hold(c.hold);
  if (!found) return found.error();
  Hold& hold = **found;
  std::int64_t points = c.points.value_or(hold.points);
  if (points <= 0 || points > hold.points) {
    return invalid("points to capture must be from 1 to the " + std::to_string(hold.points) +
                   " held");
  }
  Entry e = make_entry(EntryKind::capture, hold.member);
  e.points = -points;
  e.hold = c.hold;
  e.order_id = hold.order_id;
  emit(std::move(e));
  if (points < hold.points) {
    Entry r = make_entry(EntryKind::hold_release, hold.member);
    r.amount = hold.points - points;
    r.hold = c.hold;
    r.order_id = hold.order_id;
    r.reason = "captured";
    emit(std::move(r));
  }
  out.hold = hold;
  fill_balance(state_.members.at(hold.member), out);
  return Status::ok();
}

Status LedgerImpl::on(VoidHold& c, CommandOutcome& out) {
  auto found = active_hold(c.hold);
  if (!found) return found.error();
  Hold& hold = **found;
  Entry r = make_entry(EntryKind::hold_release, hold.member);
  r.amount = hold.points;
  r.hold = c.hold;
  r.order_id = hold.order_id;
  r.reason = "voided";
  emit(std::move(r));
  out.hold = hold;
  fill_balance(state_.members.at(hold.member), out);
  return Status::ok();
}

Status LedgerImpl::on(Reverse& c, CommandOutcome& out) {
  ENCORE_RETURN_IF_ERROR(check_text("reason", c.reason));
  if (c.seq == 0 || c.seq > state_.last_seq) {
    return make_error(ErrorCode::not_found, "no entry " + std::to_string(c.seq));
  }
  ENCORE_ASSIGN_OR_RETURN(Entry original, find_entry(c.seq));
  std::int64_t sign = 0;
  if (original.kind == EntryKind::accrual) sign = -1;
  if (original.kind == EntryKind::redemption || original.kind == EntryKind::capture) sign = 1;
  if (sign == 0) {
    return invalid("only accruals, redemptions and captures can be reversed; entry " +
                   std::to_string(c.seq) + " is " + std::string(entry_kind_name(original.kind)));
  }
  if (c.points && *c.points <= 0) return invalid("points must be a whole number above 0");
  MemberState& m = state_.members.at(original.member);
  std::int64_t magnitude = original.points < 0 ? -original.points : original.points;
  auto rev = m.reversed.find(c.seq);
  std::int64_t left = magnitude - (rev == m.reversed.end() ? 0 : rev->second);
  std::int64_t points = c.points.value_or(left);
  if (left == 0 || points > left) {
    return make_error(ErrorCode::over_reversal,
                      "entry " + std::to_string(c.seq) + " has " + std::to_string(left) +
                          " points left to reverse");
  }
  if (!points_add(m.total, sign * points)) {
    return invalid("the member's points would leave the range of +-10^15");
  }
  Entry e = make_entry(EntryKind::reversal, original.member);
  e.points = sign * points;
  e.reverses = c.seq;
  e.reason = c.reason;
  e.order_id = original.order_id;
  e.channel = original.channel;
  e.store = original.store;
  e.offer = original.offer;
  if (sign > 0) {
    e.vests_at = now_;
    e.expires_at = lot_expiry(now_);
  }
  emit(std::move(e));
  if (sign < 0) update_tier(m);
  fill_balance(m, out);
  return Status::ok();
}

Status LedgerImpl::on(Adjust& c, CommandOutcome& out) {
  if (c.points == 0 || !points_in_range(c.points)) {
    return invalid("an adjustment is a non-zero number of points within +-10^15");
  }
  if (c.reason.empty()) return invalid("an adjustment needs a reason");
  ENCORE_RETURN_IF_ERROR(check_text("reason", c.reason));
  MemberState* found = state_.find_member(c.member);
  if (found == nullptr) return member_not_found(c.member);
  MemberState& m = *found;
  if (!points_add(m.total, c.points)) {
    return invalid("the member's points would leave the range of +-10^15");
  }
  Entry e = make_entry(EntryKind::adjustment, c.member);
  e.points = c.points;
  e.reason = c.reason;
  if (c.points > 0) {
    e.vests_at = now_;
    e.expires_at = lot_expiry(now_);
  }
  emit(std::move(e));
  fill_balance(m, out);
  return Status::ok();
}

Status LedgerImpl::on(AdvanceClock& c, CommandOutcome& out) {
  if (options_.manual_clock == nullptr) {
    return make_error(ErrorCode::not_found, "the clock can only be moved with --manual-clock");
  }
  // 100 years: beyond it the timestamps of lots and holds could overflow.
  if (c.seconds < 0 || c.seconds > 36'500 * 86'400LL) {
    return invalid("advance_seconds must be from 0 to 100 years");
  }
  options_.manual_clock->advance_seconds(c.seconds);
  next_now();
  run_timers();
  out.now = now_;
  return Status::ok();
}

Status LedgerImpl::on(RunTimers&, CommandOutcome&) { return Status::ok(); }

Status LedgerImpl::on(SetRules& c, CommandOutcome&) {
  if (!c.rule_set) return invalid("no rule set");
  rules_ = std::move(c.rule_set);
  rules_loaded_at_ = now_;
  rules_changed_ = true;
  if (!known_rulesets_.contains(rules_->version())) {
    batch_->put(Family::rulesets, rules_->version(), internal::encode_rule_files(rules_->files()));
    known_rulesets_.insert(rules_->version());
  }
  batch_->put(Family::meta, kMetaRuleset, rules_->version());
  batch_->put(Family::meta, kMetaRulesetLoadedAt, encode_time(rules_loaded_at_));
  return Status::ok();
}

// ---- Reads ----------------------------------------------------------------------------

std::shared_ptr<const MemberState> LedgerImpl::view_member(std::string_view id,
                                                           ReadView* partial) const {
  std::shared_lock lock(view_mu_);
  partial->rules = view_.rules;
  partial->last_seq = view_.last_seq;
  partial->chain_head = view_.chain_head;
  auto it = view_.members.find(id);
  return it == view_.members.end() ? nullptr : it->second;
}

Ledger::Ledger(std::unique_ptr<LedgerImpl> impl) : impl_(std::move(impl)) {}

Ledger::~Ledger() { impl_->stop(); }

Result<std::unique_ptr<Ledger>> Ledger::open(LedgerOptions options,
                                             std::shared_ptr<const rules::RuleSet> rule_set) {
  if (options.clock == nullptr) return invalid("LedgerOptions::clock is required");
  auto impl = std::make_unique<LedgerImpl>();
  impl->options_ = std::move(options);
  ENCORE_RETURN_IF_ERROR(impl->open(std::move(rule_set)));
  impl->start();
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

void Ledger::submit(Command command, std::optional<IdempotencyRequest> idempotency,
                    Completion done) {
  LedgerImpl::Pending p{std::move(command), std::move(idempotency), std::move(done)};
  if (p.idempotency) {  // hashed here, on the caller's thread, not by the writer
    p.idempotency_key = idempotency_key(*p.idempotency);
    p.key_digest = key_digest(p.idempotency_key);
  }
  impl_->submit(std::move(p));
}

std::future<CommandOutcome> Ledger::submit(Command command,
                                           std::optional<IdempotencyRequest> idempotency) {
  auto promise = std::make_shared<std::promise<CommandOutcome>>();
  auto future = promise->get_future();
  submit(std::move(command), std::move(idempotency),
         [promise](CommandOutcome out) { promise->set_value(std::move(out)); });
  return future;
}

Result<Balance> Ledger::balance(std::string_view member) const {
  ReadView v;
  auto m = impl_->view_member(member, &v);
  if (!m) return member_not_found(member);
  return internal::make_balance(*m, *v.rules, now(), v.last_seq);
}

Result<Member> Ledger::member(std::string_view id) const {
  ReadView v;
  auto m = impl_->view_member(id, &v);
  if (!m) return member_not_found(id);
  return m->profile;
}

Result<EntryPage> Ledger::entries(std::string_view member, std::optional<Seq> before,
                                  std::size_t limit) const {
  if (limit == 0 || limit > entries_page_max) {
    return invalid("limit must be from 1 to " + std::to_string(entries_page_max));
  }
  ReadView v;
  auto m = impl_->view_member(member, &v);
  if (!m) return member_not_found(member);
  // A member's entries are chained by Entry::prev from its latest durable one (as_of), so a
  // page reads only its own entries. A page that continues another starts at an entry of
  // the member's (next_before) and jumps there; any other `before` walks down to it.
  Seq next = m->as_of;
  if (before && *before <= next) {
    if (*before == 0) return EntryPage{};
    ENCORE_ASSIGN_OR_RETURN(Entry from, entry(*before));
    if (from.member == member) next = from.prev;
  }
  EntryPage page;
  while (next != 0 && page.entries.size() < limit) {
    ENCORE_ASSIGN_OR_RETURN(Entry e, entry(next));
    if (e.member != member || e.prev >= e.seq) {  // a broken chain must not loop
      return make_error(ErrorCode::internal, "journal entry " + std::to_string(e.seq) +
                                                 " breaks member '" + std::string(member) +
                                                 "''s history chain (run encore verify)");
    }
    next = e.prev;
    if (before && e.seq >= *before) continue;
    page.entries.push_back(std::move(e));
  }
  if (next != 0) page.next_before = page.entries.back().seq;
  return page;
}

Result<Hold> Ledger::hold(std::string_view id) const {
  std::shared_lock lock(impl_->view_mu_);
  auto it = impl_->view_.holds.find(id);
  if (it == impl_->view_.holds.end()) {
    return make_error(ErrorCode::not_found, "no hold with id '" + std::string(id) + "'");
  }
  return it->second;
}

Result<JournalPage> Ledger::journal(Seq after, std::size_t limit) const {
  if (limit == 0 || limit > journal_page_max) {
    return invalid("limit must be from 1 to " + std::to_string(journal_page_max));
  }
  ReadView v;
  impl_->view_member("", &v);
  JournalPage page;
  page.next_after = after;
  page.chain_head = v.last_seq == 0 ? "" : hash_hex(v.chain_head);
  if (after >= v.last_seq) return page;
  Status decoded;
  ENCORE_RETURN_IF_ERROR(impl_->store_->scan(
      Family::journal, internal::be64_key(after + 1), internal::be64_key(v.last_seq + 1),
      [&](std::string_view, std::string_view value) {
        auto e = internal::decode_journal_value(value);
        if (!e) {
          decoded = e.status();
          return false;
        }
        page.next_after = e->seq;
        page.entries.push_back(std::move(e).value());
        return page.entries.size() < limit;
      }));
  ENCORE_RETURN_IF_ERROR(decoded);
  return page;
}

Result<Entry> Ledger::entry(Seq seq) const {
  if (seq == 0 || seq > last_seq()) {
    return make_error(ErrorCode::not_found, "no entry " + std::to_string(seq));
  }
  ENCORE_ASSIGN_OR_RETURN(auto value,
                          impl_->store_->get(Family::journal, internal::be64_key(seq)));
  if (!value) return make_error(ErrorCode::not_found, "no entry " + std::to_string(seq));
  ENCORE_ASSIGN_OR_RETURN(Entry e, internal::decode_journal_value(*value));
  ENCORE_ASSERT(e.seq == seq);
  return e;
}

Result<LiabilityReport> Ledger::liability() const {
  std::vector<std::shared_ptr<const MemberState>> members;
  std::map<std::int64_t, internal::DayCounters> days;
  std::shared_ptr<const rules::RuleSet> rules;
  {
    std::shared_lock lock(impl_->view_mu_);
    members.reserve(impl_->view_.members.size());
    for (const auto& [id, m] : impl_->view_.members) members.push_back(m);
    days = impl_->view_.days;
    rules = impl_->view_.rules;
  }
  const Timestamp t = now();
  const std::int64_t today = days_from_civil(rules->local_date(t));
  LiabilityReport r;
  for (const auto& m : members) {
    r.available += m->available();
    r.pending += m->pending;
    r.held += m->held;
    Balance b = internal::make_balance(*m, *rules, t, 0);
    for (const auto& x : b.expiring) {
      std::int64_t ahead = days_from_civil(x.date) - today;
      if (ahead <= 30) r.expiring_30d += x.points;
      if (ahead <= 60) r.expiring_60d += x.points;
      r.expiring_90d += x.points;
    }
  }
  for (auto it = days.rbegin(); it != days.rend(); ++it) {
    if (it->first > today || today - it->first >= report_days_max) continue;
    const auto& c = it->second;
    if (c.earned == 0 && c.redeemed == 0 && c.expired == 0 && c.reversed == 0) continue;
    r.days.push_back({civil_from_days(it->first), c.earned, c.redeemed, c.expired, c.reversed});
  }
  return r;
}

Result<Quote> Ledger::quote(const rules::Event& event, std::optional<std::string_view> member,
                            std::optional<Timestamp> occurred_at) const {
  if (!valid_event_type(event.type)) {
    return invalid("an event type is 1-32 characters of a-z 0-9 _ starting with a letter");
  }
  ReadView v;
  std::shared_ptr<const MemberState> m;
  std::map<std::string, std::int64_t, std::less<>> budgets;
  {
    std::shared_lock lock(impl_->view_mu_);
    v.rules = impl_->view_.rules;
    budgets = impl_->view_.budget_used;
    if (member) {
      auto it = impl_->view_.members.find(*member);
      if (it == impl_->view_.members.end()) return member_not_found(*member);
      m = it->second;
    }
  }
  const Timestamp t_now = now();
  const auto& program = v.rules->program();
  Timestamp t = occurred_at.value_or(t_now);
  if (t > t_now) return invalid("occurred_at is in the future");
  if (t < t_now.plus_days(-program.max_backdate_days)) {
    return invalid("occurred_at is more than " + std::to_string(program.max_backdate_days) +
                   " days ago");
  }
  rules::Event e = event;
  e.time = t;
  MemberState fresh;
  if (!m) {
    fresh.profile.tier = std::string(v.rules->tier_for(0));
    fresh.profile.enrolled_at = t_now;
  }
  const MemberState& ms = m ? *m : fresh;
  StateUsage usage(*v.rules, budgets, m ? m.get() : nullptr);
  rules::Evaluation ev = rules::evaluate(*v.rules, member_view(ms, t), e, t_now, usage);
  Quote q;
  q.points = std::max<std::int64_t>(ev.base, 0);
  for (const auto& award : ev.offers) {
    const auto& offer = v.rules->offers()[award.offer_index];
    q.offers.push_back(OfferPoints{offer.id, offer.name, award.points});
    q.points = points_add(q.points, award.points).value_or(points_max);
  }
  return q;
}

Result<std::vector<MemberOffer>> Ledger::offers_for(std::string_view member) const {
  std::shared_ptr<const MemberState> m;
  std::shared_ptr<const rules::RuleSet> rules;
  std::map<std::string, std::int64_t, std::less<>> budgets;
  {
    std::shared_lock lock(impl_->view_mu_);
    auto it = impl_->view_.members.find(member);
    if (it == impl_->view_.members.end()) return member_not_found(member);
    m = it->second;
    rules = impl_->view_.rules;
    budgets = impl_->view_.budget_used;
  }
  const Timestamp t = now();
  StateUsage usage(*rules, budgets, m.get());
  std::vector<MemberOffer> out;
  for (const auto& e : rules::eligible(*rules, member_view(*m, t), t, usage)) {
    const auto& offer = rules->offers()[e.offer_index];
    out.push_back(MemberOffer{offer.id, offer.name, offer.description, offer.ends_at,
                              e.remaining_uses});
  }
  return out;
}

RulesInfo Ledger::rules() const {
  RulesInfo info;
  std::map<std::string, std::int64_t, std::less<>> budgets;
  {
    std::shared_lock lock(impl_->view_mu_);
    info.rule_set = impl_->view_.rules;
    info.loaded_at = impl_->view_.rules_loaded_at;
    budgets = impl_->view_.budget_used;
  }
  for (const auto& offer : info.rule_set->offers()) {
    auto it = budgets.find(offer.id);
    info.budget_used.push_back(it == budgets.end() ? 0 : it->second);
  }
  return info;
}

std::shared_ptr<const rules::RuleSet> Ledger::rule_set() const {
  std::shared_lock lock(impl_->view_mu_);
  return impl_->view_.rules;
}

Timestamp Ledger::now() const { return impl_->options_.clock->now(); }

bool Ledger::healthy() const { return !impl_->failed_.load(); }

LedgerStats Ledger::stats() const {
  LedgerStats s;
  {
    std::lock_guard lock(impl_->stats_mu_);
    s = impl_->stats_;
  }
  {
    std::lock_guard lock(impl_->queue_mu_);
    s.queue_depth = impl_->queue_.size();
  }
  return s;
}

Seq Ledger::last_seq() const {
  std::shared_lock lock(impl_->view_mu_);
  return impl_->view_.last_seq;
}

std::string Ledger::chain_head() const {
  std::shared_lock lock(impl_->view_mu_);
  return impl_->view_.last_seq == 0 ? "" : hash_hex(impl_->view_.chain_head);
}

void Ledger::fail_writes_for_testing() { impl_->store_->fail_writes_for_testing(); }

}  // namespace encore::ledger
