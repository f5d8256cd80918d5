#include "ringlane/vmm/api/api_socket.h"

#include <sys/epoll.h>

namespace ringlane::vmm {

namespace {

// How often the request budget is checked: a slow client is answered 408 at most this late.
constexpr int kTickMs = 20;

}  // namespace

Result<std::unique_ptr<ApiSocket>> ApiSocket::start(const std::string& path, VmApi& api) {
  RINGLANE_ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::create());
  RINGLANE_ASSIGN_OR_RETURN(EventFd stop, EventFd::create());
  std::unique_ptr<ApiSocket> s(new ApiSocket(std::move(loop), std::move(stop)));
  // The server is made here, on the caller's thread, so that a path in use fails start(); the
  // thread started below is the only one touching the loop afterwards.
  RINGLANE_ASSIGN_OR_RETURN(
      s->server_,
      http::HttpServer::listen_unix(
          *s->loop_, path, http::UnixSocketAccess{},
          [&api](const http::HttpRequest& r) { return api.handle(r.method, r.target, r.body); },
          [&api](int status, std::string_view message) { return api.refuse(status, message); }));
  RINGLANE_TRY(s->loop_->watch(s->stop_.fd(), EPOLLIN,
                               [raw = s.get()](uint32_t) { raw->stopping_ = true; }));
  s->thread_ = std::thread([raw = s.get()] { raw->serve(); });
  return s;
}

ApiSocket::~ApiSocket() {
  (void)stop_.signal();
  if (thread_.joinable()) thread_.join();
  server_.reset();
  loop_->unwatch(stop_.fd());
}

void ApiSocket::serve() {
  while (!stopping_) {
    (void)loop_->run_once(kTickMs);  // EINTR is the only failure; the loop just goes round
    server_->tick(http::HttpServer::Clock::now());
  }
}

}  // namespace ringlane::vmm
