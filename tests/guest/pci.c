#include "pci.h"

#include "runtime.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc

static void select_register(const struct pci_device* d, uint8_t offset) {
  outl(PCI_CONFIG_ADDRESS, 0x80000000u | ((uint32_t)d->slot << 11) | ((uint32_t)d->function << 8) |
                               (offset & 0xfcu));
}

uint32_t pci_read32(const struct pci_device* d, uint8_t offset) {
  select_register(d, offset);
  return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(const struct pci_device* d, uint8_t offset) {
  select_register(d, offset);
  return inw(PCI_CONFIG_DATA + (offset & 2));
}

uint8_t pci_read8(const struct pci_device* d, uint8_t offset) {
  select_register(d, offset);
  return inb(PCI_CONFIG_DATA + (offset & 3));
}

void pci_write16(const struct pci_device* d, uint8_t offset, uint16_t value) {
  select_register(d, offset);
  outw(PCI_CONFIG_DATA + (offset & 2), value);
}

void pci_write32(const struct pci_device* d, uint8_t offset, uint32_t value) {
  select_register(d, offset);
  outl(PCI_CONFIG_DATA, value);
}

int pci_find(uint16_t vendor, const uint16_t* devices, int count, struct pci_device* out) {
  for (uint8_t slot = 0; slot < 32; ++slot) {
    for (uint8_t fn = 0; fn < 8; ++fn) {
      struct pci_device d = {slot, fn, 0, 0};
      uint32_t id = pci_read32(&d, 0);
      if ((id & 0xffff) == 0xffff) {
        if (fn == 0) break; /* no device in this slot */
        continue;
      }
      d.vendor = (uint16_t)id;
      d.device = (uint16_t)(id >> 16);
      for (int i = 0; i < count; ++i) {
        if (d.vendor == vendor && d.device == devices[i]) {
          *out = d;
          return 1;
        }
      }
      /* Other functions only if the header type says multi-function. */
      if (fn == 0 && (pci_read8(&d, 0x0e) & 0x80) == 0) break;
    }
  }
  return 0;
}

uint64_t pci_bar_address(const struct pci_device* d, int bar) {
  uint8_t offset = (uint8_t)(0x10 + 4 * bar);
  uint32_t low = pci_read32(d, offset);
  if ((low & 1) != 0) return 0; /* I/O space */
  uint64_t address = low & ~0xfull;
  if (((low >> 1) & 3) == 2) address |= (uint64_t)pci_read32(d, (uint8_t)(offset + 4)) << 32;
  return address;
}

void pci_enable(const struct pci_device* d) {
  pci_write16(d, 0x04, (uint16_t)(pci_read16(d, 0x04) | 0x6)); /* memory space, bus master */
}

uint8_t pci_find_capability(const struct pci_device* d, uint8_t id, uint8_t start) {
  if ((pci_read16(d, 0x06) & 0x10) == 0) return 0; /* no capability list */
  uint8_t at = start == 0 ? pci_read8(d, 0x34) : pci_read8(d, (uint8_t)(start + 1));
  for (int guard = 0; at != 0 && guard < 48; ++guard) {
    at &= 0xfc;
    if (pci_read8(d, at) == id) return at;
    at = pci_read8(d, (uint8_t)(at + 1));
  }
  return 0;
}
