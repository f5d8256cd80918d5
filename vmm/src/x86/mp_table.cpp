#include "ringlane/vmm/x86/mp_table.h"

#include <cstddef>
#include <cstring>
#include <string>

#include "ringlane/vmm/pci/pci_bus.h"

namespace ringlane::vmm {

namespace {

// Entry layouts of the specification (all little-endian, packed).
struct [[gnu::packed]] FloatingPointer {
  char signature[4];  // "_MP_"
  uint32_t physptr;   // the configuration table
  uint8_t length;     // in 16-byte units
  uint8_t specification;
  uint8_t checksum;
  uint8_t feature[5];  // feature[0] 0: a configuration table follows, not a default config
};
static_assert(sizeof(FloatingPointer) == 16);

struct [[gnu::packed]] ConfigHeader {
  char signature[4];  // "PCMP"
  uint16_t length;    // base table, header included
  uint8_t specification;
  uint8_t checksum;
  char oem[8];
  char product[12];
  uint32_t oem_table;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t local_apic;
  uint16_t extended_length;
  uint8_t extended_checksum;
  uint8_t reserved;
};
static_assert(sizeof(ConfigHeader) == 44);

struct [[gnu::packed]] ProcessorEntry {
  uint8_t type;  // 0
  uint8_t apic_id;
  uint8_t apic_version;
  uint8_t flags;  // bit 0 enabled, bit 1 the boot processor
  uint32_t signature;
  uint32_t features;
  uint32_t reserved[2];
};
static_assert(sizeof(ProcessorEntry) == 20);

struct [[gnu::packed]] BusEntry {
  uint8_t type;  // 1
  uint8_t bus_id;
  char bus_type[6];
};

struct [[gnu::packed]] IoApicEntry {
  uint8_t type;  // 2
  uint8_t apic_id;
  uint8_t apic_version;
  uint8_t flags;  // bit 0 enabled
  uint32_t address;
};

struct [[gnu::packed]] InterruptEntry {
  uint8_t type;  // 3 IO interrupt, 4 local interrupt
  uint8_t interrupt_type;
  uint16_t flags;  // polarity bits 1:0, trigger mode bits 3:2
  uint8_t source_bus;
  uint8_t source_irq;  // ISA: the IRQ; PCI: slot << 2 | pin (0 = INTA#)
  uint8_t dest_apic;
  uint8_t dest_pin;
};
static_assert(sizeof(BusEntry) == 8 && sizeof(IoApicEntry) == 8 && sizeof(InterruptEntry) == 8);

constexpr uint8_t kProcessor = 0;
constexpr uint8_t kBus = 1;
constexpr uint8_t kIoApic = 2;
constexpr uint8_t kIoInterrupt = 3;
constexpr uint8_t kLocalInterrupt = 4;
constexpr uint8_t kIntTypeInt = 0;
constexpr uint8_t kIntTypeNmi = 1;
constexpr uint8_t kIntTypeExtInt = 3;
constexpr uint16_t kFlagsConforming = 0;  // ISA's defaults: edge, active-high
// KVM's IOAPIC does not invert active-low inputs, so PCI lines are declared active-high.
constexpr uint16_t kFlagsActiveHighLevel = 0x1 | (0x3 << 2);
constexpr uint8_t kLocalApicVersion = 0x14;  // what KVM's local APIC reports
constexpr uint8_t kIoApicVersion = 0x11;     // and its IOAPIC
// A family 6 CPU with an FPU and a local APIC, as Firecracker declares them; Linux takes the
// real values from CPUID.
constexpr uint32_t kCpuSignature = 0x600;
constexpr uint32_t kCpuFeatures = 0x201;
constexpr uint8_t kAllApics = 0xff;
constexpr int kIsaIrqs = 16;
constexpr int kPciSlots = 32;

uint8_t checksum(const uint8_t* p, size_t n) {
  uint8_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
  return static_cast<uint8_t>(-sum);
}

template <typename T>
void append(std::vector<uint8_t>& out, const T& entry) {
  size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &entry, sizeof(T));
}

}  // namespace

std::vector<uint8_t> build_mp_table(int vcpus, uint32_t address) {
  const auto ioapic_id = static_cast<uint8_t>(vcpus);
  std::vector<uint8_t> entries;
  uint16_t count = 0;
  for (int cpu = 0; cpu < vcpus; ++cpu) {
    ProcessorEntry e{};
    e.type = kProcessor;
    e.apic_id = static_cast<uint8_t>(cpu);
    e.apic_version = kLocalApicVersion;
    e.flags = cpu == 0 ? 0x3 : 0x1;
    e.signature = kCpuSignature;
    e.features = kCpuFeatures;
    append(entries, e);
    ++count;
  }
  // Bus entries in ID order; Linux numbers PCI buses in the order it meets them.
  BusEntry pci{kBus, kMpPciBusId, {'P', 'C', 'I', ' ', ' ', ' '}};
  BusEntry isa{kBus, kMpIsaBusId, {'I', 'S', 'A', ' ', ' ', ' '}};
  append(entries, pci);
  append(entries, isa);
  count += 2;
  append(entries,
         IoApicEntry{kIoApic, ioapic_id, kIoApicVersion, 1, static_cast<uint32_t>(kIoApicAddr)});
  ++count;
  for (int irq = 0; irq < kIsaIrqs; ++irq) {
    auto n = static_cast<uint8_t>(irq);
    append(entries, InterruptEntry{kIoInterrupt, kIntTypeInt, kFlagsConforming, kMpIsaBusId, n,
                                   ioapic_id, n});
    ++count;
  }
  for (int slot = 1; slot < kPciSlots; ++slot) {
    append(entries, InterruptEntry{kIoInterrupt, kIntTypeInt, kFlagsActiveHighLevel, kMpPciBusId,
                                   static_cast<uint8_t>(slot << 2), ioapic_id,
                                   static_cast<uint8_t>(PciBus::intx_gsi(slot))});
    ++count;
  }
  append(entries,
         InterruptEntry{kLocalInterrupt, kIntTypeExtInt, kFlagsConforming, kMpIsaBusId, 0, 0, 0});
  append(entries, InterruptEntry{kLocalInterrupt, kIntTypeNmi, kFlagsConforming, kMpIsaBusId, 0,
                                 kAllApics, 1});
  count += 2;

  ConfigHeader h{};
  std::memcpy(h.signature, "PCMP", 4);
  h.length = static_cast<uint16_t>(sizeof(h) + entries.size());
  h.specification = 4;
  std::memcpy(h.oem, "RINGLANE", 8);
  std::memcpy(h.product, "RINGLANE-VMM", 12);
  h.entry_count = count;
  h.local_apic = static_cast<uint32_t>(kLocalApicAddr);

  FloatingPointer fp{};
  std::memcpy(fp.signature, "_MP_", 4);
  fp.physptr = address + sizeof(FloatingPointer);
  fp.length = 1;
  fp.specification = 4;

  std::vector<uint8_t> out;
  append(out, fp);
  append(out, h);
  out.resize(out.size() + entries.size());
  std::memcpy(out.data() + sizeof(fp) + sizeof(h), entries.data(), entries.size());
  out[offsetof(FloatingPointer, checksum)] = checksum(out.data(), sizeof(FloatingPointer));
  uint8_t* table = out.data() + sizeof(FloatingPointer);
  table[offsetof(ConfigHeader, checksum)] = checksum(table, h.length);
  return out;
}

Status write_mp_table(const GuestRam& ram, int vcpus) {
  if (vcpus < 1 || vcpus > kMaxVcpus) {
    return Error(EINVAL, "the MP table describes 1 to " + std::to_string(kMaxVcpus) + " vCPUs");
  }
  std::vector<uint8_t> table = build_mp_table(vcpus, static_cast<uint32_t>(kMpTableAddr));
  if (table.size() > kMpTableSize) return Error(EINVAL, "the MP table outgrew its place");
  std::span<uint8_t> dst = ram.bytes(kMpTableAddr, table.size());
  if (dst.empty()) return Error(EINVAL, "guest RAM too small for the MP table");
  std::memcpy(dst.data(), table.data(), table.size());
  return {};
}

}  // namespace ringlane::vmm
