/* PCI through configuration mechanism 1 (ports 0xcf8/0xcfc), bus 0 only: what a machine with one
 * host bridge and its devices on the root bus needs. BARs are used where the firmware or VMM put
 * them; the guest only turns on decoding and bus mastering (a driver may place a BAR nobody
 * assigned with pci_write32). */
#pragma once

#include <stdint.h>

struct pci_device {
  uint8_t slot;
  uint8_t function;
  uint16_t vendor;
  uint16_t device;
};

uint32_t pci_read32(const struct pci_device* d, uint8_t offset);
uint16_t pci_read16(const struct pci_device* d, uint8_t offset);
uint8_t pci_read8(const struct pci_device* d, uint8_t offset);
void pci_write16(const struct pci_device* d, uint8_t offset, uint16_t value);
void pci_write32(const struct pci_device* d, uint8_t offset, uint32_t value);
/* Finds the first function on bus 0 with this vendor and one of `count` device IDs; 0 if none. */
int pci_find(uint16_t vendor, const uint16_t* devices, int count, struct pci_device* out);
/* The address a memory BAR decodes (64-bit BARs included), 0 for an I/O or unassigned BAR. */
uint64_t pci_bar_address(const struct pci_device* d, int bar);
/* Memory decoding and bus mastering on. */
void pci_enable(const struct pci_device* d);
/* Offset of the first capability of `id` at or after `start` (0 to begin), 0 when there is none. */
uint8_t pci_find_capability(const struct pci_device* d, uint8_t id, uint8_t start);
