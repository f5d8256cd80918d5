// Unix stream sockets: listening (replacing only a stale socket file), non-blocking connect,
// accept. The vhost-user channel and the VMM's API socket are built on these.
#pragma once

#include <string>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"

namespace ringlane {

// Listens on `path`, replacing a stale socket file: never any other kind of file (EEXIST), nor a
// socket another process listens on (EADDRINUSE).
Result<UniqueFd> listen_unix(const std::string& path);
// Non-blocking connect; fails at once when nobody listens.
Result<UniqueFd> connect_unix(const std::string& path);
Result<UniqueFd> accept_unix(int listen_fd);

}  // namespace ringlane
