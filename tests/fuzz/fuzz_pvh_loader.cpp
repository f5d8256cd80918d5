// libFuzzer target: load_pvh_kernel on arbitrary bytes, into a small guest memory. The kernel
// image is untrusted input to the VMM: nothing may be read or written outside the file and
// guest memory, whatever the headers say.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ringlane/vmm/x86/pvh_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringlane::vmm;
  static GuestRam ram = std::move(*GuestRam::create(4ULL << 20));
  auto kernel = load_pvh_kernel(std::span<const uint8_t>(data, size), ram);
  if (kernel.ok() && ram.bytes(kernel->entry, 1).empty()) __builtin_trap();
  return 0;
}
