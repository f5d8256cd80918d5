// EalSettings and eal_arguments: the command line ringlane gives DPDK's EAL (its environment:
// memory, cores, files, logging). Pure, so that what DPDK is told can be checked without
// starting it.
#pragma once

#include <string>
#include <vector>

namespace ringlane::ethdev {

struct EalSettings {
  bool no_huge = false;                  // anonymous memory instead of hugepages
  std::string file_prefix = "ringlane";  // runtime files apart from other DPDK processes
  unsigned memory_mb = 256;
  // The cores DPDK's main lcore (the thread that starts the EAL: ringlane's control thread) and
  // DPDK's own threads may run on. Never the workers' cores: the workers register themselves.
  std::vector<int> main_cores;
  bool debug = false;  // DPDK's own log at info level instead of warnings only
};

// A PCI address no machine has (PCI domain 0xffff is not assigned by firmware). Put on the PCI
// bus's allow list, it makes DPDK probe no PCI device at start: without an allow list it would
// take every NIC bound to vfio-pci or uio on the host, also those meant for other programs.
// The ports' own devices are probed one by one afterwards.
inline constexpr const char* kNoPciDevice = "ffff:ff:1f.7";

// argv for rte_eal_init, argv[0] included.
std::vector<std::string> eal_arguments(const EalSettings& settings);

}  // namespace ringlane::ethdev
