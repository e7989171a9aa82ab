// Thin wrappers around x86-64 instructions and registers (AMD APM vol. 2/3).
// Hypervisor-only: these execute privileged instructions.
#pragma once

#include "lib/types.hpp"

namespace relay::x86 {

// Model-specific registers Relay uses (AMD APM vol. 2 appendix A).
inline constexpr u32 kMsrApicBase = 0x0000'001B;
inline constexpr u32 kMsrPat = 0x0000'0277;
inline constexpr u32 kMsrEfer = 0xC000'0080;
inline constexpr u32 kMsrStar = 0xC000'0081;
inline constexpr u32 kMsrLstar = 0xC000'0082;
inline constexpr u32 kMsrCstar = 0xC000'0083;
inline constexpr u32 kMsrSfmask = 0xC000'0084;
inline constexpr u32 kMsrFsBase = 0xC000'0100;
inline constexpr u32 kMsrGsBase = 0xC000'0101;
inline constexpr u32 kMsrKernelGsBase = 0xC000'0102;
inline constexpr u32 kMsrTscAux = 0xC000'0103;
inline constexpr u32 kMsrVmCr = 0xC001'0114;
inline constexpr u32 kMsrVmHsavePa = 0xC001'0117;

inline constexpr u64 kEferSce = 1ull << 0;
inline constexpr u64 kEferLme = 1ull << 8;
inline constexpr u64 kEferLma = 1ull << 10;
inline constexpr u64 kEferNxe = 1ull << 11;
inline constexpr u64 kEferSvme = 1ull << 12;

inline constexpr u64 kCr0Pe = 1ull << 0;
inline constexpr u64 kCr0Mp = 1ull << 1;
inline constexpr u64 kCr0Em = 1ull << 2;
inline constexpr u64 kCr0Ts = 1ull << 3;
inline constexpr u64 kCr0Et = 1ull << 4;
inline constexpr u64 kCr0Ne = 1ull << 5;
inline constexpr u64 kCr0Wp = 1ull << 16;
inline constexpr u64 kCr0Am = 1ull << 18;
inline constexpr u64 kCr0Nw = 1ull << 29;
inline constexpr u64 kCr0Cd = 1ull << 30;
inline constexpr u64 kCr0Pg = 1ull << 31;

inline constexpr u64 kCr4Pse = 1ull << 4;
inline constexpr u64 kCr4Pae = 1ull << 5;
inline constexpr u64 kCr4Pge = 1ull << 7;
inline constexpr u64 kCr4Osfxsr = 1ull << 9;
inline constexpr u64 kCr4Osxmmexcpt = 1ull << 10;
inline constexpr u64 kCr4Fsgsbase = 1ull << 16;
inline constexpr u64 kCr4Osxsave = 1ull << 18;

inline constexpr u64 kRflagsIf = 1ull << 9;

struct CpuidResult {
    u32 eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(u32 leaf, u32 subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid"
                 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                 : "a"(leaf), "c"(subleaf));
    return r;
}

// The CPU's physical address width (CPUID 8000_0008h EAX[7:0], AMD APM vol. 3; 36 bits
// where the leaf is missing): page table entries with address bits above it are invalid.
inline u32 physical_address_bits() {
    if (cpuid(0x8000'0000).eax < 0x8000'0008) {
        return 36;
    }
    return cpuid(0x8000'0008).eax & 0xFF;
}

inline u64 rdmsr(u32 msr) {
    u32 low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (static_cast<u64>(high) << 32) | low;
}

inline void wrmsr(u32 msr, u64 value) {
    asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<u32>(value)),
                 "d"(static_cast<u32>(value >> 32))
                 : "memory");
}

inline u64 rdtsc() {
    u32 low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (static_cast<u64>(high) << 32) | low;
}

#define RELAY_CONTROL_REGISTER(n)                                \
    inline u64 read_cr##n() {                                    \
        u64 value;                                               \
        asm volatile("mov %%cr" #n ", %0" : "=r"(value));        \
        return value;                                            \
    }                                                            \
    inline void write_cr##n(u64 value) {                         \
        asm volatile("mov %0, %%cr" #n ::"r"(value) : "memory"); \
    }
RELAY_CONTROL_REGISTER(0)
RELAY_CONTROL_REGISTER(2)
RELAY_CONTROL_REGISTER(3)
RELAY_CONTROL_REGISTER(4)
#undef RELAY_CONTROL_REGISTER

inline u64 read_rflags() {
    u64 flags;
    asm volatile("pushfq; popq %0" : "=r"(flags));
    return flags;
}

inline u64 read_rbp() {
    u64 value;
    asm volatile("mov %%rbp, %0" : "=r"(value));
    return value;
}

inline void outb(u16 port, u8 value) {
    asm volatile("outb %0, %1" ::"a"(value), "Nd"(port));
}
inline void outw(u16 port, u16 value) {
    asm volatile("outw %0, %1" ::"a"(value), "Nd"(port));
}
inline void outl(u16 port, u32 value) {
    asm volatile("outl %0, %1" ::"a"(value), "Nd"(port));
}
inline u8 inb(u16 port) {
    u8 value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
inline u16 inw(u16 port) {
    u16 value;
    asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
inline u32 inl(u16 port) {
    u32 value;
    asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

inline void cpu_relax() {
    asm volatile("pause" ::: "memory");
}
inline void halt() {
    asm volatile("hlt" ::: "memory");
}
inline void interrupts_enable() {
    asm volatile("sti" ::: "memory");
}
inline void interrupts_disable() {
    asm volatile("cli" ::: "memory");
}
// Enables interrupts and halts atomically (STI's interrupt shadow covers HLT).
inline void enable_and_halt() {
    asm volatile("sti; hlt" ::: "memory");
}
inline bool interrupts_enabled() {
    return (read_rflags() & kRflagsIf) != 0;
}

inline void invlpg(u64 virtual_address) {
    asm volatile("invlpg (%0)" ::"r"(virtual_address) : "memory");
}

[[noreturn]] inline void halt_forever() {
    for (;;) {
        interrupts_disable();
        halt();
    }
}

}  // namespace relay::x86
