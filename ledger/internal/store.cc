// RocksDB behind the ledger's storage interface (ledger/internal). Options per column
// family follow PERFORMANCE.md: vector memtables for append-only families read only at
// open, skiplists where readers look up keys.
#include "ledger/internal/store.h"

#include <algorithm>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace encore::ledger::internal {
namespace {

constexpr const char* kFamilyNames[] = {"journal",  "members",  "holds", "idempotency", "offers",
                                        "rulesets", "counters", "meta",  "events",      "profiles"};
static_assert(sizeof(kFamilyNames) / sizeof(kFamilyNames[0]) ==
              static_cast<std::size_t>(Family::count));

Error storage_error(std::string_view what, const rocksdb::Status& s) {
  return make_error(ErrorCode::unavailable, std::string(what) + ": " + s.ToString());
}

rocksdb::ColumnFamilyOptions family_options(Family family, std::size_t memtable_mb) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = memtable_mb << 20;
  switch (family) {
    case Family::journal:
    case Family::idempotency:
    case Family::rulesets:
      // Looked up by key while serving (a member's history, journal pages, reversals,
      // idempotent replays): a skiplist answers at once, where a vector memtable sorts a copy
      // of itself per read (a replay held the writer 6-20 ms:
      // tests/regress/idempotency_replay_stall_test.cc). Journal and idempotency keys are
      // numbers in write order, so each insert lands at the end, next to the last one: the
      // skiplist's inserts measured under 1% of the writer at 256 submitters, and its insert
      // hint option (memtable_insert_with_hint_prefix_extractor) changed nothing. A hash
      // memtable keyed by request cost more to insert and, at each flush, a sort of the
      // whole memtable into a new skiplist: half the flush thread.
      break;
    default:
      // Written on (nearly) every command, read only when the ledger opens or verifies:
      // the vector memtable makes inserts cheap (PERFORMANCE.md: 24 -> 11 us per command).
      o.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
      break;
  }
  return o;
}

}  // namespace

Store::Batch::Batch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
Store::Batch::~Batch() = default;
Store::Batch::Batch(Batch&&) noexcept = default;

void Store::Batch::put(Family family, std::string_view key, std::string_view value) {
  auto s = batch_->Put(store_->handle(family), rocksdb::Slice(key.data(), key.size()),
                       rocksdb::Slice(value.data(), value.size()));
  ENCORE_ASSERT(s.ok());
}

void Store::Batch::del(Family family, std::string_view key) {
  auto s = batch_->Delete(store_->handle(family), rocksdb::Slice(key.data(), key.size()));
  ENCORE_ASSERT(s.ok());
}

std::size_t Store::Batch::count() const { return static_cast<std::size_t>(batch_->Count()); }
void Store::Batch::clear() { batch_->Clear(); }

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir, OpenMode mode,
                                           std::size_t memtable_mb,
                                           std::shared_ptr<rocksdb::FileSystem> file_system) {
  std::unique_ptr<Store> store(new Store());
  rocksdb::DBOptions db_options;
  if (file_system) {
    store->env_ = rocksdb::NewCompositeEnv(file_system);
    db_options.env = store->env_.get();
  }
  db_options.create_if_missing = mode == OpenMode::read_write;
  db_options.create_missing_column_families = mode == OpenMode::read_write;
  db_options.max_background_jobs = 2;
  db_options.allow_concurrent_memtable_write = false;  // vector memtables need it off
  // A write leaves its WAL record in RocksDB's buffer; sync_wal() (the syncer thread) writes
  // the buffer out and fsyncs it, so the write() system call of every batch is off the
  // writer thread too. A sync write flushes the buffer before its fsync.
  db_options.manual_wal_flush = mode == OpenMode::read_write;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  // Read-only: a data dir written before a family existed (e.g. `events`) lacks it; such a
  // family reads as empty (its handle stays null). A family this build does not know means
  // another storage schema (e.g. schema 1's `lots`): refused with a sentence, not RocksDB's.
  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(db_options, dir.string(), &existing).PermitUncheckedError();
  std::string unknown;
  for (const auto& name : existing) {
    if (name == rocksdb::kDefaultColumnFamilyName ||
        std::find(std::begin(kFamilyNames), std::end(kFamilyNames), name) !=
            std::end(kFamilyNames)) {
      continue;
    }
    unknown += (unknown.empty() ? "'" : ", '") + name + "'";
  }
  if (!unknown.empty()) {
    return make_error(ErrorCode::unavailable,
                      "the data dir " + dir.string() + " has column families this build does "
                          "not know (" + unknown + "): it was written by an Encore of another "
                          "storage schema (docs/storage.md, meta)");
  }
  std::vector<std::size_t> opened;  // Family index of descriptors[k + 1]
  for (std::size_t i = 0; i < static_cast<std::size_t>(Family::count); ++i) {
    if (mode == OpenMode::read_only && !existing.empty() &&
        std::find(existing.begin(), existing.end(), kFamilyNames[i]) == existing.end()) {
      continue;
    }
    descriptors.emplace_back(kFamilyNames[i], family_options(static_cast<Family>(i), memtable_mb));
    opened.push_back(i);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (mode == OpenMode::read_write) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return make_error(ErrorCode::unavailable,
                        "cannot create data dir " + dir.string() + ": " + ec.message());
    }
    s = rocksdb::DB::Open(db_options, dir.string(), descriptors, &handles, &db);
  } else {
    s = rocksdb::DB::OpenForReadOnly(db_options, dir.string(), descriptors, &handles, &db);
  }
  if (!s.ok()) return storage_error("open " + dir.string(), s);
  store->db_.reset(db);
  // handles[0] is the default family, which the ledger does not use.
  store->handles_.assign(static_cast<std::size_t>(Family::count), nullptr);
  for (std::size_t k = 0; k < opened.size(); ++k) store->handles_[opened[k]] = handles[k + 1];
  store->default_handle_ = handles[0];
  return store;
}

Store::~Store() {
  if (!db_) return;
  for (auto* h : handles_) {
    if (h) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  db_->DestroyColumnFamilyHandle(default_handle_).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

rocksdb::ColumnFamilyHandle* Store::handle(Family family) const {
  return handles_[static_cast<std::size_t>(family)];
}

Store::Batch Store::new_batch() {
  Batch b;
  b.store_ = this;
  return b;
}

// One write to RocksDB: refused at once while a test injects failures, else RocksDB's error
// with what was being done.
template <typename Op>
Status Store::writing(std::string_view what, Op&& op) {
  if (fail_writes_.load()) {
    return make_error(ErrorCode::unavailable,
                      std::string(what) + ": IO error: injected by a test");
  }
  rocksdb::Status s = op();
  if (!s.ok()) return storage_error(what, s);
  return Status::ok();
}

Status Store::write(Batch& batch, Durability durability) {
  return writing("write batch", [&] {
    rocksdb::WriteOptions options;
    options.sync = durability == Durability::sync;
    return db_->Write(options, batch.batch_.get());
  });
}

Status Store::flush_wal() {
  return writing("flush WAL", [&] { return db_->FlushWAL(/*sync=*/false); });
}

Status Store::sync_wal() {
  return writing("sync WAL", [&] { return db_->SyncWAL(); });
}

Result<std::optional<std::string>> Store::get(Family family, std::string_view key) const {
  if (handle(family) == nullptr) return std::optional<std::string>();  // absent family
  std::string value;
  auto s = db_->Get(rocksdb::ReadOptions(), handle(family),
                    rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return storage_error(std::string("read ") + kFamilyNames[int(family)], s);
  return std::optional<std::string>(std::move(value));
}

namespace {
// Visits keys from `start` forward with the given read options until fn returns false.
Status scan_forward(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, const char* name,
                    const rocksdb::ReadOptions& options, std::string_view start,
                    const std::function<bool(std::string_view, std::string_view)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(options, family));
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) return storage_error(std::string("scan ") + name, it->status());
  return Status::ok();
}
}  // namespace

Status Store::scan(Family family, std::string_view start, std::string_view end,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (handle(family) == nullptr) return Status::ok();  // absent family: empty
  rocksdb::ReadOptions options;
  options.total_order_seek = true;  // families with a prefix extractor scan all keys too
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) options.iterate_upper_bound = &upper;
  return scan_forward(db_.get(), handle(family), kFamilyNames[int(family)], options, start, fn);
}

Status Store::scan_reverse(
    Family family, std::string_view before, std::string_view lowest,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (handle(family) == nullptr) return Status::ok();  // absent family: empty
  rocksdb::ReadOptions options;
  rocksdb::Slice lower(lowest.data(), lowest.size());
  options.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, handle(family)));
  it->SeekForPrev(rocksdb::Slice(before.data(), before.size()));
  if (it->Valid() && std::string_view(it->key().data(), it->key().size()) == before) it->Prev();
  for (; it->Valid(); it->Prev()) {
    auto k = it->key();
    auto v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) {
    return storage_error(std::string("scan ") + kFamilyNames[int(family)], it->status());
  }
  return Status::ok();
}

}  // namespace encore::ledger::internal
