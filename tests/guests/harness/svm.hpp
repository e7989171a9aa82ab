// The parts of AMD SVM the guest harness uses (AMD APM vol. 2 §15 and appendix B): the
// VMCB layout, intercept bits, exit codes, event injection.
#pragma once

#include "lib/types.hpp"

namespace relay::guest::harness {

// VMCB segment register (APM vol. 2 table B-2): attributes in the compressed form
// (descriptor bits 40-47 in 0-7, bits 52-55 in 8-11).
struct VmcbSegment {
    u16 selector;
    u16 attributes;
    u32 limit;
    u64 base;
};
static_assert(sizeof(VmcbSegment) == 16);

// VMCB control area (APM vol. 2 table B-1), the fields used here.
struct VmcbControl {
    u32 intercept_cr;             // 0x000
    u32 intercept_dr;             // 0x004
    u32 intercept_exceptions;     // 0x008
    u32 intercept_misc1;          // 0x00C
    u32 intercept_misc2;          // 0x010
    u32 intercept_misc3;          // 0x014
    u8 reserved0[0x03C - 0x018];  // 0x018
    u16 pause_filter_threshold;   // 0x03C
    u16 pause_filter_count;       // 0x03E
    u64 iopm_base;                // 0x040
    u64 msrpm_base;               // 0x048
    u64 tsc_offset;               // 0x050
    u32 guest_asid;               // 0x058
    u8 tlb_control;               // 0x05C
    u8 reserved1[3];              // 0x05D
    u64 virtual_interrupt;        // 0x060
    u64 interrupt_shadow;         // 0x068
    u64 exit_code;                // 0x070
    u64 exit_info1;               // 0x078
    u64 exit_info2;               // 0x080
    u64 exit_interrupt_info;      // 0x088
    u64 nested_paging_enable;     // 0x090
    u64 avic_apic_bar;            // 0x098
    u64 ghcb;                     // 0x0A0
    u64 event_injection;          // 0x0A8
    u64 nested_cr3;               // 0x0B0
    u64 lbr_virtualization;       // 0x0B8
    u64 clean_bits;               // 0x0C0
    u64 next_rip;                 // 0x0C8
    u8 reserved2[0x400 - 0x0D0];
};
static_assert(sizeof(VmcbControl) == 0x400);

// VMCB state save area (APM vol. 2 table B-2), the fields used here.
struct VmcbState {
    VmcbSegment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;  // 0x400
    u8 reserved0[0x4CB - 0x4A0];
    u8 cpl;  // 0x4CB
    u32 reserved1;
    u64 efer;  // 0x4D0
    u8 reserved2[0x548 - 0x4D8];
    u64 cr4;     // 0x548
    u64 cr3;     // 0x550
    u64 cr0;     // 0x558
    u64 dr7;     // 0x560
    u64 dr6;     // 0x568
    u64 rflags;  // 0x570
    u64 rip;     // 0x578
    u8 reserved3[0x5D8 - 0x580];
    u64 rsp;  // 0x5D8
    u8 reserved4[0x5F8 - 0x5E0];
    u64 rax;  // 0x5F8
    u8 reserved5[0x640 - 0x600];
    u64 cr2;  // 0x640
    u8 reserved6[0x668 - 0x648];
    u64 guest_pat;  // 0x668
    u8 reserved7[0x1000 - 0x670];
};

struct alignas(4096) Vmcb {
    VmcbControl control;
    VmcbState state;
};
static_assert(sizeof(Vmcb) == 0x1000);
static_assert(__builtin_offsetof(Vmcb, state.cpl) == 0x4CB);
static_assert(__builtin_offsetof(Vmcb, state.efer) == 0x4D0);
static_assert(__builtin_offsetof(Vmcb, state.rip) == 0x578);
static_assert(__builtin_offsetof(Vmcb, state.rsp) == 0x5D8);
static_assert(__builtin_offsetof(Vmcb, state.rax) == 0x5F8);
static_assert(__builtin_offsetof(Vmcb, state.guest_pat) == 0x668);

// intercept_misc1 (VMCB 0x00C) and intercept_misc2 (0x010) bits.
inline constexpr u32 kInterceptIntr = 1u << 0;
inline constexpr u32 kInterceptHlt = 1u << 24;
inline constexpr u32 kInterceptIoio = 1u << 27;
inline constexpr u32 kInterceptMsr = 1u << 28;
inline constexpr u32 kInterceptShutdown = 1u << 31;
inline constexpr u32 kInterceptVmrun = 1u << 0;
inline constexpr u32 kInterceptVmmcall = 1u << 1;

// V_INTR_MASKING (VMCB 0x060 bit 24): the host's RFLAGS.IF, not the guest's, masks
// physical interrupts while the guest runs (APM vol. 2 §15.21.1).
inline constexpr u64 kVirtualInterruptMasking = 1ull << 24;

// Exit codes (APM vol. 2 appendix C).
inline constexpr u64 kExitIntr = 0x60;
inline constexpr u64 kExitHlt = 0x78;
inline constexpr u64 kExitIoio = 0x7B;
inline constexpr u64 kExitMsr = 0x7C;
inline constexpr u64 kExitShutdown = 0x7F;
inline constexpr u64 kExitVmmcall = 0x81;
inline constexpr u64 kExitNestedPageFault = 0x400;
inline constexpr u64 kExitInvalid = ~0ull;

// EXITINFO1 of an IOIO exit (APM vol. 2 §15.10.2).
inline constexpr u64 kIoioIn = 1ull << 0;
inline constexpr u64 kIoioString = 1ull << 2;

// EVENTINJ (APM vol. 2 §15.20): vector, type 3 = exception, error code valid, valid.
constexpr u64 exception_injection(u8 vector, u32 error_code) {
    return vector | (3ull << 8) | (1ull << 11) | (1ull << 31) |
           (static_cast<u64>(error_code) << 32);
}

inline constexpr u32 kMsrEfer = 0xC000'0080;
inline constexpr u32 kMsrVmHsavePa = 0xC001'0117;
inline constexpr u64 kEferLme = 1ull << 8;
inline constexpr u64 kEferLma = 1ull << 10;
inline constexpr u64 kEferSvme = 1ull << 12;

}  // namespace relay::guest::harness
