// The bus port I/O and MMIO exits are dispatched on: registration, overlap refusal, lookup at the
// edges of ranges, removal, and moving a range (remove, then insert elsewhere).
#include "ringlane/vmm/machine/io_bus.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace ringlane::vmm {
namespace {

// Records every access; reads fill the data with `fill`.
class Recorder : public BusDevice {
 public:
  struct Access {
    uint64_t base;
    uint64_t offset;
    size_t size;
    bool write;
  };
  bool read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override {
    accesses.push_back({base, offset, data.size(), false});
    for (uint8_t& b : data) b = fill;
    return answers;
  }
  bool write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override {
    accesses.push_back({base, offset, data.size(), true});
    return answers;
  }
  std::vector<Access> accesses;
  uint8_t fill = 0x5a;
  bool answers = true;
};

TEST(IoBusTest, LookupFindsARangeFromItsFirstToItsLastByte) {
  IoBus bus("port I/O", 8);
  Recorder serial;
  ASSERT_TRUE(bus.insert(0x3f8, 8, serial).ok());
  EXPECT_EQ(bus.find(0x3f7), nullptr);
  ASSERT_NE(bus.find(0x3f8), nullptr);
  EXPECT_EQ(bus.find(0x3f8)->device, &serial);
  EXPECT_EQ(bus.find(0x3ff)->device, &serial);
  EXPECT_EQ(bus.find(0x400), nullptr);
  EXPECT_EQ(bus.find(0), nullptr);
  EXPECT_EQ(bus.find(std::numeric_limits<uint64_t>::max()), nullptr);
}

TEST(IoBusTest, AdjacentRangesAreEachTheirOwn) {
  IoBus bus("port I/O", 8);
  Recorder a, b;
  ASSERT_TRUE(bus.insert(0x60, 1, a).ok());
  ASSERT_TRUE(bus.insert(0x61, 1, b).ok());
  ASSERT_TRUE(bus.insert(0x5f, 1, b).ok());
  EXPECT_EQ(bus.find(0x5f)->device, &b);
  EXPECT_EQ(bus.find(0x60)->device, &a);
  EXPECT_EQ(bus.find(0x61)->device, &b);
  EXPECT_EQ(bus.size(), 3u);
}

TEST(IoBusTest, AnAccessGoesToItsDeviceWithTheOffsetIntoTheRange) {
  IoBus bus("MMIO", 8);
  Recorder bar;
  ASSERT_TRUE(bus.insert(0xc0000000, 0x4000, bar).ok());
  uint8_t data[4] = {};
  EXPECT_TRUE(bus.read(0xc0001004, data));
  EXPECT_EQ(data[3], 0x5a);
  EXPECT_TRUE(bus.write(0xc0003ffc, data));
  ASSERT_EQ(bar.accesses.size(), 2u);
  EXPECT_EQ(bar.accesses[0].base, 0xc0000000u);
  EXPECT_EQ(bar.accesses[0].offset, 0x1004u);
  EXPECT_EQ(bar.accesses[0].size, 4u);
  EXPECT_FALSE(bar.accesses[0].write);
  EXPECT_EQ(bar.accesses[1].offset, 0x3ffcu);
  EXPECT_TRUE(bar.accesses[1].write);
}

TEST(IoBusTest, NothingAnswersWhereNoRangeIsOrWhenTheDeviceDeclines) {
  IoBus bus("port I/O", 8);
  Recorder post;
  post.answers = false;
  ASSERT_TRUE(bus.insert(0x80, 1, post).ok());
  uint8_t byte = 0;
  EXPECT_FALSE(bus.read(0x81, {&byte, 1}));
  EXPECT_TRUE(post.accesses.empty());
  EXPECT_FALSE(bus.read(0x80, {&byte, 1}));
  EXPECT_EQ(post.accesses.size(), 1u);
}

TEST(IoBusTest, OverlappingRegistrationsAreRefusedAndChangeNothing) {
  IoBus bus("MMIO", 8);
  Recorder first, second;
  ASSERT_TRUE(bus.insert(0x1000, 0x1000, first).ok());
  struct {
    uint64_t base;
    uint64_t size;
  } clashes[] = {
      {0x1000, 0x1000},  // the same range
      {0x0800, 0x0801},  // over its first byte
      {0x1fff, 0x0010},  // over its last byte
      {0x1100, 0x0010},  // inside it
      {0x0000, 0x4000},  // around it
  };
  for (const auto& c : clashes) {
    Status s = bus.insert(c.base, c.size, second);
    ASSERT_FALSE(s.ok()) << c.base << " +" << c.size;
    EXPECT_EQ(s.error().code(), EEXIST);
  }
  EXPECT_EQ(bus.size(), 1u);
  EXPECT_EQ(bus.find(0x1000)->device, &first);
  EXPECT_EQ(bus.find(0x0fff), nullptr);
  EXPECT_EQ(bus.find(0x2000), nullptr);
}

TEST(IoBusTest, ARefusalNamesBothRanges) {
  IoBus bus("port I/O", 8);
  Recorder a, b;
  ASSERT_TRUE(bus.insert(0x3f8, 8, a).ok());
  Status s = bus.insert(0x3e0, 0x20, b);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "port I/O: [0x3e0, 0x400) overlaps [0x3f8, 0x400), registered already");
}

TEST(IoBusTest, EmptyAndWrappingRangesAreRefused) {
  IoBus bus("MMIO", 8);
  Recorder d;
  EXPECT_EQ(bus.insert(0x1000, 0, d).error().code(), EINVAL);
  EXPECT_EQ(bus.insert(std::numeric_limits<uint64_t>::max() - 1, 4, d).error().code(), EINVAL);
  // A range may end at the very top of the space.
  ASSERT_TRUE(bus.insert(0xfffffffffffff000, 0x1000, d).ok());
  EXPECT_EQ(bus.find(std::numeric_limits<uint64_t>::max())->device, &d);
}

TEST(IoBusTest, ABusHoldsItsCapacityAndNoMore) {
  IoBus bus("MMIO", 2);
  Recorder d;
  ASSERT_TRUE(bus.insert(0x1000, 0x10, d).ok());
  ASSERT_TRUE(bus.insert(0x2000, 0x10, d).ok());
  EXPECT_EQ(bus.insert(0x3000, 0x10, d).error().code(), ENOSPC);
  ASSERT_TRUE(bus.remove(0x1000).ok());
  EXPECT_TRUE(bus.insert(0x3000, 0x10, d).ok());
}

TEST(IoBusTest, RemovalFreesTheRange) {
  IoBus bus("MMIO", 8);
  Recorder a, b;
  ASSERT_TRUE(bus.insert(0x1000, 0x100, a).ok());
  ASSERT_TRUE(bus.insert(0x2000, 0x100, b).ok());
  EXPECT_EQ(bus.remove(0x1001).error().code(), ENOENT);  // not where a range starts
  ASSERT_TRUE(bus.remove(0x1000).ok());
  EXPECT_EQ(bus.find(0x1000), nullptr);
  EXPECT_EQ(bus.find(0x2000)->device, &b);
  EXPECT_EQ(bus.remove(0x1000).error().code(), ENOENT);
  EXPECT_TRUE(bus.insert(0x1080, 0x100, b).ok());  // the place is free again
}

TEST(IoBusTest, AMovedRangeAnswersAtItsNewPlaceOnly) {
  IoBus bus("MMIO", 8);
  Recorder bar, other;
  ASSERT_TRUE(bus.insert(0xc0000000, 0x1000, bar).ok());
  ASSERT_TRUE(bus.insert(0xc0002000, 0x1000, other).ok());
  // Moving onto another range is refused; the range stays where it was.
  EXPECT_EQ(bus.insert(0xc0002000, 0x1000, bar).error().code(), EEXIST);
  ASSERT_TRUE(bus.remove(0xc0000000).ok());
  ASSERT_TRUE(bus.insert(0xc0001000, 0x1000, bar).ok());
  uint8_t data[2];
  EXPECT_FALSE(bus.read(0xc0000010, data));
  EXPECT_TRUE(bus.read(0xc0001010, data));
  ASSERT_EQ(bar.accesses.size(), 1u);
  EXPECT_EQ(bar.accesses[0].base, 0xc0001000u);
  EXPECT_EQ(bar.accesses[0].offset, 0x10u);
  EXPECT_EQ(bus.find(0xc0002000)->device, &other);
}

TEST(IoBusTest, LookupAgreesWithALinearScanOverManyRanges) {
  // Ranges of random sizes with random gaps, registered in random order.
  std::mt19937_64 random(12);
  struct Placed {
    uint64_t base;
    uint64_t size;
  };
  std::vector<Placed> placed;
  uint64_t at = 0x100;
  for (int i = 0; i < 200; ++i) {
    uint64_t size = 1 + random() % 64;
    placed.push_back({at, size});
    at += size + random() % 3;  // sometimes adjacent
  }
  std::vector<Recorder> devices(placed.size());
  std::vector<size_t> order(placed.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  IoBus bus("MMIO", placed.size());
  for (size_t i : order) ASSERT_TRUE(bus.insert(placed[i].base, placed[i].size, devices[i]).ok());
  for (uint64_t address = 0; address < at + 8; ++address) {
    const BusDevice* expected = nullptr;
    for (size_t i = 0; i < placed.size(); ++i) {
      if (address >= placed[i].base && address < placed[i].base + placed[i].size) {
        expected = &devices[i];
      }
    }
    const IoBus::Range* r = bus.find(address);
    EXPECT_EQ(r == nullptr ? nullptr : r->device, expected) << address;
  }
}

}  // namespace
}  // namespace ringlane::vmm
