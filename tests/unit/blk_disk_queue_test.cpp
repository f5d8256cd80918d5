// DiskQueue against the real kernel: requests a fake driver puts on a split ring become io_uring
// operations on a real image file in a temporary directory, and the test reads the file, the
// status bytes and the used ring back. Each hostile or refused request is answered with its
// status and counted under its reason.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "fake_guest.h"
#include "ringlane/blk/disk_image.h"
#include "ringlane/blk/disk_queue.h"
#include "ringlane/virtio/blk_spec.h"

namespace ringlane::blk {
namespace {

using virtio::Buf;

constexpr uint64_t kImageBytes = 4 << 20;

class DiskQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rl-blk-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/disk.img";
    UniqueFd fd(::open(path_.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
    ASSERT_GE(fd.get(), 0);
    ASSERT_EQ(::ftruncate(fd.get(), kImageBytes), 0);
    open_image(false);
    auto ring = IoRing::create(64);
    ASSERT_TRUE(ring.ok()) << ring.error().to_string();
    ring_ = std::move(*ring);
    queue_.configure(&guest_.memory(), vring_.layout(), false, true, 0);
    disk_queue_.prepare(vring_.layout(), nullptr, 0);
    queue_.set_live(true);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void open_image(bool readonly) {
    auto image = DiskImage::open({path_, readonly, false});
    ASSERT_TRUE(image.ok()) << image.error().to_string();
    image_.emplace(std::move(*image));
    settings_.capacity_sectors = image_->capacity_sectors();
    settings_.readonly = readonly;
    settings_.discard = true;
    settings_.fixed_files = false;
    settings_.fixed_file = image_->fd();
    settings_.fixed_buffered_file = image_->buffered_fd();
    std::memcpy(settings_.id, "disk-one", 8);
    settings_.id_length = 8;
  }

  uint64_t header(uint32_t type, uint64_t sector) {
    virtio::BlkRequestHeader h{type, 0, sector};
    std::vector<uint8_t> bytes(sizeof(h));
    std::memcpy(bytes.data(), &h, sizeof(h));
    return guest_.put(bytes);
  }
  uint64_t status_byte() {
    uint64_t at = guest_.alloc(1);
    guest_.write(at, "\xee", 1);
    return at;
  }
  // Offers a chain and serves the queue until the device has answered `answers` requests.
  void submit(const std::vector<Buf>& chain) { vring_.publish(vring_.add_chain(chain)); }
  bool serve_until(uint16_t answers) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (vring_.used_idx() != answers) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      disk_queue_.poll(*ring_);
      ring_->submit();
      ring_->reap(DiskQueue::complete);
      disk_queue_.publish();
    }
    return true;
  }
  uint8_t status_at(uint64_t gpa) { return guest_.read(gpa, 1)[0]; }
  std::vector<uint8_t> file_bytes(uint64_t offset, size_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_EQ(::pread(image_->buffered_fd(), out.data(), len, static_cast<off_t>(offset)),
              static_cast<ssize_t>(len));
    return out;
  }
  uint64_t errors(DiskError e) const { return disk_queue_.stats().errors[size_t(e)].get(); }

  std::string dir_, path_;
  std::optional<DiskImage> image_;
  DiskSettings settings_;
  virtio::FakeGuest guest_{{{virtio::FakeGuest::kDefaultBase, 4 << 20}}};
  virtio::FakeRing vring_{guest_, 64};
  virtio::SplitQueue queue_;
  DiskQueue disk_queue_{queue_, settings_};
  std::unique_ptr<IoRing> ring_;
};

TEST_F(DiskQueueTest, WriteThenReadRoundTripsThroughTheImage) {
  std::vector<uint8_t> pattern(8192);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i * 7 + 3);
  // The data over two descriptors, as a driver with scattered pages lays it out.
  uint64_t data = guest_.put(pattern);
  uint64_t st = status_byte();
  submit({{header(virtio::kBlkTOut, 16), 16}, {data, 4096}, {data + 4096, 4096}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(status_at(st), virtio::kBlkSOk);
  EXPECT_EQ(file_bytes(16 * 512, pattern.size()), pattern);

  uint64_t back = guest_.alloc(8192);
  uint64_t st2 = status_byte();
  submit({{header(virtio::kBlkTIn, 16), 16}, {back, 8192, true}, {st2, 1, true}});
  ASSERT_TRUE(serve_until(2));
  EXPECT_EQ(status_at(st2), virtio::kBlkSOk);
  EXPECT_EQ(guest_.read(back, 8192), pattern);
  EXPECT_EQ(vring_.used(1).len, 8192u + 1);  // the data and the status byte were written
  EXPECT_EQ(disk_queue_.stats().bytes_written.get(), 8192u);
  EXPECT_EQ(disk_queue_.stats().bytes_read.get(), 8192u);
  EXPECT_EQ(disk_queue_.in_flight(), 0u);
}

TEST_F(DiskQueueTest, SectorsBeyondTheCapacityAreAnIoError) {
  uint64_t data = guest_.alloc(1024);
  uint64_t st = status_byte();
  // The last sector plus one more: not one byte may be read past the end.
  submit({{header(virtio::kBlkTIn, kImageBytes / 512 - 1), 16}, {data, 1024, true}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(status_at(st), virtio::kBlkSIoErr);
  EXPECT_EQ(errors(DiskError::out_of_range), 1u);
  uint64_t st2 = status_byte();
  submit({{header(virtio::kBlkTIn, ~uint64_t{0}), 16}, {data, 512, true}, {st2, 1, true}});
  ASSERT_TRUE(serve_until(2));
  EXPECT_EQ(status_at(st2), virtio::kBlkSIoErr);
  EXPECT_EQ(errors(DiskError::out_of_range), 2u);
}

TEST_F(DiskQueueTest, AReadOnlyDiskRefusesWritesAndDiscardsButReads) {
  open_image(true);
  uint64_t data = guest_.alloc(512);
  uint64_t st = status_byte();
  submit({{header(virtio::kBlkTOut, 0), 16}, {data, 512}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(status_at(st), virtio::kBlkSIoErr);
  EXPECT_EQ(errors(DiskError::read_only), 1u);
  uint64_t st2 = status_byte();
  submit({{header(virtio::kBlkTIn, 0), 16}, {data, 512, true}, {st2, 1, true}});
  ASSERT_TRUE(serve_until(2));
  EXPECT_EQ(status_at(st2), virtio::kBlkSOk);
}

TEST_F(DiskQueueTest, UnknownTypesAreUnsupported) {
  uint64_t st = status_byte();
  submit({{header(77, 0), 16}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(status_at(st), virtio::kBlkSUnsupp);
  EXPECT_EQ(errors(DiskError::unsupported), 1u);
}

TEST_F(DiskQueueTest, GetIdAnswersTheDiskName) {
  uint64_t id = guest_.alloc(virtio::kBlkIdBytes);
  uint64_t st = status_byte();
  submit({{header(virtio::kBlkTGetId, 0), 16}, {id, virtio::kBlkIdBytes, true}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(status_at(st), virtio::kBlkSOk);
  std::vector<uint8_t> got = guest_.read(id, virtio::kBlkIdBytes);
  EXPECT_EQ(std::string(got.begin(), got.begin() + 8), "disk-one");
  EXPECT_EQ(got[8], 0);
}

TEST_F(DiskQueueTest, FlushCompletes) {
  uint64_t st = status_byte();
  submit({{header(virtio::kBlkTFlush, 0), 16}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(status_at(st), virtio::kBlkSOk);
}

TEST_F(DiskQueueTest, DiscardDeallocatesTheRange) {
  std::vector<uint8_t> ones(1 << 20, 0x5a);
  ASSERT_EQ(::pwrite(image_->buffered_fd(), ones.data(), ones.size(), 0),
            static_cast<ssize_t>(ones.size()));
  ASSERT_EQ(::fsync(image_->buffered_fd()), 0);
  struct stat before {};
  ASSERT_EQ(::fstat(image_->buffered_fd(), &before), 0);
  virtio::BlkDiscardWriteZeroes range{0, (1 << 20) / 512, 0};
  std::vector<uint8_t> bytes(sizeof(range));
  std::memcpy(bytes.data(), &range, sizeof(range));
  uint64_t st = status_byte();
  submit({{header(virtio::kBlkTDiscard, 0), 16}, {guest_.put(bytes), 16}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(status_at(st), virtio::kBlkSOk);
  struct stat after {};
  ASSERT_EQ(::fstat(image_->buffered_fd(), &after), 0);
  EXPECT_LT(after.st_blocks, before.st_blocks);
  EXPECT_EQ(file_bytes(0, 4096), std::vector<uint8_t>(4096, 0));
}

TEST_F(DiskQueueTest, RangeFlagsTheTypeDoesNotAllowAreUnsupported) {
  // UNMAP belongs to WRITE_ZEROES; on a DISCARD it is refused, and so is any unknown flag.
  for (auto [type, flags] :
       {std::pair{virtio::kBlkTDiscard, 1u}, std::pair{virtio::kBlkTWriteZeroes, 2u}}) {
    virtio::BlkDiscardWriteZeroes range{0, 8, flags};
    std::vector<uint8_t> bytes(sizeof(range));
    std::memcpy(bytes.data(), &range, sizeof(range));
    uint64_t st = status_byte();
    submit({{header(type, 0), 16}, {guest_.put(bytes), 16}, {st, 1, true}});
    ASSERT_TRUE(serve_until(static_cast<uint16_t>(vring_.used_idx() + 1)));
    EXPECT_EQ(status_at(st), virtio::kBlkSUnsupp);
  }
  EXPECT_EQ(errors(DiskError::unsupported), 2u);
}

// tmpfs cannot zero a range in place: the guest hears UNSUPP (and writes zeroes itself), not
// IOERR.
TEST_F(DiskQueueTest, WriteZeroesTheStoreCannotDoAreUnsupported) {
  char shm_dir[] = "/dev/shm/rl-blk-XXXXXX";
  if (::mkdtemp(shm_dir) == nullptr) GTEST_SKIP() << "no /dev/shm";
  std::string shm_path = std::string(shm_dir) + "/disk.img";
  UniqueFd fd(::open(shm_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
  ASSERT_EQ(::ftruncate(fd.get(), kImageBytes), 0);
  path_ = shm_path;
  open_image(false);
  virtio::BlkDiscardWriteZeroes range{0, 8, 0};  // no UNMAP: zeroes stay allocated
  std::vector<uint8_t> bytes(sizeof(range));
  std::memcpy(bytes.data(), &range, sizeof(range));
  uint64_t st = status_byte();
  submit({{header(virtio::kBlkTWriteZeroes, 0), 16}, {guest_.put(bytes), 16}, {st, 1, true}});
  bool served = serve_until(1);
  std::filesystem::remove_all(shm_dir);
  ASSERT_TRUE(served);
  EXPECT_EQ(status_at(st), virtio::kBlkSUnsupp);
  EXPECT_EQ(errors(DiskError::unsupported), 1u);
  EXPECT_EQ(errors(DiskError::io_error), 0u);
}

TEST_F(DiskQueueTest, AChainWithoutAStatusByteIsGivenBackEmpty) {
  uint64_t data = guest_.alloc(512);
  submit({{header(virtio::kBlkTOut, 0), 16}, {data, 512}});
  ASSERT_TRUE(serve_until(1));
  EXPECT_EQ(vring_.used(0).len, 0u);
  EXPECT_EQ(errors(DiskError::malformed), 1u);
  EXPECT_FALSE(queue_.broken());
}

TEST_F(DiskQueueTest, AChainThatBreaksTheRingBreaksTheQueueOnly) {
  uint16_t head = vring_.reserve(1);
  vring_.set_desc(head, header(virtio::kBlkTIn, 0), 16, virtio::kDescFNext, 999);
  vring_.publish(head);
  disk_queue_.poll(*ring_);
  EXPECT_TRUE(queue_.broken());
  EXPECT_EQ(disk_queue_.stats().ring_errors.get(), 1u);
  EXPECT_EQ(disk_queue_.in_flight(), 0u);
}

// A crash with requests in flight: a first process took three writes and died before their I/O
// ran. The next process, given the same in-flight region, resubmits them in the order taken and
// resumes the ring past them; every write lands and each is answered once.
TEST_F(DiskQueueTest, RequestsInFlightAtACrashAreResubmittedInOrder) {
  auto region = vhost_user::InflightRegion::create(1, vring_.size());
  ASSERT_TRUE(region.ok()) << region.error().to_string();
  virtio::SplitQueue first_queue;
  first_queue.configure(&guest_.memory(), vring_.layout(), false, true, 0);
  DiskQueue first(first_queue, settings_);
  EXPECT_EQ(first.prepare(vring_.layout(), (*region)->queue(0), 0), 0);
  first_queue.set_live(true);
  std::vector<uint64_t> statuses;
  for (uint8_t i = 0; i < 3; ++i) {
    uint64_t data = guest_.put(std::vector<uint8_t>(512, static_cast<uint8_t>(0xa0 + i)));
    statuses.push_back(status_byte());
    submit({{header(virtio::kBlkTOut, i), 16}, {data, 512}, {statuses.back(), 1, true}});
  }
  auto doomed = IoRing::create(64);
  ASSERT_TRUE(doomed.ok());
  EXPECT_EQ(first.poll(**doomed), 3);  // taken, queued, never submitted: the process dies here
  EXPECT_EQ(vring_.used_idx(), 0);

  // The frontend hands the ring over at its used index, as QEMU does after a backend crash.
  EXPECT_EQ(disk_queue_.prepare(vring_.layout(), (*region)->queue(0), 0), 3);
  EXPECT_EQ(disk_queue_.resubmissions(), 3);
  queue_.configure(&guest_.memory(), vring_.layout(), false, true, 3);
  ASSERT_TRUE(serve_until(3));
  for (uint8_t i = 0; i < 3; ++i) {
    EXPECT_EQ(status_at(statuses[i]), virtio::kBlkSOk);
    EXPECT_EQ(file_bytes(i * 512, 512), std::vector<uint8_t>(512, static_cast<uint8_t>(0xa0 + i)));
    EXPECT_EQ(vring_.used(i).id, i * 3);  // in the order the first process took them
  }
  EXPECT_EQ(disk_queue_.stats().resubmitted.get(), 3u);
  for (uint16_t head = 0; head < vring_.size(); ++head) {
    EXPECT_EQ((*region)->queue(0)->desc[head].inflight, 0) << head;
  }
}

// A crash after a completion was published but before the region said so: the used ring
// shows it was answered, so the next process must not run it again.
TEST_F(DiskQueueTest, ACompletionPublishedJustBeforeACrashIsNotRunAgain) {
  auto region = vhost_user::InflightRegion::create(1, vring_.size());
  ASSERT_TRUE(region.ok());
  disk_queue_.prepare(vring_.layout(), (*region)->queue(0), 0);
  uint64_t st = status_byte();
  submit({{header(virtio::kBlkTFlush, 0), 16}, {st, 1, true}});
  ASSERT_TRUE(serve_until(1));
  // Put the region back as it was between the publish and the clearing of the flag.
  vhost_user::InflightQueue* q = (*region)->queue(0);
  q->desc[vring_.used(0).id].inflight = 1;
  q->used_idx = 0;
  DiskQueue next(queue_, settings_);
  EXPECT_EQ(next.prepare(vring_.layout(), q, 1), 1);
  EXPECT_EQ(next.resubmissions(), 0);
  EXPECT_EQ(q->desc[vring_.used(0).id].inflight, 0);
  EXPECT_EQ(q->used_idx, 1);
}

TEST(DiskImage, RefusesMissingImagesAndOnesNotWholeSectors) {
  auto missing = DiskImage::open({"/nonexistent/disk.img", false, std::nullopt});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/disk.img"), std::string::npos);
  char path[] = "/tmp/rl-odd-XXXXXX";
  UniqueFd fd(::mkstemp(path));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(::ftruncate(fd.get(), 1000), 0);
  auto odd = DiskImage::open({path, false, std::nullopt});
  ::unlink(path);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message().find("not a multiple of 512"), std::string::npos);
}

}  // namespace
}  // namespace ringlane::blk
