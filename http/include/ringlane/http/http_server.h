// HttpServer: HTTP/1.1 on a Unix socket or a TCP address, driven by the owner's EventLoop, one
// request per connection: read until parse_http_request has a verdict, answer, close. Everything
// runs on the loop's thread (the handler too), so what the handler reads needs no locks.
// Deliberately small: the parser's limits (8 KiB of request line and headers, 64 KiB of body),
// a 5 s budget per request (checked by tick(), which the owner calls every few tens of ms), at
// most kMaxConnections open at once. Requests the server refuses itself (malformed, too large,
// incomplete, too slow) are answered by the Refuser, so the owner shapes and counts them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ringlane/base/event_loop.h"
#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/http/http_request.h"
#include "ringlane/http/http_response.h"

namespace ringlane::http {

// Who may connect to a Unix socket: its file mode, and an owner and group to give it (the
// process's own when unset).
struct UnixSocketAccess {
  mode_t mode = 0600;
  std::optional<uid_t> owner;
  std::optional<gid_t> group;
};

class HttpServer {
 public:
  using Handler = std::function<HttpAnswer(const HttpRequest&)>;
  // Answers a request the server refused: `status` (400, 405, 408, 413, 431, 505) and why.
  using Refuser = std::function<HttpAnswer(int status, std::string_view message)>;
  using Clock = std::chrono::steady_clock;

  static constexpr size_t kMaxConnections = 64;
  // From accept to a complete request; a connection that sent something by then gets 408, a
  // silent one is closed. An answer the client does not take within another budget is dropped.
  static constexpr std::chrono::seconds kRequestBudget{5};

  // Listens on `path`, replacing a stale socket file (one nobody listens on) but never a live one
  // (EADDRINUSE) nor any other kind of file (EEXIST), then gives it `access`. The destructor
  // removes it.
  static Result<std::unique_ptr<HttpServer>> listen_unix(EventLoop& loop, const std::string& path,
                                                         const UnixSocketAccess& access,
                                                         Handler handler, Refuser refuser);
  // Listens on "127.0.0.1:9100", "[::1]:9100" or ":9100" (every address), with SO_REUSEADDR;
  // port 0 picks a free one (local_port() tells which). Errors name the address.
  static Result<std::unique_ptr<HttpServer>> listen_tcp(EventLoop& loop,
                                                        const std::string& addr_port,
                                                        Handler handler, Refuser refuser);

  // Unwatches and closes every socket, and removes the Unix socket file. The loop must still
  // exist.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Enforces the request budget at `now`.
  void tick(Clock::time_point now);

  // The Unix socket's path ("" for TCP), and the TCP port listened on (0 for Unix).
  std::string path() const { return path_; }
  uint16_t local_port() const { return port_; }
  // Connections open now (reading a request or sending its answer).
  size_t connections() const { return connections_.size(); }

 private:
  struct Connection {
    UniqueFd fd;
    Clock::time_point accepted;
    std::string received;
    std::string answer;  // the bytes still to send once answering
    bool answering = false;
  };

  HttpServer(EventLoop& loop, UniqueFd listen, std::string path, uint16_t port, Handler handler,
             Refuser refuser);
  Status start();
  void accept_all();
  void on_readable(int fd);
  void on_writable(int fd);
  void answer(Connection& c, const HttpAnswer& a);
  void flush(Connection& c);
  void close(int fd);

  EventLoop& loop_;
  UniqueFd listen_;
  std::string path_;
  uint16_t port_;
  Handler handler_;
  Refuser refuser_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
};

}  // namespace ringlane::http
