// Prometheus text exposition of the server's metrics.
#include "api/internal/metrics.h"

#include <fmt/format.h>

namespace encore::api::internal {

namespace {

constexpr std::array<int, Metrics::status_slots - 1> known_statuses = {
    200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503};

constexpr std::array<std::uint64_t, Metrics::latency_buckets> latency_bounds_us = {
    100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 1'000'000};

std::size_t status_slot(int status) {
  for (std::size_t i = 0; i < known_statuses.size(); ++i) {
    if (known_statuses[i] == status) return i;
  }
  return known_statuses.size();
}

// Prometheus label values escape backslash, quote and newline; ours are route patterns
// and rule-set versions, escaped anyway.
std::string label(std::string_view v) {
  std::string s;
  for (char c : v) {
    if (c == '\\' || c == '"') s.push_back('\\');
    if (c == '\n') {
      s += "\\n";
      continue;
    }
    s.push_back(c);
  }
  return s;
}

template <std::size_t N>
void render_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const HistogramTotals<N>& h, const std::array<std::uint64_t, N>& bounds,
                      double divisor) {  // divided, not scaled: 100 / 1e6 prints 0.0001
  std::uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i <= N; ++i) {
    cumulative += h.buckets[i];
    std::string le = i < N ? fmt::format("{}", static_cast<double>(bounds[i]) / divisor) : "+Inf";
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep,
                   le, cumulative);
  }
  const std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n", name, braces,
                 static_cast<double>(h.sum) / divisor);
  fmt::format_to(std::back_inserter(out), "{}_count{} {}\n", name, braces, h.count);
}

}  // namespace

void Metrics::observe_request(int route_index, int status, std::uint64_t micros) {
  const std::size_t r = route_index < 0 ? route_count : static_cast<std::size_t>(route_index);
  RouteStats& stats = own_shard().routes[r];
  stats.by_status[status_slot(status)].fetch_add(1, std::memory_order_relaxed);
  stats.latency.observe(latency_bounds_us, micros);
}

Metrics::Shard& Metrics::own_shard() {
  static std::atomic<std::size_t> threads_seen{0};
  thread_local const std::size_t index =
      threads_seen.fetch_add(1, std::memory_order_relaxed) % shard_count;
  return (*shards_)[index];
}

std::uint64_t Metrics::requests(std::size_t route, std::size_t status_slot) const {
  std::uint64_t n = 0;
  for (const Shard& s : *shards_) {
    n += s.routes[route].by_status[status_slot].load(std::memory_order_relaxed);
  }
  return n;
}

HistogramTotals<Metrics::latency_buckets> Metrics::latency(std::size_t route) const {
  HistogramTotals<latency_buckets> totals;
  for (const Shard& s : *shards_) totals.add(s.routes[route].latency);
  return totals;
}

void Metrics::set_rule_set_version(std::string version) {
  std::lock_guard lock(mu_);
  rule_set_version_ = std::move(version);
}

void Metrics::add_collector(std::function<void(std::string&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(16 * 1024);
  auto route_label = [](std::size_t r) {
    return r < route_count ? route(static_cast<RouteId>(r)).pattern : std::string_view("unmatched");
  };
  out += "# HELP encore_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE encore_http_requests_total counter\n";
  for (std::size_t r = 0; r < route_slots; ++r) {
    for (std::size_t s = 0; s < status_slots; ++s) {
      const auto n = requests(r, s);
      if (n == 0) continue;
      const std::string status =
          s < known_statuses.size() ? std::to_string(known_statuses[s]) : "other";
      fmt::format_to(std::back_inserter(out),
                     "encore_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                     label(route_label(r)), status, n);
    }
  }
  out += "# HELP encore_http_request_duration_seconds Time from request read to response "
         "written.\n";
  out += "# TYPE encore_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < route_slots; ++r) {
    const auto totals = latency(r);
    if (totals.count == 0) continue;
    render_histogram(out, "encore_http_request_duration_seconds",
                     fmt::format("route=\"{}\"", label(route_label(r))), totals,
                     latency_bounds_us, 1e6);
  }
  out += "# HELP encore_http_open_connections Open HTTP connections.\n";
  out += "# TYPE encore_http_open_connections gauge\n";
  fmt::format_to(std::back_inserter(out), "encore_http_open_connections {}\n",
                 open_connections());
  std::lock_guard lock(mu_);
  out += "# HELP encore_rule_set_info The rule set in force (its version as a label).\n";
  out += "# TYPE encore_rule_set_info gauge\n";
  fmt::format_to(std::back_inserter(out), "encore_rule_set_info{{version=\"{}\"}} 1\n",
                 label(rule_set_version_));
  for (const auto& c : collectors_) c(out);
  return out;
}

void render_fsync_seconds(std::string& out, const ledger::LedgerStats& stats) {
  constexpr std::string_view name = "encore_fsync_seconds";
  const auto& bounds = ledger::LedgerStats::fsync_bounds_us;
  fmt::format_to(std::back_inserter(out),
                 "# HELP {} Time of one WAL sync (fsync) of the ledger's writes.\n"
                 "# TYPE {} histogram\n",
                 name, name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < stats.fsync_buckets.size(); ++i) {
    cumulative += stats.fsync_buckets[i];
    const std::string le =
        i < bounds.size() ? fmt::format("{}", static_cast<double>(bounds[i]) / 1e6) : "+Inf";
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name, le, cumulative);
  }
  fmt::format_to(std::back_inserter(out), "{}_sum {}\n", name,
                 static_cast<double>(stats.fsync_sum_us) / 1e6);
  fmt::format_to(std::back_inserter(out), "{}_count {}\n", name, stats.fsync_count);
}

}  // namespace encore::api::internal
