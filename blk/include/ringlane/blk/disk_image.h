// DiskImage: the backing store of one disk, a regular file or a block device, opened and checked
// before anything is served: it exists, it can be read (and written unless read-only), its size
// is whole sectors. O_DIRECT is used where the store allows it; a second, buffered descriptor
// serves the rare request whose guest buffers O_DIRECT cannot take (not sector-aligned).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::blk {

struct DiskImageOptions {
  std::string path;
  bool readonly = false;
  // Unset: O_DIRECT where the store allows it. True: required. False: never.
  std::optional<bool> direct;
};

class DiskImage {
 public:
  // Opens and checks the image; the error names the path and what is wrong with it.
  static Result<DiskImage> open(const DiskImageOptions& options);

  const std::string& path() const { return path_; }
  bool readonly() const { return readonly_; }
  bool direct() const { return direct_; }
  bool block_device() const { return block_device_; }
  // The descriptor for I/O (O_DIRECT when direct()), and the buffered one.
  int fd() const { return fd_.get(); }
  int buffered_fd() const { return buffered_fd_.get(); }
  uint64_t size_bytes() const { return size_; }
  uint64_t capacity_sectors() const { return size_ / 512; }
  // The store's logical block size (what O_DIRECT alignment needs) and its physical one.
  uint32_t logical_block() const { return logical_block_; }
  uint32_t physical_block() const { return physical_block_; }

  // Reads the size again (after the image grew or shrank); refuses one that is not whole
  // sectors and leaves the old size in place.
  Result<uint64_t> refresh_size();

 private:
  std::string path_;
  bool readonly_ = false;
  bool direct_ = false;
  bool block_device_ = false;
  UniqueFd fd_;
  UniqueFd buffered_fd_;
  uint64_t size_ = 0;
  uint32_t logical_block_ = 512;
  uint32_t physical_block_ = 512;
};

}  // namespace ringlane::blk
