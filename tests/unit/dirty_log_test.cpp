// DirtyLog: one bit per 4 KiB guest page, set by atomic OR; marks through host pointers are
// translated back to guest addresses region by region; a log the frontend sized too small or a
// file too short for it is refused or left alone, never written past.
#include "ringlane/virtio/dirty_log.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include "fake_guest.h"

namespace ringlane::virtio {
namespace {

bool marked(const std::vector<uint8_t>& bits, uint64_t gpa) {
  uint64_t page = gpa >> DirtyLog::kPageShift;
  return (bits[page / 8] >> (page % 8)) & 1;
}

uint64_t count_marked(const std::vector<uint8_t>& bits) {
  uint64_t n = 0;
  for (uint8_t b : bits) n += static_cast<uint64_t>(__builtin_popcount(b));
  return n;
}

TEST(DirtyLogTest, MarksEveryPageOfARangeOnceAndCountsOnlyNewBits) {
  std::vector<uint8_t> bits(16);
  auto log = DirtyLog::wrap(bits.data(), bits.size());
  EXPECT_EQ(log->mark(0x1000, 1), 1u);
  EXPECT_TRUE(marked(bits, 0x1000));
  EXPECT_EQ(count_marked(bits), 1u);
  // 0x1ffe..0x3001 touches pages 1, 2 and 3; page 1 was marked already.
  EXPECT_EQ(log->mark(0x1ffe, 0x3002 - 0x1ffe), 2u);
  EXPECT_TRUE(marked(bits, 0x2000));
  EXPECT_TRUE(marked(bits, 0x3000));
  EXPECT_FALSE(marked(bits, 0x4000));
  EXPECT_EQ(count_marked(bits), 3u);
  EXPECT_EQ(log->mark(0x1000, 0x3000), 0u);
  EXPECT_EQ(log->mark(0x5000, 0), 0u);
  EXPECT_EQ(count_marked(bits), 3u);
}

TEST(DirtyLogTest, PagesBeyondTheBitmapAreLeftOut) {
  std::vector<uint8_t> bits(2 + 8, 0);  // a 2-byte log (16 pages) and a guard after it
  auto log = DirtyLog::wrap(bits.data(), 2);
  EXPECT_EQ(log->mark(15 * 4096, 3 * 4096), 1u);  // pages 15, 16, 17: only 15 fits
  EXPECT_EQ(log->mark(uint64_t{1} << 40, 4096), 0u);
  EXPECT_EQ(log->mark(~uint64_t{0} - 10, 100), 0u);  // overflowing range
  EXPECT_EQ(bits[1], 0x80);
  for (size_t i = 2; i < bits.size(); ++i) EXPECT_EQ(bits[i], 0) << i;
}

TEST(DirtyLogTest, HostPointersMapBackToGuestAddressesAcrossRegions) {
  // Two regions adjacent in guest space but separate heap blocks.
  FakeGuest guest({{0x10000, 0x4000}, {0x14000, 0x4000}});
  std::vector<uint8_t> bits(8);
  auto log = DirtyLog::wrap(bits.data(), bits.size());
  // 0x13800..0x14800 lies in both regions: pages 0x13 and 0x14.
  HostSpan spans[4];
  ASSERT_EQ(guest.memory().translate_spans(0x13800, 0x1000, spans), 2u);
  EXPECT_EQ(log->mark_spans(guest.memory(), spans, 2, 0x1000), 2u);
  EXPECT_TRUE(marked(bits, 0x13000));
  EXPECT_TRUE(marked(bits, 0x14000));
  EXPECT_EQ(count_marked(bits), 2u);
  // Only the bytes written count: 0x100 bytes of a span starting at 0x16f80 end in page 0x17.
  HostSpan one{guest.host(0x16f80, 0x100), 0x1000};
  EXPECT_EQ(log->mark_spans(guest.memory(), &one, 1, 0x100), 2u);
  EXPECT_TRUE(marked(bits, 0x16000));
  EXPECT_TRUE(marked(bits, 0x17000));
  EXPECT_EQ(log->mark_spans(guest.memory(), &one, 1, 0), 0u);
  // A pointer no region maps marks nothing.
  uint8_t outside[16];
  EXPECT_EQ(log->mark_host(guest.memory(), outside, sizeof(outside)), 0u);
  EXPECT_EQ(count_marked(bits), 4u);
}

TEST(DirtyLogTest, MapSharesTheFrontendsFileAtItsOffset) {
  UniqueFd fd(::memfd_create("dirty-log-test", MFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
  auto log = DirtyLog::map(fd.get(), 64, 100);  // an offset that is not page aligned
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  EXPECT_EQ((*log)->size(), 64u);
  EXPECT_EQ((*log)->mark(9 * 4096, 1), 1u);  // page 9: byte 1, bit 1
  uint8_t byte = 0;
  ASSERT_EQ(::pread(fd.get(), &byte, 1, 101), 1);
  EXPECT_EQ(byte, 0x02);
}

TEST(DirtyLogTest, MapRefusesBadSizesAndShortFiles) {
  UniqueFd fd(::memfd_create("dirty-log-test", MFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
  EXPECT_FALSE(DirtyLog::map(fd.get(), 0, 0).ok());
  EXPECT_FALSE(DirtyLog::map(fd.get(), DirtyLog::kMaxSize + 1, 0).ok());
  EXPECT_FALSE(DirtyLog::map(fd.get(), 4000, 100).ok());  // ends past the file
  EXPECT_FALSE(DirtyLog::map(fd.get(), 64, ~uint64_t{0} - 8).ok());
  EXPECT_FALSE(DirtyLog::map(-1, 64, 0).ok());
  EXPECT_TRUE(DirtyLog::map(fd.get(), 4096, 0).ok());
}

}  // namespace
}  // namespace ringlane::virtio
