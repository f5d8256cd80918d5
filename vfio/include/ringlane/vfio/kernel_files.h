// KernelFiles: the host kernel's sysfs and procfs files that PCI inventory, driver binding and
// SR-IOV read and write, behind a seam: HostKernelFiles is the real tree under a root ("/"),
// and unit tests substitute a fake tree that acts like the kernel when its files are written.
// Paths are relative to the root: "sys/bus/pci/devices/0000:00:02.0/vendor".
#pragma once

#include <string>
#include <vector>

#include "ringlane/base/result.h"

namespace ringlane::vfio {

class KernelFiles {
 public:
  virtual ~KernelFiles() = default;

  // A file's contents without the trailing newline.
  virtual Result<std::string> read(const std::string& path) = 0;
  // One write() of `value`, as `echo -n value > path` would: sysfs acts on each write.
  virtual Status write(const std::string& path, const std::string& value) = 0;
  // The target of a symbolic link, as stored ("../../../bus/pci/drivers/e1000e").
  virtual Result<std::string> link_target(const std::string& path) = 0;
  // A directory's entries (no "." or ".."), sorted.
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;
};

class HostKernelFiles : public KernelFiles {
 public:
  explicit HostKernelFiles(std::string root = "/") : root_(std::move(root)) {}

  Result<std::string> read(const std::string& path) override;
  Status write(const std::string& path, const std::string& value) override;
  Result<std::string> link_target(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  bool exists(const std::string& path) override;

  const std::string& root() const { return root_; }

 protected:
  std::string full(const std::string& path) const;

 private:
  std::string root_;
};

// The last component of a link's target: the driver's, group's or function's name.
Result<std::string> link_name(KernelFiles& files, const std::string& path);

}  // namespace ringlane::vfio
