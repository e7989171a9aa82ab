// The guest harness: a stand-in for Relay's domain builder and VMRUN loop that boots ONE
// test guest under QEMU's SVM (TCG), so that the guests can be smoke-tested without the
// hypervisor (docs/testing.md, "Guest harness"). It builds the guest's start state as
// hv/abi/start_info.h describes, runs it with nested paging, emulates the UART, and
// answers hypercalls for a world of one domain. It is a test tool, not a model of Relay:
// where the ABI leaves a choice open, its answer is only one of the possible ones.
//
// Kernel command line (key=value): domid=N name=NAME memory_mib=N (2 MiB multiple)
// vcpus=N (1 to 4, time-sliced on one CPU: a LAPIC timer ends each slice, and YIELD
// moves on) control=0|1 tsc_khz=N (else calibrated with the PIT); for memtest's tests,
// corrupt_gpa=ADDRESS corrupt_after_lines=N flips bit 0 of the word at ADDRESS once the
// guest has printed N lines. Multiboot module 0 is the guest
// ELF; its command line after the first word is the guest's command line. QEMU exits
// through isa-debug-exit: 33 when the guest powers off, 35 when it crashes (or asks for
// RELAY_SHUTDOWN_CRASH), 37 when the harness itself fails.
#include <cstddef>

#include "hv/abi/hypercall.h"
#include "hv/abi/start_info.h"
#include "lib/format.hpp"
#include "lib/strings.hpp"
#include "lib/types.hpp"
#include "tests/guests/harness/svm.hpp"
#include "tests/guests/lib/command_line.hpp"

extern "C" {
void harness_vmrun(relay::u64 vmcb, void* registers);
void harness_timer_interrupt();
void harness_spurious_interrupt();
}

namespace relay::guest::harness {

namespace {

// ---- Host I/O ----

u8 inb(u16 port) {
    u8 value;
    asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}
void outb(u16 port, u8 value) {
    asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
u64 rdtsc() {
    u32 low, high;
    asm volatile("rdtsc" : "=a"(low), "=d"(high));
    return (static_cast<u64>(high) << 32) | low;
}
u64 rdmsr(u32 msr) {
    u32 low, high;
    asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
    return (static_cast<u64>(high) << 32) | low;
}
void wrmsr(u32 msr, u64 value) {
    asm volatile("wrmsr"
                 :
                 : "c"(msr), "a"(static_cast<u32>(value)), "d"(static_cast<u32>(value >> 32)));
}

constexpr u16 kSerial = 0x3F8;
constexpr u16 kDebugExit = 0xF4;
// isa-debug-exit: QEMU exits with 2 * value + 1.
constexpr u8 kExitPoweroff = 16;  // 33
constexpr u8 kExitCrash = 17;     // 35
constexpr u8 kExitHarness = 18;   // 37

void serial_write(std::string_view text) {
    for (char c : text) {
        while ((inb(kSerial + 5) & 0x20) == 0) {
        }
        outb(kSerial, static_cast<u8>(c));
    }
}

class SerialOutput final : public FormatOutput {
public:
    void write(const char* data, usize length) override {
        serial_write(std::string_view(data, length));
    }
};

template <typename... Args>
void say(const char* fmt, const Args&... args) {
    SerialOutput output;
    serial_write("(harness) ");
    format(output, fmt, args...);
    serial_write("\n");
}

[[noreturn]] void quit(u8 code) {
    outb(kDebugExit, code);
    for (;;) {
        asm volatile("cli; hlt");
    }
}

template <typename... Args>
[[noreturn]] void fail(const char* fmt, const Args&... args) {
    SerialOutput output;
    serial_write("(harness) error: ");
    format(output, fmt, args...);
    serial_write("\n");
    quit(kExitHarness);
}

// ---- The domain ----

constexpr u64 kGuestBase = 64 * MiB;  // host-physical address of guest-physical 0
constexpr u64 kLargePage = 2 * MiB;

constexpr u32 kMaxVcpus = 4;

struct Domain {
    u16 domid = 1;
    u32 vcpus = 1;
    char name[32] = "guest";
    u64 memory = 16 * MiB;
    bool control = false;
    u64 tsc_khz = 0;
    u64 corrupt_gpa = 0;
    u64 corrupt_after_lines = 0;  // 0: never
};

Domain g_domain;

u8* guest_pointer(u64 gpa) {
    return reinterpret_cast<u8*>(kGuestBase + gpa);
}

// [gpa, gpa + length) inside guest RAM, without overflow.
bool in_guest_ram(u64 gpa, u64 length) {
    u64 end = 0;
    return !__builtin_add_overflow(gpa, length, &end) && end <= g_domain.memory;
}

// Guest console: whole lines, prefixed "(dN) ". Control characters are shown as '?', so
// no guest can move the cursor, clear the screen, or start a line that looks like
// another domain's.
char g_line[1024];
usize g_line_length = 0;
u64 g_lines = 0;

// Memory corruption the guest cannot see coming (a test of memtest itself).
void corrupt_guest_memory_when_due() {
    if (g_domain.corrupt_after_lines == 0 || g_lines != g_domain.corrupt_after_lines) {
        return;
    }
    if (!in_guest_ram(g_domain.corrupt_gpa, 8)) {
        fail("corrupt_gpa={:#x} is not inside guest RAM", g_domain.corrupt_gpa);
    }
    volatile u64* word = reinterpret_cast<volatile u64*>(guest_pointer(g_domain.corrupt_gpa));
    *word = *word ^ 1;
    say("flipped bit 0 of the word at guest-physical {:#x}", g_domain.corrupt_gpa);
}

void guest_console_byte(u8 byte) {
    if (byte == '\n' || g_line_length == sizeof(g_line)) {
        SerialOutput output;
        format(output, "(d{}) {}\n", g_domain.domid, std::string_view(g_line, g_line_length));
        g_line_length = 0;
        ++g_lines;
        corrupt_guest_memory_when_due();
        if (byte == '\n') {
            return;
        }
    }
    g_line[g_line_length++] = byte >= 0x20 && byte < 0x7F ? static_cast<char>(byte) : '?';
}

// ---- Memory and start state ----

constexpr u64 kGuestGdt = RELAY_GUEST_GDT;
constexpr u64 kGuestPml4 = RELAY_GUEST_PAGE_TABLES;
constexpr u64 kStartInfo = RELAY_GUEST_START_INFO;
constexpr u64 kMemoryRanges = kStartInfo + 0x100;
constexpr u64 kCommandLine = kStartInfo + 0x800;
constexpr u64 kCommandLineCapacity = 0x800;

struct Elf64Header {
    u8 ident[16];
    u16 type, machine;
    u32 version;
    u64 entry, phoff, shoff;
    u32 flags;
    u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct Elf64ProgramHeader {
    u32 type, flags;
    u64 offset, vaddr, paddr, filesz, memsz, align;
};

// Loads the guest ELF's PT_LOAD segments at their p_paddr; returns the entry.
u64 load_elf(const u8* image, u64 size) {
    if (size < sizeof(Elf64Header)) {
        fail("guest ELF: {} bytes", size);
    }
    const auto* header = reinterpret_cast<const Elf64Header*>(image);
    if (header->ident[0] != 0x7F || header->ident[1] != 'E' || header->ident[4] != 2 ||
        header->machine != 62 || header->phentsize != sizeof(Elf64ProgramHeader) ||
        header->phoff + header->phnum * sizeof(Elf64ProgramHeader) > size) {
        fail("guest ELF: not an x86-64 ELF64 with program headers");
    }
    const auto* programs = reinterpret_cast<const Elf64ProgramHeader*>(image + header->phoff);
    for (u16 i = 0; i < header->phnum; ++i) {
        const Elf64ProgramHeader& segment = programs[i];
        if (segment.type != 1) {
            continue;
        }
        if (segment.paddr < RELAY_GUEST_KERNEL_MIN || !in_guest_ram(segment.paddr, segment.memsz) ||
            segment.filesz > segment.memsz || segment.offset + segment.filesz > size) {
            fail("guest ELF: segment at {:#x} ({} bytes) is not loadable", segment.paddr,
                 segment.memsz);
        }
        u8* destination = guest_pointer(segment.paddr);
        for (u64 byte = 0; byte < segment.memsz; ++byte) {
            destination[byte] = byte < segment.filesz ? image[segment.offset + byte] : 0;
        }
    }
    return header->entry;
}

void build_start_state(std::string_view command_line) {
    u8* low = guest_pointer(0);
    for (u64 i = 0; i < RELAY_GUEST_KERNEL_MIN; ++i) {
        low[i] = 0;
    }
    // Flat GDT: 0x08 64-bit code, 0x10 data.
    auto* gdt = reinterpret_cast<u64*>(guest_pointer(kGuestGdt));
    gdt[1] = 0x00AF'9A00'0000'FFFFull;
    gdt[2] = 0x00CF'9200'0000'FFFFull;
    // Identity map of guest RAM with 2 MiB pages: PML4, PDPT, then page directories.
    auto* pml4 = reinterpret_cast<u64*>(guest_pointer(kGuestPml4));
    auto* pdpt = reinterpret_cast<u64*>(guest_pointer(kGuestPml4 + 0x1000));
    pml4[0] = (kGuestPml4 + 0x1000) | 0x3;
    for (u64 page = 0; page * kLargePage < g_domain.memory; ++page) {
        u64 directory = kGuestPml4 + 0x2000 + (page / 512) * 0x1000;
        pdpt[page / 512] = directory | 0x3;
        reinterpret_cast<u64*>(guest_pointer(directory))[page % 512] = page * kLargePage | 0x83;
    }
    // The start-info block.
    auto* info = reinterpret_cast<relay_start_info*>(guest_pointer(kStartInfo));
    info->magic = RELAY_START_INFO_MAGIC;
    info->version = RELAY_START_INFO_VERSION;
    info->size = sizeof(relay_start_info);
    info->domid = g_domain.domid;
    info->vcpus = static_cast<u16>(g_domain.vcpus);
    info->permissions = g_domain.control ? RELAY_PERMISSION_CONTROL : 0;
    info->console_port = kSerial;
    info->memory_size = g_domain.memory;
    info->tsc_frequency_khz = g_domain.tsc_khz;
    if (command_line.size() >= kCommandLineCapacity) {
        fail("guest command line: {} bytes, at most {}", command_line.size(),
             kCommandLineCapacity - 1);
    }
    char* text = reinterpret_cast<char*>(guest_pointer(kCommandLine));
    for (usize i = 0; i < command_line.size(); ++i) {
        text[i] = command_line[i];
    }
    info->command_line = kCommandLine;
    info->command_line_length = static_cast<u32>(command_line.size());
    auto* ranges = reinterpret_cast<relay_memory_range*>(guest_pointer(kMemoryRanges));
    ranges[0] = {0, RELAY_GUEST_KERNEL_MIN, RELAY_MEMORY_RESERVED, 0};
    ranges[1] = {RELAY_GUEST_KERNEL_MIN, g_domain.memory - RELAY_GUEST_KERNEL_MIN, RELAY_MEMORY_RAM,
                 0};
    info->memory_ranges = kMemoryRanges;
    info->memory_range_count = 2;
    for (usize i = 0; i < sizeof(info->name) - 1 && g_domain.name[i] != '\0'; ++i) {
        info->name[i] = g_domain.name[i];
    }
    info->uuid[15] = static_cast<u8>(g_domain.domid);
}

// ---- SVM ----

struct GuestRegisters {
    u64 rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};

// One VMCB and register set per vCPU; g_current is the one running.
Vmcb g_vmcbs[kMaxVcpus];
GuestRegisters g_registers_of[kMaxVcpus];
bool g_started[kMaxVcpus];
u32 g_current = 0;
alignas(4096) u8 g_host_save_area[4096];
alignas(4096) u8 g_io_permissions[3 * 4096];
alignas(4096) u8 g_msr_permissions[2 * 4096];
alignas(4096) u64 g_nested_pml4[512];
alignas(4096) u64 g_nested_pdpt[512];
alignas(4096) u64 g_nested_directories[4][512];

Vmcb& vmcb() {
    return g_vmcbs[g_current];
}
GuestRegisters& registers() {
    return g_registers_of[g_current];
}

// Nested page tables: guest-physical [0, memory) -> host [kGuestBase, ...), 2 MiB pages.
// Guest accesses count as user accesses, so every level has U set (APM vol. 2 §15.25.5).
void build_nested_paging() {
    g_nested_pml4[0] = reinterpret_cast<uptr>(g_nested_pdpt) | 0x7;
    for (u64 page = 0; page * kLargePage < g_domain.memory; ++page) {
        g_nested_pdpt[page / 512] = reinterpret_cast<uptr>(g_nested_directories[page / 512]) | 0x7;
        g_nested_directories[page / 512][page % 512] = (kGuestBase + page * kLargePage) | 0x87;
    }
}

VmcbSegment segment(u16 selector, u16 attributes) {
    return {selector, attributes, 0xFFFF'FFFF, 0};
}

void setup_vmcb(Vmcb& vmcb, u64 rip, u64 rsp) {
    VmcbControl& control = vmcb.control;
    control.intercept_misc1 =
        kInterceptIntr | kInterceptHlt | kInterceptIoio | kInterceptMsr | kInterceptShutdown;
    control.intercept_misc2 = kInterceptVmrun | kInterceptVmmcall;
    control.iopm_base = reinterpret_cast<uptr>(g_io_permissions);
    control.msrpm_base = reinterpret_cast<uptr>(g_msr_permissions);
    control.guest_asid = 1;
    control.tlb_control = 1;
    control.nested_paging_enable = 1;
    control.nested_cr3 = reinterpret_cast<uptr>(g_nested_pml4);
    control.virtual_interrupt = kVirtualInterruptMasking;

    VmcbState& state = vmcb.state;
    state.cs = segment(0x08, 0x0A9B);  // present, code, 64-bit, granular
    state.ss = segment(0x10, 0x0C93);
    state.ds = segment(0x10, 0x0C93);
    state.es = segment(0x10, 0x0C93);
    state.fs = segment(0x10, 0x0C93);
    state.gs = segment(0x10, 0x0C93);
    state.gdtr = {0, 0, 23, kGuestGdt};
    state.idtr = {0, 0, 0, 0};
    state.ldtr = {0, 0x0082, 0, 0};
    state.tr = {0, 0x008B, 0x67, 0};
    state.cpl = 0;
    state.efer = kEferLme | kEferLma | kEferSvme;
    state.cr0 = 0x8001'0033;  // PG, WP, NE, ET, MP, PE
    state.cr3 = kGuestPml4;
    state.cr4 = 1u << 5;  // PAE
    state.dr7 = 0x400;
    state.dr6 = 0xFFFF'0FF0;
    state.rflags = 0x2;
    state.rip = rip;
    state.rsp = rsp;
    state.guest_pat = 0x0007'0406'0007'0406ull;
}

void setup_boot_vcpu(u64 entry) {
    for (u8& byte : g_io_permissions) {
        byte = 0xFF;  // every port exits
    }
    for (u8& byte : g_msr_permissions) {
        byte = 0xFF;  // every MSR exits
    }
    setup_vmcb(g_vmcbs[0], entry, RELAY_GUEST_BOOT_STACK_TOP);
    g_registers_of[0].rdi = kStartInfo;
    g_started[0] = true;
}

// RELAY_HC_VCPU_UP: the vCPU starts in 64-bit mode with the boot vCPU's CR3 and
// segments, at the record's RIP and RSP with RDI from the record, and no IDT.
i64 vcpu_up(u64 vcpu, u64 record_gpa) {
    if (vcpu >= g_domain.vcpus) {
        return RELAY_ENOENT;
    }
    if (g_started[vcpu]) {
        return RELAY_EBUSY;
    }
    if (!in_guest_ram(record_gpa, sizeof(relay_vcpu_start))) {
        return RELAY_EFAULT;
    }
    const auto* record = reinterpret_cast<const relay_vcpu_start*>(guest_pointer(record_gpa));
    for (u64 reserved : record->reserved) {
        if (reserved != 0) {
            return RELAY_ERESERVED;
        }
    }
    setup_vmcb(g_vmcbs[vcpu], record->rip, record->rsp);
    g_vmcbs[vcpu].state.cr3 = g_vmcbs[0].state.cr3;
    g_registers_of[vcpu] = GuestRegisters{};
    g_registers_of[vcpu].rdi = record->rdi;
    g_started[vcpu] = true;
    return 0;
}

// Round robin over the started vCPUs; the TLB is flushed on each switch (one ASID).
void switch_vcpu() {
    u32 next = g_current;
    do {
        next = (next + 1) % g_domain.vcpus;
    } while (!g_started[next]);
    if (next != g_current) {
        g_current = next;
        vmcb().control.tlb_control = 1;
    }
}

void inject_general_protection() {
    vmcb().control.event_injection = exception_injection(13, 0);
}

// ---- Hypercalls for a world of one domain ----

bool reserved_zero(const u64* arguments, usize first_reserved) {
    for (usize i = first_reserved; i < 6; ++i) {
        if (arguments[i] != 0) {
            return false;
        }
    }
    return true;
}

void fill_entry(relay_domain_entry* entry) {
    *entry = relay_domain_entry{};
    entry->domid = g_domain.domid;
    entry->lifecycle = RELAY_DOMAIN_RUNNING;
    entry->permissions = g_domain.control ? RELAY_PERMISSION_CONTROL : 0;
    entry->vcpus = static_cast<u16>(g_domain.vcpus);
    entry->memory_kib = g_domain.memory / KiB;
    for (usize i = 0; i < sizeof(entry->name) - 1 && g_domain.name[i] != '\0'; ++i) {
        entry->name[i] = g_domain.name[i];
    }
}

[[noreturn]] void end_domain(u64 reason) {
    say("domain {} shut down: reason {}", g_domain.domid, reason);
    quit(reason == RELAY_SHUTDOWN_CRASH ? kExitCrash : kExitPoweroff);
}

// Checks in a fixed order: number, reserved arguments, privilege, existence, buffers.
i64 hypercall(u64 number, const u64* a) {
    const bool control = g_domain.control;
    const u64 self = g_domain.domid;
    switch (number) {
        case RELAY_HC_VERSION:
            return reserved_zero(a, 0) ? (RELAY_ABI_VERSION_MAJOR << 16) | RELAY_ABI_VERSION_MINOR
                                       : RELAY_ERESERVED;
        case RELAY_HC_CONSOLE_WRITE:
            if (!reserved_zero(a, 2)) {
                return RELAY_ERESERVED;
            }
            if (a[1] > MiB) {
                return RELAY_ERANGE;
            }
            if (!in_guest_ram(a[0], a[1])) {
                return RELAY_EFAULT;
            }
            for (u64 i = 0; i < a[1]; ++i) {
                guest_console_byte(*guest_pointer(a[0] + i));
            }
            return static_cast<i64>(a[1]);
        case RELAY_HC_DOMAIN_LIST: {
            if (!reserved_zero(a, 2)) {
                return RELAY_ERESERVED;
            }
            if (!control) {
                return RELAY_EPERM;
            }
            u64 bytes = 0;
            if (__builtin_mul_overflow(a[1], sizeof(relay_domain_entry), &bytes) ||
                !in_guest_ram(a[0], bytes)) {
                return RELAY_EFAULT;
            }
            if (a[1] > 0) {
                fill_entry(reinterpret_cast<relay_domain_entry*>(guest_pointer(a[0])));
            }
            return 1;
        }
        case RELAY_HC_DOMAIN_INFO: {
            if (!reserved_zero(a, 2)) {
                return RELAY_ERESERVED;
            }
            if (a[0] != self && !control) {
                return RELAY_EPERM;
            }
            if (a[0] != self) {
                return RELAY_ENOENT;
            }
            if (!in_guest_ram(a[1], sizeof(relay_domain_info))) {
                return RELAY_EFAULT;
            }
            auto* info = reinterpret_cast<relay_domain_info*>(guest_pointer(a[1]));
            *info = relay_domain_info{};
            fill_entry(&info->entry);
            info->uuid[15] = static_cast<u8>(self);
            return 0;
        }
        case RELAY_HC_VCPU_UP:
            if (!reserved_zero(a, 2)) {
                return RELAY_ERESERVED;
            }
            return vcpu_up(a[0], a[1]);
        case RELAY_HC_DOMAIN_PAUSE:
        case RELAY_HC_DOMAIN_UNPAUSE:
        case RELAY_HC_DOMAIN_DESTROY:
            if (!reserved_zero(a, 1)) {
                return RELAY_ERESERVED;
            }
            if (!control) {
                return RELAY_EPERM;
            }
            return a[0] == self ? RELAY_EBUSY : RELAY_ENOENT;
        case RELAY_HC_YIELD:
            return reserved_zero(a, 0) ? 0 : RELAY_ERESERVED;
        case RELAY_HC_SHUTDOWN:
            if (!reserved_zero(a, 1)) {
                return RELAY_ERESERVED;
            }
            if (a[0] != RELAY_SHUTDOWN_POWEROFF && a[0] != RELAY_SHUTDOWN_REBOOT &&
                a[0] != RELAY_SHUTDOWN_CRASH) {
                return RELAY_EINVAL;
            }
            end_domain(a[0]);
        default:
            return RELAY_ENOSYS;
    }
}

// ---- Exits ----

void handle_io(u64 info, u64 next_rip) {
    u16 port = static_cast<u16>(info >> 16);
    bool in = (info & kIoioIn) != 0;
    u64 size = (info >> 4) & 7;  // 1, 2 or 4 bytes as bits 4, 5, 6
    if ((info & kIoioString) != 0) {
        inject_general_protection();  // string I/O is not emulated here
        return;
    }
    u64& rax = vmcb().state.rax;
    if (port >= kSerial && port < kSerial + 8) {
        if (in) {
            rax = (rax & ~0xFFull) | (port == kSerial + 5 ? 0x60 : 0x00);
        } else if (port == kSerial) {
            guest_console_byte(static_cast<u8>(rax));
        }
    } else if (in) {
        // Nothing there: all ones, as an ISA bus reads.
        rax = size == 1   ? (rax & ~0xFFull) | 0xFF
              : size == 2 ? (rax & ~0xFFFFull) | 0xFFFF
                          : 0xFFFF'FFFFull;
    }
    vmcb().state.rip = next_rip;
}

void handle_msr(bool write) {
    GuestRegisters& regs = registers();
    VmcbState& state = vmcb().state;
    u32 msr = static_cast<u32>(regs.rcx);
    u64& rax = state.rax;
    if (msr != kMsrEfer) {
        inject_general_protection();
        return;
    }
    if (!write) {
        u64 value = state.efer & ~kEferSvme;
        rax = static_cast<u32>(value);
        regs.rdx = value >> 32;
    } else {
        u64 value = (regs.rdx << 32) | static_cast<u32>(rax);
        // SVME is the hypervisor's; LME and LMA cannot change in a 64-bit guest.
        if ((value & kEferSvme) != 0 ||
            (value & (kEferLme | kEferLma)) != (state.efer & (kEferLme | kEferLma))) {
            inject_general_protection();
            return;
        }
        state.efer = value | kEferSvme;
    }
    state.rip += 2;  // RDMSR/WRMSR; TCG saves no next RIP
}

[[noreturn]] void run_guest() {
    u64 exits = 0;
    for (;;) {
        harness_vmrun(reinterpret_cast<uptr>(&vmcb()), &registers());
        ++exits;
        VmcbControl& control = vmcb().control;
        VmcbState& state = vmcb().state;
        control.tlb_control = 0;
        control.event_injection = 0;
        switch (control.exit_code) {
            case kExitIntr:
                switch_vcpu();  // the time slice ended
                break;
            case kExitVmmcall: {
                GuestRegisters& regs = registers();
                u64 arguments[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
                u64 number = state.rax;
                state.rip += 3;
                state.rax = static_cast<u64>(hypercall(number, arguments));
                if (number == RELAY_HC_YIELD && static_cast<i64>(state.rax) == 0) {
                    switch_vcpu();
                }
                break;
            }
            case kExitIoio:
                handle_io(control.exit_info1, control.exit_info2);
                break;
            case kExitMsr:
                handle_msr(control.exit_info1 == 1);
                break;
            case kExitNestedPageFault:
                say("domain {} crashed: nested page fault at guest-physical {:#x} (error {:#x}) "
                    "at rip {:#x} on vcpu {}",
                    g_domain.domid, control.exit_info2, control.exit_info1, state.rip, g_current);
                quit(kExitCrash);
            case kExitShutdown:
                say("domain {} crashed: triple fault at rip {:#x} on vcpu {}", g_domain.domid,
                    state.rip, g_current);
                quit(kExitCrash);
            case kExitHlt:
                fail("domain {} halted at rip {:#x} on vcpu {} after {} exits", g_domain.domid,
                     state.rip, g_current, exits);
            case kExitInvalid:
                fail("VMRUN refused the state of vcpu {}", g_current);
            default:
                fail("unexpected exit {:#x} (info {:#x} {:#x}) at rip {:#x} on vcpu {}",
                     control.exit_code, control.exit_info1, control.exit_info2, state.rip,
                     g_current);
        }
    }
}

// ---- Host interrupts: the time slice ----

struct IdtGate {
    u16 offset_low, selector;
    u8 ist, type;
    u16 offset_middle;
    u32 offset_high, reserved;
};
alignas(16) IdtGate g_host_idt[256];

constexpr u8 kTimerVector = 0x40;
constexpr u8 kSpuriousVector = 0xFF;
constexpr uptr kLapic = 0xFEE0'0000;
// QEMU's LAPIC timer counts nanoseconds (with divide-by-1): 10 ms slices.
constexpr u32 kSliceTicks = 10'000'000;

void set_gate(u8 vector, void (*handler)()) {
    uptr address = reinterpret_cast<uptr>(handler);
    g_host_idt[vector] = {
        static_cast<u16>(address),       0x08, 0, 0x8E, static_cast<u16>(address >> 16),
        static_cast<u32>(address >> 32), 0};
}

void lapic_write(u32 offset, u32 value) {
    *reinterpret_cast<volatile u32*>(kLapic + offset) = value;
}

// Only needed with more than one vCPU: a guest vCPU that never exits (memtest's loop)
// would otherwise keep the CPU for ever.
void start_time_slices() {
    set_gate(kTimerVector, harness_timer_interrupt);
    set_gate(kSpuriousVector, harness_spurious_interrupt);
    struct [[gnu::packed]] {
        u16 limit;
        u64 base;
    } idtr{sizeof(g_host_idt) - 1, reinterpret_cast<uptr>(g_host_idt)};
    asm volatile("lidt %0" : : "m"(idtr));
    // The firmware left the legacy PICs routing the PIT's 18.2 Hz tick to vector 8.
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    lapic_write(0xF0, 0x100 | kSpuriousVector);     // software enable
    lapic_write(0x3E0, 0xB);                        // divide by 1
    lapic_write(0x320, (1u << 17) | kTimerVector);  // periodic
    lapic_write(0x380, kSliceTicks);
    asm volatile("sti");
}

// TSC kHz from the PIT: channel 2 counts 50 ms while the TSC runs.
u64 calibrate_tsc_khz() {
    constexpr u32 kPitHz = 1'193'182;
    constexpr u32 kTicks = kPitHz / 20;
    outb(0x61, static_cast<u8>((inb(0x61) & ~0x02) | 0x01));
    outb(0x43, 0xB0);
    outb(0x42, kTicks & 0xFF);
    outb(0x42, kTicks >> 8);
    u64 start = rdtsc();
    while ((inb(0x61) & 0x20) == 0) {
    }
    return (rdtsc() - start) / 50;
}

struct MultibootInfo {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};
struct MultibootModule {
    u32 start, end, string, reserved;
};

std::string_view c_string(u32 address) {
    const char* text = reinterpret_cast<const char*>(static_cast<uptr>(address));
    usize length = 0;
    while (text[length] != '\0') {
        ++length;
    }
    return std::string_view(text, length);
}

}  // namespace

}  // namespace relay::guest::harness

namespace relay {
[[noreturn]] void assertion_failed(const char* expression, const char* file, int line) {
    guest::harness::fail("assertion failed: {} at {}:{}", expression, file, line);
}
}  // namespace relay

extern "C" {
void __cxa_pure_virtual() {
    relay::guest::harness::fail("pure virtual call");
}
}

extern "C" [[noreturn]] void harness_main(relay::u32 magic, relay::u32 info_address) {
    using namespace relay;
    using namespace relay::guest;
    using namespace relay::guest::harness;
    if (magic != 0x2BADB002) {
        fail("not started by a multiboot1 loader (magic {:#x})", magic);
    }
    const auto* info = reinterpret_cast<const MultibootInfo*>(static_cast<uptr>(info_address));
    std::string_view kernel_line = (info->flags & (1u << 2)) != 0 ? c_string(info->cmdline) : "";
    Result<CommandLine> parsed = CommandLine::parse(kernel_line);
    if (!parsed.ok()) {
        fail("{}", parsed.error().message());
    }
    const CommandLine& line = parsed.value();
    g_domain.domid = static_cast<u16>(line.number_or("domid", 1, 1, 0x7FEF).value());
    g_domain.memory = line.number_or("memory_mib", 16, 2, 512).value() * MiB;
    g_domain.vcpus = static_cast<u32>(line.number_or("vcpus", 1, 1, kMaxVcpus).value());
    g_domain.control = line.number_or("control", 0, 0, 1).value() == 1;
    copy_string(line.value_or("name", "guest"), g_domain.name, sizeof(g_domain.name));
    g_domain.tsc_khz = line.number_or("tsc_khz", 0, 0, ~0ull).value();
    g_domain.corrupt_gpa = line.number_or("corrupt_gpa", 0, 0, ~0ull).value();
    g_domain.corrupt_after_lines = line.number_or("corrupt_after_lines", 0, 0, ~0ull).value();
    if (g_domain.tsc_khz == 0) {
        g_domain.tsc_khz = calibrate_tsc_khz();
    }
    if (g_domain.memory % kLargePage != 0) {
        fail("memory_mib must be a multiple of 2");
    }
    u64 host_memory = (static_cast<u64>(info->mem_upper) + 1024) * KiB;
    if (kGuestBase + g_domain.memory > host_memory) {
        fail("guest memory {:#x}-{:#x} beyond the machine's {} MiB", kGuestBase,
             kGuestBase + g_domain.memory, host_memory / MiB);
    }
    if ((info->flags & (1u << 3)) == 0 || info->mods_count < 1) {
        fail("no guest: pass the guest ELF as multiboot module 0");
    }
    const auto* module =
        reinterpret_cast<const MultibootModule*>(static_cast<uptr>(info->mods_addr));
    // The module's command line is "NAME ARGS": the guest's command line is ARGS.
    std::string_view module_line = c_string(module->string);
    usize space = module_line.find(' ');
    std::string_view guest_line =
        space == std::string_view::npos ? std::string_view() : suffix_from(module_line, space + 1);

    u64 entry = load_elf(reinterpret_cast<const u8*>(static_cast<uptr>(module->start)),
                         module->end - module->start);
    build_start_state(guest_line);
    build_nested_paging();
    setup_boot_vcpu(entry);
    wrmsr(kMsrEfer, rdmsr(kMsrEfer) | kEferSvme);
    wrmsr(kMsrVmHsavePa, reinterpret_cast<uptr>(g_host_save_area));
    say("domain {} \"{}\": {} MiB at host {:#x}, {} vcpu(s), control={}, TSC {} kHz, entry "
        "{:#x}, command line \"{}\"",
        g_domain.domid, g_domain.name, g_domain.memory / MiB, kGuestBase, g_domain.vcpus,
        g_domain.control, g_domain.tsc_khz, entry, guest_line);
    if (g_domain.vcpus > 1) {
        start_time_slices();
    }
    run_guest();
}
