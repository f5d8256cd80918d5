#include "fake_guest.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ringlane::virtio {

namespace {

uint64_t align_up(uint64_t value, uint64_t align) {
  return (value + align - 1) / align * align;
}

// A broken fixture must not let a test scribble over the heap: fail loudly instead.
[[noreturn]] void fixture_error(const std::string& what) {
  throw std::logic_error(what);
}

}  // namespace

void FakeGuest::HeapFree::operator()(uint8_t* p) const {
  std::free(p);
}

FakeGuest::FakeGuest(std::vector<GuestRegion> regions, Backing backing) {
  std::vector<std::shared_ptr<const MappedRegion>> mapped;
  uint64_t file_offset = 0;
  if (backing == Backing::memfd) {
    uint64_t total = 0;
    for (const auto& r : regions) total += r.size;
    fd_.reset(::memfd_create("fake-guest", MFD_CLOEXEC));
    if (!fd_ || ::ftruncate(fd_.get(), static_cast<off_t>(total)) != 0) fixture_error("memfd");
  }
  for (const auto& r : regions) {
    RegionDescriptor d{r.gpa, r.size, r.gpa + kUserAddrOffset, file_offset};
    descriptors_.push_back(d);
    if (backing == Backing::heap) {
      auto* block = static_cast<uint8_t*>(std::aligned_alloc(4096, align_up(r.size, 4096)));
      if (block == nullptr) fixture_error("out of memory");
      std::memset(block, 0, r.size);
      heap_.emplace_back(block);
      mapped.push_back(MappedRegion::wrap(d, block));
    } else {
      auto region = MappedRegion::map(d, fd_.get());
      if (!region) fixture_error("map: " + region.error().to_string());
      mapped.push_back(std::move(*region));
      file_offset += r.size;
    }
  }
  auto mem = GuestMemory::create(std::move(mapped));
  if (!mem) fixture_error("GuestMemory::create: " + mem.error().to_string());
  memory_ = std::move(*mem);
  alloc_next_ = descriptors_.empty() ? 0 : descriptors_[0].guest_phys_addr;
}

uint8_t* FakeGuest::host(uint64_t gpa, uint64_t len) const {
  uint8_t* p = memory_.translate(gpa, len);
  if (p == nullptr) fixture_error("fake guest: address " + std::to_string(gpa) + " not mapped");
  return p;
}

uint64_t FakeGuest::alloc(uint64_t bytes, uint64_t align) {
  while (alloc_region_ < descriptors_.size()) {
    const RegionDescriptor& d = descriptors_[alloc_region_];
    uint64_t start = align_up(std::max(alloc_next_, d.guest_phys_addr), align);
    if (start + bytes <= d.guest_phys_addr + d.size) {
      alloc_next_ = start + bytes;
      return start;
    }
    ++alloc_region_;
  }
  fixture_error("fake guest: out of guest memory");
}

void FakeGuest::write(uint64_t gpa, const void* src, uint64_t len) {
  HostSpan spans[8];
  size_t n = memory_.translate_spans(gpa, len, spans);
  if (n == 0 && len != 0) fixture_error("fake guest: write outside memory");
  const auto* in = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(spans[i].data, in, spans[i].len);
    in += spans[i].len;
  }
}

void FakeGuest::read(uint64_t gpa, void* dst, uint64_t len) const {
  HostSpan spans[8];
  size_t n = memory_.translate_spans(gpa, len, spans);
  if (n == 0 && len != 0) fixture_error("fake guest: read outside memory");
  auto* out = static_cast<uint8_t*>(dst);
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(out, spans[i].data, spans[i].len);
    out += spans[i].len;
  }
}

std::vector<uint8_t> FakeGuest::read(uint64_t gpa, uint64_t len) const {
  std::vector<uint8_t> out(len);
  read(gpa, out.data(), len);
  return out;
}

uint64_t FakeGuest::put(const std::vector<uint8_t>& bytes) {
  uint64_t gpa = alloc(bytes.empty() ? 1 : bytes.size(), 16);
  write(gpa, bytes.data(), bytes.size());
  return gpa;
}

FakeRing::FakeRing(FakeGuest& guest, uint16_t size) : guest_(guest), size_(size) {
  // Alignments as the spec requires (16, 2, 4); page-aligned here like most drivers do.
  desc_gpa_ = guest.alloc(virtio::desc_table_bytes(size), 4096);
  avail_gpa_ = guest.alloc(virtio::avail_ring_bytes(size) + 2, 64);  // + used_event
  used_gpa_ = guest.alloc(virtio::used_ring_bytes(size) + 2, 4096);  // + avail_event
}

RingLayout FakeRing::layout() const {
  RingLayout l;
  l.desc =
      reinterpret_cast<virtio::VringDesc*>(guest_.host(desc_gpa_, virtio::desc_table_bytes(size_)));
  l.avail = reinterpret_cast<virtio::VringAvail*>(
      guest_.host(avail_gpa_, virtio::avail_ring_bytes(size_) + 2));
  l.used = reinterpret_cast<virtio::VringUsed*>(
      guest_.host(used_gpa_, virtio::used_ring_bytes(size_) + 2));
  l.size = size_;
  return l;
}

virtio::VringDesc& FakeRing::desc(uint16_t index) const {
  if (index >= size_) fixture_error("fake ring: descriptor index out of range");
  return layout().desc[index];
}

void FakeRing::set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags,
                        uint16_t next) const {
  desc(index) = virtio::VringDesc{addr, len, flags, next};
}

uint16_t FakeRing::reserve(uint16_t count) {
  uint16_t first = next_desc_;
  next_desc_ = static_cast<uint16_t>((next_desc_ + count) % size_);
  return first;
}

uint16_t FakeRing::add_chain(const std::vector<virtio::Buf>& bufs) {
  if (bufs.empty() || bufs.size() > size_) fixture_error("fake ring: bad chain length");
  uint16_t head = next_desc_;
  for (size_t i = 0; i < bufs.size(); ++i) {
    uint16_t index = reserve(1);
    bool last = i + 1 == bufs.size();
    auto flags = static_cast<uint16_t>((last ? 0 : virtio::kDescFNext) |
                                       (bufs[i].writable ? virtio::kDescFWrite : 0));
    set_desc(index, bufs[i].gpa, bufs[i].len, flags, last ? 0 : next_desc_);
  }
  return head;
}

uint16_t FakeRing::add_indirect(const std::vector<virtio::Buf>& bufs) {
  std::vector<virtio::VringDesc> table(bufs.size());
  for (size_t i = 0; i < bufs.size(); ++i) {
    bool last = i + 1 == bufs.size();
    table[i] =
        virtio::VringDesc{bufs[i].gpa, bufs[i].len,
                          static_cast<uint16_t>((last ? 0 : virtio::kDescFNext) |
                                                (bufs[i].writable ? virtio::kDescFWrite : 0)),
                          static_cast<uint16_t>(last ? 0 : i + 1)};
  }
  uint64_t bytes = table.size() * sizeof(virtio::VringDesc);
  uint64_t table_gpa = guest_.alloc(bytes, 16);
  guest_.write(table_gpa, table.data(), bytes);
  uint16_t index = reserve(1);
  set_desc(index, table_gpa, static_cast<uint32_t>(bytes), virtio::kDescFIndirect, 0);
  return index;
}

void FakeRing::publish(uint16_t head) {
  virtio::VringAvail* avail = layout().avail;
  uint16_t idx = avail->idx;
  avail->ring[idx % size_] = head;
  __atomic_store_n(&avail->idx, static_cast<uint16_t>(idx + 1), __ATOMIC_RELEASE);
}

void FakeRing::set_avail_idx(uint16_t idx) const {
  __atomic_store_n(&layout().avail->idx, idx, __ATOMIC_RELEASE);
}

uint16_t FakeRing::avail_idx() const {
  return layout().avail->idx;
}

void FakeRing::set_avail_flags(uint16_t flags) const {
  layout().avail->flags = flags;
}

void FakeRing::set_used_event(uint16_t value) const {
  layout().avail->ring[size_] = value;
}

void FakeRing::set_used_idx(uint16_t idx) const {
  __atomic_store_n(&layout().used->idx, idx, __ATOMIC_RELEASE);
}

uint16_t FakeRing::used_idx() const {
  return __atomic_load_n(&layout().used->idx, __ATOMIC_ACQUIRE);
}

uint16_t FakeRing::used_flags() const {
  return layout().used->flags;
}

uint16_t FakeRing::avail_event() const {
  uint16_t value;
  std::memcpy(&value, &layout().used->ring[size_], sizeof(value));
  return value;
}

virtio::VringUsedElem FakeRing::used(uint16_t n) const {
  return layout().used->ring[n % size_];
}

}  // namespace ringlane::virtio
