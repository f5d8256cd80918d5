// The process's DPDK environment (EAL): started once, when the first DPDK port is made (a
// ringlane without dpdk ports never starts it), and cleaned up at exit, after the ports are
// closed. Threads that poll DPDK ports register with it so that mempool caches serve them.
#pragma once

#include <string>

#include "ringlane/base/result.h"
#include "ringlane/ethdev/eal_arguments.h"

namespace ringlane::ethdev {

// Starts the EAL the first time it is called, on the calling thread (it becomes DPDK's main
// lcore; settings.main_cores empty means the cores it may run on now). Later calls return the
// first call's outcome: DPDK cannot be started twice in a process, nor again after failing.
Status start_eal(const EalSettings& settings);
bool eal_started();

// Makes the calling thread an EAL thread with an lcore id of its own (rte_thread_register),
// undone when the thread exits. Does nothing before start_eal or when already registered.
Status register_thread();

// While one exists, what DPDK logs at warning or worse is kept for an error message instead of
// logged (the refusal then says why, once). What nobody took is logged when it ends. Only
// where ports are opened (the control thread, before the workers run).
class DpdkErrors {
 public:
  DpdkErrors();
  ~DpdkErrors();
  DpdkErrors(const DpdkErrors&) = delete;
  DpdkErrors& operator=(const DpdkErrors&) = delete;

  // The lines kept so far, "; "-joined (empty when none); they are not logged any more.
  std::string take();
};

}  // namespace ringlane::ethdev
