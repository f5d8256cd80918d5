// NetFeatures: what one virtio-net device negotiated, in the form the data path needs.
#pragma once

#include <cstdint>

#include "ringlane/virtio/spec.h"

namespace ringlane::net {

struct NetFeatures {
  uint16_t hdr_len = 10;  // 12 with VERSION_1 or MRG_RXBUF
  bool mrg_rxbuf = false;
  bool guest_csum = false;  // the driver accepts partial checksums on receive
  bool guest_tso4 = false;
  bool guest_tso6 = false;
  bool host_csum = false;  // the driver may send partial checksums
  bool host_tso4 = false;
  bool host_tso6 = false;

  static NetFeatures from_bits(uint64_t f) {
    using namespace virtio;
    NetFeatures n;
    n.mrg_rxbuf = (f & bit(kNetFMrgRxbuf)) != 0;
    n.hdr_len = (n.mrg_rxbuf || (f & bit(kFVersion1))) ? 12 : 10;
    n.guest_csum = (f & bit(kNetFGuestCsum)) != 0;
    n.guest_tso4 = n.guest_csum && (f & bit(kNetFGuestTso4));
    n.guest_tso6 = n.guest_csum && (f & bit(kNetFGuestTso6));
    n.host_csum = (f & bit(kNetFCsum)) != 0;
    n.host_tso4 = n.host_csum && (f & bit(kNetFHostTso4));
    n.host_tso6 = n.host_csum && (f & bit(kNetFHostTso6));
    return n;
  }
};

}  // namespace ringlane::net
