/* A polling virtio-net driver for a modern (virtio 1.x) PCI device: split rings, one receive and
 * one transmit queue, no offloads, no interrupts. Feature bits and register offsets are from the
 * virtio 1.2 specification, sections 2.7 and 4.1.
 *
 * Nothing the device writes is trusted: the driver knows which descriptors the device holds, and
 * a used index that jumps past a ring's worth, an id outside the ring or not held (completed
 * twice), or a received length past its buffer is a device error (nic.h), never acted on. */
#include "cmdline.h"
#include "console.h"
#include "nic.h"
#include "pci.h"
#include "runtime.h"

#define VIRTIO_VENDOR 0x1af4
#define CAP_VENDOR 0x09
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_DEVICE 4

/* Common configuration registers. */
#define COMMON_DFSELECT 0
#define COMMON_DF 4
#define COMMON_GFSELECT 8
#define COMMON_GF 12
#define COMMON_MSIX 16
#define COMMON_STATUS 20
#define COMMON_Q_SELECT 22
#define COMMON_Q_SIZE 24
#define COMMON_Q_MSIX 26
#define COMMON_Q_ENABLE 28
#define COMMON_Q_NOFF 30
#define COMMON_Q_DESC 32
#define COMMON_Q_AVAIL 40
#define COMMON_Q_USED 48

#define STATUS_ACK 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_FAILED 128

#define F_MAC (1ull << 5)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)
#define NO_VECTOR 0xffff
#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY 1

#define QUEUE_MAX 256
#define BUF_SIZE 2048
#define NET_HDR_LEN 12 /* virtio_net_hdr with num_buffers: VERSION_1 always has it */

struct desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct used_elem {
  uint32_t id;
  uint32_t len;
};

struct queue {
  const char* name; /* for device error reports */
  uint16_t index;
  uint16_t size;
  struct desc* desc;
  volatile uint16_t* avail; /* flags, idx, ring[size], used_event */
  volatile uint16_t* used;  /* flags, idx, then elements; avail_event after them */
  uint16_t avail_idx;       /* next avail index to publish */
  uint16_t notified_idx;    /* avail index at the last notification */
  uint16_t last_used;
  uint64_t notify_addr;
  uint8_t* buffers;
  uint16_t free_ids[QUEUE_MAX];
  uint16_t free_count;
  uint8_t held[QUEUE_MAX]; /* 1 while the device holds the descriptor: made available, not used */
  uint16_t outstanding;    /* how many it holds */
  uint32_t rejected_used;  /* the used index last refused as an overrun; 0x10000 before any */
};

static struct {
  uint64_t common;
  uint64_t device_cfg;
  uint64_t notify_base;
  uint32_t notify_multiplier;
  int event_idx;
  struct queue rx, tx;
} dev;

/* Ring memory: per queue a descriptor table, an avail ring and a used ring, page aligned. */
static uint8_t ring_memory[2][3][4096] __attribute__((aligned(4096)));
static uint8_t buffer_memory[2][QUEUE_MAX][BUF_SIZE] __attribute__((aligned(4096)));

static volatile struct used_elem* used_ring(struct queue* q) {
  return (volatile struct used_elem*)(q->used + 2);
}

static uint64_t common_feature_read(uint32_t select) {
  mmio_write32(dev.common + COMMON_DFSELECT, select);
  return mmio_read32(dev.common + COMMON_DF);
}

static void common_feature_write(uint32_t select, uint32_t value) {
  mmio_write32(dev.common + COMMON_GFSELECT, select);
  mmio_write32(dev.common + COMMON_GF, value);
}

static int setup_queue(struct queue* q, uint16_t index, const char* name) {
  mmio_write16(dev.common + COMMON_Q_SELECT, index);
  uint16_t max = mmio_read16(dev.common + COMMON_Q_SIZE);
  if (max == 0) return 0;
  q->name = name;
  q->index = index;
  q->rejected_used = 0x10000;
  q->size = max < QUEUE_MAX ? max : QUEUE_MAX;
  q->desc = (struct desc*)ring_memory[index][0];
  q->avail = (volatile uint16_t*)ring_memory[index][1];
  q->used = (volatile uint16_t*)ring_memory[index][2];
  q->buffers = &buffer_memory[index][0][0];
  for (uint16_t i = 0; i < q->size; ++i) {
    q->desc[i].addr = (uint64_t)(q->buffers + (uint64_t)i * BUF_SIZE);
    q->free_ids[i] = i;
  }
  q->free_count = q->size;
  /* A polling driver wants no interrupts: the flag without event-idx, used_event far ahead with. */
  q->avail[0] = dev.event_idx ? 0 : AVAIL_F_NO_INTERRUPT;
  q->avail[2 + q->size] = 0x8000;
  mmio_write16(dev.common + COMMON_Q_SIZE, q->size);
  mmio_write16(dev.common + COMMON_Q_MSIX, NO_VECTOR);
  mmio_write64(dev.common + COMMON_Q_DESC, (uint64_t)q->desc);
  mmio_write64(dev.common + COMMON_Q_AVAIL, (uint64_t)q->avail);
  mmio_write64(dev.common + COMMON_Q_USED, (uint64_t)q->used);
  q->notify_addr =
      dev.notify_base + (uint64_t)mmio_read16(dev.common + COMMON_Q_NOFF) * dev.notify_multiplier;
  mmio_write16(dev.common + COMMON_Q_ENABLE, 1);
  return 1;
}

/* Publishes one descriptor chain head in the avail ring (visible at the next notify). */
static void make_available(struct queue* q, uint16_t id) {
  q->held[id] = 1;
  q->outstanding++;
  q->avail[2 + (q->avail_idx % q->size)] = id;
  q->avail_idx++;
  compiler_barrier(); /* the ring entry before the index */
  q->avail[1] = q->avail_idx;
}

static void notify(struct queue* q) {
  if (q->avail_idx == q->notified_idx) return;
  full_fence(); /* our avail index store before the device's suppression flags are read */
  int needed;
  if (dev.event_idx) {
    uint16_t event = q->used[2 + 4 * q->size];
    needed = (uint16_t)(q->avail_idx - event - 1) < (uint16_t)(q->avail_idx - q->notified_idx);
  } else {
    needed = (q->used[0] & USED_F_NO_NOTIFY) == 0;
  }
  q->notified_idx = q->avail_idx;
  if (needed) mmio_write16(q->notify_addr, q->index);
}

/* The device's used index; when it has moved past more elements than a ring holds, nothing is
 * new (last_used comes back) and the overrun is counted once per bad index. */
static uint16_t used_index(struct queue* q) {
  uint16_t idx = q->used[1];
  compiler_barrier(); /* the index before the elements it covers */
  if ((uint16_t)(idx - q->last_used) <= q->size) return idx;
  if (idx != q->rejected_used) {
    q->rejected_used = idx;
    if (device_error(DEVICE_ERROR_OVERRUN)) {
      print("ringlane-guest: device error: %s used index jumped from %u to %u (ring of %u)\n",
            q->name, q->last_used, idx, q->size);
    }
  }
  return q->last_used;
}

/* Takes the used element at last_used: its id when the device held that descriptor, which is
 * then ours again, or -1 for a device error. */
static int32_t take_used(struct queue* q, uint32_t* len) {
  volatile struct used_elem* e = &used_ring(q)[q->last_used % q->size];
  uint32_t id = e->id;
  *len = e->len;
  uint16_t at = q->last_used++;
  if (id >= q->size) {
    if (device_error(DEVICE_ERROR_BAD_ID)) {
      print("ringlane-guest: device error: %s id %u out of range (used index %u, ring of %u)\n",
            q->name, id, at, q->size);
    }
    return -1;
  }
  if (!q->held[id]) {
    if (device_error(DEVICE_ERROR_DOUBLE)) {
      print("ringlane-guest: device error: %s id %u completed twice (used index %u)\n", q->name, id,
            at);
    }
    return -1;
  }
  q->held[id] = 0;
  q->outstanding--;
  return (int32_t)id;
}

/* Takes finished transmit buffers back; keeps used_event out of reach (no interrupts). At most a
 * ring's worth per call: used_index bounds it. */
static void reap_tx(struct queue* q) {
  for (uint16_t n = (uint16_t)(used_index(q) - q->last_used); n > 0; --n) {
    uint32_t len;
    int32_t id = take_used(q, &len);
    if (id >= 0) q->free_ids[q->free_count++] = (uint16_t)id;
  }
  q->avail[2 + q->size] = (uint16_t)(q->last_used + 0x8000);
}

static int virtio_send(struct nic* nic, const void* frame, uint32_t len) {
  (void)nic;
  struct queue* q = &dev.tx;
  if (q->free_count == 0) reap_tx(q);
  if (q->free_count == 0 || len > BUF_SIZE - NET_HDR_LEN) return 0;
  uint16_t id = q->free_ids[--q->free_count];
  uint8_t* buf = q->buffers + (uint64_t)id * BUF_SIZE;
  memset(buf, 0, NET_HDR_LEN);
  memcpy(buf + NET_HDR_LEN, frame, len);
  q->desc[id].len = NET_HDR_LEN + len;
  q->desc[id].flags = 0;
  make_available(q, id);
  return 1;
}

static void virtio_flush(struct nic* nic) {
  (void)nic;
  notify(&dev.tx);
  notify(&dev.rx);
  reap_tx(&dev.tx);
}

/* Waits until the device has given back every transmit buffer. One that completed an id twice
 * may never complete the id it skipped: then the wait ends (device_stalled), so the workload
 * still reports. */
static void virtio_drain(struct nic* nic) {
  virtio_flush(nic);
  struct queue* q = &dev.tx;
  uint16_t left = q->outstanding;
  uint64_t since = 0;
  while (q->outstanding != 0) {
    reap_tx(q);
    if (q->outstanding != left) {
      left = q->outstanding;
      since = 0;
    } else if (device_stalled(&since)) {
      print("ringlane-guest: transmit drain gave up: the device still holds %u buffers\n", left);
      return;
    }
  }
}

/* Copies a received frame out of its buffer: 0 for a runt, and for a length the buffer cannot
 * hold, a device error (nothing past the buffer is read). */
static uint32_t copy_frame(struct queue* q, uint32_t id, uint32_t len, void* out, uint32_t cap) {
  if (len > BUF_SIZE) {
    if (device_error(DEVICE_ERROR_BAD_LENGTH)) {
      print(
          "ringlane-guest: device error: %s id %u length %u larger than its buffer of %u "
          "(used index %u)\n",
          q->name, id, len, BUF_SIZE, (uint16_t)(q->last_used - 1));
    }
    return 0;
  }
  if (len <= NET_HDR_LEN) return 0;
  uint32_t frame_len = len - NET_HDR_LEN;
  if (frame_len > cap) frame_len = cap;
  memcpy(out, q->buffers + (uint64_t)id * BUF_SIZE + NET_HDR_LEN, frame_len);
  return frame_len;
}

static uint32_t virtio_receive(struct nic* nic, void* out, uint32_t cap) {
  (void)nic;
  struct queue* q = &dev.rx;
  if (q->last_used == used_index(q)) return 0;
  uint32_t len;
  int32_t id = take_used(q, &len);
  q->avail[2 + q->size] = (uint16_t)(q->last_used + 0x8000);
  if (id < 0) return 0; /* not a buffer the device held: nothing to read or give back */
  uint32_t frame_len = copy_frame(q, (uint32_t)id, len, out, cap);
  make_available(q, (uint16_t)id);
  /* Hand buffers back in batches: one doorbell per 32 frames, or when the ring runs low. */
  if ((uint16_t)(q->avail_idx - q->notified_idx) >= 32) notify(q);
  return frame_len;
}

int virtio_net_probe(struct nic* nic) {
  static const uint16_t ids[] = {0x1041, 0x1000};
  struct pci_device pci;
  if (!pci_find(VIRTIO_VENDOR, ids, 2, &pci)) return 0;
  for (uint8_t cap = pci_find_capability(&pci, CAP_VENDOR, 0); cap != 0;
       cap = pci_find_capability(&pci, CAP_VENDOR, cap)) {
    uint8_t type = pci_read8(&pci, (uint8_t)(cap + 3));
    uint64_t bar = pci_bar_address(&pci, pci_read8(&pci, (uint8_t)(cap + 4)));
    uint64_t at = bar + pci_read32(&pci, (uint8_t)(cap + 8));
    if (bar == 0) continue;
    if (type == CFG_COMMON && dev.common == 0) dev.common = at;
    if (type == CFG_DEVICE && dev.device_cfg == 0) dev.device_cfg = at;
    if (type == CFG_NOTIFY && dev.notify_base == 0) {
      dev.notify_base = at;
      dev.notify_multiplier = pci_read32(&pci, (uint8_t)(cap + 16));
    }
  }
  if (dev.common == 0 || dev.notify_base == 0 || dev.device_cfg == 0) {
    print("ringlane-guest: virtio-net without modern capabilities\n");
    return 0;
  }
  pci_enable(&pci);
  mmio_write8(dev.common + COMMON_STATUS, 0); /* reset */
  while (mmio_read8(dev.common + COMMON_STATUS) != 0) {
  }
  mmio_write8(dev.common + COMMON_STATUS, STATUS_ACK | STATUS_DRIVER);
  uint64_t offered = common_feature_read(0) | (common_feature_read(1) << 32);
  uint64_t wanted = F_VERSION_1 | F_MAC;
  if (cmdline_is("event_idx", "1", 1)) wanted |= F_EVENT_IDX;
  uint64_t features = offered & wanted;
  if ((features & F_VERSION_1) == 0) {
    print("ringlane-guest: virtio-net does not offer VERSION_1\n");
    mmio_write8(dev.common + COMMON_STATUS, STATUS_FAILED);
    return 0;
  }
  dev.event_idx = (features & F_EVENT_IDX) != 0;
  common_feature_write(0, (uint32_t)features);
  common_feature_write(1, (uint32_t)(features >> 32));
  mmio_write8(dev.common + COMMON_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
  if ((mmio_read8(dev.common + COMMON_STATUS) & STATUS_FEATURES_OK) == 0) {
    print("ringlane-guest: virtio-net refused features %lx\n", features);
    mmio_write8(dev.common + COMMON_STATUS, STATUS_FAILED);
    return 0;
  }
  mmio_write16(dev.common + COMMON_MSIX, NO_VECTOR);
  if (!setup_queue(&dev.rx, 0, "receive") || !setup_queue(&dev.tx, 1, "transmit")) {
    print("ringlane-guest: virtio-net queues missing\n");
    mmio_write8(dev.common + COMMON_STATUS, STATUS_FAILED);
    return 0;
  }
  /* Every receive buffer to the device, write-only for it. */
  for (uint16_t i = 0; i < dev.rx.size; ++i) {
    dev.rx.desc[i].len = BUF_SIZE;
    dev.rx.desc[i].flags = DESC_F_WRITE;
    make_available(&dev.rx, i);
  }
  dev.rx.free_count = 0;
  mmio_write8(dev.common + COMMON_STATUS,
              STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  notify(&dev.rx);
  nic->name = dev.event_idx ? "virtio-net event_idx" : "virtio-net";
  for (int i = 0; i < 6; ++i) {
    nic->mac[i] =
        (features & F_MAC) ? mmio_read8(dev.device_cfg + (uint64_t)i) : (uint8_t)(i == 0 ? 2 : i);
  }
  nic->send = virtio_send;
  nic->flush = virtio_flush;
  nic->drain = virtio_drain;
  nic->receive = virtio_receive;
  nic->driver = &dev;
  return 1;
}
