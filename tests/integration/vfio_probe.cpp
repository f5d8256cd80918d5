// vfio_probe: drives a real PCI device through ringlane's vfio/ library, for the VFIO tests
// (which run it inside tests/lib/pci_guest.py's QEMU guest, where the device is an e1000e bound
// to vfio-pci). It opens container, group and device, lists the regions and interrupts, reads
// the MAC address from BAR0 through an mmap, maps a DMA buffer, and, the real test of the
// IOMMU mapping, makes the NIC transmit frames from that buffer with its legacy transmit ring,
// then raises an MSI-X interrupt through an eventfd. One JSON object on stdout says what
// happened; exit status 0 when everything asked for worked, 1 otherwise ("error" says why).
//
// Usage: vfio_probe BDF [--dma-mib N] [--send N] [--frame-size N] [--no-reset] [--no-irq]
//
// Frames: broadcast, from the NIC's MAC, EtherType 0x88b5 (local experimental); the payload is
// "RLVP", the sequence number (4 bytes, big-endian), then byte j = (seq + j) & 0xff.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "ringlane/base/unique_fd.h"
#include "ringlane/vfio/vfio_session.h"
#include "ringlane/vmm/nic/e1000_registers.h"

using namespace ringlane;
using namespace ringlane::vfio;
using nlohmann::json;

namespace {

using namespace ringlane::vmm::e1000;  // the 8254x registers the 82574 shares

// What the 82574 has beyond the 8254x (the 82574 datasheet's names).
constexpr uint32_t kIvar = 0x00e4;
constexpr uint32_t kEitr0 = 0x00e8;  // five of them, one per MSI-X vector
constexpr uint32_t kEitrCount = 5;
constexpr uint32_t kTarc0 = 0x3840;
constexpr uint32_t kTctlPsp = 1u << 3;
constexpr uint32_t kTarcEnable = 1u << 10;
// With MSI-X the 82574 signals causes that are not a queue's only as "other", which must be
// enabled and set alongside them.
constexpr uint32_t kIcrOther = 1u << 24;
constexpr uint8_t kCmdEop = 0x01;
constexpr uint8_t kCmdIfcs = 0x02;
constexpr uint8_t kCmdRs = 0x08;
constexpr uint8_t kStaDd = 0x01;
constexpr uint16_t kPciCommand = 0x04;
constexpr uint16_t kCommandMemory = 0x2;
constexpr uint16_t kCommandBusMaster = 0x4;

// Far from the x86 MSI window (0xfee00000) and any reserved region the IOMMU reports.
constexpr uint64_t kIova = 0x40000000;
constexpr uint32_t kRingEntries = 16;
constexpr uint64_t kFramesAt = 4096;

struct LegacyTxDesc {
  uint64_t buffer;
  uint16_t length;
  uint8_t cso;
  uint8_t cmd;
  uint8_t status;
  uint8_t css;
  uint16_t special;
};
static_assert(sizeof(LegacyTxDesc) == 16);

struct Options {
  std::string bdf;
  uint64_t dma_mib = 2;
  uint32_t send = 4;
  uint32_t frame_size = 128;
  bool reset = true;
  bool irq = true;
};

[[noreturn]] void finish(json& out, const std::string& error) {
  if (!error.empty()) out["error"] = error;
  std::printf("%s\n", out.dump().c_str());
  std::exit(error.empty() ? 0 : 1);
}

Result<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto number = [&]() -> Result<uint64_t> {
      if (i + 1 >= argc) return Error(EINVAL, a + " needs a number");
      char* end = nullptr;
      uint64_t v = std::strtoull(argv[++i], &end, 0);
      if (*end != '\0') return Error(EINVAL, a + ": '" + argv[i] + "' is not a number");
      return v;
    };
    if (a == "--dma-mib" || a == "--send" || a == "--frame-size") {
      auto v = number();
      if (!v.ok()) return v.error();
      if (a == "--dma-mib") o.dma_mib = *v;
      if (a == "--send") o.send = static_cast<uint32_t>(*v);
      if (a == "--frame-size") o.frame_size = static_cast<uint32_t>(*v);
    } else if (a == "--no-reset") {
      o.reset = false;
    } else if (a == "--no-irq") {
      o.irq = false;
    } else if (o.bdf.empty() && a[0] != '-') {
      o.bdf = a;
    } else {
      return Error(EINVAL, "unknown argument " + a);
    }
  }
  if (o.bdf.empty()) return Error(EINVAL, "usage: vfio_probe BDF [--dma-mib N] [--send N] ...");
  if (o.send >= kRingEntries) return Error(EINVAL, "--send: at most 15 frames");
  if (o.frame_size < 60 || o.frame_size > 1514) return Error(EINVAL, "--frame-size: 60..1514");
  return o;
}

std::string mac_text(uint32_t ral, uint32_t rah) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", ral & 0xff, (ral >> 8) & 0xff,
                (ral >> 16) & 0xff, ral >> 24, rah & 0xff, (rah >> 8) & 0xff);
  return text;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

int run_probe(int argc, char** argv) {
  json out;
  auto options = parse(argc, argv);
  if (!options.ok()) finish(out, options.error().to_string());
  const Options& o = *options;
  auto address = PciAddress::parse(o.bdf);
  if (!address.ok()) finish(out, address.error().to_string());
  out["bdf"] = address->to_string();

  auto session = VfioSession::open(*address);
  if (!session.ok()) finish(out, session.error().to_string());
  VfioDevice& device = session->device;
  out["group"] = session->group.number();
  out["device"] = {{"flags", device.info().flags},
                   {"regions", device.info().num_regions},
                   {"irqs", device.info().num_irqs},
                   {"reset", device.info().supports_reset()}};
  auto ids = device.read_config(0, 4);
  if (!ids.ok()) finish(out, ids.error().to_string());
  out["vendor"] = *ids & 0xffff;
  out["device_id"] = *ids >> 16;

  json regions = json::array();
  for (uint32_t i = 0; i < device.info().num_regions && i <= kConfigRegion; ++i) {
    auto r = device.region_info(i);
    if (!r.ok()) finish(out, r.error().to_string());
    json areas = json::array();
    for (const auto& a : r->mmap_areas()) areas.push_back({a.offset, a.size});
    regions.push_back({{"index", i},
                       {"size", r->size},
                       {"flags", r->flags},
                       {"mmap_areas", areas},
                       {"sparse", r->caps.has_sparse_mmap},
                       {"msix_mappable", r->caps.msix_mappable}});
  }
  out["regions"] = regions;
  json irqs = json::array();
  for (auto index : {IrqIndex::intx, IrqIndex::msi, IrqIndex::msix}) {
    auto info = device.irq_info(index);
    if (!info.ok()) finish(out, info.error().to_string());
    irqs.push_back({{"index", to_string(index)}, {"count", info->count}, {"flags", info->flags}});
  }
  out["irqs"] = irqs;

  auto bar0_info = device.region_info(kBar0Region);
  if (!bar0_info.ok()) finish(out, bar0_info.error().to_string());
  auto bar0 = device.map(*bar0_info, 0, bar0_info->size);
  if (!bar0.ok()) finish(out, bar0.error().to_string());
  // Memory decoding for the mmap, bus mastering for DMA: vfio-pci leaves both to the user.
  auto command = device.read_config(kPciCommand, 2);
  if (!command.ok()) finish(out, command.error().to_string());
  auto enable = [&] {
    auto c = device.read_config(kPciCommand, 2);
    if (!c.ok()) finish(out, c.error().to_string());
    auto s = device.write_config(kPciCommand, *c | kCommandMemory | kCommandBusMaster, 2);
    if (!s.ok()) finish(out, s.error().to_string());
  };
  enable();
  out["mac"] = mac_text(bar0->read32(kRal0), bar0->read32(kRah0));

  if (o.reset) {
    // The device's own state is whatever its last driver left; start from reset.
    if (device.info().supports_reset()) {
      auto s = device.reset();
      if (!s.ok()) finish(out, s.error().to_string());
      out["reset"] = "vfio";
    } else {
      bar0->write32(kCtrl, bar0->read32(kCtrl) | kCtrlRst);
      out["reset"] = "ctrl.rst";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    enable();  // a function-level reset clears the command register
    if (!wait_for([&] { return (bar0->read32(kCtrl) & kCtrlRst) == 0; },
                  std::chrono::milliseconds(1000))) {
      finish(out, "CTRL.RST did not clear within 1 s");
    }
    out["mac_after_reset"] = mac_text(bar0->read32(kRal0), bar0->read32(kRah0));
  }
  bar0->write32(kImc, 0xffffffff);
  bar0->write32(kCtrl, bar0->read32(kCtrl) | kCtrlSlu);
  out["status"] = bar0->read32(kStatus);

  // The DMA buffer: anonymous memory the IOMMU maps at kIova.
  const uint64_t dma_size = o.dma_mib << 20;
  void* buffer =
      ::mmap(nullptr, dma_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) finish(out, errno_error("mmap the DMA buffer").to_string());
  auto mapped = session->container.dma_map(kIova, buffer, dma_size, DmaAccess::read_write);
  if (!mapped.ok()) {
    out["dma_map_error"] = mapped.error().to_string();
    finish(out, mapped.error().to_string());
  }
  out["dma"] = {{"iova", kIova}, {"size", dma_size}};

  if (o.send > 0) {
    auto* bytes = static_cast<uint8_t*>(buffer);
    auto* ring = static_cast<LegacyTxDesc*>(buffer);
    std::memset(ring, 0, kRingEntries * sizeof(LegacyTxDesc));
    uint32_t ral = bar0->read32(kRal0);
    uint32_t rah = bar0->read32(kRah0);
    for (uint32_t seq = 0; seq < o.send; ++seq) {
      uint8_t* f = bytes + kFramesAt + uint64_t{seq} * 2048;
      std::memset(f, 0xff, 6);
      for (int i = 0; i < 4; ++i) f[6 + i] = static_cast<uint8_t>(ral >> (8 * i));
      f[10] = static_cast<uint8_t>(rah);
      f[11] = static_cast<uint8_t>(rah >> 8);
      f[12] = 0x88;
      f[13] = 0xb5;
      static constexpr uint8_t kMagic[4] = {'R', 'L', 'V', 'P'};
      std::memcpy(f + 14, kMagic, sizeof(kMagic));
      for (int i = 0; i < 4; ++i) f[18 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
      for (uint32_t j = 22; j < o.frame_size; ++j) {
        f[j] = static_cast<uint8_t>(seq + (j - 22));
      }
      ring[seq].buffer = kIova + kFramesAt + uint64_t{seq} * 2048;
      ring[seq].length = static_cast<uint16_t>(o.frame_size);
      ring[seq].cmd = kCmdEop | kCmdIfcs | kCmdRs;
    }
    bar0->write32(kTdbal, static_cast<uint32_t>(kIova));
    bar0->write32(kTdbah, static_cast<uint32_t>(kIova >> 32));
    bar0->write32(kTdlen, kRingEntries * sizeof(LegacyTxDesc));
    bar0->write32(kTdh, 0);
    bar0->write32(kTdt, 0);
    bar0->write32(kTarc0, bar0->read32(kTarc0) | kTarcEnable);
    bar0->write32(kTctl, kTctlEn | kTctlPsp | (0x0f << 4) | (0x3f << 12));
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bar0->write32(kTdt, o.send);
    bool advanced =
        wait_for([&] { return bar0->read32(kTdh) == o.send; }, std::chrono::milliseconds(5000));
    uint32_t done = 0;
    for (uint32_t seq = 0; seq < o.send; ++seq) {
      if ((reinterpret_cast<volatile LegacyTxDesc*>(ring)[seq].status & kStaDd) != 0) ++done;
    }
    out["tx"] = {{"queued", o.send},
                 {"tdh", bar0->read32(kTdh)},
                 {"descriptors_done", done},
                 {"frame_size", o.frame_size}};
    if (!advanced || done != o.send) {
      finish(out, "the NIC did not complete the transmit ring (TDH " +
                      std::to_string(bar0->read32(kTdh)) + ", " + std::to_string(done) + " of " +
                      std::to_string(o.send) + " descriptors done)");
    }
  }

  if (o.irq) {
    // Each kind of interrupt in turn to an eventfd: every cause routed to vector 0 (IVAR, for
    // MSI-X), then a link-status change cause set by software (ICS); it must reach the eventfd.
    // No interrupt throttling: QEMU 7.2's e1000e asserts (and dies) when a throttling timer
    // armed under MSI-X fires after MSI-X is off, and Linux's driver left EITR set.
    bar0->write32(kItr, 0);
    for (uint32_t i = 0; i < kEitrCount; ++i) bar0->write32(kEitr0 + 4 * i, 0);
    auto fire = [&](IrqIndex index) -> Result<uint64_t> {
      UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      int fds[1] = {event.get()};
      RINGLANE_TRY(device.set_irq_eventfds(index, 0, fds));
      if (index == IrqIndex::msix) bar0->write32(kIvar, 0x00080808);  // RxQ0, TxQ0, other: 0
      (void)bar0->read32(kIcr);
      bar0->write32(kIms, kIntLsc | kIcrOther);
      uint64_t total = 0;
      // INTx twice: the kernel masks the line when it fires, so the second interrupt arrives
      // only if unmask_intx re-armed it.
      for (int round = 0; round < (index == IrqIndex::intx ? 2 : 1); ++round) {
        bar0->write32(kIcs, kIntLsc | kIcrOther);
        pollfd p{event.get(), POLLIN, 0};
        uint64_t count = 0;
        if (::poll(&p, 1, 3000) == 1 && ::read(event.get(), &count, sizeof(count)) != 8) {
          count = 0;
        }
        if (count == 0) break;
        total += count;
        (void)bar0->read32(kIcr);  // clears the cause: the level drops
        if (index == IrqIndex::intx) RINGLANE_TRY(device.unmask_intx());
      }
      bar0->write32(kImc, 0xffffffff);
      // QEMU's e1000e keeps a minimum EITR interval whatever is written, so each MSI-X
      // interrupt arms a throttling timer: let it expire while MSI-X is still on.
      if (index == IrqIndex::msix) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      RINGLANE_TRY(device.disable_irqs(index));
      return total;
    };
    for (auto [index, key] :
         {std::pair{IrqIndex::msix, "msix_interrupts"}, std::pair{IrqIndex::msi, "msi_interrupts"},
          std::pair{IrqIndex::intx, "intx_interrupts"}}) {
      Result<uint64_t> count = fire(index);
      if (!count.ok())
        finish(out, std::string(to_string(index)) + ": " + count.error().to_string());
      out[key] = *count;
      if (*count == 0) {
        finish(out,
               std::string("no ") + to_string(index) + " interrupt reached the eventfd in 3 s");
      }
    }
  }

  bar0->write32(kTctl, 0);
  auto unmapped = session->container.dma_unmap(kIova, dma_size);
  if (!unmapped.ok()) finish(out, unmapped.error().to_string());
  finish(out, "");
}

// JSON building may throw (out of memory); say so instead of aborting.
int main(int argc, char** argv) {
  try {
    return run_probe(argc, argv);
  } catch (const std::exception& e) {
    std::printf("{\"error\": \"exception: %s\"}\n", e.what());
    return 1;
  }
}
