// `encore`: the operator's CLI. Parses flags and hands over to one subcommand file
// per command (cmd_*.cc); exceptions end here as one line and a non-zero exit.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "tools/encore/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"encore: check and explain loyalty rules, inspect an Encore ledger"};
  app.require_subcommand(1);
  int exit_code = 0;
  encore::cli::add_rules_commands(app, exit_code);
  encore::cli::add_verify_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "encore: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
