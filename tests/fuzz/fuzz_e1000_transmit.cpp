// Fuzzes the e1000 model's transmit engine with guest-written descriptors: any mix of legacy,
// context and data descriptors, any lengths, offload offsets and segment sizes, buffer addresses
// inside and outside guest memory, over guest memory filled from the input. Beyond ASan/UBSan,
// every frame handed to the TAP must fit the engine's packet bound (plus a VLAN tag).
//
// Input: a control byte (how many descriptors), the descriptors (16 bytes each; the low bit of a
// descriptor's first byte chooses whether its buffer address is made to land in guest memory),
// then the bytes of guest memory.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "ringlane/vmm/nic/e1000_transmit.h"

namespace {

using namespace ringlane;

constexpr uint64_t kBase = 0x100000;
constexpr uint64_t kSize = 96 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t count = data[0] % 64 + 1;
  size_t descriptors = std::min(count * 16, size - 1) / 16;
  const uint8_t* at = data + 1;
  const uint8_t* rest = at + descriptors * 16;
  size_t rest_len = size - 1 - descriptors * 16;

  static std::vector<uint8_t> ram(kSize);
  std::memset(ram.data(), 0, ram.size());
  std::memcpy(ram.data(), rest, std::min<size_t>(rest_len, ram.size()));
  virtio::RegionDescriptor region{kBase, kSize, kBase, 0};
  auto memory = virtio::GuestMemory::create({virtio::MappedRegion::wrap(region, ram.data())});
  if (!memory.ok()) abort();

  uint64_t frames = 0;
  vmm::E1000Transmit engine([&](std::span<const uint8_t> frame) {
    if (frame.size() > vmm::E1000Transmit::kMaxPacket + 4) abort();
    ++frames;
  });
  for (size_t i = 0; i < descriptors; ++i) {
    std::array<uint8_t, 16> d{};
    std::memcpy(d.data(), at + 16 * i, 16);
    uint64_t address = 0;
    std::memcpy(&address, d.data(), 8);
    if ((d[0] & 1) != 0) {
      address = kBase + address % kSize;  // mostly inside guest memory, sometimes straddling
      std::memcpy(d.data(), &address, 8);
    }
    engine.take(d, *memory, (d[15] & 1) != 0 ? 0x8100 : 0);
  }
  if (engine.counters().frames != frames) abort();
  return 0;
}
