// The Virtual Machine Control Block (AMD APM vol. 2 appendix B, tables B-1 and B-2).
// One 4 KiB page per vCPU: the control area (intercepts, exit information, event
// injection) and the guest's saved state.
#pragma once

#include <cstddef>

#include "lib/types.hpp"

namespace relay::svm {

// VMCB segment register (table B-2): attributes are the 12 packed descriptor bits.
struct [[gnu::packed]] VmcbSegment {
    u16 selector;
    u16 attributes;
    u32 limit;
    u64 base;
};
static_assert(sizeof(VmcbSegment) == 16);

struct [[gnu::packed]] alignas(4096) Vmcb {
    // ---- Control area ----
    u32 intercept_cr;          // 0x000: bits 0-15 reads, 16-31 writes
    u32 intercept_dr;          // 0x004
    u32 intercept_exceptions;  // 0x008
    u32 intercept_misc1;       // 0x00C
    u32 intercept_misc2;       // 0x010
    u32 intercept_misc3;       // 0x014
    u8 reserved0[0x03C - 0x018];
    u16 pause_filter_threshold;  // 0x03C
    u16 pause_filter_count;      // 0x03E
    u64 iopm_base;               // 0x040
    u64 msrpm_base;              // 0x048
    u64 tsc_offset;              // 0x050
    u32 guest_asid;              // 0x058
    u8 tlb_control;              // 0x05C
    u8 reserved1[3];
    u64 virtual_interrupt;    // 0x060: V_TPR, V_IRQ, V_INTR_PRIO, V_IGN_TPR, V_INTR_MASKING, vector
    u64 interrupt_shadow;     // 0x068: bit 0 shadow, bit 1 guest interrupt mask
    u64 exit_code;            // 0x070
    u64 exit_info1;           // 0x078
    u64 exit_info2;           // 0x080
    u64 exit_interrupt_info;  // 0x088
    u64 nested_control;       // 0x090: bit 0 NP_ENABLE
    u64 avic_apic_bar;        // 0x098
    u64 ghcb;                 // 0x0A0
    u64 event_injection;      // 0x0A8
    u64 nested_cr3;           // 0x0B0
    u64 virtualization_ext;   // 0x0B8: LBR virtualization, virtual VMLOAD/VMSAVE
    u32 clean_bits;           // 0x0C0
    u32 reserved2;
    u64 next_rip;                  // 0x0C8 (NRIP save; TCG leaves it zero)
    u8 instruction_bytes_fetched;  // 0x0D0 (decode assists; TCG has none)
    u8 instruction_bytes[15];      // 0x0D1
    u8 reserved3[0x400 - 0x0E0];

    // ---- State save area (offset 0x400) ----
    VmcbSegment es, cs, ss, ds, fs, gs;  // 0x400..0x450
    VmcbSegment gdtr;                    // 0x460 (selector, attributes unused)
    VmcbSegment ldtr;                    // 0x470
    VmcbSegment idtr;                    // 0x480
    VmcbSegment tr;                      // 0x490
    u8 reserved4[0x4CB - 0x4A0];
    u8 cpl;  // 0x4CB
    u32 reserved5;
    u64 efer;  // 0x4D0
    u8 reserved6[0x548 - 0x4D8];
    u64 cr4;     // 0x548
    u64 cr3;     // 0x550
    u64 cr0;     // 0x558
    u64 dr7;     // 0x560
    u64 dr6;     // 0x568
    u64 rflags;  // 0x570
    u64 rip;     // 0x578
    u8 reserved7[0x5D8 - 0x580];
    u64 rsp;             // 0x5D8
    u64 s_cet;           // 0x5E0
    u64 ssp;             // 0x5E8
    u64 isst_addr;       // 0x5F0
    u64 rax;             // 0x5F8
    u64 star;            // 0x600
    u64 lstar;           // 0x608
    u64 cstar;           // 0x610
    u64 sfmask;          // 0x618
    u64 kernel_gs_base;  // 0x620
    u64 sysenter_cs;     // 0x628
    u64 sysenter_esp;    // 0x630
    u64 sysenter_eip;    // 0x638
    u64 cr2;             // 0x640
    u8 reserved8[0x668 - 0x648];
    u64 guest_pat;       // 0x668
    u64 debugctl;        // 0x670
    u64 branch_from;     // 0x678
    u64 branch_to;       // 0x680
    u64 exception_from;  // 0x688
    u64 exception_to;    // 0x690
    u8 reserved9[0x6E0 - 0x698];
    u64 spec_ctrl;  // 0x6E0
    u8 reserved10[0x1000 - 0x6E8];
};
static_assert(sizeof(Vmcb) == 4096);
static_assert(offsetof(Vmcb, iopm_base) == 0x040);
static_assert(offsetof(Vmcb, virtual_interrupt) == 0x060);
static_assert(offsetof(Vmcb, exit_code) == 0x070);
static_assert(offsetof(Vmcb, event_injection) == 0x0A8);
static_assert(offsetof(Vmcb, nested_cr3) == 0x0B0);
static_assert(offsetof(Vmcb, next_rip) == 0x0C8);
static_assert(offsetof(Vmcb, es) == 0x400);
static_assert(offsetof(Vmcb, tr) == 0x490);
static_assert(offsetof(Vmcb, cpl) == 0x4CB);
static_assert(offsetof(Vmcb, efer) == 0x4D0);
static_assert(offsetof(Vmcb, cr4) == 0x548);
static_assert(offsetof(Vmcb, rip) == 0x578);
static_assert(offsetof(Vmcb, rsp) == 0x5D8);
static_assert(offsetof(Vmcb, rax) == 0x5F8);
static_assert(offsetof(Vmcb, cr2) == 0x640);
static_assert(offsetof(Vmcb, guest_pat) == 0x668);
static_assert(offsetof(Vmcb, spec_ctrl) == 0x6E0);

// intercept_misc1 bits (table B-1, offset 0x0C).
namespace intercept1 {
inline constexpr u32 kIntr = 1u << 0;
inline constexpr u32 kNmi = 1u << 1;
inline constexpr u32 kSmi = 1u << 2;
inline constexpr u32 kInit = 1u << 3;
inline constexpr u32 kVintr = 1u << 4;
inline constexpr u32 kRdpmc = 1u << 15;
inline constexpr u32 kIret = 1u << 20;
inline constexpr u32 kCpuid = 1u << 18;
inline constexpr u32 kRsm = 1u << 19;
inline constexpr u32 kInvd = 1u << 22;
inline constexpr u32 kHlt = 1u << 24;
inline constexpr u32 kInvlpga = 1u << 26;
inline constexpr u32 kIoio = 1u << 27;
inline constexpr u32 kMsr = 1u << 28;
inline constexpr u32 kTaskSwitch = 1u << 29;
inline constexpr u32 kFerrFreeze = 1u << 30;
inline constexpr u32 kShutdown = 1u << 31;
}  // namespace intercept1

// intercept_misc2 bits (offset 0x10).
namespace intercept2 {
inline constexpr u32 kVmrun = 1u << 0;
inline constexpr u32 kVmmcall = 1u << 1;
inline constexpr u32 kVmload = 1u << 2;
inline constexpr u32 kVmsave = 1u << 3;
inline constexpr u32 kStgi = 1u << 4;
inline constexpr u32 kClgi = 1u << 5;
inline constexpr u32 kSkinit = 1u << 6;
inline constexpr u32 kRdtscp = 1u << 7;
inline constexpr u32 kIcebp = 1u << 8;
inline constexpr u32 kWbinvd = 1u << 9;
inline constexpr u32 kMonitor = 1u << 10;
inline constexpr u32 kMwait = 1u << 11;
inline constexpr u32 kMwaitConditional = 1u << 12;
inline constexpr u32 kXsetbv = 1u << 13;
inline constexpr u32 kRdpru = 1u << 14;
}  // namespace intercept2

// #VMEXIT codes (appendix C).
enum class ExitCode : u64 {
    kExceptionBase = 0x40,  // + vector
    kIntr = 0x60,
    kNmi = 0x61,
    kSmi = 0x62,
    kInit = 0x63,
    kVintr = 0x64,
    kRdpmc = 0x6F,
    kCpuid = 0x72,
    kRsm = 0x73,
    kIret = 0x74,
    kInvd = 0x76,
    kPause = 0x77,
    kHlt = 0x78,
    kInvlpga = 0x7A,
    kIoio = 0x7B,
    kMsr = 0x7C,
    kTaskSwitch = 0x7D,
    kFerrFreeze = 0x7E,
    kShutdown = 0x7F,
    kVmrun = 0x80,
    kVmmcall = 0x81,
    kVmload = 0x82,
    kVmsave = 0x83,
    kStgi = 0x84,
    kClgi = 0x85,
    kSkinit = 0x86,
    kRdtscp = 0x87,
    kIcebp = 0x88,
    kWbinvd = 0x89,
    kMonitor = 0x8A,
    kMwait = 0x8B,
    kMwaitConditional = 0x8C,
    kXsetbv = 0x8D,
    kRdpru = 0x8E,
    kNestedPageFault = 0x400,
    kInvalid = ~0ull,
};

const char* exit_code_name(u64 code);

// EVENTINJ / EXITINTINFO layout (§15.20).
namespace event {
inline constexpr u64 kValid = 1ull << 31;
inline constexpr u64 kErrorCodeValid = 1ull << 11;
inline constexpr u64 kTypeExternal = 0ull << 8;
inline constexpr u64 kTypeNmi = 2ull << 8;
inline constexpr u64 kTypeException = 3ull << 8;
inline constexpr u64 kTypeSoftware = 4ull << 8;
}  // namespace event

// VMCB virtual_interrupt field bits (offset 0x60).
namespace vintr {
inline constexpr u64 kTprMask = 0xFF;
inline constexpr u64 kIrq = 1ull << 8;
inline constexpr u64 kIgnoreTpr = 1ull << 20;
inline constexpr u64 kIntrMasking = 1ull << 24;
inline constexpr int kPriorityShift = 16;
inline constexpr int kVectorShift = 32;
}  // namespace vintr

}  // namespace relay::svm
