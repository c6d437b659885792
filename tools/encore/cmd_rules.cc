// `encore rules ...`: the group of rule-file commands; each subcommand lives in its own
// file (cmd_rules_check.cc, cmd_rules_explain.cc, cmd_simulate.cc).
#include <CLI/CLI.hpp>

#include "tools/encore/commands.h"

namespace encore::cli {

void add_rules_commands(CLI::App& app, int& exit_code) {
  CLI::App* rules_cmd = app.add_subcommand(
      "rules", "Check rule files, explain evaluations, simulate a draft on history");
  rules_cmd->require_subcommand(1);
  add_rules_check_command(*rules_cmd, exit_code);
  add_rules_explain_command(*rules_cmd, exit_code);
  add_simulate_command(*rules_cmd, exit_code);
}

}  // namespace encore::cli
