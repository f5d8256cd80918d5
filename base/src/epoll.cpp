#include "ringlane/base/epoll.h"

namespace ringlane {

Result<Epoll> Epoll::create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return errno_error("epoll_create1");
  return Epoll(UniqueFd(fd));
}

namespace {

Status control(int epoll_fd, int op, int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_fd, op, fd, &ev) < 0) return errno_error("epoll_ctl");
  return {};
}

}  // namespace

Status Epoll::add(int fd, uint32_t events, uint64_t token) {
  return control(fd_.get(), EPOLL_CTL_ADD, fd, events, token);
}

Status Epoll::modify(int fd, uint32_t events, uint64_t token) {
  return control(fd_.get(), EPOLL_CTL_MOD, fd, events, token);
}

void Epoll::remove(int fd) {
  ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Result<int> Epoll::wait(std::span<epoll_event> out, int timeout_ms) {
  int n = ::epoll_wait(fd_.get(), out.data(), static_cast<int>(out.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    return errno_error("epoll_wait");
  }
  return n;
}

}  // namespace ringlane
