// The subcommands of the `encore` CLI: each file cmd_<name>.cc adds its own to the app.
// A command's callback stores its exit status in `exit_code` (0 = success).
#pragma once

#include <CLI/CLI.hpp>

namespace encore::cli {

// `encore rules ...`, the group (cmd_rules.cc), and its subcommands.
void add_rules_commands(CLI::App& app, int& exit_code);
// `encore rules check DIR` (cmd_rules_check.cc).
void add_rules_check_command(CLI::App& rules_cmd, int& exit_code);
// `encore rules explain DIR --member F --event F` (cmd_rules_explain.cc).
void add_rules_explain_command(CLI::App& rules_cmd, int& exit_code);

// `encore rules simulate --data DIR --rules DRAFT` under the rules group (cmd_simulate.cc).
void add_simulate_command(CLI::App& rules_cmd, int& exit_code);

// `encore verify --data DIR` (cmd_verify.cc).
void add_verify_command(CLI::App& app, int& exit_code);

}  // namespace encore::cli
