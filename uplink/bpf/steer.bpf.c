/* ringlane's XDP program for an AF_XDP uplink: frames meant for ringlane's ports go to the AF_XDP
 * socket of their receive queue, multicast and broadcast frames go to the kernel and a copy to
 * ringlane (through a BPF ring buffer), everything else to the kernel, so the host keeps its own
 * traffic on the same interface. User space (xdp_steering.cpp) fills the maps; steer_abi.h is the
 * layout both sides share. Loaded through libxdp's dispatcher where it can be, so another XDP
 * program may run after this one (XDP_PASS continues the chain). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ringlane/uplink/steer_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, RL_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} rl_xsks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, RL_STEER_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct rl_steer_key);
  __type(value, __u32);
} rl_steer SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct rl_config);
} rl_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, RL_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} rl_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, RL_COPY_RING_BYTES);
} rl_copies SEC(".maps");

static __always_inline void count(__u32 slot) {
  __u64 *v = bpf_map_lookup_elem(&rl_stats, &slot);
  if (v) *v += 1;
}

static __always_inline int same_mac(const __u8 *a, const __u8 *b) {
  return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
          (a[5] ^ b[5])) == 0;
}

/* A copy of the whole frame for ringlane; user space reads the record in place and frees it
 * when the frame has been forwarded. No wake-up: ringlane polls the ring. */
static __always_inline void copy_to_ringlane(struct xdp_md *ctx, __u64 frame_len) {
  if (frame_len > RL_COPY_MAX_FRAME) {
    count(RL_STAT_COPY_TOO_LARGE);
    return;
  }
  struct rl_copy_record *r = bpf_ringbuf_reserve(&rl_copies, sizeof(*r), 0);
  if (!r) {
    count(RL_STAT_COPY_LOST);
    return;
  }
  __u32 len = frame_len;
  if (len < ETH_HLEN || len > RL_COPY_MAX_FRAME ||
      bpf_xdp_load_bytes(ctx, 0, r->data, len) < 0) {
    bpf_ringbuf_discard(r, BPF_RB_NO_WAKEUP);
    count(RL_STAT_COPY_LOST);
    return;
  }
  r->len = len;
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
  count(RL_STAT_COPIED);
}

SEC("xdp")
int ringlane_steer(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u32 zero = 0;
  struct rl_config *cfg = bpf_map_lookup_elem(&rl_config, &zero);
  if (!cfg || !cfg->enabled) return XDP_PASS;
  if (data + ETH_HLEN > end) {
    count(RL_STAT_RUNT);
    return XDP_DROP;
  }
  struct ethhdr *eth = data;
  if (same_mac(eth->h_dest, cfg->own_mac)) {
    count(RL_STAT_OWN_ADDRESS);
    return XDP_PASS;
  }
  __u16 vid = 0;
  int tagged = 0;
  if (eth->h_proto == bpf_htons(ETH_P_8021Q) || eth->h_proto == bpf_htons(ETH_P_8021AD)) {
    if (data + ETH_HLEN + 4 > end) {
      count(RL_STAT_RUNT);
      return XDP_DROP;
    }
    vid = bpf_ntohs(*(__be16 *)(data + ETH_HLEN)) & 0x0fff;
    tagged = 1;
  }
  struct rl_steer_key key = {};
  if (cfg->vlan_mode == RL_VLAN_ACCESS) {
    if (tagged) {
      count(RL_STAT_OTHER_VLAN);
      return XDP_PASS;
    }
  } else if (cfg->vlan_mode == RL_VLAN_TRUNK) {
    if (!tagged || !(cfg->trunk[(vid >> 6) & 63] & (1ull << (vid & 63)))) {
      count(RL_STAT_OTHER_VLAN);
      return XDP_PASS;
    }
    key.vlan = vid;
  }
  if (eth->h_dest[0] & 1) {
    copy_to_ringlane(ctx, (__u64)(end - data));
    return XDP_PASS;
  }
  if (!cfg->steer_all) {
    __builtin_memcpy(key.mac, eth->h_dest, 6);
    if (!bpf_map_lookup_elem(&rl_steer, &key)) {
      count(RL_STAT_PASSED);
      return XDP_PASS;
    }
  }
  if (ctx->rx_queue_index >= cfg->queues) {
    count(RL_STAT_UNSERVED_QUEUE);
    return XDP_PASS;
  }
  count(RL_STAT_STEERED);
  /* No socket on this queue (ringlane gone): the frame goes to the kernel, not lost. */
  return bpf_redirect_map(&rl_xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
