#include "ringlane/base/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace ringlane {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/rl-atomic-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AtomicFileTest, ReplacesContentsAndLeavesNoTemporaryFiles) {
  std::string path = dir_ + "/sub/state.json";
  ASSERT_TRUE(write_file_atomically(path, "first").ok());
  ASSERT_TRUE(write_file_atomically(path, "second, longer").ok());
  auto contents = read_file(path);
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(*contents, "second, longer");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_ + "/sub")) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(AtomicFileTest, MissingFileIsEnoent) {
  auto r = read_file(dir_ + "/absent");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ENOENT);
}

TEST_F(AtomicFileTest, UnwritableDirectoryIsAnErrorNamingThePath) {
  std::string blocker = dir_ + "/file";
  ASSERT_TRUE(write_file_atomically(blocker, "x").ok());
  Status s = write_file_atomically(blocker + "/state.json", "y");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find(blocker), std::string::npos);
}

}  // namespace
}  // namespace ringlane
