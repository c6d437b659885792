// ledger_bench: durable purchase commands per second through the ledger's writer (sync on,
// rules on: the peer benchmark's 20 offers), closed loop with 1/16/64/256 submitters, after
// enrolling 100k members. Prints a markdown table for docs/performance.md.
//   ledger_bench [--seconds 10] [--members 100000] [--submitters 1,16,64,256] [--data DIR]
//                [--rules FILE] [--no-idempotency] [--drivers 2] [--sync pipelined|per_batch]
//                [--memtable-mb N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "ledger/ledger.h"
#include "rules/base/clock.h"
#include "rules/rules.h"

namespace fs = std::filesystem;
using namespace encore;
using Steady = std::chrono::steady_clock;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "ledger_bench: cannot read %s\n", p.string().c_str());
    std::exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string member_id(std::uint64_t i) { return "bench-" + std::to_string(i); }

// A purchase like the peer corpus: a basket of 1-3 items, a channel, sometimes vinyl.
ledger::RecordEvent make_purchase(std::mt19937_64& rng, std::uint64_t members,
                                  std::uint64_t order) {
  static const char* const kChannels[] = {"store", "store", "online", "app", "phone"};
  static const char* const kCategories[] = {"vinyl", "cd", "merch", "books", "cd"};
  ledger::RecordEvent e;
  e.member = member_id(rng() % members);
  e.event.type = "purchase";
  e.event.channel = kChannels[rng() % 5];
  e.event.store = "s-" + std::to_string(rng() % 40);
  e.event.order_id = "o-" + std::to_string(order);
  std::int64_t total_cents = 0;
  std::size_t items = 1 + rng() % 3;
  for (std::size_t i = 0; i < items; ++i) {
    rules::Item item;
    item.sku = "SKU-" + std::to_string(rng() % 1000);
    item.category = kCategories[rng() % 5];
    item.quantity = 1 + static_cast<std::int64_t>(rng() % 2);
    std::int64_t cents = 499 + static_cast<std::int64_t>(rng() % 6000);
    item.unit_price = Decimal::parse(std::to_string(cents / 100) + "." +
                                     std::to_string(100 + cents % 100).substr(1))
                          .value();
    std::int64_t line = cents * item.quantity;
    item.total = Decimal::parse(std::to_string(line / 100) + "." +
                                std::to_string(100 + line % 100).substr(1))
                     .value();
    total_cents += line;
    e.event.items.push_back(std::move(item));
  }
  e.event.total = Decimal::parse(std::to_string(total_cents / 100) + "." +
                                 std::to_string(100 + total_cents % 100).substr(1))
                      .value();
  return e;
}

// One driver thread plays the part of an API I/O thread: it submits the next command of each
// submitter whose previous one completed (closed loop). Completions arrive on the writer
// thread and are handed over through a small queue, as the server posts them.
class Driver {
 public:
  Driver(ledger::Ledger& ledger, std::uint64_t members, bool idempotency, int id)
      : ledger_(ledger), members_(members), idempotency_(idempotency), rng_(1234 + id),
        id_(id) {}

  void start(std::size_t submitters, Steady::time_point measure_from,
             Steady::time_point measure_to) {
    from_ = measure_from;
    to_ = measure_to;
    started_.assign(submitters, Steady::time_point{});
    thread_ = std::thread([this, submitters] { loop(submitters); });
  }
  void join() { thread_.join(); }

  std::vector<std::int64_t> latencies_us;  // of completions inside the measured window
  std::uint64_t completed_in_window = 0;
  std::uint64_t failed = 0;

 private:
  void submit(std::size_t slot) {
    auto cmd = make_purchase(rng_, members_, ++orders_ * 16 + static_cast<std::uint64_t>(id_));
    std::optional<ledger::IdempotencyRequest> idem;
    if (idempotency_) {
      ledger::IdempotencyRequest r;
      r.scope = "pos";
      r.key = "d" + std::to_string(id_) + "-" + std::to_string(orders_) + "-" +
              std::to_string(run_);
      for (std::size_t i = 0; i < r.fingerprint.size(); ++i) {
        r.fingerprint[i] = static_cast<std::uint8_t>(rng_());
      }
      idem = std::move(r);
    }
    started_[slot] = Steady::now();
    ledger_.submit(std::move(cmd), std::move(idem), [this, slot](ledger::CommandOutcome out) {
      bool ok = out.status.is_ok();
      // Notified under the lock: the driver may finish and go away as soon as it sees this.
      std::lock_guard lock(mu_);
      done_.push_back({slot, ok, Steady::now()});
      cv_.notify_one();
    });
  }

  void loop(std::size_t submitters) {
    static std::atomic<int> runs{0};
    run_ = ++runs;  // idempotency keys unique across rows
    for (std::size_t s = 0; s < submitters; ++s) submit(s);
    std::size_t in_flight = submitters;
    std::vector<Done> batch;
    while (in_flight > 0) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !done_.empty(); });
        batch.assign(done_.begin(), done_.end());
        done_.clear();
      }
      for (const auto& d : batch) {
        --in_flight;
        if (!d.ok) ++failed;
        if (d.at >= from_ && d.at < to_) {
          ++completed_in_window;
          latencies_us.push_back(
              std::chrono::duration_cast<std::chrono::microseconds>(d.at - started_[d.slot])
                  .count());
        }
        if (d.at < to_) {
          submit(d.slot);
          ++in_flight;
        }
      }
    }
  }

  struct Done {
    std::size_t slot;
    bool ok;
    Steady::time_point at;
  };
  ledger::Ledger& ledger_;
  std::uint64_t members_;
  bool idempotency_;
  std::mt19937_64 rng_;
  int id_;
  std::uint64_t orders_ = 0;
  int run_ = 0;
  Steady::time_point from_, to_;
  std::vector<Steady::time_point> started_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Done> done_;
  std::thread thread_;
};

// CPU seconds used so far by the busiest thread of this process (the ledger's writer during
// a row): the writer's cost per command, which a busy machine distorts less than rates.
double busiest_thread_cpu_seconds(std::map<int, double>* per_thread) {
  double best = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/task")) {
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stoull(f);
      if (i == 15) stime = std::stoull(f);
    }
    int tid = std::stoi(entry.path().filename().string());
    double cpu = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
    if (per_thread) {
      double delta = cpu - (*per_thread)[tid];
      (*per_thread)[tid] = cpu;
      best = std::max(best, delta);
    }
  }
  return best;
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

std::string batch_histogram(const ledger::LedgerStats& a, const ledger::LedgerStats& b) {
  std::string out;
  for (std::size_t k = 0; k < a.batch_size_log2.size(); ++k) {
    std::uint64_t n = b.batch_size_log2[k] - a.batch_size_log2[k];
    if (n == 0) continue;
    if (!out.empty()) out += " ";
    out += std::to_string(1u << k) + "+:" + std::to_string(n);
  }
  return out;
}

ledger::IdempotencyRequest replay_request(std::uint64_t i) {
  ledger::IdempotencyRequest r;
  r.scope = "replay";
  r.key = "k-" + std::to_string(i);
  r.fingerprint.fill(static_cast<std::uint8_t>(i));
  return r;
}

// How long the writer takes to answer a retry whose idempotency record was written
// recently (still in the memtable), against a new command, one at a time.
void measure_replays(ledger::Ledger& ledger, int replays, std::uint64_t members) {
  constexpr std::uint64_t written = 50'000;
  std::atomic<std::uint64_t> done{0};
  for (std::uint64_t i = 0; i < written; ++i) {
    while (i - done.load() >= 2'048) std::this_thread::yield();
    ledger.submit(ledger::Adjust{.member = member_id(i % members), .points = 1, .reason = "r"},
                  replay_request(i), [&](ledger::CommandOutcome) { done.fetch_add(1); });
  }
  while (done.load() < written) std::this_thread::yield();
  auto time_one = [&](std::uint64_t i) {
    auto t = Steady::now();
    auto out = ledger
                   .submit(ledger::Adjust{.member = member_id(i % members), .points = 1,
                                          .reason = "r"},
                           replay_request(i))
                   .get();
    if (i < written && !out.replayed) std::fprintf(stderr, "ledger_bench: no replay\n");
    return std::chrono::duration<double, std::micro>(Steady::now() - t).count();
  };
  std::vector<std::int64_t> fresh, replayed;
  for (int k = 0; k < replays; ++k) {
    fresh.push_back(static_cast<std::int64_t>(time_one(written + 1'000'000 + k)));
    replayed.push_back(static_cast<std::int64_t>(time_one(written - 1 - k * 97 % written)));
  }
  std::printf("\nidempotency, %llu records written: new command p50 %lld µs; replay p50 %lld "
              "µs, p99 %lld µs (%d each, one at a time)\n",
              static_cast<unsigned long long>(written),
              static_cast<long long>(percentile(fresh, 0.5)),
              static_cast<long long>(percentile(replayed, 0.5)),
              static_cast<long long>(percentile(replayed, 0.99)), replays);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ledger_bench: durable purchases per second through the ledger's writer"};
  int seconds = 10;
  std::uint64_t members = 100'000;
  std::vector<std::size_t> submitters{1, 16, 64, 256};
  std::string data;
  std::string rules_file = std::string(ENCORE_DEFAULT_SOURCE_DIR) +
                           "/../shared/bench/peers/rules/encore/offers.json";
  bool no_idempotency = false;
  int drivers_max = 2;
  std::string sync = "pipelined";
  std::size_t memtable_mb = 0;
  int replays = 0;
  app.add_option("--seconds", seconds, "measured seconds per row (after 1 s of warm-up)");
  app.add_option("--members", members, "members enrolled first");
  app.add_option("--submitters", submitters, "concurrent submitters per row")->delimiter(',');
  app.add_option("--data", data, "data dir (default: a fresh dir under /tmp, removed after)");
  app.add_option("--rules", rules_file, "rule file (default: the peers' 20 offers)");
  app.add_flag("--no-idempotency", no_idempotency, "submit without idempotency records");
  app.add_option("--drivers", drivers_max, "threads that submit (like API I/O threads)");
  app.add_option("--memtable-mb", memtable_mb, "RocksDB memtable MiB per family (0: default)");
  app.add_option("--sync", sync, "pipelined (default) or per_batch")
      ->check(CLI::IsMember({"pipelined", "per_batch"}));
  app.add_option("--replays", replays,
                 "after the rows: write 50,000 idempotent adjustments, then time this many "
                 "replays of recent keys, one at a time");
  CLI11_PARSE(app, argc, argv);

  bool remove_after = data.empty();
  if (data.empty()) data = "/tmp/encore-ledger-bench-" + std::to_string(::getpid());
  fs::remove_all(data);
  auto loaded = rules::load_files({rules::RuleFile{"offers.json", read_file(rules_file)}});
  if (!loaded.rule_set) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  SystemClock clock;
  ledger::LedgerOptions options{.data_dir = data, .clock = &clock};
  options.memtable_mb = memtable_mb;
  options.sync_mode =
      sync == "per_batch" ? ledger::SyncMode::per_batch : ledger::SyncMode::pipelined;
  auto opened = ledger::Ledger::open(options, loaded.rule_set);
  if (!opened) {
    std::fprintf(stderr, "ledger_bench: %s\n", opened.error().detail.c_str());
    return 1;
  }
  auto& ledger = **opened;

  // Enroll, keeping a bounded number in flight (the queue refuses beyond its limit).
  auto t0 = Steady::now();
  {
    std::atomic<std::uint64_t> done{0};
    std::atomic<std::uint64_t> failed{0};
    constexpr std::uint64_t window = 4'096;
    for (std::uint64_t i = 0; i < members; ++i) {
      while (i - done.load() >= window) std::this_thread::yield();
      ledger.submit(ledger::EnrollMember{.id = member_id(i)}, std::nullopt,
                    [&](ledger::CommandOutcome out) {
                      if (!out.status) failed.fetch_add(1);
                      done.fetch_add(1);
                    });
    }
    while (done.load() < members) std::this_thread::yield();
    if (failed.load() > 0) {
      std::fprintf(stderr, "ledger_bench: %llu enrollments failed\n",
                   static_cast<unsigned long long>(failed.load()));
      return 1;
    }
  }
  double enroll_s = std::chrono::duration<double>(Steady::now() - t0).count();
  std::printf("enrolled %llu members in %.1f s (%.0f/s); rules: %zu offers; idempotency %s; "
              "sync %s\n\n",
              static_cast<unsigned long long>(members), enroll_s,
              static_cast<double>(members) / enroll_s, loaded.rule_set->offers().size(),
              no_idempotency ? "off" : "on", sync.c_str());
  std::printf("| submitters | purchases/s | p50 ms | p99 ms | mean batch | writer CPU µs/cmd "
              "| batches by size (commands: count) |\n|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);

  for (std::size_t n : submitters) {
    int drivers = static_cast<int>(std::min<std::size_t>(n, static_cast<std::size_t>(drivers_max)));
    std::vector<std::unique_ptr<Driver>> ds;
    for (int d = 0; d < drivers; ++d) {
      ds.push_back(std::make_unique<Driver>(ledger, members, !no_idempotency, d));
    }
    auto start = Steady::now();
    auto from = start + std::chrono::seconds(1);
    auto to = from + std::chrono::seconds(seconds);
    ledger::LedgerStats before{};
    for (int d = 0; d < drivers; ++d) {
      std::size_t share = n / static_cast<std::size_t>(drivers) +
                          (static_cast<std::size_t>(d) < n % static_cast<std::size_t>(drivers));
      ds[static_cast<std::size_t>(d)]->start(share, from, to);
    }
    std::this_thread::sleep_until(from);
    std::map<int, double> cpu;
    busiest_thread_cpu_seconds(&cpu);
    before = ledger.stats();
    std::this_thread::sleep_until(to);
    ledger::LedgerStats after = ledger.stats();
    double writer_cpu = busiest_thread_cpu_seconds(&cpu);
    for (auto& d : ds) d->join();
    std::vector<std::int64_t> lat;
    std::uint64_t completed = 0;
    std::uint64_t failed = 0;
    for (auto& d : ds) {
      lat.insert(lat.end(), d->latencies_us.begin(), d->latencies_us.end());
      completed += d->completed_in_window;
      failed += d->failed;
    }
    double rate = static_cast<double>(completed) / seconds;
    double mean_batch = after.batches > before.batches
                            ? static_cast<double>(after.commands - before.commands) /
                                  static_cast<double>(after.batches - before.batches)
                            : 0.0;
    std::uint64_t commands = after.commands - before.commands;
    double writer_us = commands ? writer_cpu * 1e6 / static_cast<double>(commands) : 0.0;
    std::printf("| %zu | %.0f | %.2f | %.2f | %.1f | %.1f | %s |\n", n, rate,
                static_cast<double>(percentile(lat, 0.50)) / 1000.0,
                static_cast<double>(percentile(lat, 0.99)) / 1000.0, mean_batch, writer_us,
                batch_histogram(before, after).c_str());
    if (failed > 0) {
      std::printf("  (%llu commands failed)\n", static_cast<unsigned long long>(failed));
    }
    std::fflush(stdout);
  }
  if (replays > 0) measure_replays(ledger, replays, members);
  auto stats = ledger.stats();
  std::printf("\njournal: %llu entries, %llu commands in %llu batches\n",
              static_cast<unsigned long long>(stats.last_seq),
              static_cast<unsigned long long>(stats.commands),
              static_cast<unsigned long long>(stats.batches));
  opened->reset();
  if (remove_after) fs::remove_all(data);
  return 0;
}
