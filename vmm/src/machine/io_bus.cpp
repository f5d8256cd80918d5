#include "ringlane/vmm/machine/io_bus.h"

#include <algorithm>
#include <limits>

#include "ringlane/base/hex.h"

namespace ringlane::vmm {

namespace {

// "[0x3f8, 0x400)"
std::string describe(uint64_t base, uint64_t size) {
  return "[" + hex(base) + ", " + hex(base + size) + ")";
}

}  // namespace

IoBus::IoBus(std::string name, size_t capacity) : name_(std::move(name)), capacity_(capacity) {
  ranges_.reserve(capacity);
}

Status IoBus::insert(uint64_t base, uint64_t size, BusDevice& device) {
  if (size == 0 || size - 1 > std::numeric_limits<uint64_t>::max() - base) {
    return Error(EINVAL, name_ + ": a range of " + std::to_string(size) + " bytes at " + hex(base) +
                             " is empty or runs past the end of the space");
  }
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), base,
                                [](uint64_t a, const Range& r) { return a < r.base; });
  const Range* clash = nullptr;
  if (after != ranges_.begin() && base - (after - 1)->base < (after - 1)->size) {
    clash = &*(after - 1);
  } else if (after != ranges_.end() && after->base - base < size) {
    clash = &*after;
  }
  if (clash != nullptr) {
    return Error(EEXIST, name_ + ": " + describe(base, size) + " overlaps " +
                             describe(clash->base, clash->size) + ", registered already");
  }
  if (ranges_.size() == capacity_) {
    return Error(ENOSPC, name_ + ": no room for " + describe(base, size) + " (" +
                             std::to_string(capacity_) + " ranges at most)");
  }
  ranges_.insert(after, Range{base, size, &device});
  return {};
}

Status IoBus::remove(uint64_t base) {
  auto at = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                             [](const Range& r, uint64_t b) { return r.base < b; });
  if (at == ranges_.end() || at->base != base) {
    return Error(ENOENT, name_ + ": no range starts at " + hex(base));
  }
  ranges_.erase(at);
  return {};
}

}  // namespace ringlane::vmm
