// Proves durability across SIGKILL (slow; bounded to 20 rounds, ~10 s): a child process writes
// idempotent commands from several threads and is killed at a random moment, repeatedly.
// After each kill: every acknowledged command's idempotency record replays and writes
// nothing; every command the child submitted has taken effect exactly once when retried
// (acked is a subset of durable); every balance equals the sum of those effects; verify passes.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "tests/ledger/crash_protocol.h"
#include "tests/ledger/ledger_test_util.h"

namespace encore::ledger::testing {
namespace {

constexpr int kRounds = 20;
constexpr int kMembers = 12;
constexpr int kChildThreads = 6;

struct ChildRun {
  std::vector<crash::CrashCommand> submitted;
  std::map<std::string, std::int64_t> acked;  // key -> effect reported to the child
  bool ready = false;
  int status = 0;
};

// Starts the child, lets it write for `run_ms` after it is ready, kills it with SIGKILL and
// collects what it printed.
ChildRun run_child(const std::filesystem::path& dir, int round, std::uint64_t seed, int run_ms) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  const std::string r = std::to_string(round);
  const std::string t = std::to_string(kChildThreads);
  const std::string s = std::to_string(seed);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(ENCORE_CRASH_CHILD_PATH, ENCORE_CRASH_CHILD_PATH, dir.c_str(), r.c_str(), t.c_str(),
            s.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  ChildRun run;
  std::string buffer;
  auto consume = [&](bool final) {
    std::size_t pos;
    while ((pos = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, pos);
      buffer.erase(0, pos + 1);
      if (line == "READY") {
        run.ready = true;
      } else if (line.starts_with("S ")) {
        auto c = crash::CrashCommand::parse(line.substr(2));
        REQUIRE(c);
        run.submitted.push_back(*c);
      } else if (line.starts_with("A ")) {
        auto space = line.find(' ', 2);
        run.acked[line.substr(2, space - 2)] = std::stoll(line.substr(space + 1));
      }
    }
    if (final) buffer.clear();  // a torn last line cannot happen (one write each); ignore
  };
  char chunk[65536];
  auto deadline = std::chrono::steady_clock::time_point::max();
  bool killed = false;
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  while (true) {
    ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n > 0) {
      buffer.append(chunk, static_cast<std::size_t>(n));
      consume(false);
      if (run.ready && deadline == std::chrono::steady_clock::time_point::max()) {
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
      }
      continue;
    }
    if (n == 0) break;  // the child exited on its own (it should not)
    if (!killed && std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  // After the kill, drain whatever was written before it died.
  ::close(fds[0]);
  consume(true);
  REQUIRE(::waitpid(pid, &run.status, 0) == pid);
  return run;
}

}  // namespace

TEST_CASE("after SIGKILL under load, every acknowledged command is durable and verify passes") {
  TempDir dir;
  auto rules = simple_rules();
  SystemClock clock;
  std::map<std::string, std::int64_t> expected_total;
  {
    auto l = Ledger::open({.data_dir = dir.path(), .clock = &clock}, rules);
    REQUIRE(l);
    for (int m = 0; m < kMembers; ++m) {
      std::string id = "k-" + std::to_string(m);
      REQUIRE((*l)->submit(EnrollMember{.id = id}).get().status);
      expected_total[id] = 0;
    }
  }
  const std::uint64_t seed = std::random_device{}();
  INFO("crash test seed " << seed);
  std::mt19937_64 rng(seed);
  std::size_t acked_total = 0;
  std::size_t unacked_durable = 0;
  std::size_t unacked_lost = 0;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    int run_ms = 20 + static_cast<int>(rng() % 400);
    ChildRun run = run_child(dir.path(), round, seed + static_cast<std::uint64_t>(round), run_ms);
    REQUIRE(run.ready);
    CHECK(WIFSIGNALED(run.status));
    CHECK(WTERMSIG(run.status) == SIGKILL);
    acked_total += run.acked.size();

    auto l = Ledger::open({.data_dir = dir.path(), .clock = &clock}, nullptr);
    REQUIRE(l);
    Ledger& ledger = **l;
    // Acknowledged: the record replays the stored response and writes nothing.
    const Seq before = ledger.last_seq();
    std::vector<std::pair<const crash::CrashCommand*, std::future<CommandOutcome>>> probes;
    for (const auto& c : run.submitted) {
      if (run.acked.contains(c.key)) {
        probes.emplace_back(&c, ledger.submit(c.command(), c.idempotency()));
      }
    }
    for (auto& [c, future] : probes) {
      auto out = future.get();
      const std::int64_t effect = run.acked.at(c->key);
      INFO("acknowledged " << c->line());
      REQUIRE(out.replayed);
      CHECK(crash::effect_of(out) == effect);
      expected_total[c->member] += effect;
    }
    CHECK(ledger.last_seq() == before);
    // Not acknowledged: durable (replays) or lost (applies now); either way exactly once.
    for (const auto& c : run.submitted) {
      if (run.acked.contains(c.key)) continue;
      auto out = ledger.submit(c.command(), c.idempotency()).get();
      INFO("unacknowledged " << c.line());
      if (out.replayed) {
        ++unacked_durable;
      } else {
        ++unacked_lost;
        CHECK((out.status.is_ok() || out.status.code() == ErrorCode::insufficient_points));
      }
      expected_total[c.member] += crash::effect_of(out);
    }
    for (const auto& [id, total] : expected_total) {
      INFO("member " << id);
      auto b = ledger.balance(id);
      REQUIRE(b);
      CHECK(b->total() == total);
      CHECK(b->available >= 0);
    }
    l->reset();
    VerifyReport report;
    Status s = verify(dir.path(), {}, &report);
    if (!s) FAIL(s.error().detail);
  }
  MESSAGE("crash test: " << acked_total << " acknowledged commands survived " << kRounds
                         << " kills; of the unacknowledged, " << unacked_durable
                         << " were durable and " << unacked_lost << " were not");
  CHECK(acked_total > 0);
}

}  // namespace encore::ledger::testing
