// The MP table as Linux's mpparse reads it: checksums, the processor, bus, IOAPIC and interrupt
// entries, and the project's INTx convention for PCI slots.
#include "ringlane/vmm/x86/mp_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ringlane/vmm/pci/pci_bus.h"

namespace ringlane::vmm {
namespace {

uint8_t sum(const uint8_t* p, size_t n) {
  uint8_t s = 0;
  for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + p[i]);
  return s;
}

template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

struct Entries {
  std::vector<const uint8_t*> cpus, buses, ioapics, io_ints, local_ints;
};

// Walks the configuration table's entries by type (processors are 20 bytes, the rest 8).
Entries walk(const uint8_t* table, uint16_t count) {
  Entries e;
  const uint8_t* p = table + 44;
  for (uint16_t i = 0; i < count; ++i) {
    switch (p[0]) {
      case 0:
        e.cpus.push_back(p);
        p += 20;
        continue;
      case 1:
        e.buses.push_back(p);
        break;
      case 2:
        e.ioapics.push_back(p);
        break;
      case 3:
        e.io_ints.push_back(p);
        break;
      case 4:
        e.local_ints.push_back(p);
        break;
      default:
        ADD_FAILURE() << "entry type " << int(p[0]);
        return e;
    }
    p += 8;
  }
  return e;
}

TEST(MpTableTest, FloatingPointerAndHeader) {
  std::vector<uint8_t> t = build_mp_table(2, 0xf0000);
  ASSERT_GE(t.size(), 16u + 44u);
  EXPECT_EQ(std::memcmp(t.data(), "_MP_", 4), 0);
  EXPECT_EQ(get<uint32_t>(t.data() + 4), 0xf0010u);  // the table follows the pointer
  EXPECT_EQ(t[8], 1);                                // 16 bytes
  EXPECT_EQ(t[9], 4);                                // spec 1.4
  EXPECT_EQ(sum(t.data(), 16), 0);
  EXPECT_EQ(t[11], 0);  // feature byte 1: not a default configuration
  const uint8_t* table = t.data() + 16;
  EXPECT_EQ(std::memcmp(table, "PCMP", 4), 0);
  uint16_t length = get<uint16_t>(table + 4);
  EXPECT_EQ(length, t.size() - 16);
  EXPECT_EQ(sum(table, length), 0);
  EXPECT_EQ(get<uint32_t>(table + 36), kLocalApicAddr);
}

TEST(MpTableTest, EntriesDescribeCpusBusesIoApicAndInterrupts) {
  constexpr int kCpus = 3;
  std::vector<uint8_t> t = build_mp_table(kCpus, 0xf0000);
  const uint8_t* table = t.data() + 16;
  Entries e = walk(table, get<uint16_t>(table + 34));

  ASSERT_EQ(e.cpus.size(), size_t{kCpus});
  for (int i = 0; i < kCpus; ++i) {
    EXPECT_EQ(e.cpus[i][1], i);                   // APIC ID = vCPU index
    EXPECT_EQ(e.cpus[i][3], i == 0 ? 0x3 : 0x1);  // enabled, BP on vCPU 0
  }
  ASSERT_EQ(e.buses.size(), 2u);
  EXPECT_EQ(std::memcmp(e.buses[0] + 2, "PCI   ", 6), 0);
  EXPECT_EQ(e.buses[0][1], kMpPciBusId);
  EXPECT_EQ(std::memcmp(e.buses[1] + 2, "ISA   ", 6), 0);
  EXPECT_EQ(e.buses[1][1], kMpIsaBusId);
  ASSERT_EQ(e.ioapics.size(), 1u);
  const uint8_t ioapic_id = e.ioapics[0][1];
  EXPECT_EQ(ioapic_id, kCpus);  // after the CPUs' APIC IDs
  EXPECT_EQ(e.ioapics[0][3] & 1, 1);
  EXPECT_EQ(get<uint32_t>(e.ioapics[0] + 4), kIoApicAddr);

  // ISA IRQs 0-15 on the same IOAPIC pins, edge/high by convention; then PCI slots 1-31.
  ASSERT_EQ(e.io_ints.size(), 16u + 31u);
  for (int irq = 0; irq < 16; ++irq) {
    const uint8_t* i = e.io_ints[irq];
    EXPECT_EQ(i[1], 0);  // INT
    EXPECT_EQ(get<uint16_t>(i + 2), 0);
    EXPECT_EQ(i[4], kMpIsaBusId);
    EXPECT_EQ(i[5], irq);
    EXPECT_EQ(i[6], ioapic_id);
    EXPECT_EQ(i[7], irq);
  }
  for (int slot = 1; slot < 32; ++slot) {
    const uint8_t* i = e.io_ints[15 + slot];
    EXPECT_EQ(get<uint16_t>(i + 2), 0x0d);  // active high, level triggered
    EXPECT_EQ(i[4], kMpPciBusId);
    EXPECT_EQ(i[5], slot << 2);  // INTA#
    EXPECT_EQ(i[7], PciBus::intx_gsi(slot));
  }
  EXPECT_EQ(PciBus::intx_gsi(1), 16u);
  EXPECT_EQ(PciBus::intx_gsi(9), 16u);
  EXPECT_EQ(PciBus::intx_gsi(31), 22u);

  ASSERT_EQ(e.local_ints.size(), 2u);
  EXPECT_EQ(e.local_ints[0][1], 3);  // ExtINT
  EXPECT_EQ(e.local_ints[0][6], 0);  // on the boot CPU
  EXPECT_EQ(e.local_ints[0][7], 0);  // LINT0
  EXPECT_EQ(e.local_ints[1][1], 1);  // NMI
  EXPECT_EQ(e.local_ints[1][6], 0xff);
  EXPECT_EQ(e.local_ints[1][7], 1);  // LINT1
}

TEST(MpTableTest, WrittenIntoGuestMemory) {
  GuestRam ram = std::move(*GuestRam::create(2 << 20));
  ASSERT_TRUE(write_mp_table(ram, 1).ok());
  EXPECT_EQ(std::memcmp(ram.base() + kMpTableAddr, "_MP_", 4), 0);
  EXPECT_FALSE(write_mp_table(ram, 0).ok());
  EXPECT_FALSE(write_mp_table(ram, kMaxVcpus + 1).ok());
  GuestRam tiny = std::move(*GuestRam::create(512 << 10));
  EXPECT_FALSE(write_mp_table(tiny, 1).ok());
}

}  // namespace
}  // namespace ringlane::vmm
