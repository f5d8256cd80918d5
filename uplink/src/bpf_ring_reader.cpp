#include "ringlane/uplink/bpf_ring_reader.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

namespace ringlane::uplink {

Result<BpfRingReader> BpfRingReader::map(int map_fd) {
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len) != 0) {
    return errno_error("ring buffer map information");
  }
  if (info.type != BPF_MAP_TYPE_RINGBUF) return Error(EINVAL, "not a BPF ring buffer map");
  BpfRingReader r;
  r.page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  r.data_bytes_ = info.max_entries;
  r.mask_ = info.max_entries - 1;
  void* consumer = mmap(nullptr, r.page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (consumer == MAP_FAILED) return errno_error("mapping the ring buffer's consumer page");
  r.consumer_pos_ = static_cast<uint64_t*>(consumer);
  // The producer page and the data, which the kernel maps twice in a row.
  void* producer = mmap(nullptr, r.page_ + 2 * r.data_bytes_, PROT_READ, MAP_SHARED, map_fd,
                        static_cast<off_t>(r.page_));
  if (producer == MAP_FAILED) return errno_error("mapping the ring buffer's data");
  r.producer_pos_ = static_cast<const uint64_t*>(producer);
  r.data_ = static_cast<const uint8_t*>(producer) + r.page_;
  r.read_pos_ = __atomic_load_n(r.consumer_pos_, __ATOMIC_ACQUIRE);
  return r;
}

BpfRingReader::BpfRingReader(BpfRingReader&& other) noexcept
    : consumer_pos_(std::exchange(other.consumer_pos_, nullptr)),
      producer_pos_(std::exchange(other.producer_pos_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      mask_(other.mask_),
      read_pos_(other.read_pos_),
      page_(other.page_),
      data_bytes_(other.data_bytes_) {}

BpfRingReader::~BpfRingReader() {
  if (consumer_pos_ != nullptr) munmap(consumer_pos_, page_);
  if (producer_pos_ != nullptr) {
    munmap(const_cast<uint64_t*>(producer_pos_), page_ + 2 * data_bytes_);
  }
}

}  // namespace ringlane::uplink
