// PassthroughDevice: a host PCI device given to the guest through VFIO (vfio/). The guest's
// device addresses are guest physical addresses: all of guest RAM is mapped for DMA at
// IOVA = GPA. The BARs sit where this VMM's PCI bus places them: the parts the kernel lets us
// mmap() become KVM memory slots (the guest's accesses then reach the device without an exit),
// the rest (I/O BARs, the MSI-X table's pages) trap and are forwarded with pread/pwrite.
//
// Configuration space: the BARs, the ROM BAR (no ROM is offered), interrupt line and pin (no
// INTx: the pin reads 0) and MSI-X's enable and mask bits are emulated; the command register is
// both emulated (it decides where the bus decodes) and forwarded; everything else is the
// device's own, read and written through VFIO's configuration region (which itself virtualizes
// what the host must keep).
//
// MSI-X: the guest's table is emulated (MsixTable: one GSI with an MSI route per vector); while
// the guest has MSI-X enabled, VFIO signals one eventfd per vector, and each eventfd is a KVM
// irqfd on its vector's GSI while that vector is unmasked. Interrupts never pass through the VMM.
// MSI (not X) and INTx are not offered to the guest.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ringlane/base/event_fd.h"
#include "ringlane/base/result.h"
#include "ringlane/vfio/vfio_session.h"
#include "ringlane/vmm/machine/machine.h"
#include "ringlane/vmm/nic/passthrough_config.h"
#include "ringlane/vmm/pci/msix_table.h"
#include "ringlane/vmm/pci/pci_device.h"

namespace ringlane::vmm {

class PassthroughDevice : public PciDevice {
 public:
  // Opens the device (bound to vfio-pci, its group viable), resets it, maps guest RAM for its
  // DMA and its BARs for mapping; plug it into machine.pci() afterwards.
  static Result<std::shared_ptr<PassthroughDevice>> create(Machine& machine,
                                                           const vfio::PciAddress& address);
  ~PassthroughDevice() override;

  std::string name() const override { return "passthrough " + address_.to_string(); }
  const vfio::PciAddress& address() const { return address_; }
  // The device's vendor and device ID, "8086:10d3".
  std::string ids() const;

  uint32_t config_read(uint16_t offset, uint8_t size) override;
  bool config_write(uint16_t offset, uint8_t size, uint32_t value) override;
  void config_written(uint16_t offset, uint8_t size, bool decoding_changed) override;
  void bar_read(int bar, uint64_t offset, std::span<uint8_t> data) override;
  void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) override;

  // BAR bytes the guest reaches through KVM memory slots, and accesses that trapped.
  uint64_t mapped_bytes() const;
  uint64_t trapped_accesses() const { return trapped_accesses_; }
  bool bus_master() const;

 private:
  // One mmap()ed piece of a BAR and the memory slot it becomes while the BAR decodes.
  struct Segment {
    uint64_t offset = 0;  // within the BAR
    vfio::RegionMapping mapping;
    uint32_t slot = 0;
    std::optional<uint64_t> mapped_at;  // guest physical address while in a slot
  };
  struct Bar {
    vfio::RegionInfo region;
    std::vector<Segment> segments;
  };
  struct Msix {
    uint8_t capability = 0;  // offset in configuration space
    int bar = 0;
    uint64_t table_offset = 0;
    uint64_t table_bytes = 0;
    uint16_t control = 0;  // what the guest reads: the table size, and its enable and mask bits
    std::optional<MsixTable> table;
    std::vector<EventFd> events;  // one per vector
    bool vfio_enabled = false;
    std::set<std::pair<int, uint32_t>> irqfds;  // attached (eventfd, GSI)
  };

  PassthroughDevice(Machine& machine, vfio::VfioSession session, const PciIdentity& id);

  // The emulation's byte at `at` (PassthroughConfig says which of them the guest sees).
  uint8_t emulated_byte(uint16_t at) const;
  bool in_msix_table(int bar, uint64_t offset, uint64_t len) const;
  // Moves the BARs' memory slots to where the BARs decode now (or removes them).
  void update_mappings();
  // Follows the guest's MSI-X state: VFIO's vectors on or off, irqfds for the unmasked ones.
  void update_msix();

  Vm& vm_;
  vfio::VfioSession session_;
  vfio::PciAddress address_;
  uint16_t vendor_ = 0;
  uint16_t device_id_ = 0;
  std::vector<std::optional<Bar>> bars_;  // by BAR index; empty for unused ones
  Msix msix_;
  bool has_msix_ = false;
  PassthroughConfig config_split_{std::nullopt};
  uint64_t trapped_accesses_ = 0;
  uint64_t dma_bytes_ = 0;
};

}  // namespace ringlane::vmm
