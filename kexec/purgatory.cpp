#include "kexec/purgatory.hpp"

#include <cstring>

extern "C" {
extern const char relay_purgatory_start[];
extern const char relay_purgatory_end[];
extern const char relay_purgatory_jump_offset[];
extern const char relay_purgatory_park_offset[];
}

namespace relay::kexec {

namespace {

// Offsets of the data block (kexec/purgatory.S).
constexpr usize kGdtr = 0xF00;
constexpr usize kGdt = 0xF10;
constexpr usize kCopySource = 0xF40;
constexpr usize kCopyDestination = 0xF44;
constexpr usize kCopyLength = 0xF48;
constexpr usize kEntry = 0xF4C;
constexpr usize kInfo = 0xF50;
constexpr usize kCheckBase = 0xF54;
constexpr usize kCheckLength = 0xF58;
constexpr usize kCheckExpected = 0xF5C;
constexpr usize kFallbackEntry = 0xF60;
constexpr usize kFallbackInfo = 0xF64;

void put32(u8* page, usize offset, u64 value) {
    u32 v = static_cast<u32>(value);
    std::memcpy(page + offset, &v, 4);
}

[[noreturn]] void enter(HostPhysAddr page, u64 offset, u64 cr3) {
    u64 target = page.raw() + offset;
    asm volatile(
        "cli\n"
        "mov %0, %%cr3\n"
        "mov %1, %%rdi\n"
        "jmp *%2\n" ::"r"(cr3),
        "r"(page.raw()), "r"(target)
        : "rdi", "memory");
    __builtin_unreachable();
}

}  // namespace

void install_purgatory(HostPhysAddr page, void* page_virtual, const PurgatoryJump& jump) {
    u8* p = static_cast<u8*>(page_virtual);
    usize code = static_cast<usize>(relay_purgatory_end - relay_purgatory_start);
    // The code is written over itself, never cleared first: CPUs parked by an earlier
    // handover may be halted inside this page (the bytes they execute never change).
    std::memcpy(p, relay_purgatory_start, code);
    std::memset(p + code, 0, 4096 - code);
    // GDT: null, 0x08 64-bit code, 0x10 32-bit code, 0x18 32-bit data (flat).
    const u64 gdt[4] = {0, 0x00AF9A000000FFFFull, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull};
    std::memcpy(p + kGdt, gdt, sizeof(gdt));
    u16 limit = sizeof(gdt) - 1;
    u64 base = page.raw() + kGdt;
    std::memcpy(p + kGdtr, &limit, 2);
    std::memcpy(p + kGdtr + 2, &base, 8);
    put32(p, kCopySource, jump.copy_from.raw());
    put32(p, kCopyDestination, jump.copy_to.raw());
    put32(p, kCopyLength, jump.copy_length);
    put32(p, kEntry, jump.entry.raw());
    put32(p, kInfo, jump.info.raw());
    put32(p, kCheckBase, jump.check_base.raw());
    put32(p, kCheckLength, jump.check_length);
    put32(p, kCheckExpected, jump.check_expected);
    put32(p, kFallbackEntry, jump.fallback_entry.raw());
    put32(p, kFallbackInfo, jump.fallback_info.raw());
}

void purgatory_jump(HostPhysAddr page, u64 cr3) {
    enter(page, reinterpret_cast<u64>(relay_purgatory_jump_offset), cr3);
}

void purgatory_park(HostPhysAddr page, u64 cr3) {
    enter(page, reinterpret_cast<u64>(relay_purgatory_park_offset), cr3);
}

}  // namespace relay::kexec
