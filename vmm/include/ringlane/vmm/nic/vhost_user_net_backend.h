// VhostUserNetBackend: the "vhost" NIC mode. The queues are served by a vhost-user backend
// (ringlane) that maps guest RAM itself and gets the doorbell and interrupt eventfds, so frames
// never pass through the VMM. The VMM only sets the rings up and takes them back. When the
// backend fails or stops answering, the connection ends (frontend.h) and the rings are released
// only once the backend has closed its end; this backend is then spent (usable() false).
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>

#include "ringlane/vhost_user/frontend.h"
#include "ringlane/vmm/kvm/guest_ram.h"
#include "ringlane/vmm/nic/net_backend.h"

namespace ringlane::vmm {

class VhostUserNetBackend : public NetBackend {
 public:
  // Connects now (so a wrong path fails at start-up) and learns what the backend offers.
  static Result<std::unique_ptr<VhostUserNetBackend>> create(const std::string& socket_path,
                                                             const GuestRam& ram);

  std::string kind() const override { return "vhost-user"; }
  Status start(const NetQueues& queues) override;
  Result<QueuePositions> stop() override;
  bool running() const override { return running_; }
  bool usable() const override { return frontend_.usable(); }
  // The data path is the backend's: frames are counted there, not here.
  NetBackendCounters counters() const override { return {}; }
  uint64_t backend_features() const { return backend_features_; }

 private:
  VhostUserNetBackend(vhost_user::VhostUserFrontend frontend, const GuestRam& ram,
                      uint64_t features)
      : frontend_(std::move(frontend)), ram_(ram), backend_features_(features) {}
  // How long a backend that stopped answering has to close its end before the VMM gives up
  // on taking the rings back from it.
  static constexpr std::chrono::milliseconds kReleaseWait{10000};

  vhost_user::FrontendVring vring(uint32_t index, const VirtqueueConfig& q,
                                  uint16_t next_avail) const;
  // Takes back the rings a failed start handed over; returns the failure.
  Status abandon_start(const Error& why, std::initializer_list<uint32_t> rings);
  // The receive ring's used index as the guest sees it: what the drain watches.
  uint64_t receive_used_index() const;

  vhost_user::VhostUserFrontend frontend_;
  const GuestRam& ram_;
  uint64_t backend_features_;
  std::optional<uint64_t> acked_;  // features set on the backend (once per connection)
  NetQueues queues_;
  bool running_ = false;
};

}  // namespace ringlane::vmm
