// Intel 82540EM register offsets and bits, as the PCI/PCI-X Family of Gigabit Ethernet
// Controllers Software Developer's Manual (8254x) names them (section 13), limited to what the
// model implements. Offsets are bytes into BAR 0.
#pragma once

#include <cstdint>

namespace ringlane::vmm::e1000 {

// General.
inline constexpr uint32_t kCtrl = 0x0000;
inline constexpr uint32_t kStatus = 0x0008;
inline constexpr uint32_t kEecd = 0x0010;
inline constexpr uint32_t kEerd = 0x0014;
inline constexpr uint32_t kCtrlExt = 0x0018;
inline constexpr uint32_t kMdic = 0x0020;
inline constexpr uint32_t kVet = 0x0038;
// Interrupts.
inline constexpr uint32_t kIcr = 0x00c0;
inline constexpr uint32_t kItr = 0x00c4;
inline constexpr uint32_t kIcs = 0x00c8;
inline constexpr uint32_t kIms = 0x00d0;
inline constexpr uint32_t kImc = 0x00d8;
// Receive.
inline constexpr uint32_t kRctl = 0x0100;
inline constexpr uint32_t kRdbal = 0x2800;
inline constexpr uint32_t kRdbah = 0x2804;
inline constexpr uint32_t kRdlen = 0x2808;
inline constexpr uint32_t kRdh = 0x2810;
inline constexpr uint32_t kRdt = 0x2818;
inline constexpr uint32_t kRxcsum = 0x5000;
inline constexpr uint32_t kMta = 0x5200;   // 128 entries
inline constexpr uint32_t kRal0 = 0x5400;  // 16 pairs of RAL/RAH
inline constexpr uint32_t kRah0 = 0x5404;
// Transmit.
inline constexpr uint32_t kTctl = 0x0400;
inline constexpr uint32_t kTipg = 0x0410;
inline constexpr uint32_t kTdbal = 0x3800;
inline constexpr uint32_t kTdbah = 0x3804;
inline constexpr uint32_t kTdlen = 0x3808;
inline constexpr uint32_t kTdh = 0x3810;
inline constexpr uint32_t kTdt = 0x3818;
// Statistics (0x4000-0x40ff): all clear on read.
inline constexpr uint32_t kStatsStart = 0x4000;
inline constexpr uint32_t kStatsEnd = 0x4100;
inline constexpr uint32_t kMpc = 0x4010;   // missed packets
inline constexpr uint32_t kGprc = 0x4074;  // good packets received
inline constexpr uint32_t kGptc = 0x4080;  // good packets transmitted
inline constexpr uint32_t kGorcl = 0x4088;
inline constexpr uint32_t kGotcl = 0x4090;
inline constexpr uint32_t kRnbc = 0x40a0;  // no receive buffers
inline constexpr uint32_t kTpr = 0x40d0;
inline constexpr uint32_t kTpt = 0x40d4;
// The I/O BAR's two windows onto the register file.
inline constexpr uint32_t kIoAddr = 0x0;
inline constexpr uint32_t kIoData = 0x4;

inline constexpr uint32_t kRegisterSpace = 0x20000;  // BAR 0 size
inline constexpr uint32_t kIoSpace = 0x40;           // BAR 1 size

// CTRL
inline constexpr uint32_t kCtrlSlu = 1U << 6;
inline constexpr uint32_t kCtrlRst = 1U << 26;
inline constexpr uint32_t kCtrlVme = 1U << 30;
inline constexpr uint32_t kCtrlPhyRst = 1U << 31;
// STATUS
inline constexpr uint32_t kStatusFd = 1U << 0;
inline constexpr uint32_t kStatusLu = 1U << 1;
inline constexpr uint32_t kStatusSpeed1000 = 2U << 6;
// EECD: Microwire pins, request/grant, presence.
inline constexpr uint32_t kEecdSk = 1U << 0;
inline constexpr uint32_t kEecdCs = 1U << 1;
inline constexpr uint32_t kEecdDi = 1U << 2;
inline constexpr uint32_t kEecdDo = 1U << 3;
inline constexpr uint32_t kEecdReq = 1U << 6;
inline constexpr uint32_t kEecdGnt = 1U << 7;
inline constexpr uint32_t kEecdPres = 1U << 8;
// EERD (the 82540's layout)
inline constexpr uint32_t kEerdStart = 1U << 0;
inline constexpr uint32_t kEerdDone = 1U << 4;
// MDIC
inline constexpr uint32_t kMdicDataMask = 0xffff;
inline constexpr uint32_t kMdicOpWrite = 1U << 26;
inline constexpr uint32_t kMdicOpRead = 2U << 26;
inline constexpr uint32_t kMdicReady = 1U << 28;
inline constexpr uint32_t kMdicInterrupt = 1U << 29;
inline constexpr uint32_t kMdicError = 1U << 30;
// Interrupt causes (ICR, ICS, IMS, IMC).
inline constexpr uint32_t kIntTxdw = 1U << 0;
inline constexpr uint32_t kIntTxqe = 1U << 1;
inline constexpr uint32_t kIntLsc = 1U << 2;
inline constexpr uint32_t kIntRxdmt0 = 1U << 4;
inline constexpr uint32_t kIntRxo = 1U << 6;
inline constexpr uint32_t kIntRxt0 = 1U << 7;
inline constexpr uint32_t kIntMdac = 1U << 9;
// RCTL
inline constexpr uint32_t kRctlEn = 1U << 1;
inline constexpr uint32_t kRctlUpe = 1U << 3;
inline constexpr uint32_t kRctlMpe = 1U << 4;
inline constexpr uint32_t kRctlLpe = 1U << 5;
inline constexpr uint32_t kRctlRdmtsShift = 8;
inline constexpr uint32_t kRctlMoShift = 12;
inline constexpr uint32_t kRctlBam = 1U << 15;
inline constexpr uint32_t kRctlBsizeShift = 16;
inline constexpr uint32_t kRctlBsex = 1U << 25;
inline constexpr uint32_t kRctlSecrc = 1U << 26;
// RAH
inline constexpr uint32_t kRahAv = 1U << 31;
// TCTL
inline constexpr uint32_t kTctlEn = 1U << 1;

// Descriptors (section 3.2 and 3.3): 16 bytes each, little endian.
inline constexpr uint32_t kDescriptorSize = 16;
// Receive descriptor status and error bytes.
inline constexpr uint8_t kRxStatusDd = 1U << 0;
inline constexpr uint8_t kRxStatusEop = 1U << 1;
inline constexpr uint8_t kRxStatusIxsm = 1U << 2;  // "ignore checksum indication"
// Transmit descriptor command byte (bits 24-31 of the second dword).
inline constexpr uint32_t kTxCmdEop = 1U << 24;
inline constexpr uint32_t kTxCmdIfcs = 1U << 25;
inline constexpr uint32_t kTxCmdIc = 1U << 26;   // legacy: insert checksum
inline constexpr uint32_t kTxCmdTse = 1U << 26;  // extended: TCP segmentation
inline constexpr uint32_t kTxCmdRs = 1U << 27;
inline constexpr uint32_t kTxCmdRps = 1U << 28;
inline constexpr uint32_t kTxCmdDext = 1U << 29;
inline constexpr uint32_t kTxCmdVle = 1U << 30;
inline constexpr uint32_t kTxDtypData = 1U << 20;  // with DEXT: data; without: context
// Transmit status (third dword) and the data descriptor's POPTS byte (bits 8-15 of it).
inline constexpr uint32_t kTxStatusDd = 1U << 0;
inline constexpr uint32_t kTxPoptsIxsm = 1U << 8;
inline constexpr uint32_t kTxPoptsTxsm = 1U << 9;
// Context descriptor TUCMD bits (in the command byte).
inline constexpr uint32_t kTxTucmdTcp = 1U << 24;
inline constexpr uint32_t kTxTucmdIp = 1U << 25;

}  // namespace ringlane::vmm::e1000
