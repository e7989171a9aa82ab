// Thin wrappers around the x86-64 instructions test guests use (AMD APM vol. 2/3). The
// guest runs at CPL 0 in its domain, so these are all allowed; whether the hypervisor
// lets them through (I/O ports, MSRs) is what some guests test.
#pragma once

#include "lib/types.hpp"

namespace relay::guest {

// Model-specific registers the guests name (AMD APM vol. 2 appendix A).
inline constexpr u32 kMsrEfer = 0xC000'0080;
inline constexpr u64 kEferSvme = 1ull << 12;

inline u8 port_read8(u16 port) {
    u8 value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
inline u16 port_read16(u16 port) {
    u16 value;
    asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
inline u32 port_read32(u16 port) {
    u32 value;
    asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
inline void port_write8(u16 port, u8 value) {
    asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
inline void port_write16(u16 port, u16 value) {
    asm volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}
inline void port_write32(u16 port, u32 value) {
    asm volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

inline u64 read_tsc() {
    u32 low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (static_cast<u64>(high) << 32) | low;
}

// Faults (#GP) when the hypervisor refuses the MSR: use try_rdmsr/try_wrmsr
// (fault_catching.hpp) for MSRs that may be refused.
inline u64 read_msr(u32 msr) {
    u32 low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (static_cast<u64>(high) << 32) | low;
}
inline void write_msr(u32 msr, u64 value) {
    asm volatile("wrmsr"
                 :
                 : "c"(msr), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32))
                 : "memory");
}

inline u64 read_cr0() {
    u64 value;
    asm volatile("mov %%cr0, %0" : "=r"(value));
    return value;
}
inline u64 read_cr2() {
    u64 value;
    asm volatile("mov %%cr2, %0" : "=r"(value));
    return value;
}
inline u64 read_cr3() {
    u64 value;
    asm volatile("mov %%cr3, %0" : "=r"(value));
    return value;
}
inline u64 read_cr4() {
    u64 value;
    asm volatile("mov %%cr4, %0" : "=r"(value));
    return value;
}
inline u16 read_cs() {
    u16 value;
    asm volatile("mov %%cs, %0" : "=r"(value));
    return value;
}

inline u64 read_stack_pointer() {
    u64 value;
    asm volatile("mov %%rsp, %0" : "=r"(value));
    return value;
}

inline void invalidate_page(u64 address) {
    asm volatile("invlpg (%0)" : : "r"(address) : "memory");
}

inline void cpu_relax() {
    asm volatile("pause" ::: "memory");
}

[[noreturn]] inline void halt_forever() {
    for (;;) {
        asm volatile("cli; hlt" ::: "memory");
    }
}

// Descriptor-table register image for lidt (AMD APM vol. 2 §4.6.6).
struct [[gnu::packed]] DescriptorTableRegister {
    u16 limit;
    u64 base;
};

inline void load_idt(const DescriptorTableRegister& idtr) {
    asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

}  // namespace relay::guest
