// libFuzzer target: load_bzimage on arbitrary bytes (with a small initrd and a command line) into
// a 32 MiB guest memory. The kernel image is untrusted input to the VMM: nothing may be read or
// written outside the file and guest memory, and what it reports must lie in guest memory.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ringlane/vmm/x86/bzimage_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringlane::vmm;
  static GuestRam ram = std::move(*GuestRam::create(32ULL << 20));
  static const std::vector<uint8_t> initrd(8192, 0x5a);
  std::span<const uint8_t> image(data, size);
  (void)parse_bzimage_header(image);
  auto kernel = load_bzimage(image, initrd, "console=ttyS0 reboot=k", ram);
  if (!kernel.ok()) return 0;
  if (ram.bytes(kernel->entry64, 1).empty()) __builtin_trap();
  if (ram.bytes(kernel->initrd_address, kernel->initrd_size).empty()) __builtin_trap();
  if (kernel->initrd_address < kernel->load_address) __builtin_trap();
  return 0;
}
