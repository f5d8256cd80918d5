#include "ringlane/vfio/kernel_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "ringlane/base/atomic_file.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane::vfio {

std::string HostKernelFiles::full(const std::string& path) const {
  if (root_.empty() || root_ == "/") return "/" + path;
  return root_ + "/" + path;
}

Result<std::string> HostKernelFiles::read(const std::string& path) {
  RINGLANE_ASSIGN_OR_RETURN(std::string value, read_file(full(path)));
  while (!value.empty() && (value.back() == '\n' || value.back() == '\0')) value.pop_back();
  return value;
}

Status HostKernelFiles::write(const std::string& path, const std::string& value) {
  std::string name = full(path);
  UniqueFd fd(::open(name.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + name);
  // One write: the kernel acts on it (binds, creates VFs) and its errno is the kernel's answer.
  ssize_t n = 0;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("write '" + value + "' to " + name);
  return {};
}

Result<std::string> HostKernelFiles::link_target(const std::string& path) {
  std::string name = full(path);
  char target[4096];
  ssize_t n = ::readlink(name.c_str(), target, sizeof(target) - 1);
  if (n < 0) return errno_error("readlink " + name);
  return std::string(target, static_cast<size_t>(n));
}

Result<std::vector<std::string>> HostKernelFiles::list(const std::string& dir) {
  std::string name = full(dir);
  DIR* d = ::opendir(name.c_str());
  if (d == nullptr) return errno_error("list " + name);
  std::vector<std::string> entries;
  while (dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): one reader per DIR
    std::string entry = e->d_name;
    if (entry != "." && entry != "..") entries.push_back(std::move(entry));
  }
  ::closedir(d);
  std::sort(entries.begin(), entries.end());
  return entries;
}

bool HostKernelFiles::exists(const std::string& path) {
  struct stat st {};
  return ::lstat(full(path).c_str(), &st) == 0;
}

Result<std::string> link_name(KernelFiles& files, const std::string& path) {
  RINGLANE_ASSIGN_OR_RETURN(const std::string target, files.link_target(path));
  size_t slash = target.rfind('/');
  return slash == std::string::npos ? target : target.substr(slash + 1);
}

}  // namespace ringlane::vfio
