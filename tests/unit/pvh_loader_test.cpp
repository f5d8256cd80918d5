// load_pvh_kernel against well-formed and hostile ELF images built here byte by byte.
#include "ringlane/vmm/x86/pvh_loader.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ringlane::vmm {
namespace {

constexpr uint64_t kRam = 16ULL << 20;

// An ELF64 image: header, program headers, then the payload bytes of each segment.
struct ElfImage {
  struct Seg {
    uint32_t type;
    uint64_t paddr;
    std::vector<uint8_t> bytes;
    uint64_t memsz;  // >= bytes.size() for PT_LOAD
  };
  std::vector<Seg> segs;
  uint16_t machine = EM_X86_64;

  std::vector<uint8_t> build() const {
    std::vector<uint8_t> out(sizeof(Elf64_Ehdr) + segs.size() * sizeof(Elf64_Phdr));
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_machine = machine;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = static_cast<uint16_t>(segs.size());
    std::memcpy(out.data(), &eh, sizeof(eh));
    for (size_t i = 0; i < segs.size(); ++i) {
      Elf64_Phdr ph{};
      ph.p_type = segs[i].type;
      ph.p_offset = out.size();
      ph.p_paddr = segs[i].paddr;
      ph.p_filesz = segs[i].bytes.size();
      ph.p_memsz = segs[i].memsz;
      std::memcpy(out.data() + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr), &ph, sizeof(ph));
      out.insert(out.end(), segs[i].bytes.begin(), segs[i].bytes.end());
    }
    return out;
  }
};

std::vector<uint8_t> xen_entry_note(uint32_t entry, uint32_t type = 18) {
  std::vector<uint8_t> n(12 + 4 + 4);
  uint32_t head[3] = {4, 4, type};
  std::memcpy(n.data(), head, sizeof(head));
  std::memcpy(n.data() + 12, "Xen", 4);
  std::memcpy(n.data() + 16, &entry, 4);
  return n;
}

class PvhLoaderTest : public ::testing::Test {
 protected:
  PvhLoaderTest() : ram_(std::move(*GuestRam::create(kRam))) {}
  Result<PvhKernel> load(const std::vector<uint8_t>& elf) { return load_pvh_kernel(elf, ram_); }
  ElfImage good() {
    ElfImage e;
    e.segs.push_back({PT_LOAD, 0x100000, {0xf4, 0xeb, 0xfd, 0x90}, 0x2000});
    e.segs.push_back({PT_NOTE, 0, xen_entry_note(0x100000), 0});
    return e;
  }
  GuestRam ram_;
};

TEST_F(PvhLoaderTest, LoadsSegmentsZeroesBssAndFindsTheEntry) {
  std::memset(ram_.base() + 0x100000, 0xaa, 0x2000);
  Result<PvhKernel> k = load(good().build());
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  EXPECT_EQ(k->entry, 0x100000u);
  EXPECT_EQ(k->load_end, 0x102000u);
  EXPECT_EQ(ram_.base()[0x100000], 0xf4);
  EXPECT_EQ(ram_.base()[0x100003], 0x90);
  EXPECT_EQ(ram_.base()[0x100004], 0);  // .bss zeroed
  EXPECT_EQ(ram_.base()[0x101fff], 0);
}

TEST_F(PvhLoaderTest, RefusesWhatIsNotAnX86Elf) {
  EXPECT_FALSE(load({}).ok());
  EXPECT_FALSE(load({0x7f, 'E', 'L'}).ok());
  std::vector<uint8_t> text(200, 'x');
  EXPECT_FALSE(load(text).ok());
  ElfImage arm = good();
  arm.machine = EM_AARCH64;
  EXPECT_FALSE(load(arm.build()).ok());
  auto truncated = good().build();
  truncated.resize(sizeof(Elf64_Ehdr) + 10);
  EXPECT_FALSE(load(truncated).ok());
}

TEST_F(PvhLoaderTest, RefusesAKernelWithoutThePvhNote) {
  ElfImage e = good();
  e.segs.pop_back();
  Result<PvhKernel> k = load(e.build());
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().to_string().find("XEN_ELFNOTE_PHYS32_ENTRY"), std::string::npos);
  ElfImage other = good();
  other.segs[1].bytes = xen_entry_note(0x100000, 17);  // another Xen note type
  EXPECT_FALSE(load(other.build()).ok());
}

TEST_F(PvhLoaderTest, RefusesSegmentsOutsideGuestMemoryOrTheFile) {
  ElfImage high = good();
  high.segs[0].paddr = kRam - 0x1000;  // memsz 0x2000 runs past the end
  EXPECT_FALSE(load(high.build()).ok());
  ElfImage wrap = good();
  wrap.segs[0].paddr = ~uint64_t{0} - 0x10;
  EXPECT_FALSE(load(wrap.build()).ok());
  ElfImage fat = good();
  fat.segs[0].memsz = 2;  // fewer memory bytes than file bytes
  EXPECT_FALSE(load(fat.build()).ok());
  auto cut = good().build();
  cut.resize(cut.size() - 30);  // the note and part of the segment are gone
  EXPECT_FALSE(load(cut).ok());
}

TEST_F(PvhLoaderTest, RefusesMalformedNotesAndEntriesOutsideMemory) {
  ElfImage bad_size = good();
  uint32_t huge = 0xfffffff0;
  std::memcpy(bad_size.segs[1].bytes.data() + 4, &huge, 4);  // descsz
  EXPECT_FALSE(load(bad_size.build()).ok());
  ElfImage outside = good();
  outside.segs[1].bytes = xen_entry_note(0xf0000000);
  EXPECT_FALSE(load(outside.build()).ok());
}

TEST_F(PvhLoaderTest, RefusesAbsurdProgramHeaderCounts) {
  auto elf = good().build();
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof(eh));
  eh.e_phnum = 0xffff;
  std::memcpy(elf.data(), &eh, sizeof(eh));
  EXPECT_FALSE(load(elf).ok());
  eh.e_phnum = 0;
  std::memcpy(elf.data(), &eh, sizeof(eh));
  EXPECT_FALSE(load(elf).ok());
}

}  // namespace
}  // namespace ringlane::vmm
