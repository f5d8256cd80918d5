#include "ringlane/vhost_user/inflight.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace ringlane::vhost_user {

namespace {

constexpr uint64_t kAlignment = 64;

Result<uint8_t*> map_shared(int fd, uint64_t size, uint64_t offset) {
  void* p =
      ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) return errno_error("inflight region: mmap");
  return static_cast<uint8_t*>(p);
}

}  // namespace

uint64_t InflightRegion::queue_bytes(uint16_t queue_size) {
  uint64_t raw = sizeof(InflightQueue) + uint64_t{queue_size} * sizeof(InflightDesc);
  return (raw + kAlignment - 1) / kAlignment * kAlignment;
}

Result<std::unique_ptr<InflightRegion>> InflightRegion::create(uint16_t num_queues,
                                                               uint16_t queue_size) {
  if (num_queues == 0 || queue_size == 0) {
    return Error(EINVAL, "GET_INFLIGHT_FD: " + std::to_string(num_queues) + " queues of " +
                             std::to_string(queue_size) + " entries");
  }
  uint64_t size = uint64_t{num_queues} * queue_bytes(queue_size);
  UniqueFd fd(::memfd_create("ringlane-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd.get() < 0) return errno_error("inflight region: memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    return errno_error("inflight region: ftruncate");
  }
  // Its size is what every later process relies on: nobody may change it.
  ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  RINGLANE_ASSIGN_OR_RETURN(uint8_t * base, map_shared(fd.get(), size, 0));
  std::unique_ptr<InflightRegion> region(
      new InflightRegion(std::move(fd), base, size, num_queues, queue_size));
  for (uint16_t i = 0; i < num_queues; ++i) {
    InflightQueue* q = region->queue(i);
    q->version = kVersion;
    q->desc_num = queue_size;
  }
  return region;
}

Result<std::unique_ptr<InflightRegion>> InflightRegion::adopt(UniqueFd fd,
                                                              const InflightDescription& d) {
  if (d.num_queues == 0 || d.queue_size == 0) {
    return Error(EINVAL, "SET_INFLIGHT_FD: " + std::to_string(d.num_queues) + " queues of " +
                             std::to_string(d.queue_size) + " entries");
  }
  uint64_t expected = uint64_t{d.num_queues} * queue_bytes(d.queue_size);
  if (d.mmap_size != expected) {
    return Error(EINVAL, "SET_INFLIGHT_FD: region of " + std::to_string(d.mmap_size) +
                             " bytes, expected " + std::to_string(expected) + " for " +
                             std::to_string(d.num_queues) + " queues of " +
                             std::to_string(d.queue_size));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("SET_INFLIGHT_FD: fstat");
  if (d.mmap_offset > static_cast<uint64_t>(st.st_size) ||
      expected > static_cast<uint64_t>(st.st_size) - d.mmap_offset || d.mmap_offset % 4096 != 0) {
    return Error(EINVAL, "SET_INFLIGHT_FD: region lies outside its file");
  }
  RINGLANE_ASSIGN_OR_RETURN(uint8_t * base, map_shared(fd.get(), expected, d.mmap_offset));
  std::unique_ptr<InflightRegion> region(
      new InflightRegion(std::move(fd), base, expected, d.num_queues, d.queue_size));
  for (uint16_t i = 0; i < d.num_queues; ++i) {
    InflightQueue* q = region->queue(i);
    // A region never stamped (a frontend's own zeroed buffer) starts out empty.
    if (q->version == 0) {
      q->version = kVersion;
      q->desc_num = d.queue_size;
    }
    if (q->version != kVersion || q->desc_num != d.queue_size) {
      return Error(EINVAL, "SET_INFLIGHT_FD: queue " + std::to_string(i) + " has version " +
                               std::to_string(q->version) + " and " + std::to_string(q->desc_num) +
                               " entries, not ours");
    }
  }
  return region;
}

InflightRegion::~InflightRegion() {
  ::munmap(base_, size_);
}

InflightDescription InflightRegion::description() const {
  return InflightDescription{size_, 0, num_queues_, queue_size_, 0};
}

InflightQueue* InflightRegion::queue(uint16_t index) const {
  return reinterpret_cast<InflightQueue*>(base_ + uint64_t{index} * queue_bytes(queue_size_));
}

}  // namespace ringlane::vhost_user
