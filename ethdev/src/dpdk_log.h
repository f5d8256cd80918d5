// DpdkLog: DPDK's log lines go through ringlane's log (one format, one stream) instead of
// DPDK's own stdout/syslog stream, and the last warnings and errors are kept, so that a port
// DPDK refuses can say why in its error message.
#pragma once

namespace ringlane::ethdev {

// Points DPDK's log at ringlane's; idempotent. Called before rte_eal_init.
void capture_dpdk_log();
// Undoes capture_dpdk_log (after rte_eal_cleanup).
void release_dpdk_log();
// DpdkErrors (eal.h) holds back warnings and errors for error messages.

}  // namespace ringlane::ethdev
