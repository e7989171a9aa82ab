#include "tests/guests/lib/idt.hpp"

#include "lib/types.hpp"
#include "tests/guests/lib/cpu.hpp"

extern "C" const relay::u64 guest_exception_stubs[32];

namespace relay::guest {

namespace {

// A 64-bit interrupt gate (AMD APM vol. 2 §4.8.4).
struct IdtGate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attributes;
    u16 offset_middle;
    u32 offset_high;
    u32 reserved;
};
static_assert(sizeof(IdtGate) == 16);

// Present, DPL 0, type 0xE (64-bit interrupt gate: interrupts stay off in the handler).
constexpr u8 kInterruptGate = 0x8E;

alignas(16) IdtGate g_idt[32];

}  // namespace

void idt_install() {
    // The builder's flat GDT has the code segment at 0x08 (hv/abi/start_info.h); the
    // selector in use is the one to trust.
    u16 code_selector = read_cs();
    for (usize vector = 0; vector < array_size(g_idt); ++vector) {
        u64 handler = guest_exception_stubs[vector];
        g_idt[vector] = IdtGate{
            .offset_low = static_cast<u16>(handler),
            .selector = code_selector,
            .ist = 0,
            .type_attributes = kInterruptGate,
            .offset_middle = static_cast<u16>(handler >> 16),
            .offset_high = static_cast<u32>(handler >> 32),
            .reserved = 0,
        };
    }
}

void idt_load() {
    DescriptorTableRegister idtr{sizeof(g_idt) - 1, reinterpret_cast<uptr>(g_idt)};
    load_idt(idtr);
}

}  // namespace relay::guest
