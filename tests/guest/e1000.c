/* A polling driver for the Intel 82540EM (e1000) and 82574L (e1000e, QEMU's e1000e and what a
 * passthrough test gives the guest): one legacy receive ring and one legacy transmit ring, no
 * offloads, every interrupt masked. Register names, bits and descriptor layouts are from the
 * Intel PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual (8254x):
 * descriptors in sections 3.2-3.4, registers in section 13, the order of initialisation in 14.
 * The 82574L (its datasheet) keeps those registers and legacy descriptors; where it differs, the
 * driver says so: EERD's layout, and the transmit queue's enable bit in TARC0. Neither part's
 * I/O BAR is used.
 *
 * Every register access costs a VM exit on a virtual device, and the VMM's model transmits on
 * each TDT write: send() only fills descriptors, flush() rings the doorbell once for the batch, and
 * receive() hands buffers back to the device in batches of RX_BATCH.
 *
 * The rings' indexes are the driver's own; the device only writes descriptors back. What it
 * writes is checked, never trusted: DD on a descriptor the device does not hold (completed
 * twice) or a received length past its buffer is a device error (nic.h), counted and ignored. */
#include "console.h"
#include "nic.h"
#include "pci.h"
#include "runtime.h"

#define INTEL_VENDOR 0x8086
#define DEV_82540EM 0x100e
#define DEV_82574L 0x10d3

/* Where BAR0 goes when neither firmware nor VMM assigned it (ringlane-vmm and SeaBIOS always
 * do): 128 KiB, the size the 82540EM decodes, aligned, just below the IOAPIC at 0xfec00000,
 * where firmware puts small BARs (SeaBIOS puts this one there on QEMU's q35). Nothing else
 * checks the window is free: good for a machine with this one device and no firmware. */
#define FALLBACK_BAR0 0xfebc0000u

/* Registers: byte offsets into BAR0 (section 13.4). */
#define CTRL 0x0000
#define STATUS 0x0008
#define EERD 0x0014
#define ICR 0x00c0
#define ICS 0x00c8
#define IMS 0x00d0
#define IMC 0x00d8
#define IVAR 0x00e4 /* 82574L */
#define RCTL 0x0100
#define TCTL 0x0400
#define TIPG 0x0410
#define RDBAL 0x2800
#define RDBAH 0x2804
#define RDLEN 0x2808
#define RDH 0x2810
#define RDT 0x2818
#define TDBAL 0x3800
#define TDBAH 0x3804
#define TDLEN 0x3808
#define TDH 0x3810
#define TDT 0x3818
#define TARC0 0x3840 /* 82574L */
#define MTA 0x5200   /* 128 entries */
#define RAL0 0x5400
#define RAH0 0x5404

#define CTRL_LRST (1u << 3)
#define CTRL_ASDE (1u << 5)
#define CTRL_SLU (1u << 6)
#define CTRL_ILOS (1u << 7)
#define CTRL_RST (1u << 26)
#define CTRL_VME (1u << 30)
#define CTRL_PHY_RST (1u << 31)
#define STATUS_LU (1u << 1)
#define RAH_AV (1u << 31)

/* EERD as the 82540EM lays it out (the 82541/82547 moved DONE and ADDR). */
#define EERD_START (1u << 0)
#define EERD_DONE (1u << 4)
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16
/* The 82574L's EERD (datasheet 10.2.2.6): DONE is bit 1, the word address starts at bit 2. */
#define EERD_82574_DONE (1u << 1)
#define EERD_82574_ADDR_SHIFT 2
/* TARC0.ENABLE: the 82574L's transmit queue 0 works only with it set (QEMU's e1000e checks it on
 * every TDT write). */
#define TARC_ENABLE (1u << 10)

#define RCTL_EN (1u << 1)
#define RCTL_BAM (1u << 15)
#define RCTL_BSIZE_2048 (0u << 16) /* with BSEX clear */
#define RCTL_SECRC (1u << 26)      /* strip the CRC: lengths are frame lengths */

#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)
#define TCTL_CT(n) ((uint32_t)(n) << 4)
#define TCTL_COLD(n) ((uint32_t)(n) << 12)
/* The TIPG register description's recommended values for the 82540EM (copper): IPGT 10,
 * IPGR1 8, IPGR2 6. */
#define TIPG_COPPER (10u | (8u << 10) | (6u << 20))

/* Legacy transmit descriptor (section 3.3). */
struct tx_desc {
  uint64_t addr;
  uint16_t length;
  uint8_t cso;
  uint8_t cmd;
  uint8_t status;
  uint8_t css;
  uint16_t special;
};
#define TXD_CMD_EOP 0x01
#define TXD_CMD_IFCS 0x02
#define TXD_CMD_RS 0x08
#define TXD_STAT_DD 0x01

/* Receive descriptor (section 3.2). */
struct rx_desc {
  uint64_t addr;
  uint16_t length;
  uint16_t checksum;
  uint8_t status;
  uint8_t errors;
  uint16_t special;
};
#define RXD_STAT_DD 0x01
#define RXD_STAT_EOP 0x02
/* Frame errors: CRC, symbol, sequence, carrier extension, RX data. The checksum error bits are
 * left out: the frame itself is intact, and checksum offload is not used. */
#define RXD_ERR_FRAME 0x97

#define RING_SIZE 256 /* descriptors; RDLEN/TDLEN must be multiples of 128 bytes */
#define BUF_SIZE 2048 /* RCTL.BSIZE */
#define RX_BATCH 32   /* buffers handed back per RDT write */

static struct {
  uint64_t regs;
  uint16_t device_id;
  struct pci_device pci;
  volatile struct rx_desc* rx;
  volatile struct tx_desc* tx;
  uint16_t rx_next;     /* next receive descriptor the device will complete */
  uint16_t rx_tail;     /* RDT as last written: the device may fill rx_next .. rx_tail - 1 */
  int rx_discarding;    /* inside a frame that spans descriptors: drop up to its EOP */
  uint16_t tx_tail;     /* next transmit descriptor to fill */
  uint16_t tx_notified; /* TDT as last written */
  uint16_t tx_clean;    /* oldest transmit descriptor not yet seen done */
  uint64_t rx_errors, rx_spanning, reported;
} dev;

static struct rx_desc rx_ring[RING_SIZE] __attribute__((aligned(4096)));
static struct tx_desc tx_ring[RING_SIZE] __attribute__((aligned(4096)));
static uint8_t rx_buffers[RING_SIZE][BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t tx_buffers[RING_SIZE][BUF_SIZE] __attribute__((aligned(4096)));

static uint32_t reg_read(uint32_t reg) {
  return mmio_read32(dev.regs + reg);
}
static void reg_write(uint32_t reg, uint32_t value) {
  mmio_write32(dev.regs + reg, value);
}

static uint16_t ring_next(uint16_t i) {
  return (uint16_t)((i + 1) % RING_SIZE);
}

/* Receive buffers we are done with that the device has not got back yet: those after RDT up to,
 * not including, the one most recently taken (it stays with us, so RDH never meets RDT). */
static uint16_t rx_pending(void) {
  return (uint16_t)((dev.rx_next + 2 * RING_SIZE - 1 - dev.rx_tail) % RING_SIZE);
}

/* Busy-waits for a number of TSC cycles: the guest does not know the TSC's rate, so callers
 * choose counts that are long enough at any rate up to a few GHz. */
static void spin_cycles(uint64_t cycles) {
  uint64_t start = rdtsc();
  while (rdtsc() - start < cycles) {
  }
}

/* One EEPROM word through EERD; 0xffff when the read never completes. */
static uint16_t eeprom_read(uint8_t word) {
  int is_82574 = dev.device_id == DEV_82574L;
  uint32_t done = is_82574 ? EERD_82574_DONE : EERD_DONE;
  uint32_t shift = is_82574 ? EERD_82574_ADDR_SHIFT : EERD_ADDR_SHIFT;
  reg_write(EERD, EERD_START | ((uint32_t)word << shift));
  for (int i = 0; i < 100000; ++i) {
    uint32_t v = reg_read(EERD);
    if (v & done) return (uint16_t)(v >> EERD_DATA_SHIFT);
  }
  return 0xffff;
}

/* The MAC address the device filters on: receive address 0, loaded from the EEPROM at reset, or
 * the EEPROM itself (words 0-2) when RAH0 is not valid, then written back so unicast frames to
 * it pass the filter. */
static void read_mac(uint8_t mac[6]) {
  uint32_t low = reg_read(RAL0);
  uint32_t high = reg_read(RAH0);
  if ((high & RAH_AV) == 0) {
    uint16_t w0 = eeprom_read(0), w1 = eeprom_read(1), w2 = eeprom_read(2);
    low = (uint32_t)w0 | ((uint32_t)w1 << 16);
    high = (uint32_t)w2;
    reg_write(RAL0, low);
    reg_write(RAH0, high | RAH_AV);
  }
  for (int i = 0; i < 4; ++i) mac[i] = (uint8_t)(low >> (8 * i));
  mac[4] = (uint8_t)high;
  mac[5] = (uint8_t)(high >> 8);
}

/* Section 14.4. The rings are written through volatile pointers so that the compiler keeps
 * these stores ahead of the register writes that hand the rings to the device. */
static void setup_rx(void) {
  dev.rx = rx_ring;
  for (uint16_t i = 0; i < RING_SIZE; ++i) {
    dev.rx[i].addr = (uint64_t)rx_buffers[i];
    dev.rx[i].status = 0;
    dev.rx[i].errors = 0;
  }
  reg_write(RDBAL, (uint32_t)(uint64_t)rx_ring);
  reg_write(RDBAH, (uint32_t)((uint64_t)rx_ring >> 32));
  reg_write(RDLEN, sizeof(rx_ring));
  /* Heads are written, not assumed: reset clears them on hardware, but a reset is not always a
   * reset on a model (QEMU's CTRL.RST only clears the bit). One descriptor stays with us: a ring
   * with RDH == RDT is empty to the device. */
  reg_write(RDH, 0);
  dev.rx_next = 0;
  dev.rx_tail = RING_SIZE - 1;
  reg_write(RDT, dev.rx_tail);
  reg_write(RCTL, RCTL_EN | RCTL_BAM | RCTL_BSIZE_2048 | RCTL_SECRC);
}

/* Section 14.5. */
static void setup_tx(void) {
  dev.tx = tx_ring;
  for (uint16_t i = 0; i < RING_SIZE; ++i) {
    dev.tx[i].addr = (uint64_t)tx_buffers[i];
    dev.tx[i].status = 0;
  }
  reg_write(TDBAL, (uint32_t)(uint64_t)tx_ring);
  reg_write(TDBAH, (uint32_t)((uint64_t)tx_ring >> 32));
  reg_write(TDLEN, sizeof(tx_ring));
  reg_write(TDH, 0);
  reg_write(TDT, 0);
  dev.tx_tail = dev.tx_notified = dev.tx_clean = 0;
  reg_write(TIPG, TIPG_COPPER);
  if (dev.device_id == DEV_82574L) reg_write(TARC0, reg_read(TARC0) | TARC_ENABLE);
  /* Collision threshold and distance as section 14.5 recommends (the Ethernet standard's 16,
   * full duplex); PSP pads short frames to the Ethernet minimum. */
  reg_write(TCTL, TCTL_EN | TCTL_PSP | TCTL_CT(0x10) | TCTL_COLD(0x40));
}

/* Takes back transmit descriptors the device has finished: only those already behind a TDT
 * write can be (at most a ring's worth), and each carries RS, so each gets DD written back. The
 * status is cleared so that a second write-back shows when the slot is filled again. */
static void reap_tx(void) {
  while (dev.tx_clean != dev.tx_notified && (dev.tx[dev.tx_clean].status & TXD_STAT_DD)) {
    dev.tx[dev.tx_clean].status = 0;
    dev.tx_clean = ring_next(dev.tx_clean);
  }
}

/* A free transmit descriptor with DD set was written back after the driver took it back. */
static void check_free_tx(uint16_t i) {
  if ((dev.tx[i].status & TXD_STAT_DD) == 0) return;
  if (device_error(DEVICE_ERROR_DOUBLE)) {
    print("ringlane-guest: device error: e1000 transmit descriptor %u completed twice\n", i);
  }
}

/* Gives the device every receive buffer we are done with, in one RDT write. */
static void return_rx(void) {
  if (rx_pending() == 0) return;
  compiler_barrier(); /* the cleared descriptors before the device may use them */
  dev.rx_tail = (uint16_t)((dev.rx_next + RING_SIZE - 1) % RING_SIZE);
  reg_write(RDT, dev.rx_tail);
}

static int e1000_send(struct nic* nic, const void* frame, uint32_t len) {
  (void)nic;
  if (len == 0 || len > BUF_SIZE) return 0;
  if (ring_next(dev.tx_tail) == dev.tx_clean) reap_tx();
  if (ring_next(dev.tx_tail) == dev.tx_clean) return 0; /* full: one slot always stays empty */
  uint16_t i = dev.tx_tail;
  check_free_tx(i);
  memcpy(tx_buffers[i], frame, len);
  volatile struct tx_desc* d = &dev.tx[i];
  d->length = (uint16_t)len;
  d->cso = 0;
  d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
  d->status = 0;
  d->css = 0;
  d->special = 0;
  dev.tx_tail = ring_next(i);
  return 1;
}

static void e1000_flush(struct nic* nic) {
  (void)nic;
  if (dev.tx_tail != dev.tx_notified) {
    compiler_barrier(); /* descriptors and buffers before the doorbell */
    dev.tx_notified = dev.tx_tail;
    reg_write(TDT, dev.tx_notified);
  }
  return_rx();
  reap_tx();
}

/* Waits until the device has finished every queued frame, or erred and stalled (device_stalled):
 * the workload still reports then. */
static void e1000_drain(struct nic* nic) {
  e1000_flush(nic);
  uint16_t clean = dev.tx_clean;
  uint64_t since = 0;
  while (dev.tx_clean != dev.tx_tail) {
    reap_tx();
    if (dev.tx_clean != clean) {
      clean = dev.tx_clean;
      since = 0;
    } else if (device_stalled(&since)) {
      print("ringlane-guest: transmit drain gave up: the device still holds %u descriptors\n",
            (uint16_t)((dev.tx_tail + RING_SIZE - dev.tx_clean) % RING_SIZE));
      break;
    }
  }
  /* Errors are rare and the workload's report has no place for them: say so here, whenever
   * there are new ones. */
  if (dev.rx_errors + dev.rx_spanning != dev.reported) {
    dev.reported = dev.rx_errors + dev.rx_spanning;
    print("ringlane-guest: e1000 dropped %lu frames with errors, %lu spanning descriptors\n",
          dev.rx_errors, dev.rx_spanning);
  }
}

/* DD on the descriptor at RDT: the device holds none from there on, so it wrote back one it did
 * not hold. Cleared, so that it counts once. */
static void check_rx_tail(volatile struct rx_desc* d) {
  if ((d->status & RXD_STAT_DD) == 0) return;
  d->status = 0;
  if (device_error(DEVICE_ERROR_DOUBLE)) {
    print("ringlane-guest: device error: e1000 receive descriptor %u completed twice (RDT %u)\n",
          dev.rx_next, dev.rx_tail);
  }
}

/* A length past the 2048-byte buffer: nothing past it is read. */
static int rx_length_ok(uint32_t len) {
  if (len <= BUF_SIZE) return 1;
  if (device_error(DEVICE_ERROR_BAD_LENGTH)) {
    print(
        "ringlane-guest: device error: e1000 receive descriptor %u length %u larger than its "
        "buffer of %u\n",
        (uint16_t)((dev.rx_next + RING_SIZE - 1) % RING_SIZE), len, BUF_SIZE);
  }
  return 0;
}

/* At most a ring's worth of descriptors per call, each one the device held. */
static uint32_t e1000_receive(struct nic* nic, void* out, uint32_t cap) {
  (void)nic;
  for (int n = 0; n < RING_SIZE; ++n) {
    volatile struct rx_desc* d = &dev.rx[dev.rx_next];
    if (dev.rx_next == dev.rx_tail) {
      check_rx_tail(d);
      return 0;
    }
    uint8_t status = d->status;
    if ((status & RXD_STAT_DD) == 0) return 0;
    compiler_barrier(); /* length and errors after the DD that covers them */
    uint8_t errors = d->errors;
    uint32_t len = d->length;
    uint8_t* buf = rx_buffers[dev.rx_next];
    /* Status and errors are ours to clear: a device sets bits in them but need not clear any
     * (QEMU's e1000 writes the errors byte back as it found it). */
    d->status = 0;
    d->errors = 0;
    dev.rx_next = ring_next(dev.rx_next);
    if (rx_pending() >= RX_BATCH) return_rx();

    /* 2048-byte buffers hold any frame without LPE, so a frame over several descriptors is a
     * device bug or a jumbo frame: dropped whole, up to and including its EOP descriptor. */
    if ((status & RXD_STAT_EOP) == 0) {
      if (!dev.rx_discarding) ++dev.rx_spanning;
      dev.rx_discarding = 1;
      continue;
    }
    if (dev.rx_discarding) {
      dev.rx_discarding = 0;
      continue;
    }
    if (errors & RXD_ERR_FRAME) {
      ++dev.rx_errors;
      continue;
    }
    if (!rx_length_ok(len)) continue;
    if (len == 0) {
      ++dev.rx_errors;
      continue;
    }
    if (len > cap) len = cap;
    memcpy(out, buf, len);
    return len;
  }
  return 0;
}

/* BAR0 where the firmware or VMM put it; if nobody did, the fallback window (one device only). */
static uint64_t map_registers(const struct pci_device* pci) {
  uint64_t bar = pci_bar_address(pci, 0);
  if (bar != 0 || (pci_read32(pci, 0x10) & 1) != 0) return bar;
  pci_write32(pci, 0x10, FALLBACK_BAR0);
  print("ringlane-guest: e1000 BAR0 was unassigned, placed at %x\n", FALLBACK_BAR0);
  return pci_bar_address(pci, 0);
}

int e1000_probe(struct nic* nic) {
  static const uint16_t ids[] = {DEV_82540EM, DEV_82574L};
  struct pci_device pci;
  if (!pci_find(INTEL_VENDOR, ids, 2, &pci)) return 0;
  dev.device_id = pci.device;
  dev.pci = pci;
  dev.regs = map_registers(&pci);
  if (dev.regs == 0) {
    print("ringlane-guest: e1000 without a memory BAR\n");
    return 0;
  }
  pci_enable(&pci);

  /* Section 14.3: interrupts masked before the reset (it could otherwise raise one) and after
   * (reset unmasks nothing, but a model may not reset at all); reading ICR clears causes. */
  reg_write(IMC, 0xffffffffu);
  reg_write(CTRL, reg_read(CTRL) | CTRL_RST);
  /* RST clears itself within microseconds, but the EEPROM reload that follows (receive address
   * 0 among it) takes milliseconds: 20 M cycles are 5 ms or more on a TSC of up to 4 GHz. */
  spin_cycles(20000000);
  for (int i = 0; i < 1000 && (reg_read(CTRL) & CTRL_RST); ++i) spin_cycles(100000);
  if (reg_read(CTRL) & CTRL_RST) {
    print("ringlane-guest: e1000 stays in reset\n");
    return 0;
  }
  reg_write(IMC, 0xffffffffu);
  (void)reg_read(ICR);

  /* Link up by software (section 14.3: SLU, speed auto-detected); no PHY or link reset held, no
   * VLAN handling. */
  uint32_t ctrl = reg_read(CTRL);
  ctrl |= CTRL_SLU | CTRL_ASDE;
  ctrl &= ~(CTRL_LRST | CTRL_PHY_RST | CTRL_ILOS | CTRL_VME);
  reg_write(CTRL, ctrl);

  read_mac(nic->mac);
  for (uint32_t i = 0; i < 128; ++i) reg_write(MTA + 4 * i, 0); /* no multicast */
  setup_rx();
  setup_tx();

  /* The link normally comes up in well under a second; a device that never reports it still
   * gets its rings (frames then wait or are lost, which the workload's counts show). */
  for (int i = 0; i < 1000 && (reg_read(STATUS) & STATUS_LU) == 0; ++i) spin_cycles(1000000);
  if ((reg_read(STATUS) & STATUS_LU) == 0) print("ringlane-guest: e1000 link is down\n");

  nic->name = dev.device_id == DEV_82574L ? "e1000e" : "e1000";
  nic->send = e1000_send;
  nic->flush = e1000_flush;
  nic->drain = e1000_drain;
  nic->receive = e1000_receive;
  nic->driver = &dev;
  return 1;
}

/* The MSI-X check (82574L only): vector 0 of the device's MSI-X table is pointed at this CPU's
 * local APIC with vector MSIX_TEST_VECTOR, every interrupt cause routed to it (IVAR), and a
 * link-status change raised by software (ICS). The guest runs with interrupts off (its IDT has
 * exception gates only), so the interrupt is never taken: it stays pending in the local APIC's
 * IRR, which is read
 * (0xfee00000 is identity-mapped like the rest of the PCI hole). That proves the whole path a
 * passed-through device's interrupt takes: device, host VFIO, the VMM's irqfd and MSI route from
 * the table the guest wrote, the guest's APIC. */
#define MSIX_TEST_VECTOR 0x40
#define LAPIC 0xfee00000ull
#define LAPIC_SVR 0xf0
#define LAPIC_IRR 0x200
#define ICR_LSC (1u << 2)
#define ICR_OTHER (1u << 24) /* with MSI-X, causes that are not a queue's signal as "other" */

int e1000_msix_check(void) {
  if (dev.device_id != DEV_82574L) return -1;
  uint8_t cap = pci_find_capability(&dev.pci, 0x11, 0);
  if (cap == 0) return -1;
  uint32_t table = pci_read32(&dev.pci, (uint8_t)(cap + 4));
  uint64_t bar = pci_bar_address(&dev.pci, (int)(table & 7));
  if (bar == 0) return -1;
  uint64_t entry = bar + (table & ~7u);
  mmio_write32(entry + 0, (uint32_t)LAPIC); /* destination APIC ID 0 */
  mmio_write32(entry + 4, 0);
  mmio_write32(entry + 8, MSIX_TEST_VECTOR); /* fixed delivery, edge */
  mmio_write32(entry + 12, 0);               /* unmasked */
  uint16_t control = pci_read16(&dev.pci, (uint8_t)(cap + 2));
  pci_write16(&dev.pci, (uint8_t)(cap + 2), (uint16_t)((control | 0x8000) & ~0x4000));
  /* A software-disabled APIC drops fixed interrupts: enable it (spurious vector 0xff). */
  mmio_write32(LAPIC + LAPIC_SVR, 0x1ff);
  reg_write(IVAR, 0x00080808); /* receive queue 0, transmit queue 0, other: vector 0, valid */
  (void)reg_read(ICR);
  reg_write(IMS, ICR_LSC | ICR_OTHER);
  reg_write(ICS, ICR_LSC | ICR_OTHER);
  uint64_t irr = LAPIC + LAPIC_IRR + 0x10 * (MSIX_TEST_VECTOR / 32);
  uint32_t bit = 1u << (MSIX_TEST_VECTOR % 32);
  int delivered = 0;
  for (int i = 0; i < 2000 && !delivered; ++i) {
    delivered = (mmio_read32(irr) & bit) != 0;
    if (!delivered) spin_cycles(1000000);
  }
  reg_write(IMC, 0xffffffffu);
  return delivered;
}
