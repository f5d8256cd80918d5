// ringlane-ctl's commands on a running ringlane daemon, through the API it serves on its
// --api-sock (control/daemon_api.h): status; port list|show|add|del; disk list|show|add|del;
// worker list|rebalance; queue move; fdb show|flush; top. DaemonCommands adds them to the command
// line and, once it is parsed, runs the one given: it asks the daemon and prints the answer, as it
// is with --json, through daemon_view.h otherwise. Exit status: 0 done, 1 refused (the daemon's
// message and the HTTP status on stderr), 2 a bad command line, 3 no answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ringlane/ctl/api_call.h"
#include "ringlane/ctl/top_command.h"

namespace CLI {
class App;
}  // namespace CLI

namespace ringlane::ctl {

// Where `ringlane-ctl --sock` looks when not told: the place docs/operations.md gives the
// daemon's --api-sock (the daemon has no default; it serves no API unless asked).
inline constexpr const char* kDefaultDaemonSocket = "/run/ringlane/api.sock";

class DaemonCommands {
 public:
  // Adds the commands to `app`; their arguments are kept here, so this must outlive parsing.
  explicit DaemonCommands(CLI::App& app);
  DaemonCommands(const DaemonCommands&) = delete;
  DaemonCommands& operator=(const DaemonCommands&) = delete;

  // After parsing: nullopt when none of these commands was given, else its exit status.
  std::optional<int> run(const ApiEndpoint& api, bool json) const;

 private:
  CLI::App* status_ = nullptr;
  CLI::App* port_list_ = nullptr;
  CLI::App* port_show_ = nullptr;
  CLI::App* port_add_ = nullptr;
  CLI::App* port_del_ = nullptr;
  CLI::App* disk_list_ = nullptr;
  CLI::App* disk_show_ = nullptr;
  CLI::App* disk_add_ = nullptr;
  CLI::App* disk_del_ = nullptr;
  CLI::App* worker_list_ = nullptr;
  CLI::App* worker_rebalance_ = nullptr;
  CLI::App* queue_move_ = nullptr;
  CLI::App* fdb_show_ = nullptr;
  CLI::App* fdb_flush_ = nullptr;
  CLI::App* top_ = nullptr;

  std::string name_;  // port and disk show/del NAME, queue move PORT
  std::string spec_;  // port and disk add SPEC
  std::string peer_;  // port add --peer
  uint16_t queue_pair_ = 0;
  unsigned worker_ = 0;
  std::string fdb_port_;  // fdb flush --port
  TopOptions top_options_;
  uint64_t top_count_ = 0;  // 0: until interrupted
};

}  // namespace ringlane::ctl
