#include "ringlane/base/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace ringlane {

namespace {

Result<sockaddr_un> make_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Error(ENAMETOOLONG, "socket path '" + path + "' is empty or longer than " +
                                   std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

Result<UniqueFd> listen_unix(const std::string& path) {
  RINGLANE_ASSIGN_OR_RETURN(const sockaddr_un addr, make_address(path));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Error(EEXIST, "'" + path + "' exists and is not a socket; refusing to replace it");
    }
    // A socket someone serves is not stale: taking it would cut that process's clients off.
    // A connect that is taken, or refused only for a full backlog, says someone does.
    if (Result<UniqueFd> probe = connect_unix(path); probe.ok() || probe.error().code() == EAGAIN) {
      return Error(EADDRINUSE, "'" + path + "' is in use: another process listens on it");
    }
    ::unlink(path.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0) {
    return errno_error("bind " + path);
  }
  if (::listen(fd.get(), 4) < 0) return errno_error("listen " + path);
  return fd;
}

Result<UniqueFd> connect_unix(const std::string& path) {
  RINGLANE_ASSIGN_OR_RETURN(const sockaddr_un addr, make_address(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) < 0) {
    return errno_error("connect " + path);
  }
  return fd;
}

Result<UniqueFd> accept_unix(int listen_fd) {
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return errno_error("accept");
  return UniqueFd(fd);
}

}  // namespace ringlane
