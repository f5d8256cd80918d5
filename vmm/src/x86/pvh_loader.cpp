#include "ringlane/vmm/x86/pvh_loader.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace ringlane::vmm {

namespace {

constexpr uint32_t kXenElfnotePhys32Entry = 18;

Error bad(const std::string& what) {
  return Error(ENOEXEC, "kernel image: " + what);
}

// One program header, whatever the ELF class.
struct Segment {
  uint32_t type;
  uint64_t offset;
  uint64_t paddr;
  uint64_t filesz;
  uint64_t memsz;
};

template <typename T>
bool read_at(std::span<const uint8_t> file, uint64_t offset, T& out) {
  if (offset > file.size() || sizeof(T) > file.size() - offset) return false;
  std::memcpy(&out, file.data() + offset, sizeof(T));
  return true;
}

template <typename Ehdr, typename Phdr>
Result<std::vector<Segment>> segments(std::span<const uint8_t> file) {
  Ehdr eh;
  if (!read_at(file, 0, eh)) return bad("truncated ELF header");
  if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_386) return bad("not an x86 ELF file");
  if (eh.e_phentsize != sizeof(Phdr)) return bad("unexpected program header size");
  constexpr uint16_t kMaxPhdrs = 64;
  if (eh.e_phnum == 0 || eh.e_phnum > kMaxPhdrs) {
    return bad(std::to_string(eh.e_phnum) + " program headers");
  }
  std::vector<Segment> out;
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Phdr ph;
    if (!read_at(file, eh.e_phoff + uint64_t{i} * sizeof(Phdr), ph)) {
      return bad("program header " + std::to_string(i) + " beyond the end of the file");
    }
    out.push_back({ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz});
  }
  return out;
}

// The entry point from the notes in one PT_NOTE segment, or 0 when it has none.
Result<uint32_t> find_entry(std::span<const uint8_t> file, const Segment& s) {
  if (s.offset > file.size() || s.filesz > file.size() - s.offset) {
    return bad("note segment beyond the end of the file");
  }
  auto notes = file.subspan(s.offset, s.filesz);
  uint64_t at = 0;
  auto align4 = [](uint64_t v) { return (v + 3) & ~uint64_t{3}; };
  while (at + sizeof(Elf32_Nhdr) <= notes.size()) {
    Elf32_Nhdr nh;
    std::memcpy(&nh, notes.data() + at, sizeof(nh));
    uint64_t name_at = at + sizeof(nh);
    uint64_t desc_at = name_at + align4(nh.n_namesz);
    uint64_t next = desc_at + align4(nh.n_descsz);
    if (nh.n_namesz > notes.size() || nh.n_descsz > notes.size() || next > notes.size()) {
      return bad("malformed ELF note");
    }
    bool xen = nh.n_namesz == 4 && std::memcmp(notes.data() + name_at, "Xen", 4) == 0;
    if (xen && nh.n_type == kXenElfnotePhys32Entry) {
      if (nh.n_descsz != 4 && nh.n_descsz != 8) return bad("PHYS32_ENTRY note of bad size");
      uint32_t entry;
      std::memcpy(&entry, notes.data() + desc_at, sizeof(entry));
      return entry;
    }
    at = next;
  }
  return uint32_t{0};
}

}  // namespace

Result<PvhKernel> load_pvh_kernel(std::span<const uint8_t> elf, const GuestRam& ram) {
  if (elf.size() < EI_NIDENT || std::memcmp(elf.data(), ELFMAG, SELFMAG) != 0) {
    return bad("not an ELF file");
  }
  Result<std::vector<Segment>> segs =
      elf[EI_CLASS] == ELFCLASS64   ? segments<Elf64_Ehdr, Elf64_Phdr>(elf)
      : elf[EI_CLASS] == ELFCLASS32 ? segments<Elf32_Ehdr, Elf32_Phdr>(elf)
                                    : Result<std::vector<Segment>>(bad("unknown ELF class"));
  if (!segs.ok()) return segs.error();
  PvhKernel k{0, 0};
  bool loaded = false;
  for (const Segment& s : *segs) {
    if (s.type == PT_NOTE && k.entry == 0) {
      Result<uint32_t> entry = find_entry(elf, s);
      if (!entry.ok()) return entry.error();
      k.entry = *entry;
    }
    if (s.type != PT_LOAD || s.memsz == 0) continue;
    if (s.filesz > s.memsz) return bad("segment with more file bytes than memory bytes");
    if (s.offset > elf.size() || s.filesz > elf.size() - s.offset) {
      return bad("segment beyond the end of the file");
    }
    std::span<uint8_t> dst = ram.bytes(s.paddr, s.memsz);
    if (dst.empty()) {
      return bad("segment at " + std::to_string(s.paddr) + " (+" + std::to_string(s.memsz) +
                 ") outside guest memory of " + std::to_string(ram.size()) + " bytes");
    }
    std::memcpy(dst.data(), elf.data() + s.offset, s.filesz);
    std::memset(dst.data() + s.filesz, 0, s.memsz - s.filesz);
    k.load_end = std::max(k.load_end, s.paddr + s.memsz);
    loaded = true;
  }
  if (!loaded) return bad("no loadable segment");
  if (k.entry == 0) return bad("not a PVH kernel (no XEN_ELFNOTE_PHYS32_ENTRY note)");
  if (ram.bytes(k.entry, 1).empty()) return bad("entry point outside guest memory");
  return k;
}

}  // namespace ringlane::vmm
