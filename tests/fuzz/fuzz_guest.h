// What the ring fuzz targets share: a reader that takes bytes off the fuzzer's input (zeros once
// it runs out), and guest memory made of heap blocks, one per region, so that ASan catches a read
// past any region's edge, with the check that a span lies inside one of them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "ringlane/virtio/guest_memory.h"

namespace ringlane::fuzz {

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | u8() << 8); }
  // Copies up to `len` bytes out; returns how many there were.
  size_t take(uint8_t* out, size_t len) {
    size_t n = std::min(len, size_ - pos_);
    std::memcpy(out, data_ + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Guest {
  std::vector<std::vector<uint8_t>> blocks;  // one heap block per region: ASan sees each edge
  virtio::GuestMemory memory;

  bool owns(const virtio::HostSpan& s) const {
    for (const auto& b : blocks) {
      if (s.data >= b.data() && s.len <= b.size() && s.data + s.len <= b.data() + b.size()) {
        return true;
      }
    }
    return false;
  }
  uint8_t* base() { return blocks[0].data(); }
};

// Fills `g` with zeroed blocks for `layout`'s regions; false when the table is refused.
inline bool build_guest(Guest& g, const std::vector<virtio::RegionDescriptor>& layout) {
  std::vector<std::shared_ptr<const virtio::MappedRegion>> regions;
  for (const auto& d : layout) {
    g.blocks.emplace_back(d.size, 0);
    regions.push_back(virtio::MappedRegion::wrap(d, g.blocks.back().data()));
  }
  auto mem = virtio::GuestMemory::create(std::move(regions));
  if (!mem.ok()) return false;
  g.memory = std::move(*mem);
  return true;
}

}  // namespace ringlane::fuzz
