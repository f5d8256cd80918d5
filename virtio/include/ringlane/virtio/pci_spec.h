// Virtio 1.2 over PCI (section 4.1): the IDs, capabilities and register layouts a virtio PCI
// device presents. Spec text only, no PCI code: the transport (ringlane-vmm's VirtioPciDevice)
// builds on it. What every transport shares (status bits, feature bits) is in spec.h.
#pragma once

#include <cstdint>

namespace ringlane::virtio {

// PCI IDs (4.1.2): Red Hat's vendor ID; a non-transitional (1.x only) device's ID is
// kPciModernDeviceIdBase + its virtio device type, and its subsystem ID is
// kPciModernSubsystemIdMin or more.
inline constexpr uint16_t kPciVendorId = 0x1af4;
inline constexpr uint16_t kPciModernDeviceIdBase = 0x1040;
inline constexpr uint16_t kPciModernSubsystemIdMin = 0x40;

// The structures a driver finds through vendor-specific capabilities (4.1.4): PCI's capability
// ID for those, and the cfg_type of each structure.
inline constexpr uint8_t kPciCapVendorSpecific = 0x09;
inline constexpr uint8_t kPciCapCommonCfg = 1;
inline constexpr uint8_t kPciCapNotifyCfg = 2;
inline constexpr uint8_t kPciCapIsrCfg = 3;
inline constexpr uint8_t kPciCapDeviceCfg = 4;
inline constexpr uint8_t kPciCapPciCfg = 5;

// struct virtio_pci_cap (4.1.4): where in which BAR a structure lies. cap_next is the PCI
// capability list's link, filled in by whoever builds the list.
struct PciCap {
  uint8_t cap_vndr;  // kPciCapVendorSpecific
  uint8_t cap_next;
  uint8_t cap_len;  // this structure's length, and any that follows it
  uint8_t cfg_type;
  uint8_t bar;
  uint8_t id;
  uint8_t padding[2];
  uint32_t offset;  // within the BAR
  uint32_t length;
};
static_assert(sizeof(PciCap) == 16);

// struct virtio_pci_notify_cap (4.1.4.4): a queue's doorbell is at the notify structure's
// offset + queue_notify_off * notify_off_multiplier.
struct PciNotifyCap {
  PciCap cap;
  uint32_t notify_off_multiplier;
};
static_assert(sizeof(PciNotifyCap) == 20);

// struct virtio_pci_common_cfg (4.1.4.3) up to queue_device, the fields a 1.0 driver uses; the
// fields of the selected queue (queue_select) follow the device-wide ones.
struct [[gnu::packed]] PciCommonCfg {
  uint32_t device_feature_select;
  uint32_t device_feature;
  uint32_t driver_feature_select;
  uint32_t driver_feature;
  uint16_t config_msix_vector;
  uint16_t num_queues;
  uint8_t device_status;
  uint8_t config_generation;
  uint16_t queue_select;
  uint16_t queue_size;
  uint16_t queue_msix_vector;
  uint16_t queue_enable;
  uint16_t queue_notify_off;
  uint64_t queue_desc;
  uint64_t queue_driver;
  uint64_t queue_device;
};
static_assert(sizeof(PciCommonCfg) == 56);

// ISR status bits (4.1.4.5): a used buffer notification, a configuration change.
inline constexpr uint8_t kPciIsrQueue = 1;
inline constexpr uint8_t kPciIsrConfig = 2;

// VIRTIO_MSI_NO_VECTOR (4.1.5.1.2): no MSI-X vector for this queue or for configuration changes.
inline constexpr uint16_t kPciMsiNoVector = 0xffff;

}  // namespace ringlane::virtio
