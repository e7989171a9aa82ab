#include "hv/arch/x86/descriptors.hpp"

namespace relay::x86 {

namespace {

struct [[gnu::packed]] DescriptorPointer {
    u16 limit;
    u64 base;
};

// 16-byte long-mode interrupt gate (APM vol. 2 §4.8.4).
struct [[gnu::packed]] IdtGate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attributes;
    u16 offset_middle;
    u32 offset_high;
    u32 reserved;
};
static_assert(sizeof(IdtGate) == 16);

alignas(16) IdtGate idt[256];

constexpr u8 kInterruptGatePresent = 0x8E;  // P=1, DPL=0, type 0xE (64-bit interrupt gate)

}  // namespace

extern "C" const u64 relay_interrupt_stubs[256];  // entry.S: one stub per vector

void load_gdt_and_tss(Gdt& gdt, Tss& tss) {
    gdt.entries[0] = 0;
    gdt.entries[1] = 0x00AF9A000000FFFFull;  // 64-bit code, DPL 0
    gdt.entries[2] = 0x00CF92000000FFFFull;  // data, DPL 0
    u64 base = reinterpret_cast<u64>(&tss);
    u64 limit = sizeof(Tss) - 1;
    // Available 64-bit TSS descriptor (type 9), present.
    gdt.entries[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                     (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt.entries[4] = base >> 32;
    tss.io_map_base = sizeof(Tss);  // no I/O permission bitmap

    DescriptorPointer pointer{sizeof(gdt.entries) - 1, reinterpret_cast<u64>(gdt.entries)};
    asm volatile(
        "lgdt %0\n"
        "mov %1, %%ds\n"
        "mov %1, %%es\n"
        "mov %1, %%ss\n"
        "pushq %2\n"
        "leaq 1f(%%rip), %%rax\n"
        "pushq %%rax\n"
        "lretq\n"
        "1:\n"
        "ltr %w3\n"
        :
        : "m"(pointer), "r"(static_cast<u32>(kKernelDataSelector)),
          "i"(static_cast<u64>(kKernelCodeSelector)), "r"(static_cast<u32>(kTssSelector))
        : "rax", "memory");
}

void build_idt() {
    for (int vector = 0; vector < 256; ++vector) {
        u64 handler = relay_interrupt_stubs[vector];
        IdtGate& gate = idt[vector];
        gate.offset_low = static_cast<u16>(handler);
        gate.selector = kKernelCodeSelector;
        gate.ist = 0;
        gate.type_attributes = kInterruptGatePresent;
        gate.offset_middle = static_cast<u16>(handler >> 16);
        gate.offset_high = static_cast<u32>(handler >> 32);
        gate.reserved = 0;
    }
    // Exceptions that can arrive on a broken stack get stacks of their own.
    idt[8].ist = kIstDoubleFault;
    idt[2].ist = kIstNmi;
    idt[18].ist = kIstMachineCheck;
}

void load_idt() {
    DescriptorPointer pointer{sizeof(idt) - 1, reinterpret_cast<u64>(idt)};
    asm volatile("lidt %0" ::"m"(pointer) : "memory");
}

}  // namespace relay::x86
