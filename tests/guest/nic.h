/* What the traffic workload needs from a NIC driver. Drivers copy frames in and out of buffers
 * they own, poll instead of taking interrupts, and never block. */
#pragma once

#include <stdint.h>

struct nic {
  const char* name;
  uint8_t mac[6];
  /* Queues one frame; 0 when the transmit ring is full (the caller retries after reap). */
  int (*send)(struct nic* nic, const void* frame, uint32_t len);
  /* Tells the device about queued frames (the doorbell). */
  void (*flush)(struct nic* nic);
  /* Flushes and waits until the device has taken every queued frame (before the machine ends). */
  void (*drain)(struct nic* nic);
  /* Copies the next received frame into `buf`; its length, or 0 when nothing has arrived. */
  uint32_t (*receive)(struct nic* nic, void* buf, uint32_t cap);
  void* driver;
};

/* Each driver probes bus 0 for its devices; 0 when none is present or it fails to start. */
int virtio_net_probe(struct nic* nic);
int e1000_probe(struct nic* nic);
/* After e1000_probe: raises an MSI-X interrupt and looks for it at the local APIC; 1 delivered,
 * 0 not, -1 when the device cannot (not an 82574L, no MSI-X). */
int e1000_msix_check(void);

/* What a driver caught its device doing wrong. The driver never acts on it (frees no id twice,
 * reads no buffer past its end); each is counted, and the first of each kind is printed. */
enum device_error {
  DEVICE_ERROR_DOUBLE,     /* a descriptor completed that the device did not hold */
  DEVICE_ERROR_BAD_ID,     /* a descriptor id outside the ring */
  DEVICE_ERROR_OVERRUN,    /* the used index moved further than the ring holds */
  DEVICE_ERROR_BAD_LENGTH, /* a received length larger than its buffer */
  DEVICE_ERROR_KINDS
};
/* Counts one; 1 the first time its kind happens, when the caller prints what it was. */
int device_error(enum device_error kind);
/* For a wait that a device which erred may never end (a buffer it skipped, a frame it lost): 1
 * once device errors were counted and a second or so passed since the first call with *since 0.
 * The caller sets *since back to 0 whenever the device makes progress. Without device errors,
 * always 0 and cheap: waits on a healthy device are as long as they have to be. */
int device_stalled(uint64_t* since);
