/* The test guests' runtime: port and memory-mapped I/O, barriers, the time stamp counter, and the
 * few C library functions the compiler may call. The guest runs its C code at CPL3 with an identity
 * map, so a guest physical address is also a pointer. */
#pragma once

#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uint16_t inw(uint16_t port) {
  uint16_t v;
  __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uint32_t inl(uint16_t port) {
  uint32_t v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

static inline uint8_t mmio_read8(uint64_t addr) { return *(volatile uint8_t*)addr; }
static inline uint16_t mmio_read16(uint64_t addr) { return *(volatile uint16_t*)addr; }
static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t*)addr; }
static inline void mmio_write8(uint64_t addr, uint8_t v) { *(volatile uint8_t*)addr = v; }
static inline void mmio_write16(uint64_t addr, uint16_t v) { *(volatile uint16_t*)addr = v; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t*)addr = v; }
/* Two 32-bit writes, low half first: what virtio's 64-bit fields allow and every device accepts. */
static inline void mmio_write64(uint64_t addr, uint64_t v) {
  mmio_write32(addr, (uint32_t)v);
  mmio_write32(addr + 4, (uint32_t)(v >> 32));
}

/* x86 keeps stores in order and loads in order; the device (another thread or the VMM) needs the
 * compiler not to reorder, and a full fence where a store must be seen before a later load. */
static inline void compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void full_fence(void) { __asm__ volatile("mfence" ::: "memory"); }

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* Ends the machine: the i8042's reset pulse, which ringlane-vmm and QEMU -no-reboot both treat as
 * the end of the run. */
__attribute__((noreturn)) void machine_reset(void);

void* memcpy(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
