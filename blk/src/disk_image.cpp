#include "ringlane/blk/disk_image.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace ringlane::blk {

namespace {

Error image_error(const std::string& path, int code, const std::string& what) {
  return Error(code, "disk image " + path + ": " + what);
}

Result<uint64_t> size_of(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return image_error(path, errno, std::strerror(errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode) && ::ioctl(fd, BLKGETSIZE64, &size) != 0) {
    return image_error(path, errno, std::string("BLKGETSIZE64: ") + std::strerror(errno));
  }
  if (size % 512 != 0) {
    return image_error(path, EINVAL,
                       "size " + std::to_string(size) + " is not a multiple of 512 bytes");
  }
  return size;
}

}  // namespace

Result<DiskImage> DiskImage::open(const DiskImageOptions& options) {
  const std::string& path = options.path;
  DiskImage image;
  image.path_ = path;
  image.readonly_ = options.readonly;
  int mode = options.readonly ? O_RDONLY : O_RDWR;
  // The access check first, so that the error says which access is missing.
  if (::access(path.c_str(), F_OK) != 0) {
    return image_error(path, errno, std::strerror(errno));
  }
  if (::access(path.c_str(), options.readonly ? R_OK : R_OK | W_OK) != 0) {
    return image_error(path, errno,
                       std::string(options.readonly ? "cannot be read: " : "cannot be written: ") +
                           std::strerror(errno) +
                           (options.readonly ? "" : " (a read-only disk needs only reads)"));
  }
  image.buffered_fd_.reset(::open(path.c_str(), mode | O_CLOEXEC));
  if (image.buffered_fd_.get() < 0) return image_error(path, errno, std::strerror(errno));
  struct stat st {};
  if (::fstat(image.buffered_fd_.get(), &st) != 0) {
    return image_error(path, errno, std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return image_error(path, EINVAL, "neither a regular file nor a block device");
  }
  image.block_device_ = S_ISBLK(st.st_mode);
  RINGLANE_ASSIGN_OR_RETURN(image.size_, size_of(image.buffered_fd_.get(), path));
  if (image.block_device_) {
    int logical = 512;
    unsigned physical = 512;
    if (::ioctl(image.buffered_fd_.get(), BLKSSZGET, &logical) == 0 && logical >= 512) {
      image.logical_block_ = static_cast<uint32_t>(logical);
    }
    if (::ioctl(image.buffered_fd_.get(), BLKPBSZGET, &physical) == 0 && physical >= 512) {
      image.physical_block_ = physical;
    }
  } else if (st.st_blksize >= 512) {
    // A file's allocation unit: writes smaller than it cost a read-modify-write.
    image.physical_block_ = static_cast<uint32_t>(st.st_blksize);
  }
  if (options.direct.value_or(true)) {
    int fd = ::open(path.c_str(), mode | O_CLOEXEC | O_DIRECT);
    if (fd >= 0) {
      image.fd_.reset(fd);
      image.direct_ = true;
    } else if (options.direct.has_value()) {
      return image_error(path, errno,
                         std::string("O_DIRECT refused (direct=on): ") + std::strerror(errno));
    }
  }
  if (!image.direct_) image.fd_.reset(::dup(image.buffered_fd_.get()));
  if (image.fd_.get() < 0) return image_error(path, errno, std::strerror(errno));
  return image;
}

Result<uint64_t> DiskImage::refresh_size() {
  RINGLANE_ASSIGN_OR_RETURN(uint64_t size, size_of(buffered_fd_.get(), path_));
  size_ = size;
  return size;
}

}  // namespace ringlane::blk
