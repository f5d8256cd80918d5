// What ringlane, ringlane-vmm and ringlane-ctl share at their edges, written once: the meaning of
// their exit statuses, how a command line that CLI11 refuses (or --help) ends the program, and the
// main() that reports an exception escaping the program instead of letting it abort.
//
// Exit statuses: 0 done; 1 a runtime failure (the system, a device or a peer said no); 2 a usage
// error (a bad command line, configuration file or spec), found before anything was changed. A
// program may add its own above these (ringlane-ctl: 3, no answer from ringlane-vmm).
#pragma once

#include <optional>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace ringlane {

inline constexpr int kExitDone = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "program: message" on stderr and returns `status`, for `return report_failure(...)`.
int report_failure(std::string_view program, std::string_view message, int status);

// Parses the command line. nullopt: go on; otherwise the status to end with, the message already
// printed: kExitDone after --help, kExitUsage for every error CLI11 finds (not its own codes,
// 105-114, which would say nothing to a script that knows the three above).
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

// The body of main(): runs `run`. By the time an exception reaches here, the program's own errors
// (CLI11's, every system call's) have all been handled where they happen; what is left (out of
// memory and the like) is reported as "program: what" with kExitFailure instead of an abort.
int run_main(std::string_view program, int (*run)(int argc, char** argv), int argc, char** argv);

}  // namespace ringlane
