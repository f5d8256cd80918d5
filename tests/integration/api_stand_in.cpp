// api_stand_in: ringlane-vmm's API (the real VmApi behind the real ApiSocket) without a virtual
// machine, so API clients can be tested end to end where there is no KVM. It has one NIC, net0:
// virtio-net in virtio mode with ringlane-vmm's default MAC and fixed counters, and, like a
// --nic without socket=, it cannot switch to vhost mode.
// Usage: api_stand_in SOCKET_PATH. Prints "ready" once it serves; runs until SIGINT or SIGTERM.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ringlane/vmm/api/api_socket.h"
#include "ringlane/vmm/api/vm_api.h"

using namespace ringlane;
using namespace ringlane::vmm;

namespace {

class StandInNic : public Nic {
 public:
  const std::string& name() const override { return name_; }
  std::string model() const override { return "virtio-net"; }
  NicMode mode() const override { return mode_.load(); }
  std::array<uint8_t, 6> mac() const override { return {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}; }
  bool active() const override { return true; }
  NetBackendCounters counters() const override {
    NetBackendCounters c;
    c.rx_frames = 12;
    c.tx_frames = 3;
    c.rx_bytes = 768;
    c.tx_bytes = 192;
    return c;
  }
  Status set_mode(NicMode mode) override {
    if (mode == NicMode::vhost) return Error(EINVAL, name_ + " has no socket= for vhost mode");
    mode_ = mode;
    return {};
  }

 private:
  std::string name_ = "net0";
  std::atomic<NicMode> mode_{NicMode::virtio};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: api_stand_in SOCKET_PATH\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the API thread starts: it inherits

  MachineCounters machine;
  machine.exits = machine.pio_exits = 100;
  std::vector<std::unique_ptr<Nic>> nics;
  nics.push_back(std::make_unique<StandInNic>());
  VmApi api(machine, nics, 256ULL << 20);
  Result<std::unique_ptr<ApiSocket>> socket = ApiSocket::start(argv[1], api);
  if (!socket.ok()) {
    std::fprintf(stderr, "api_stand_in: %s\n", socket.error().to_string().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  return 0;
}
