// Per-CPU GDT, TSS and the shared IDT (AMD APM vol. 2 §4.7, §8.9, §12.2.5).
#pragma once

#include "lib/types.hpp"

namespace relay::x86 {

inline constexpr u16 kKernelCodeSelector = 0x08;
inline constexpr u16 kKernelDataSelector = 0x10;
inline constexpr u16 kTssSelector = 0x18;

// Interrupt stack table slots (TSS.IST1..3).
inline constexpr u8 kIstDoubleFault = 1;
inline constexpr u8 kIstNmi = 2;
inline constexpr u8 kIstMachineCheck = 3;

struct [[gnu::packed]] Tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 io_map_base;
};
static_assert(sizeof(Tss) == 104);

struct alignas(16) Gdt {
    u64 entries[5];  // null, code, data, TSS (two slots)
};

// Fills `gdt` with Relay's descriptors and a TSS descriptor for `tss`, then loads GDTR,
// reloads the segment registers and loads TR. Each CPU calls it with its own pair.
void load_gdt_and_tss(Gdt& gdt, Tss& tss);

// Builds the IDT once (BSP) and loads IDTR (every CPU).
void build_idt();
void load_idt();

}  // namespace relay::x86
