#include "ringlane/base/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "ringlane/base/unique_fd.h"

namespace ringlane {
namespace {

Status write_all(int fd, const std::string& contents, const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write " + path);
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Status write_file_atomically(const std::string& path, const std::string& contents) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ec.value(), "create directory " + dir.string());
  // A unique temporary name: two writers never share one, the last rename wins.
  std::string temp = dir.string();
  temp.append("/.").append(target.filename().string()).append(".XXXXXX");
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return errno_error("create " + temp);
  auto fail = [&](Error e) {
    ::unlink(temp.c_str());
    return e;
  };
  if (::fchmod(fd.get(), 0644) != 0) return fail(errno_error("chmod " + temp));
  if (Status s = write_all(fd.get(), contents, temp); !s) return fail(s.error());
  if (::fsync(fd.get()) != 0) return fail(errno_error("fsync " + temp));
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) return fail(errno_error("rename to " + path));
  // The rename itself is durable only once the directory is.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd) ::fsync(dir_fd.get());
  return {};
}

Result<UniqueFd> lock_state_file(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Error(ec.value(), "create directory " + parent.string());
  }
  const std::string lock_path = path + ".lock";
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return errno_error("open " + lock_path);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("lock " + lock_path);
  }
  return fd;
}

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  std::string contents;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path);
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  return contents;
}

}  // namespace ringlane
