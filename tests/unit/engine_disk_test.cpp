// Engine with disks coming and going while the workers run: a disk added after start() takes the
// lowest free index (and so fixed-file slots), is spread over the workers, and when removed
// leaves no socket file, no open image and its index free for the next. A daemon whose workers
// have no ring refuses a disk with the reason. The I/O itself, through a real guest, is
// integration_daemon_disks's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "ringlane/base/event_loop.h"
#include "ringlane/dataplane/engine.h"

namespace ringlane::dataplane {
namespace {

namespace fs = std::filesystem;

class EngineDisks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ringlane-engine-disk-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A disk named `name` on a 1 MiB image, built for the engine's next slots.
  std::unique_ptr<VhostBlkDisk> disk(Engine& engine, const std::string& name, uint16_t queues) {
    std::string image = (dir_ / (name + ".img")).string();
    { std::ofstream created(image); }  // created empty, then sized
    fs::resize_file(image, 1 << 20);
    auto opened = blk::DiskImage::open({image, false, false});
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    VhostBlkDiskConfig config;
    config.name = name;
    config.socket_path = socket(name);
    config.queues = queues;
    auto d = std::make_unique<VhostBlkDisk>(config, std::move(*opened), engine.next_fixed_file(),
                                            &engine.grace(), *loop_);
    EXPECT_TRUE(d->start().ok());
    return d;
  }
  std::string socket(const std::string& name) const { return (dir_ / (name + ".sock")).string(); }

  // Whether the process holds a descriptor on `path`.
  static bool open_in_process(const std::string& path) {
    for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      if (fs::read_symlink(fd.path(), ec) == path) return true;
    }
    return false;
  }

  fs::path dir_;
  std::unique_ptr<EventLoop> loop_;
};

EngineConfig two_workers(bool disks_at_runtime) {
  EngineConfig config;
  config.cores = {0, 0};
  config.disks_at_runtime = disks_at_runtime;
  return config;
}

TEST_F(EngineDisks, AddedAndRemovedWhileRunningTheirSlotsReused) {
  Engine engine(two_workers(true));
  ASSERT_TRUE(engine.start().ok());
  auto d0 = engine.add_disk(disk(engine, "d0", 2));
  ASSERT_TRUE(d0.ok()) << d0.error().to_string();
  auto d1 = engine.add_disk(disk(engine, "d1", 1));
  ASSERT_TRUE(d1.ok()) << d1.error().to_string();
  EXPECT_EQ(*d0, 0);
  EXPECT_EQ(*d1, 1);
  EXPECT_EQ(engine.next_fixed_file(), 4);
  EXPECT_EQ(engine.disk_count(), 2u);
  // d0's two queues on both workers, d1's on the one with fewer.
  EXPECT_NE(engine.worker_of_disk(0, 0), engine.worker_of_disk(0, 1));
  EXPECT_EQ(engine.disk_queues_of(0) + engine.disk_queues_of(1), 3u);
  EXPECT_TRUE(fs::exists(socket("d0")));
  std::string image0 = (dir_ / "d0.img").string();
  EXPECT_TRUE(open_in_process(image0));

  ASSERT_TRUE(engine.remove_disk(0).ok());
  EXPECT_FALSE(fs::exists(socket("d0")));
  EXPECT_FALSE(open_in_process(image0));
  EXPECT_EQ(engine.find_disk("d0"), std::nullopt);
  EXPECT_EQ(engine.find_disk("d1"), std::optional<uint16_t>(1));
  EXPECT_EQ(engine.disk_count(), 1u);
  EXPECT_EQ(engine.disk_queues_of(0) + engine.disk_queues_of(1), 1u);
  EXPECT_EQ(engine.next_fixed_file(), 0);
  EXPECT_FALSE(engine.remove_disk(0).ok());

  auto d2 = engine.add_disk(disk(engine, "d2", 1));
  ASSERT_TRUE(d2.ok()) << d2.error().to_string();
  EXPECT_EQ(*d2, 0);
  EXPECT_EQ(engine.disks()[0]->name(), "d2");
  engine.stop();
}

TEST_F(EngineDisks, WorkersWithoutARingRefuseADiskAndSayWhy) {
  Engine engine(two_workers(false));
  ASSERT_TRUE(engine.start().ok());
  auto added = engine.add_disk(disk(engine, "d0", 1));
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message().find("no disk and no API socket"), std::string::npos)
      << added.error().message();
  EXPECT_EQ(engine.disk_count(), 0u);
  // The refused disk was destroyed: nothing listens, nothing is open.
  EXPECT_FALSE(fs::exists(socket("d0")));
  EXPECT_FALSE(open_in_process((dir_ / "d0.img").string()));
  engine.stop();
}

TEST_F(EngineDisks, DisksAddedBeforeStartKeepTheirSlots) {
  Engine engine(two_workers(false));
  ASSERT_TRUE(engine.add_disk(disk(engine, "d0", 1)).ok());
  ASSERT_TRUE(engine.add_disk(disk(engine, "d1", 1)).ok());
  ASSERT_TRUE(engine.start().ok());
  EXPECT_EQ(engine.disk_count(), 2u);
  // Started with disks: the rings are there, so one more may come.
  auto d2 = engine.add_disk(disk(engine, "d2", 1));
  ASSERT_TRUE(d2.ok()) << d2.error().to_string();
  EXPECT_EQ(*d2, 2);
  ASSERT_TRUE(engine.remove_disk(1).ok());
  EXPECT_FALSE(fs::exists(socket("d1")));
  engine.stop();
}

}  // namespace
}  // namespace ringlane::dataplane
