#include "ringlane/vmm/x86/bzimage_loader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "ringlane/base/hex.h"
#include "ringlane/vmm/x86/e820.h"

namespace ringlane::vmm {

namespace {

Error bad(const std::string& what) {
  return Error(ENOEXEC, "kernel image: " + what);
}

// Setup header offsets (the same in the file and in the zero page).
constexpr uint32_t kSetupSects = 0x1f1;
constexpr uint32_t kBootFlag = 0x1fe;
constexpr uint32_t kJump = 0x200;  // its second byte is the header's length past 0x202
constexpr uint32_t kVersion = 0x206;
constexpr uint32_t kTypeOfLoader = 0x210;
constexpr uint32_t kLoadflags = 0x211;
constexpr uint32_t kRamdiskImage = 0x218;
constexpr uint32_t kRamdiskSize = 0x21c;
constexpr uint32_t kCmdLinePtr = 0x228;
constexpr uint32_t kInitrdAddrMax = 0x22c;
constexpr uint32_t kKernelAlignment = 0x230;
constexpr uint32_t kRelocatableKernel = 0x234;
constexpr uint32_t kXloadflags = 0x236;
constexpr uint32_t kCmdlineSize = 0x238;
constexpr uint32_t kHardwareSubarch = 0x23c;
constexpr uint32_t kSetupData = 0x250;
constexpr uint32_t kPrefAddress = 0x258;
constexpr uint32_t kInitSize = 0x260;
// Zero page fields outside the setup header.
constexpr uint32_t kExtRamdiskImage = 0x0c0;
constexpr uint32_t kExtRamdiskSize = 0x0c4;
constexpr uint32_t kExtCmdLinePtr = 0x0c8;
constexpr uint32_t kE820Entries = 0x1e8;
constexpr uint32_t kHeaderCopyEnd = 0x290;  // edd_mbr_sig_buffer: the header never reaches it
constexpr uint32_t kE820Table = 0x2d0;
constexpr uint32_t kE820Max = 128;

constexpr uint16_t kBootFlagValue = 0xaa55;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
constexpr uint16_t kMinVersion = 0x0206;     // cmdline_size appeared in 2.06
constexpr uint8_t kLoadedHigh = 1 << 0;      // a bzImage: the kernel runs from 1 MiB up
constexpr uint8_t kLoaderUndefined = 0xff;   // type_of_loader of a loader without an ID

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T>
void store_le(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// Reads header fields, which exist only when they lie inside the header the file declares; the
// first missing one is remembered so that the caller checks once.
class HeaderReader {
 public:
  HeaderReader(std::span<const uint8_t> image, uint32_t end) : image_(image), end_(end) {}
  template <typename T>
  T get(uint32_t offset, const char* name) {
    if (offset + sizeof(T) > end_) {
      if (missing_ == nullptr) missing_ = name;
      return 0;
    }
    return load_le<T>(image_.data() + offset);
  }
  const char* missing() const { return missing_; }

 private:
  std::span<const uint8_t> image_;
  uint32_t end_;
  const char* missing_ = nullptr;
};

}  // namespace

bool is_bzimage(std::span<const uint8_t> image) {
  return image.size() >= kBzImageMagicOffset + 4 &&
         load_le<uint32_t>(image.data() + kBzImageMagicOffset) == kHdrSMagic;
}

Result<BzImageHeader> parse_bzimage_header(std::span<const uint8_t> image) {
  if (!is_bzimage(image)) return bad("no Linux setup header (\"HdrS\" at 0x202)");
  BzImageHeader h;
  h.header_end = kBzImageMagicOffset + image[kJump + 1];
  if (h.header_end > image.size()) return bad("setup header beyond the end of the file");
  HeaderReader r(image, h.header_end);
  h.version = r.get<uint16_t>(kVersion, "version");
  if (r.missing() == nullptr && h.version < kMinVersion) {
    return bad("boot protocol " + std::to_string(h.version >> 8) + "." +
               std::to_string(h.version & 0xff) + " is older than 2.06");
  }
  h.loadflags = r.get<uint8_t>(kLoadflags, "loadflags");
  h.initrd_addr_max = r.get<uint32_t>(kInitrdAddrMax, "initrd_addr_max");
  h.kernel_alignment = r.get<uint32_t>(kKernelAlignment, "kernel_alignment");
  h.relocatable = r.get<uint8_t>(kRelocatableKernel, "relocatable_kernel") != 0;
  h.cmdline_size = r.get<uint32_t>(kCmdlineSize, "cmdline_size");
  h.pref_address = kHighRamStart;  // before 2.10, bzImages ran at 1 MiB
  if (h.version >= 0x020a) {
    h.pref_address = r.get<uint64_t>(kPrefAddress, "pref_address");
    h.init_size = r.get<uint32_t>(kInitSize, "init_size");
  }
  if (h.version >= 0x020c) h.xloadflags = r.get<uint16_t>(kXloadflags, "xloadflags");
  if (r.missing() != nullptr) {
    return bad(std::string("setup header too short for its protocol version (no ") + r.missing() +
               ")");
  }
  if (load_le<uint16_t>(image.data() + kBootFlag) != kBootFlagValue) {
    return bad("no boot sector signature 0xaa55 at 0x1fe");
  }
  if ((h.loadflags & kLoadedHigh) == 0) return bad("a zImage (not loaded high): unsupported");
  if (h.relocatable &&
      (h.kernel_alignment == 0 || (h.kernel_alignment & (h.kernel_alignment - 1)) != 0)) {
    return bad("kernel_alignment " + hex(h.kernel_alignment) + " is not a power of two");
  }
  uint32_t sects = image[kSetupSects];
  if (sects == 0) sects = 4;  // what the field meant before it existed
  h.setup_bytes = (sects + 1) * 512;
  if (h.setup_bytes < h.header_end) return bad("setup header beyond the setup sectors");
  if (h.setup_bytes >= image.size()) {
    return bad("file of " + std::to_string(image.size()) + " bytes ends within its " +
               std::to_string(h.setup_bytes) + " bytes of setup code: no protected-mode kernel");
  }
  h.kernel_bytes = image.size() - h.setup_bytes;
  return h;
}

Result<LinuxKernel> load_bzimage(std::span<const uint8_t> image, std::span<const uint8_t> initrd,
                                 const std::string& cmdline, const GuestRam& ram) {
  Result<BzImageHeader> parsed = parse_bzimage_header(image);
  if (!parsed.ok()) return parsed.error();
  const BzImageHeader& h = *parsed;
  if ((h.xloadflags & kXlfKernel64) == 0) {
    return bad("no 64-bit entry point (needs boot protocol 2.12 and XLF_KERNEL_64)");
  }
  if (cmdline.size() > h.cmdline_size) {
    return bad("command line of " + std::to_string(cmdline.size()) +
               " bytes is longer than the kernel's limit of " + std::to_string(h.cmdline_size));
  }
  if (cmdline.find('\0') != std::string::npos) return bad("command line contains a NUL byte");
  if (cmdline.size() >= kCmdlineMax) return bad("command line too long");

  // The kernel runs where it prefers (relocatable kernels would move there anyway); it needs
  // init_size bytes from there, for decompression and its own early allocations.
  const uint64_t ram_top = std::min<uint64_t>(ram.size(), kPciHoleStart);
  LinuxKernel k;
  k.load_address = h.pref_address;
  uint64_t need = std::max<uint64_t>(h.init_size, h.kernel_bytes);
  if (k.load_address < kHighRamStart || k.load_address % kPageSize != 0 ||
      k.load_address > ram_top || need > ram_top - k.load_address) {
    return bad("kernel at " + hex(k.load_address) + " needing " + hex(need) +
               " bytes does not fit in guest RAM below " + hex(ram_top));
  }
  const uint64_t kernel_end = k.load_address + need;
  k.entry64 = k.load_address + kEntry64Offset;

  // The initrd goes as high as the kernel allows, page-aligned, clear of the kernel.
  if (!initrd.empty()) {
    uint64_t limit = ram_top;
    if ((h.xloadflags & kXlfCanBeLoadedAbove4g) == 0) {
      limit = std::min<uint64_t>(limit, uint64_t{h.initrd_addr_max} + 1);
    }
    uint64_t at = limit >= initrd.size() ? (limit - initrd.size()) & ~(kPageSize - 1) : 0;
    if (limit < initrd.size() || at < kernel_end) {
      return bad("initrd of " + std::to_string(initrd.size()) +
                 " bytes does not fit between the kernel's end " + hex(kernel_end) + " and " +
                 hex(limit));
    }
    k.initrd_address = at;
    k.initrd_size = initrd.size();
  }

  // Every check is done: write the guest's memory.
  std::span<uint8_t> zero_page = ram.bytes(kBootParamsAddr, kBootParamsSize);
  std::span<uint8_t> cmd = ram.bytes(kCmdlineAddr, cmdline.size() + 1);
  if (zero_page.empty() || cmd.empty()) return bad("guest RAM too small for the boot structures");
  std::span<uint8_t> kernel_dst = ram.bytes(k.load_address, h.kernel_bytes);
  std::memcpy(kernel_dst.data(), image.data() + h.setup_bytes, h.kernel_bytes);
  if (!initrd.empty()) {
    std::memcpy(ram.bytes(k.initrd_address, k.initrd_size).data(), initrd.data(), initrd.size());
  }
  std::memcpy(cmd.data(), cmdline.c_str(), cmdline.size() + 1);

  uint8_t* zp = zero_page.data();
  std::memset(zp, 0, kBootParamsSize);
  uint32_t copy_end = std::min(h.header_end, kHeaderCopyEnd);
  std::memcpy(zp + kSetupSects, image.data() + kSetupSects, copy_end - kSetupSects);
  zp[kTypeOfLoader] = kLoaderUndefined;
  store_le<uint32_t>(zp + kCmdLinePtr, static_cast<uint32_t>(kCmdlineAddr));
  store_le<uint32_t>(zp + kExtCmdLinePtr, 0);
  store_le<uint32_t>(zp + kRamdiskImage, static_cast<uint32_t>(k.initrd_address));
  store_le<uint32_t>(zp + kExtRamdiskImage, static_cast<uint32_t>(k.initrd_address >> 32));
  store_le<uint32_t>(zp + kRamdiskSize, static_cast<uint32_t>(k.initrd_size));
  store_le<uint32_t>(zp + kExtRamdiskSize, static_cast<uint32_t>(k.initrd_size >> 32));
  // Fields a loader owns, whatever the file says: no setup_data chain, a plain PC.
  if (copy_end >= kSetupData + 8) store_le<uint64_t>(zp + kSetupData, 0);
  if (copy_end >= kHardwareSubarch + 4) store_le<uint32_t>(zp + kHardwareSubarch, 0);

  std::vector<E820Entry> map = e820_map(ram.size());
  if (map.size() > kE820Max) return bad("memory map too long");
  zp[kE820Entries] = static_cast<uint8_t>(map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    uint8_t* e = zp + kE820Table + i * 20;  // packed: addr, size, type
    store_le<uint64_t>(e, map[i].addr);
    store_le<uint64_t>(e + 8, map[i].size);
    store_le<uint32_t>(e + 16, static_cast<uint32_t>(map[i].type));
  }
  return k;
}

}  // namespace ringlane::vmm
