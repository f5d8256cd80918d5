#include "ringlane/base/program.h"

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

namespace ringlane {

int report_failure(std::string_view program, std::string_view message, int status) {
  // Streamed, not concatenated: after std::bad_alloc, building a string may throw again.
  std::cerr << program << ": " << message << "\n";
  return status;
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help arrives as a ParseError too, one that CLI11 ends with 0.
    return app.exit(e) == 0 ? kExitDone : kExitUsage;
  }
  return std::nullopt;
}

int run_main(std::string_view program, int (*run)(int argc, char** argv), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return report_failure(program, e.what(), kExitFailure);
  }
}

}  // namespace ringlane
