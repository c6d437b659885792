// The ledger's storage (ledger/internal): the one place that includes RocksDB. Column
// families, write batches, point reads and ordered scans; RocksDB errors become
// Encore Status values with context.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/limits.h"
#include "rules/base/status.h"

namespace rocksdb {
class DB;
class Env;
class FileSystem;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace encore::ledger::internal {

// docs/storage.md describes every family's keys and values.
enum class Family : std::uint8_t {
  journal,         // be64 seq -> entry encoding + hash (a member's entries chain by prev)
  members,         // member id -> member state with its lots and offer uses
  holds,           // hold id -> hold
  idempotency,     // be64 record number -> scope \0 key, fingerprint, created, outcome
  offers,          // 'b' offer id -> budget used
  rulesets,        // version -> the rule files
  counters,        // be64 day -> daily activity
  meta,            // name -> last seq, chain head, clock, rule set in force
  events,          // be64 event number -> a recorded event's inputs and result
  profiles,        // be64 change number -> a profile change no entry carries (verify)
  count,
};

enum class OpenMode : std::uint8_t { read_write, read_only };
// sync: the write returns once on disk. buffered: in RocksDB's WAL buffer in this process
// (manual_wal_flush), lost if the process dies; sync_wal() writes it out and makes it durable.
enum class Durability : std::uint8_t { sync, buffered };

class Store {
 public:
  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(Batch&&) noexcept;
    void put(Family family, std::string_view key, std::string_view value);
    void del(Family family, std::string_view key);
    std::size_t count() const;
    void clear();

   private:
    friend class Store;
    Store* store_ = nullptr;  // set by Store::new_batch
    std::unique_ptr<rocksdb::WriteBatch> batch_;
  };

  // memtable_mb: each column family's memtable size in MiB (LedgerOptions::memtable_mb).
  // file_system: null for the operating system's (LedgerOptions::file_system).
  static Result<std::unique_ptr<Store>> open(
      const std::filesystem::path& dir, OpenMode mode,
      std::size_t memtable_mb = memtable_mb_default,
      std::shared_ptr<rocksdb::FileSystem> file_system = nullptr);
  ~Store();

  Batch new_batch();
  // Writes atomically with fsync (WriteOptions::sync = true).
  Status write_sync(Batch& batch) { return write(batch, Durability::sync); }
  Status write(Batch& batch, Durability durability);
  // Writes out and fsyncs the write-ahead log: every batch written before is durable when it
  // returns. In two steps, so that a caller can keep writes out of the first one:
  // flush_wal() hands RocksDB's WAL buffer to the kernel (write()), sync_wal() fsyncs every
  // WAL file up to what was flushed while writes may go on.
  Status flush_wal();
  Status sync_wal();
  Result<std::optional<std::string>> get(Family family, std::string_view key) const;
  // Calls fn(key, value) for keys in [start, end) ascending (end "" = to the end) until
  // fn returns false.
  Status scan(Family family, std::string_view start, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // Descending from the last key < before, down to keys >= lowest, until fn returns false.
  Status scan_reverse(Family family, std::string_view before, std::string_view lowest,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const;

  void fail_writes_for_testing() { fail_writes_.store(true); }

 private:
  Store() = default;
  rocksdb::ColumnFamilyHandle* handle(Family family) const;
  template <typename Op>
  Status writing(std::string_view what, Op&& op);

  std::unique_ptr<rocksdb::Env> env_;  // with a file_system only; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Family
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
  std::atomic<bool> fail_writes_{false};
};

}  // namespace encore::ledger::internal
