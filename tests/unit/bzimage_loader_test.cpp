// load_bzimage against a synthetic bzImage built here (a setup header as Linux 6.1 has it and a
// made-up protected-mode part), and against hostile variations of it.
#include "ringlane/vmm/x86/bzimage_loader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ringlane/vmm/x86/e820.h"

namespace ringlane::vmm {
namespace {

constexpr uint64_t kRam = 64ULL << 20;
constexpr uint64_t kPref = 16ULL << 20;

template <typename T>
void put(std::vector<uint8_t>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}

template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// A bzImage with one setup sector after the boot sector and `kernel_bytes` of "kernel".
struct Image {
  uint8_t setup_sects = 1;
  uint16_t version = 0x020f;
  uint8_t header_len = 0x6a;  // byte at 0x201: header ends at 0x26c
  uint8_t loadflags = 0x01;
  uint32_t initrd_addr_max = 0x7fffffff;
  uint32_t kernel_alignment = 0x200000;
  uint8_t relocatable = 1;
  uint16_t xloadflags = 0x3;  // 64-bit entry, can be loaded above 4 GiB
  uint32_t cmdline_size = 2047;
  uint64_t pref_address = kPref;
  uint32_t init_size = 0x400000;
  size_t kernel_bytes = 0x3000;

  std::vector<uint8_t> build() const {
    size_t setup = ((setup_sects == 0 ? 4 : setup_sects) + 1) * 512;
    std::vector<uint8_t> b(setup + kernel_bytes, 0);
    b[0x1f1] = setup_sects;
    put<uint16_t>(b, 0x1fe, 0xaa55);
    b[0x200] = 0xeb;
    b[0x201] = header_len;
    std::memcpy(b.data() + 0x202, "HdrS", 4);
    put<uint16_t>(b, 0x206, version);
    b[0x211] = loadflags;
    put<uint32_t>(b, 0x22c, initrd_addr_max);
    put<uint32_t>(b, 0x230, kernel_alignment);
    b[0x234] = relocatable;
    put<uint16_t>(b, 0x236, xloadflags);
    put<uint32_t>(b, 0x238, cmdline_size);
    put<uint64_t>(b, 0x250, 0xdeadbeef);  // setup_data: the loader must not pass it on
    put<uint64_t>(b, 0x258, pref_address);
    put<uint32_t>(b, 0x260, init_size);
    for (size_t i = setup; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 7);
    return b;
  }
};

class BzImageLoaderTest : public ::testing::Test {
 protected:
  BzImageLoaderTest() : ram_(std::move(*GuestRam::create(kRam))) {}
  Result<LinuxKernel> load(const std::vector<uint8_t>& image,
                           const std::vector<uint8_t>& initrd = {},
                           const std::string& cmdline = "console=ttyS0") {
    return load_bzimage(image, initrd, cmdline, ram_);
  }
  void expect_refused(const std::vector<uint8_t>& image, const std::string& why,
                      const std::vector<uint8_t>& initrd = {}, const std::string& cmdline = "") {
    Result<LinuxKernel> k = load(image, initrd, cmdline);
    ASSERT_FALSE(k.ok()) << why;
    EXPECT_EQ(k.error().code(), ENOEXEC) << why;
    EXPECT_NE(k.error().message().find(why), std::string::npos) << k.error().message();
  }
  const uint8_t* zero_page() const { return ram_.base() + kBootParamsAddr; }
  GuestRam ram_;
};

TEST_F(BzImageLoaderTest, ParsesTheSetupHeader) {
  std::vector<uint8_t> image = Image{}.build();
  ASSERT_TRUE(is_bzimage(image));
  Result<BzImageHeader> h = parse_bzimage_header(image);
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(h->version, 0x020f);
  EXPECT_EQ(h->setup_bytes, 1024u);
  EXPECT_EQ(h->kernel_bytes, 0x3000u);
  EXPECT_EQ(h->header_end, 0x26cu);
  EXPECT_TRUE(h->relocatable);
  EXPECT_EQ(h->pref_address, kPref);
  EXPECT_EQ(h->init_size, 0x400000u);
  EXPECT_EQ(h->cmdline_size, 2047u);
  EXPECT_EQ(h->xloadflags, 0x3);
}

TEST_F(BzImageLoaderTest, SetupSectsZeroMeansFour) {
  Image i;
  i.setup_sects = 0;
  Result<BzImageHeader> h = parse_bzimage_header(i.build());
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_EQ(h->setup_bytes, 5u * 512);
}

TEST_F(BzImageLoaderTest, LoadsKernelInitrdCommandLineAndZeroPage) {
  std::vector<uint8_t> image = Image{}.build();
  std::vector<uint8_t> initrd(10000, 0x5a);
  Result<LinuxKernel> k = load(image, initrd, "console=ttyS0 quiet");
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  EXPECT_EQ(k->load_address, kPref);
  EXPECT_EQ(k->entry64, kPref + 0x200);
  EXPECT_EQ(k->boot_params, kBootParamsAddr);
  EXPECT_EQ(std::memcmp(ram_.base() + kPref, image.data() + 1024, 0x3000), 0);
  // The initrd sits page-aligned at the top of RAM.
  EXPECT_EQ(k->initrd_address, (kRam - initrd.size()) & ~0xfffULL);
  EXPECT_EQ(k->initrd_size, initrd.size());
  EXPECT_EQ(ram_.base()[k->initrd_address], 0x5a);
  EXPECT_STREQ(reinterpret_cast<const char*>(ram_.base() + kCmdlineAddr), "console=ttyS0 quiet");

  const uint8_t* zp = zero_page();
  EXPECT_EQ(std::memcmp(zp + 0x202, "HdrS", 4), 0);  // the setup header, copied
  EXPECT_EQ(get<uint16_t>(zp + 0x206), 0x020f);
  EXPECT_EQ(zp[0x210], 0xff);  // type_of_loader
  EXPECT_EQ(get<uint32_t>(zp + 0x228), kCmdlineAddr);
  EXPECT_EQ(get<uint32_t>(zp + 0x218), k->initrd_address);
  EXPECT_EQ(get<uint32_t>(zp + 0x21c), initrd.size());
  EXPECT_EQ(get<uint32_t>(zp + 0x0c0), 0u);  // ext_ramdisk_image
  EXPECT_EQ(get<uint64_t>(zp + 0x250), 0u);  // setup_data cleared
  EXPECT_EQ(zp[0x1ef], 0);                   // sentinel
  // The E820 map: what e820_map() says, packed 20 bytes per entry.
  std::vector<E820Entry> map = e820_map(kRam);
  ASSERT_EQ(zp[0x1e8], map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    const uint8_t* e = zp + 0x2d0 + i * 20;
    EXPECT_EQ(get<uint64_t>(e), map[i].addr);
    EXPECT_EQ(get<uint64_t>(e + 8), map[i].size);
    EXPECT_EQ(get<uint32_t>(e + 16), static_cast<uint32_t>(map[i].type));
  }
}

TEST_F(BzImageLoaderTest, NoInitrdLeavesTheFieldsZero) {
  Result<LinuxKernel> k = load(Image{}.build());
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  EXPECT_EQ(k->initrd_address, 0u);
  EXPECT_EQ(get<uint32_t>(zero_page() + 0x218), 0u);
  EXPECT_EQ(get<uint32_t>(zero_page() + 0x21c), 0u);
}

TEST_F(BzImageLoaderTest, InitrdStaysBelowInitrdAddrMax) {
  Image i;
  i.xloadflags = 0x1;  // not above 4 GiB: initrd_addr_max applies
  i.initrd_addr_max = (32 << 20) - 1;
  std::vector<uint8_t> initrd(4096 * 3, 1);
  Result<LinuxKernel> k = load(i.build(), initrd);
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  EXPECT_EQ(k->initrd_address, (32u << 20) - initrd.size());
  EXPECT_LE(k->initrd_address + k->initrd_size, 32u << 20);
}

TEST_F(BzImageLoaderTest, RefusesBadImages) {
  std::vector<uint8_t> elf = {0x7f, 'E', 'L', 'F'};
  elf.resize(4096);
  EXPECT_FALSE(is_bzimage(elf));
  expect_refused(elf, "no Linux setup header");

  Image old;
  old.version = 0x0205;
  expect_refused(old.build(), "older than 2.06");

  std::vector<uint8_t> no_boot_flag = Image{}.build();
  put<uint16_t>(no_boot_flag, 0x1fe, 0);
  expect_refused(no_boot_flag, "0xaa55");

  Image zimage;
  zimage.loadflags = 0;
  expect_refused(zimage.build(), "zImage");

  Image no64;
  no64.xloadflags = 0;
  expect_refused(no64.build(), "64-bit entry");

  Image short_header;
  short_header.header_len = 0x20;  // ends before cmdline_size
  expect_refused(short_header.build(), "too short");

  Image bad_alignment;
  bad_alignment.kernel_alignment = 0x300000;
  expect_refused(bad_alignment.build(), "power of two");

  std::vector<uint8_t> setup_only = Image{}.build();
  setup_only.resize(1024);
  expect_refused(setup_only, "no protected-mode kernel");

  std::vector<uint8_t> tiny = Image{}.build();
  tiny.resize(0x220);
  expect_refused(tiny, "beyond the end of the file");

  Image low;
  low.pref_address = 0x8000;  // over the zero page and the page tables
  expect_refused(low.build(), "does not fit");

  Image huge;
  huge.init_size = 0xf0000000;
  expect_refused(huge.build(), "does not fit");
}

TEST_F(BzImageLoaderTest, RefusesWhatDoesNotFit) {
  std::vector<uint8_t> image = Image{}.build();
  expect_refused(image, "longer than the kernel's limit", {}, std::string(2048, 'x'));
  expect_refused(image, "NUL", {}, std::string("a\0b", 3));
  // RAM ends at 64 MiB and the kernel needs 16 MiB + 4 MiB: 44 MiB is left, not 45.
  expect_refused(image, "initrd", std::vector<uint8_t>(45 << 20));
}

TEST_F(BzImageLoaderTest, EveryTruncationIsRefusedCleanly) {
  std::vector<uint8_t> image = Image{}.build();
  for (size_t n = 0; n < 1024 + 1; ++n) {
    std::vector<uint8_t> cut(image.begin(), image.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(load(cut).ok()) << n;
  }
}

TEST(E820MapTest, LowRamReservedAreaAndHighRam) {
  std::vector<E820Entry> map = e820_map(256ULL << 20);
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[0].addr, 0u);
  EXPECT_EQ(map[0].size, kLowRamEnd);
  EXPECT_EQ(map[0].type, E820Type::ram);
  EXPECT_EQ(map[1].addr, kLowRamEnd);
  EXPECT_EQ(map[1].addr + map[1].size, kHighRamStart);
  EXPECT_EQ(map[1].type, E820Type::reserved);
  EXPECT_EQ(map[2].addr, kHighRamStart);
  EXPECT_EQ(map[2].addr + map[2].size, 256ULL << 20);
}

TEST(E820MapTest, RamPastThePciHoleContinuesAt4GiB) {
  std::vector<E820Entry> map = e820_map(4ULL << 30);
  ASSERT_EQ(map.size(), 4u);
  EXPECT_EQ(map[2].addr + map[2].size, kPciHoleStart);
  EXPECT_EQ(map[3].addr, kPciHoleEnd);
  EXPECT_EQ(map[3].size, (4ULL << 30) - kPciHoleStart);
}

}  // namespace
}  // namespace ringlane::vmm
