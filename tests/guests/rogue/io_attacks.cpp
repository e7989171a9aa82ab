// Attacks through I/O ports and the console. A domain reaches only its emulated UART;
// every other port reads as all ones (what an ISA bus gives for nothing there) and
// ignores writes. The writes below would reset or power off the machine, end the
// emulator (isa-debug-exit), reprogram the host's PCI devices or timer, or print past the
// hypervisor's console, were they passed through; the guest can only see that it
// survives them, the test harness sees the rest (QEMU still running, no stray output).
#include "hv/abi/hypercall.h"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/fault_catching.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/rogue/attacks.hpp"

namespace relay::guest::rogue {

namespace {

using Name = FixedString<120>;

enum class Width : u8 { k8 = 1, k16 = 2, k32 = 4 };

u64 all_ones(Width width) {
    return width == Width::k8 ? 0xFF : width == Width::k16 ? 0xFFFF : 0xFFFF'FFFF;
}

const char* mnemonic(bool read, Width width) {
    switch (width) {
        case Width::k8:
            return read ? "inb" : "outb";
        case Width::k16:
            return read ? "inw" : "outw";
        case Width::k32:
            return read ? "inl" : "outl";
    }
    return "?";
}

Observation observe_read(u16 port, Width width) {
    u64 value = 0;
    CaughtFault fault;
    bool faulted = catch_fault(
        [&] {
            value = width == Width::k8    ? port_read8(port)
                    : width == Width::k16 ? port_read16(port)
                                          : port_read32(port);
        },
        &fault);
    return faulted ? Observation::fault(fault.vector, fault.error_code) : Observation::read(value);
}

Observation observe_write(u16 port, Width width, u32 value) {
    CaughtFault fault;
    bool faulted = catch_fault(
        [&] {
            if (width == Width::k8) {
                port_write8(port, static_cast<u8>(value));
            } else if (width == Width::k16) {
                port_write16(port, static_cast<u16>(value));
            } else {
                port_write32(port, value);
            }
        },
        &fault);
    return faulted ? Observation::fault(fault.vector, fault.error_code) : Observation::completed();
}

struct PortRead {
    u16 port;
    Width width;
    const char* what;
};

struct PortWrite {
    u16 port;
    Width width;
    u32 value;
    const char* what;
};

// In order: some writes select what a later read returns (CMOS index, PCI address,
// fw_cfg selector), so that a read passed through would leak the host's data.
constexpr PortWrite kWrites[] = {
    {0x70, Width::k8, 0x00, "CMOS index: seconds"},
    {0xCF8, Width::k32, 0x8000'0000, "PCI config address: 00:00.0 vendor"},
    {0x510, Width::k16, 0x0000, "QEMU fw_cfg selector: signature"},
    {0x80, Width::k8, 0x42, "POST code"},
    {0x21, Width::k8, 0xFF, "legacy PIC mask"},
    {0x43, Width::k8, 0x30, "PIT mode: channel 0, one-shot"},
    {0x40, Width::k8, 0x01, "PIT channel 0 count"},
    {0xCF8, Width::k32, 0x8000'0004, "PCI config address: 00:00.0 command"},
    {0xCFC, Width::k16, 0x0000, "PCI command: disable the host bridge's decoding"},
    {0xE9, Width::k8, 'X', "Bochs/QEMU debug console"},
    {0x402, Width::k8, 'X', "QEMU debug console (alternate port)"},
    {0xF4, Width::k8, 0x00, "isa-debug-exit: would end QEMU"},
    {0x64, Width::k8, 0xFE, "i8042: pulse the CPU reset line"},
    {0x92, Width::k8, 0x01, "fast A20 and reset"},
    {0xCF9, Width::k8, 0x06, "reset control: hard reset"},
    {0x604, Width::k16, 0x2000, "ACPI PM1a control: S5 (QEMU q35 poweroff)"},
    {0xB004, Width::k16, 0x2000, "Bochs/old QEMU poweroff"},
};

constexpr PortRead kReads[] = {
    {0x71, Width::k8, "CMOS data"},
    {0x511, Width::k8, "QEMU fw_cfg data"},
    {0x80, Width::k8, "POST code"},
    {0x61, Width::k8, "system control port B"},
    {0x64, Width::k8, "i8042 status"},
    {0x92, Width::k8, "system control port A"},
    {0x2F8, Width::k8, "COM2"},
    {0xCF8, Width::k32, "PCI config address"},
    {0xCFC, Width::k32, "PCI config data"},
    {0x608, Width::k32, "ACPI PM timer (QEMU q35)"},
    {0x1CE, Width::k16, "Bochs VBE index"},
};

}  // namespace

void attack_io(const RogueContext&, AttackLog& log) {
    constexpr std::string_view kGroup = "io";
    for (const PortWrite& write : kWrites) {
        log.attack(kGroup,
                   Name::formatted("{}({:#x}, {:#x}) ({})", mnemonic(false, write.width),
                                   write.port, write.value, write.what)
                       .view(),
                   observe_write(write.port, write.width, write.value), Expected::completed());
    }
    for (const PortRead& read : kReads) {
        log.attack(
            kGroup,
            Name::formatted("{}({:#x}) ({})", mnemonic(true, read.width), read.port, read.what)
                .view(),
            observe_read(read.port, read.width), Expected::read(all_ones(read.width)));
    }

    // String I/O makes the hypervisor copy between the port and guest memory itself: the
    // bytes read must be all ones; refusing the instruction with a fault is acceptable.
    alignas(8) u8 buffer[16] = {};
    CaughtFault fault;
    bool faulted = catch_fault(
        [&] {
            u8* destination = buffer;
            u64 count = sizeof(buffer);
            asm volatile("rep insb"
                         : "+D"(destination), "+c"(count)
                         : "d"(static_cast<u16>(0x80))
                         : "memory");
        },
        &fault);
    u64 low = 0;
    u64 high = 0;
    for (usize i = 0; i < 8; ++i) {
        low |= static_cast<u64>(buffer[i]) << (8 * i);
        high |= static_cast<u64>(buffer[8 + i]) << (8 * i);
    }
    Observation insb = faulted ? Observation::fault(fault.vector, fault.error_code)
                               : Observation::read(low & high);
    log.attack(
        kGroup, "rep insb(0x80, 16 bytes) (POST code, into guest memory)", insb,
        Expected::read(~0ull).or_else(Expected::fault(13, 0)).or_else(Expected::fault(6, 0)));
    static const char kExit[4] = {1, 1, 1, 1};
    faulted = catch_fault(
        [&] {
            const char* source = kExit;
            u64 count = sizeof(kExit);
            asm volatile("rep outsb"
                         : "+S"(source), "+c"(count)
                         : "d"(static_cast<u16>(0xF4))
                         : "memory");
        },
        &fault);
    log.attack(
        kGroup, "rep outsb(0xf4, 4 bytes) (isa-debug-exit)",
        faulted ? Observation::fault(fault.vector, fault.error_code) : Observation::completed(),
        Expected::completed().or_else(Expected::fault(13, 0)).or_else(Expected::fault(6, 0)));
}

void attack_console(const RogueContext&, AttackLog& log) {
    constexpr std::string_view kGroup = "console";
    // A line that tries to pass for another domain's: after a carriage return, a terminal
    // (or a harness that splits on '\r') would show it as the control domain's line. The
    // log must never have a line *starting* with "(d1) control: ROGUE-SPOOF".
    console_write_raw("rogue: console spoof via the UART:\r(d1) control: ROGUE-SPOOF uart\n");
    log.attack(kGroup, "uart: carriage return and a spoofed (d1) prefix", Observation::completed(),
               Expected::completed());
    // Escape sequences (clear screen, bell) and a NUL: the hypervisor should print them
    // harmlessly, never let them drive the host's terminal.
    static const char kEscapes[] = "rogue: console escapes: \x1b[2J\x1b[31mRED\x07 NUL:\0 end\n";
    console_write_raw(std::string_view(kEscapes, sizeof(kEscapes) - 1));
    log.attack(kGroup, "uart: escape sequences, bell and NUL", Observation::completed(),
               Expected::completed());
    // A line longer than any console line buffer, without a newline until the end.
    char block[256];
    for (char& c : block) {
        c = 'L';
    }
    console_write_raw("rogue: console long line: ");
    for (int i = 0; i < 16; ++i) {
        console_write_raw(std::string_view(block, sizeof(block)));
    }
    console_write_raw("\n");
    log.attack(kGroup, "uart: a 4 KiB line", Observation::completed(), Expected::completed());

    static const char kSpoof[] =
        "rogue: console spoof via the hypercall:\r(d1) control: ROGUE-SPOOF hypercall\n";
    log.attack(kGroup, "console_write: carriage return and a spoofed (d1) prefix",
               Observation::result(hc::console_write(kSpoof, sizeof(kSpoof) - 1)),
               Expected::success());
    static char big[4 * 1024];
    for (char& c : big) {
        c = 'H';
    }
    big[sizeof(big) - 1] = '\n';
    log.attack(kGroup, "console_write(4 KiB without a newline until the end)",
               Observation::result(hc::console_write(big, sizeof(big))),
               Expected::success().or_else(Expected::error(RELAY_ERANGE)));
}

}  // namespace relay::guest::rogue
