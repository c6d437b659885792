// "A command answered OK is on disk", against a power cut rather than a killed process: a
// SIGKILL (tests/ledger/crash_test.cc) keeps what the process handed to the kernel, a power
// cut loses whatever was not fsynced. The ledger runs here on a file system that counts, per
// file, the bytes handed to the kernel and the bytes a Sync/Fsync covered. While commands are
// in flight it "cuts the power": every later file operation fails, as on a dead disk. Each
// file is then cut back to its synced length (what a disk keeps) and the data dir reopened on
// the real file system: every command answered OK replays from its stored record with the
// same entries, nothing applies twice, the balances add up and verify passes.
//
// It fails if the writer or the syncer answered a batch before its WAL bytes were synced:
// e.g. with Store::sync_wal calling FlushWAL(false) (written, not synced), acknowledged
// purchases are gone after the cut and their retries apply anew. Not simulated: lost
// directory entries (a file created is assumed to stay), torn pages (files are cut cleanly at
// their synced length) and a disk on which only fsync fails.
#include <doctest/doctest.h>

#include <rocksdb/file_system.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/limits.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

IOStatus power_is_off() { return IOStatus::IOError("the power was cut (test)"); }

// Bytes of one file: handed to the kernel, and covered by a completed Sync/Fsync.
struct Lengths {
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> synced{0};
};

// A writable file that counts its bytes for PowerCutFileSystem and fails once the power is off.
class CountingFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CountingFile(std::unique_ptr<FSWritableFile> file, std::shared_ptr<Lengths> lengths,
               const std::atomic<bool>& power_off)
      : FSWritableFileOwnerWrapper(std::move(file)),
        lengths_(std::move(lengths)),
        power_off_(power_off) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->Append(data, o, d);
    if (s.ok()) lengths_->written += data.size();
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o,
                  const rocksdb::DataVerificationInfo& v, IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->Append(data, o, v, d);
    if (s.ok()) lengths_->written += data.size();
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, std::uint64_t offset, const IOOptions& o,
                            IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->PositionedAppend(data, offset, o, d);
    if (s.ok()) raise(lengths_->written, offset + data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, std::uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& v, IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->PositionedAppend(data, offset, o, v, d);
    if (s.ok()) raise(lengths_->written, offset + data.size());
    return s;
  }
  IOStatus Truncate(std::uint64_t size, const IOOptions& o, IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->Truncate(size, o, d);
    if (s.ok()) lengths_->written = size;
    return s;
  }
  // Only these two make bytes durable; Flush and RangeSync (sync_file_range) do not.
  IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
    return durable([&] { return target()->Sync(o, d); });
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
    return durable([&] { return target()->Fsync(o, d); });
  }
  IOStatus Flush(const IOOptions& o, IODebugContext* d) override {
    if (power_off_) return power_is_off();
    return target()->Flush(o, d);
  }
  IOStatus RangeSync(std::uint64_t offset, std::uint64_t nbytes, const IOOptions& o,
                     IODebugContext* d) override {
    if (power_off_) return power_is_off();
    return target()->RangeSync(offset, nbytes, o, d);
  }

 private:
  static void raise(std::atomic<std::uint64_t>& v, std::uint64_t to) {
    std::uint64_t cur = v.load();
    while (cur < to && !v.compare_exchange_weak(cur, to)) {
    }
  }
  // A sync covers what was written before it began (an append may race with it).
  template <typename SyncCall>
  IOStatus durable(SyncCall&& sync) {
    if (power_off_) return power_is_off();
    const std::uint64_t before = lengths_->written.load();
    IOStatus s = sync();
    if (s.ok()) raise(lengths_->synced, before);
    return s;
  }

  std::shared_ptr<Lengths> lengths_;
  const std::atomic<bool>& power_off_;
};

// The operating system's file system, with a power switch: it counts every writable file's
// bytes (CountingFile) and, once cut() was called, fails every change. lose_unsynced() then
// does to the files what the power cut would have: keeps only what was synced.
class PowerCutFileSystem : public rocksdb::FileSystemWrapper {
 public:
  PowerCutFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  static const char* kClassName() { return "PowerCutFileSystem"; }
  const char* Name() const override { return kClassName(); }

  IOStatus NewWritableFile(const std::string& name, const FileOptions& o,
                           std::unique_ptr<FSWritableFile>* file, IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->NewWritableFile(name, o, file, d);
    if (!s.ok()) return s;
    *file = std::make_unique<CountingFile>(std::move(*file), track(name, 0), power_off_);
    if (name.ends_with(".log")) ++wal_files_;
    return s;
  }
  // A file reopened to append keeps what it had (synced before, or it would not be reused).
  IOStatus ReopenWritableFile(const std::string& name, const FileOptions& o,
                              std::unique_ptr<FSWritableFile>* file,
                              IODebugContext* d) override {
    if (power_off_) return power_is_off();
    std::error_code ec;
    const auto size = std::filesystem::file_size(name, ec);
    IOStatus s = target()->ReopenWritableFile(name, o, file, d);
    if (s.ok()) {
      *file = std::make_unique<CountingFile>(std::move(*file), track(name, ec ? 0 : size),
                                             power_off_);
    }
    return s;
  }
  IOStatus ReuseWritableFile(const std::string&, const std::string&, const FileOptions&,
                             std::unique_ptr<FSWritableFile>*, IODebugContext*) override {
    return IOStatus::NotSupported("WAL recycling is off in the ledger");
  }
  IOStatus RenameFile(const std::string& from, const std::string& to, const IOOptions& o,
                      IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->RenameFile(from, to, o, d);
    if (s.ok()) {
      std::lock_guard lock(mu_);
      auto it = files_.find(from);
      if (it != files_.end()) {
        files_[to] = it->second;
        files_.erase(it);
      }
    }
    return s;
  }
  IOStatus DeleteFile(const std::string& name, const IOOptions& o, IODebugContext* d) override {
    if (power_off_) return power_is_off();
    IOStatus s = target()->DeleteFile(name, o, d);
    if (s.ok()) {
      std::lock_guard lock(mu_);
      files_.erase(name);
    }
    return s;
  }

  int wal_files() const { return wal_files_.load(); }
  void cut() { power_off_ = true; }
  // Call once nothing writes any more (the ledger closed).
  void lose_unsynced() {
    std::lock_guard lock(mu_);
    for (const auto& [name, lengths] : files_) {
      if (!std::filesystem::exists(name)) continue;
      REQUIRE(::truncate(name.c_str(), static_cast<off_t>(lengths->synced.load())) == 0);
    }
  }

 private:
  std::shared_ptr<Lengths> track(const std::string& name, std::uint64_t size) {
    auto lengths = std::make_shared<Lengths>();
    lengths->written = size;
    lengths->synced = size;
    std::lock_guard lock(mu_);
    files_[name] = lengths;
    return lengths;
  }

  std::atomic<bool> power_off_{false};
  std::atomic<int> wal_files_{0};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Lengths>> files_;
};

// One purchase sent during the load, with what its answer said.
struct Sent {
  std::string key;
  std::string member;
  bool answered_ok = false;
  std::vector<Seq> seqs;  // of the OK answer's entries
};

IdempotencyRequest with_key(const std::string& key) {
  IdempotencyRequest r;
  r.scope = "pos";
  r.key = key;
  r.fingerprint.fill(7);  // one request per key: any fingerprint will do
  return r;
}

std::int64_t points_of(const CommandOutcome& out) {
  std::int64_t points = 0;
  for (const auto& e : out.entries) points += e.points;
  return points;
}

constexpr int kMembers = 40;
constexpr int kSubmitters = 32;

// Submitters send purchases until the power is cut; returns every one they sent.
std::vector<Sent> load_until_cut(Ledger& ledger, PowerCutFileSystem& fs, std::mt19937& rng) {
  std::atomic<bool> cut{false};
  std::vector<std::vector<Sent>> sent(kSubmitters);
  std::vector<std::thread> submitters;
  for (int t = 0; t < kSubmitters; ++t) {
    submitters.emplace_back([&, t, seed = rng()] {
      std::mt19937 pick(seed);
      for (int i = 0; !cut; ++i) {
        Sent s{"p-" + std::to_string(t) + "-" + std::to_string(i),
               "m-" + std::to_string(pick() % kMembers), false, {}};
        auto out = ledger.submit(purchase(s.member, "12.34"), with_key(s.key)).get();
        s.answered_ok = static_cast<bool>(out.status);
        for (const auto& e : out.entries) s.seqs.push_back(e.seq);
        const bool refused_after_cut = !out.status && cut;
        sent[t].push_back(std::move(s));
        if (!out.status && !refused_after_cut) {
          // Before the cut nothing fails; after it, every answer is unavailable.
          CHECK(out.status.code() == ErrorCode::unavailable);
        }
        if (!out.status) break;
      }
    });
  }
  // Cut once RocksDB moved to a second WAL file (the syncer must cover the old one too),
  // at a random moment after that.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (fs.wal_files() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (fs.wal_files() < 2) MESSAGE("no WAL switch within 20 s: cutting anyway");
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
  cut = true;
  fs.cut();
  for (auto& t : submitters) t.join();
  std::vector<Sent> all;
  for (auto& v : sent) all.insert(all.end(), v.begin(), v.end());
  return all;
}

// Sends every purchase again with its key, many at a time (each alone would wait an fsync).
std::vector<CommandOutcome> resend_all(Ledger& ledger, const std::vector<Sent>& sent) {
  constexpr std::size_t in_flight = 512;  // well under the writer's queue bound
  std::vector<CommandOutcome> outcomes;
  outcomes.reserve(sent.size());
  for (std::size_t from = 0; from < sent.size(); from += in_flight) {
    std::vector<std::future<CommandOutcome>> pending;
    for (std::size_t i = from; i < std::min(sent.size(), from + in_flight); ++i) {
      pending.push_back(ledger.submit(purchase(sent[i].member, "12.34"), with_key(sent[i].key)));
    }
    for (auto& p : pending) outcomes.push_back(p.get());
  }
  return outcomes;
}

}  // namespace

TEST_CASE("a power cut keeps every command answered OK: unsynced bytes lost, none applied twice") {
  for (int round = 0; round < 2; ++round) {
    const unsigned seed = std::random_device{}();
    INFO("round " << round << ", seed " << seed);
    std::mt19937 rng(seed);
    Fixture f;
    for (int m = 0; m < kMembers; ++m) f.enroll("m-" + std::to_string(m));
    auto fs = std::make_shared<PowerCutFileSystem>();
    f.extra.file_system = fs;
    f.extra.memtable_mb = memtable_mb_min;  // small memtables: the WAL changes files sooner
    f.reopen();

    const std::vector<Sent> sent = load_until_cut(*f.ledger, *fs, rng);
    f.ledger.reset();  // its last writes fail: the disk is dead
    fs->lose_unsynced();
    f.extra.file_system = nullptr;
    f.open();

    // Every answered purchase replays with its entries; every other one either replays (it
    // landed before the cut) or applies now; each counts once in its member's balance.
    std::map<std::string, std::int64_t> expected;
    std::size_t answered = 0;
    std::size_t lost = 0;  // answered OK, yet not replayed with the same entries
    std::string first_lost;
    const std::vector<CommandOutcome> retried = resend_all(*f.ledger, sent);
    for (std::size_t i = 0; i < sent.size(); ++i) {
      const Sent& s = sent[i];
      const CommandOutcome& out = retried[i];
      REQUIRE_MESSAGE(out.status, s.key);
      if (s.answered_ok) {
        ++answered;
        std::vector<Seq> seqs;
        for (const auto& e : out.entries) seqs.push_back(e.seq);
        if (!out.replayed || seqs != s.seqs) {
          if (lost++ == 0) first_lost = s.key;
        }
      }
      expected[s.member] += points_of(out);
    }
    CHECK_MESSAGE(lost == 0, lost << " purchases answered OK were lost, the first " << first_lost);
    MESSAGE("round " << round << ": " << answered << " of " << sent.size()
                     << " purchases answered OK before the cut, WAL files: " << fs->wal_files());
    CHECK(answered > 0);
    for (int m = 0; m < kMembers; ++m) {
      const std::string id = "m-" + std::to_string(m);
      CAPTURE(id);
      CHECK(f.balance(id).available == expected[id]);
    }
    f.ledger.reset();
    VerifyReport report;
    Status verified = verify(f.dir.path(), {}, &report);
    CHECK_MESSAGE(verified, report.difference);
  }
}

}  // namespace encore::ledger::testing
