// The crash test's child (ledger_crash_child DATA_DIR ROUND THREADS SEED): opens the ledger
// and submits idempotent commands from several threads until it is killed, printing each
// command before it is submitted and again once acknowledged (durable), flushed at once.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "rules/base/clock.h"
#include "tests/ledger/crash_protocol.h"

namespace {

// One write(2) per line: a line is never torn, even when the process dies mid-run.
void say(const std::string& text) {
  std::string line = text + "\n";
  ssize_t n = ::write(STDOUT_FILENO, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) std::_Exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace encore;
  using namespace encore::ledger;
  if (argc != 5) {
    std::fprintf(stderr, "usage: ledger_crash_child DATA_DIR ROUND THREADS SEED\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string round = argv[2];
  const int threads = std::atoi(argv[3]);
  const std::uint64_t seed = std::strtoull(argv[4], nullptr, 10);
  SystemClock clock;
  auto opened = Ledger::open({.data_dir = dir, .clock = &clock}, nullptr);
  if (!opened) {
    std::fprintf(stderr, "crash child: %s\n", opened.error().detail.c_str());
    return 1;
  }
  Ledger& ledger = **opened;
  say("READY");
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 1000 + static_cast<std::uint64_t>(t));
      for (std::uint64_t i = 0;; ++i) {
        crash::CrashCommand c;
        c.key = "r" + round + "-t" + std::to_string(t) + "-" + std::to_string(i);
        c.member = "k-" + std::to_string(rng() % 12);
        switch (rng() % 3) {
          case 0: c.kind = "adjust"; c.points = 1 + static_cast<std::int64_t>(rng() % 40); break;
          case 1: c.kind = "redeem"; c.points = 1 + static_cast<std::int64_t>(rng() % 60); break;
          default: c.kind = "purchase"; c.points = static_cast<std::int64_t>(rng() % 90); break;
        }
        say("S " + c.line());
        auto out = ledger.submit(c.command(), c.idempotency()).get();
        if (!out.status && out.status.code() == ErrorCode::unavailable) std::_Exit(4);
        say("A " + c.key + " " + std::to_string(crash::effect_of(out)));
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}
