// Server metrics (api/internal) in Prometheus text format: requests by route and status,
// latency histograms, open connections, the rule-set version, and the ledger's WAL fsync
// latency histogram (rendered from LedgerStats at scrape). Lock-free on the hot path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/internal/router.h"
#include "ledger/ledger.h"

namespace encore::api::internal {

// A cumulative histogram with fixed upper bounds (the last bucket is +Inf).
template <std::size_t N>
struct Histogram {
  std::array<std::atomic<std::uint64_t>, N + 1> buckets{};
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum{0};
  void observe(const std::array<std::uint64_t, N>& bounds, std::uint64_t v) {
    std::size_t i = 0;
    while (i < N && v > bounds[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    sum.fetch_add(v, std::memory_order_relaxed);
  }
};

// A histogram's counts summed over shards, read at scrape.
template <std::size_t N>
struct HistogramTotals {
  std::array<std::uint64_t, N + 1> buckets{};
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  void add(const Histogram<N>& h) {
    for (std::size_t i = 0; i <= N; ++i) {
      buckets[i] += h.buckets[i].load(std::memory_order_relaxed);
    }
    count += h.count.load(std::memory_order_relaxed);
    sum += h.sum.load(std::memory_order_relaxed);
  }
};

class Metrics {
 public:
  static constexpr std::size_t status_slots = 14;  // 13 known statuses + other
  static constexpr std::size_t route_slots = route_count + 1;  // + unmatched
  static constexpr std::size_t latency_buckets = 12;

  // route_index: RouteId or -1.
  void observe_request(int route_index, int status, std::uint64_t micros);
  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }

  void set_rule_set_version(std::string version);
  // Runs at each scrape; appends more Prometheus text (e.g. gauges read from the ledger).
  void add_collector(std::function<void(std::string&)> collector);

  std::string render() const;

 private:
  struct RouteStats {
    std::array<std::atomic<std::uint64_t>, status_slots> by_status{};
    Histogram<latency_buckets> latency;
  };
  // Each I/O thread counts in its own shard (summed at scrape), so two threads answering
  // the same route do not pass its counters' cache lines back and forth on every request.
  static constexpr std::size_t shard_count = 8;
  struct alignas(64) Shard {
    std::array<RouteStats, route_slots> routes{};
  };
  // The calling thread's shard: threads take shards in turn as they first count.
  Shard& own_shard();
  std::uint64_t requests(std::size_t route, std::size_t status_slot) const;
  HistogramTotals<latency_buckets> latency(std::size_t route) const;
  std::unique_ptr<std::array<Shard, shard_count>> shards_ =
      std::make_unique<std::array<Shard, shard_count>>();
  std::atomic<std::int64_t> open_connections_{0};
  mutable std::mutex mu_;  // guards the two below (rare writes, read at scrape)
  std::string rule_set_version_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

// Appends the histogram encore_fsync_seconds (# HELP, # TYPE, cumulative _bucket lines ending
// with le="+Inf", _sum, _count) from the ledger's WAL sync timings.
void render_fsync_seconds(std::string& out, const ledger::LedgerStats& stats);

}  // namespace encore::api::internal
