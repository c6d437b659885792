// encored: the Encore HTTP server. Loads the keys and the rule set (refusing to start on
// any rule error), opens the ledger, serves HTTP until SIGTERM/SIGINT, reloads rules on
// SIGHUP. See docs/operations.md.
#include <CLI/CLI.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "api/handler.h"
#include "api/server.h"
#include "ledger/ledger.h"
#include "rules/base/clock.h"
#include "rules/rules.h"

namespace {

using namespace encore;

// Answers a handler response synchronously (SIGHUP reload).
api::Response wait_for(api::Response r) {
  if (!r.pending) return r;
  std::promise<void> promise;
  auto future = promise.get_future();
  r.pending->start([&promise] { promise.set_value(); });
  future.get();
  return r.pending->finish();
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by sigwait() below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"encored: the Encore loyalty points ledger server"};
  std::string data_dir;
  std::string rules_dir;
  std::string listen = "127.0.0.1:8080";
  std::string keys_file;
  bool manual_clock = false;
  api::ServerOptions opts;
  int read_timeout_s = 10;
  int idle_timeout_s = 60;
  int drain_timeout_s = 10;
  std::string metrics_listen;
  std::string log_level = "info";
  std::size_t queue_max = 0;
  std::size_t batch_max = 0;
  std::size_t memtable_mb = 0;
  app.add_option("--data", data_dir, "Data directory (created if missing)")->required();
  app.add_option("--rules", rules_dir, "Rules directory (must hold a valid rule set)")
      ->required();
  app.add_option("--listen", listen, "HOST:PORT to serve HTTP on")->capture_default_str();
  app.add_option("--keys", keys_file, "API keys file, one role:key per line")->required();
  app.add_flag("--manual-clock", manual_clock,
               "Run on a manual clock moved by POST /v1/admin/clock (tests)");
  app.add_option("--threads", opts.io_threads, "I/O threads (0: one per core)")
      ->capture_default_str();
  app.add_option("--body-limit", opts.body_bytes_max, "Largest request body in bytes")
      ->capture_default_str();
  app.add_option("--header-limit", opts.header_bytes_max, "Largest request head in bytes")
      ->capture_default_str();
  app.add_option("--read-timeout", read_timeout_s, "Seconds to read a request or write an answer")
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout_s, "Seconds a kept-alive connection may idle")
      ->capture_default_str();
  app.add_option("--drain-timeout", drain_timeout_s,
                 "Seconds requests in flight may take to finish on shutdown")
      ->capture_default_str();
  app.add_option("--max-connections", opts.connections_max, "Open connections at most")
      ->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen,
                 "HOST:PORT serving /metrics without a key (default: none)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  app.add_option("--queue-max", queue_max, "Writer queue capacity (0: the ledger's default)")
      ->capture_default_str();
  app.add_option("--batch-max", batch_max, "Commands per group commit (0: the ledger's default)")
      ->capture_default_str();
  app.add_option("--memtable-mb", memtable_mb,
                 "RocksDB memtable MiB per column family (0: the ledger's default, 64)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Request lines are written by a background thread, so an I/O thread never waits on
  // stdout; under overload the oldest queued lines are dropped rather than stall requests.
  spdlog::init_thread_pool(16 * 1024, 1);
  auto logger = std::make_shared<spdlog::async_logger>(
      "encored", std::make_shared<spdlog::sinks::stdout_sink_mt>(), spdlog::thread_pool(),
      spdlog::async_overflow_policy::overrun_oldest);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));
  opts.read_timeout = std::chrono::seconds(read_timeout_s);
  opts.idle_timeout = std::chrono::seconds(idle_timeout_s);
  opts.drain_timeout = std::chrono::seconds(drain_timeout_s);
  if (auto st = api::parse_listen_address(listen, opts.host, opts.port); !st) {
    std::fprintf(stderr, "encored: --listen: %s\n", st.error().detail.c_str());
    return 2;
  }
  if (!metrics_listen.empty()) {
    if (auto st = api::parse_listen_address(metrics_listen, opts.metrics_host, opts.metrics_port);
        !st) {
      std::fprintf(stderr, "encored: --metrics-listen: %s\n", st.error().detail.c_str());
      return 2;
    }
  }

  auto keys = api::load_keys_file(keys_file);
  if (!keys) {
    std::fprintf(stderr, "encored: --keys: %s\n", keys.error().detail.c_str());
    return 2;
  }
  if (!std::filesystem::is_directory(rules_dir)) {
    std::fprintf(stderr, "encored: --rules: %s is not a directory\n", rules_dir.c_str());
    return 1;
  }
  auto loaded = rules::load_directory(rules_dir);
  if (!loaded.rule_set) {
    std::fprintf(stderr, "encored: the rule set in %s is invalid:\n", rules_dir.c_str());
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 1;
  }
  std::error_code fs_error;
  std::filesystem::create_directories(data_dir, fs_error);
  if (fs_error) {
    std::fprintf(stderr, "encored: --data: cannot create %s: %s\n", data_dir.c_str(),
                 fs_error.message().c_str());
    return 1;
  }

  SystemClock system_clock;
  std::unique_ptr<ManualClock> manual;
  ledger::LedgerOptions lopts;
  lopts.data_dir = data_dir;
  lopts.clock = &system_clock;
  if (manual_clock) {
    manual = std::make_unique<ManualClock>(system_clock.now());
    lopts.clock = manual.get();
    lopts.manual_clock = manual.get();
  }
  lopts.queue_max = queue_max;
  lopts.batch_max = batch_max;
  lopts.memtable_mb = memtable_mb;
  auto opened = ledger::Ledger::open(lopts, loaded.rule_set);
  if (!opened) {
    std::fprintf(stderr, "encored: cannot open the ledger in %s: %s\n", data_dir.c_str(),
                 opened.error().detail.c_str());
    return 1;
  }
  std::unique_ptr<ledger::Ledger> ledger = std::move(*opened);

  auto metrics = api::make_metrics();
  api::set_metrics_rule_set(*metrics, ledger->rules().rule_set->version());
  api::Context ctx;
  ctx.keys = keys->get();
  ctx.metrics = metrics.get();
  ctx.ledger = ledger.get();
  api::add_ledger_metrics(ctx);
  ctx.manual_clock = manual.get();
  ctx.rules_dir = rules_dir;

  auto server = std::make_unique<api::Server>(opts, ctx);
  if (auto st = server->start(); !st) {
    std::fprintf(stderr, "encored: %s\n", st.error().detail.c_str());
    return 1;
  }
  spdlog::info("encored listening on {}:{} (rules {}, data {}{})", opts.host, server->port(),
               ledger->rules().rule_set->version(), data_dir,
               manual_clock ? ", manual clock" : "");
  ctx.readiness.store(api::Readiness::ready, std::memory_order_release);
  std::thread io([&server] { server->run(); });

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      api::Response r = wait_for(api::reload_rules(ctx));
      if (r.status == 200) {
        spdlog::info("rules reloaded: {}", ledger->rules().rule_set->version());
      } else {
        spdlog::error("rules reload refused ({}): {}", r.status, r.body);
      }
      continue;
    }
    spdlog::info("signal {}: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server->stop();
    break;
  }
  io.join();
  ledger.reset();  // drains the writer's queue and closes RocksDB
  server.reset();  // after the ledger: late completions post to the server's I/O contexts
  spdlog::info("encored stopped");
  spdlog::shutdown();  // writes out the queued log lines
  return 0;
}
