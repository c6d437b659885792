// `encore verify --data DIR`: replays a ledger's journal from empty and compares every
// balance, lot, hold, counter and the chain head with what is stored (ledger::verify).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "ledger/ledger.h"
#include "tools/encore/commands.h"

namespace encore::cli {
namespace {

// A bar on stderr, redrawn at most ten times a second; only on a terminal.
class ProgressBar {
 public:
  void update(Seq done, Seq total) {
    auto now = std::chrono::steady_clock::now();
    if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    constexpr int width = 40;
    int filled = total == 0 ? width : static_cast<int>(done * width / total);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\rverifying [%s] %llu/%llu entries", bar.c_str(),
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    std::fflush(stderr);
  }
  void finish() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

 private:
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

int run_verify(const std::string& data_dir) {
  ProgressBar bar;
  ledger::VerifyProgress progress;
  if (::isatty(STDERR_FILENO)) {
    progress = [&bar](Seq done, Seq total) { bar.update(done, total); };
  }
  ledger::VerifyReport report;
  auto started = std::chrono::steady_clock::now();
  Status s = ledger::verify(data_dir, progress, &report);
  bar.finish();
  if (!s) {
    if (s.code() == ErrorCode::internal) {
      std::fprintf(stderr, "encore verify: DIFFERENCE after %llu entries: %s\n",
                   static_cast<unsigned long long>(report.entries), s.error().detail.c_str());
      return 2;
    }
    std::fprintf(stderr, "encore verify: %s\n", s.error().detail.c_str());
    return 1;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("ok: %llu entries replayed, %llu members, %llu lots, %llu holds match; "
              "chain head %s (%.1f s)\n",
              static_cast<unsigned long long>(report.entries),
              static_cast<unsigned long long>(report.members),
              static_cast<unsigned long long>(report.lots),
              static_cast<unsigned long long>(report.holds),
              report.chain_head.empty() ? "(empty journal)" : report.chain_head.c_str(),
              seconds);
  return 0;
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "verify",
      "replay the journal from empty and compare every balance, lot, hold, counter and the "
      "chain head with what is stored (exit 0: identical; 2: a difference; 1: cannot read)");
  auto data_dir = std::make_shared<std::string>();
  cmd->add_option("--data", *data_dir, "the ledger's data dir")->required();
  cmd->callback([data_dir, &exit_code] { exit_code = run_verify(*data_dir); });
}

}  // namespace encore::cli
