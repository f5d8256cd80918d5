// The edges the three programs share (ringlane/base/program.h): --help ends with 0, every
// command-line error CLI11 finds with 2, and an exception escaping the program with 1 and its
// message rather than an abort.
#include "ringlane/base/program.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ringlane {
namespace {

// parse_command_line on a small app, with argv built from `args`.
std::optional<int> parse(std::vector<std::string> args, int* value = nullptr) {
  CLI::App app{"test"};
  int n = 0;
  app.add_option("--count", n, "a number")->check(CLI::Range(1, 9));
  args.insert(args.begin(), "test");
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (std::string& a : args) argv.push_back(a.data());
  std::optional<int> status = parse_command_line(app, static_cast<int>(argv.size()), argv.data());
  if (value != nullptr) *value = n;
  return status;
}

TEST(ParseCommandLine, GoesOnWhenTheCommandLineIsGood) {
  int value = 0;
  EXPECT_EQ(parse({"--count", "3"}, &value), std::nullopt);
  EXPECT_EQ(value, 3);
}

TEST(ParseCommandLine, HelpEndsWithZero) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(parse({"--help"}), kExitDone);
  EXPECT_EQ(parse({"--count", "3", "-h"}), kExitDone);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--count"), std::string::npos);
}

TEST(ParseCommandLine, EveryErrorEndsWithTheUsageStatus) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse({"--colour", "red"}), kExitUsage);  // unknown option
  EXPECT_EQ(parse({"--count"}), kExitUsage);          // missing argument
  EXPECT_EQ(parse({"--count", "10"}), kExitUsage);    // failed validator
  EXPECT_EQ(parse({"--count", "ten"}), kExitUsage);   // conversion
  EXPECT_NE(testing::internal::GetCapturedStderr().find("--colour"), std::string::npos);
}

int throws(int /*argc*/, char** /*argv*/) {
  throw std::runtime_error("out of luck");
}
int returns_argc(int argc, char** /*argv*/) {
  return argc;
}

TEST(RunMain, AnEscapingExceptionIsReportedWithStatusOne) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run_main("prog", throws, 0, nullptr), kExitFailure);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "prog: out of luck\n");
}

TEST(RunMain, OtherwiseReturnsWhatTheProgramReturns) {
  EXPECT_EQ(run_main("prog", returns_argc, 5, nullptr), 5);
}

TEST(ReportFailure, PrintsTheProgramAndReturnsTheStatus) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(report_failure("prog", "bad spec", kExitUsage), kExitUsage);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "prog: bad spec\n");
}

}  // namespace
}  // namespace ringlane
