/* steer_abi.h: what ringlane's XDP program (uplink/bpf/steer.bpf.c) and the user space that
 * loads it (xdp_steering.h) agree on: map names, key and value layouts, statistics slots and the
 * multicast copy record. Plain C, so the BPF object and C++ include the same file. */
#ifndef RINGLANE_UPLINK_STEER_ABI_H
#define RINGLANE_UPLINK_STEER_ABI_H

#include <linux/types.h>

/* The program's name as the kernel reports it (15 characters at most): how a stale copy left by a
 * crash is recognised on the interface. */
#define RL_STEER_PROG_NAME "ringlane_steer"
#define RL_CONFIG_MAP_NAME "rl_config"

/* AF_XDP sockets by receive queue; queues= is at most this. */
#define RL_MAX_QUEUES 64
/* Addresses steered to ringlane (the MAC table holds 4096 buckets of 4 entries). */
#define RL_STEER_ENTRIES 16384
/* Multicast and broadcast copies: fixed-size records in a BPF ring buffer user space reads in
 * place. A record holds a frame of up to RL_COPY_MAX_FRAME bytes (1518 plus two tags, rounded). */
#define RL_COPY_MAX_FRAME 1528
#define RL_COPY_RING_BYTES (1u << 20)

enum rl_vlan_mode {
  RL_VLAN_NONE = 0,   /* frames as they are, tagged or not: key VLAN 0 */
  RL_VLAN_ACCESS = 1, /* untagged frames only: key VLAN 0 */
  RL_VLAN_TRUNK = 2,  /* tagged frames whose VID is in the trunk set: key VLAN = VID */
};

/* rl_config[0]. */
struct rl_config {
  __u32 enabled;   /* 0: everything goes to the kernel (set once the sockets are in place) */
  __u32 owner_pid; /* the ringlane process that loaded the program */
  __u8 own_mac[6]; /* frames to the interface's own address always go to the kernel */
  __u8 vlan_mode;  /* enum rl_vlan_mode */
  __u8 steer_all;  /* xconnect: every unicast frame but the interface's own is ringlane's */
  __u32 queues;    /* sockets in rl_xsks: frames on other queues go to the kernel, counted */
  __u32 pad;
  __u64 trunk[64]; /* RL_VLAN_TRUNK: bit VID set when the trunk carries VID */
};

/* rl_steer keys: destination addresses ringlane's ports have, per wire VLAN (0 = untagged). */
struct rl_steer_key {
  __u16 vlan;
  __u8 mac[6];
};

/* rl_copies records. */
struct rl_copy_record {
  __u32 len; /* frame bytes in data */
  __u32 pad;
  __u8 data[RL_COPY_MAX_FRAME];
};

/* rl_stats slots (per CPU). */
enum rl_stat {
  RL_STAT_STEERED = 0,       /* unicast frames redirected to a socket */
  RL_STAT_PASSED,            /* unicast frames for an address ringlane does not have */
  RL_STAT_OWN_ADDRESS,       /* frames to the interface's own address */
  RL_STAT_COPIED,            /* multicast/broadcast frames copied to ringlane (and passed) */
  RL_STAT_COPY_LOST,         /* ... not copied: the ring was full */
  RL_STAT_COPY_TOO_LARGE,    /* ... not copied: longer than RL_COPY_MAX_FRAME */
  RL_STAT_OTHER_VLAN,        /* frames of a VLAN the uplink does not carry, passed */
  RL_STAT_RUNT,              /* frames shorter than an Ethernet header, dropped */
  RL_STAT_UNSERVED_QUEUE,    /* frames for ringlane on a queue without a socket, passed */
  RL_STAT_COUNT,
};

#endif /* RINGLANE_UPLINK_STEER_ABI_H */
