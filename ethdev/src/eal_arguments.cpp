#include "ringlane/ethdev/eal_arguments.h"

namespace ringlane::ethdev {

namespace {

// DPDK's log levels (rte_log.h): RTE_LOG_WARNING and RTE_LOG_INFO.
constexpr int kDpdkLogWarning = 5;
constexpr int kDpdkLogInfo = 7;

}  // namespace

std::vector<std::string> eal_arguments(const EalSettings& settings) {
  std::vector<std::string> args = {"ringlane", "--proc-type=primary",
                                   "--file-prefix=" + settings.file_prefix};
  if (settings.no_huge) {
    args.emplace_back("--no-huge");
  } else {
    // Hugepage files are unlinked as soon as they are mapped: a ringlane that is killed leaves
    // no hugepages held by files nobody will remove.
    args.emplace_back("--huge-unlink");
  }
  args.emplace_back("-m");
  args.push_back(std::to_string(settings.memory_mb));
  // One lcore, the main one, floating over the control thread's cores: lcore 0 is the thread
  // calling rte_eal_init, and DPDK keeps its own threads (interrupts, multi-process) on the same
  // cores. Workers are not lcores of the command line; each registers itself when it starts.
  if (!settings.main_cores.empty()) {
    std::string set;
    for (int c : settings.main_cores) {
      if (!set.empty()) set += ',';
      set += std::to_string(c);
    }
    args.push_back("--lcores=0@(" + set + ")");
  }
  args.emplace_back("--no-telemetry");
  args.push_back("--log-level=" + std::to_string(settings.debug ? kDpdkLogInfo : kDpdkLogWarning));
  args.emplace_back("-a");
  args.emplace_back(kNoPciDevice);
  return args;
}

}  // namespace ringlane::ethdev
