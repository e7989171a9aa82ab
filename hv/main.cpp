// The boot processor's path from the 64-bit entry to a running system (docs/boot.md):
//   descriptors and exception reporting first, so every later fault is reported;
//   boot information and the command line; physical memory with everything Relay must
//   keep reserved; ACPI; the final address space; the local APIC and the TSC; the
//   application processors; then the domains.
#include <cstring>

#include "hv/arch/x86/acpi/acpi.hpp"
#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/cpu_setup.hpp"
#include "hv/arch/x86/descriptors.hpp"
#include "hv/arch/x86/rtc.hpp"
#include "hv/arch/x86/smp.hpp"
#include "hv/arch/x86/svm/svm.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/boot/command_line.hpp"
#include "hv/boot/multiboot.hpp"
#include "hv/boot_state.hpp"
#include "hv/build_info.hpp"
#include "hv/console.hpp"
#include "hv/extended_state.hpp"
#include "hv/hyperlaunch_boot.hpp"
#include "hv/iommu_host.hpp"
#include "hv/memory/address_space.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/panic.hpp"
#include "hv/percpu.hpp"
#include "hv/scheduler.hpp"
#include "hv/shutdown.hpp"
#include "hv/symbols.hpp"
#include "hv/test_hooks.hpp"
#include "lib/static_storage.hpp"
#include "liveupdate/target_boot.hpp"

extern "C" {
struct BootHandoff {
    relay::u32 magic;
    relay::u32 info;
    relay::u32 load_base;
};
extern BootHandoff relay_boot_handoff;
extern relay::u64 early_pml4[512];
extern char relay_boot_stack[], relay_boot_stack_top[];
extern char __image_start[], __image_end[];
extern char __data_start[], __image_data_end[];
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();
}

namespace relay {

extern u8 pristine_data[];
extern usize pristine_data_length;

namespace {

HostPhysAddr image_base;
BootState state;
bool restoring = false;  // this boot restores a live-update stream (liveupdate/target_boot.hpp)
StaticStorage<BootInfo> boot_info_storage;  // lib/static_storage.hpp: keeps .data small
BootInfo& boot_info = boot_info_storage.get();
CommandLineOptions options;
acpi::AcpiInfo acpi_info;
HostPhysRange handover_region;

// Boot CPU -> application processors: SVM is usable (set up your CPU), then run.
std::atomic<bool> cpus_may_enable_svm{false};
std::atomic<bool> cpus_may_run{false};
std::atomic<u32> cpus_ready_for_guests{0};
u32 apic_ticks_per_ms = 0;

// The boot's timeline (TSC at each step), printed at debug level once guests run: where a
// boot, and so a live update's target boot, spends its time.
struct BootMark {
    const char* step;
    u64 tsc;
};
BootMark boot_marks[24];
usize boot_mark_count = 0;

void mark(const char* step) {
    if (boot_mark_count < sizeof(boot_marks) / sizeof(boot_marks[0])) {
        boot_marks[boot_mark_count++] = BootMark{step, x86::rdtsc()};
    }
}

void print_boot_timeline() {
    u64 previous = state.boot_tsc;
    for (usize i = 0; i < boot_mark_count; ++i) {
        log_debug("boot timeline: {} us {} (+{} us)",
                  x86::tsc_to_microseconds(boot_marks[i].tsc - state.boot_tsc), boot_marks[i].step,
                  x86::tsc_to_microseconds(boot_marks[i].tsc - previous));
        previous = boot_marks[i].tsc;
    }
}

// IST stacks for the boot CPU until it has stacks of its own.
alignas(16) u8 boot_ist_stacks[3][4096];

// Physical memory below 4 GiB through the early direct-map alias.
class EarlyPhysicalMemory final : public PhysicalMemoryReader {
public:
    const u8* map(HostPhysAddr address, u64 size) const override {
        if (address.raw() >= 4 * GiB || size > 4 * GiB - address.raw()) {
            return nullptr;
        }
        return phys_to_virt<const u8>(address);
    }
};

[[noreturn]] void boot_failed(const char* what, const Error& error) {
    log_error("boot failed: {}: {}", what, error.message());
    system_shutdown(ShutdownStatus::kFailure);
}

LogLevel to_log_level(CommandLineLogLevel level) {
    return static_cast<LogLevel>(level);
}

// A boot from a previous Relay build (a live update or a rollback) lists its memory map
// only at debug level: the console is slow and every line adds to the blackout.
void print_boot_information(bool handover_boot) {
    LogLevel map_level = handover_boot ? LogLevel::kDebug : LogLevel::kInfo;
    log_info("booted by {} via {}",
             boot_info.bootloader_name().empty() ? "(unnamed loader)" : boot_info.bootloader_name(),
             boot_info.protocol == BootProtocol::kMultiboot1 ? "multiboot1" : "multiboot2");
    log_info("image at {}..{} ({} KiB)", boot_info.image.base(),
             boot_info.image.base() + boot_info.image.size(), boot_info.image.size() / KiB);
    log_info("command line: '{}'", boot_info.command_line());
    u64 usable = 0;
    u64 preserved = 0;
    for (usize i = 0; i < boot_info.memory_region_count; ++i) {
        const MemoryRegion& region = boot_info.memory_map[i];
        usable += region.type == MemoryType::kUsable ? region.size : 0;
        preserved += region.type == MemoryType::kPreserved ? region.size : 0;
    }
    log(map_level, "memory map ({} entries):", boot_info.memory_region_count);
    for (usize i = 0; i < boot_info.memory_region_count; ++i) {
        const MemoryRegion& region = boot_info.memory_map[i];
        log(map_level, "  {:#014x}-{:#014x} {}", region.base.raw(), region.base.raw() + region.size,
            memory_type_name(region.type));
    }
    if (preserved != 0) {
        log_info("usable memory: {} MiB, preserved by the previous build: {} MiB", usable / MiB,
                 preserved / MiB);
    } else {
        log_info("usable memory: {} MiB", usable / MiB);
    }
    log_info("modules: {}", boot_info.module_count);
    for (usize i = 0; i < boot_info.module_count; ++i) {
        const BootModule& module = boot_info.modules[i];
        log_info("  module {}: {}..{} ({} bytes) '{}'", i, module.range.base(),
                 module.range.base() + module.range.size(), module.range.size(),
                 boot_info.module_command_line(i));
    }
}

void apply_options() {
    if (options.console_port != 0x3F8) {
        console::init(options.console_port);
    }
    console::set_level(to_log_level(options.log_level));
}

Status setup_memory() {
    if (options.handover_fixed) {
        handover_region = HostPhysRange::unchecked(options.handover_base, options.handover_size);
    } else {
        RELAY_TRY_ASSIGN(region, choose_handover_region(boot_info, options.handover_size));
        handover_region = region;
    }
    PhysicalMemoryPlan plan;
    plan.image = boot_info.image;
    plan.handover = handover_region;
    plan.preserved_is_usable = restoring;
    RELAY_TRY(physical_memory_init(boot_info, plan));
    if (restoring) {
        liveupdate::incoming_claim_memory();  // before anything is allocated
    }
    state.handover = handover_region;
    log_info("handover region: {}..{} ({} MiB, two halves of {} MiB)", handover_region.base(),
             handover_region.base() + handover_region.size(), handover_region.size() / MiB,
             handover_region.size() / 2 / MiB);
    log_info("frames: {} free of {} managed ({} MiB free)", frame_allocator().free_frames(),
             frame_allocator().managed_frames(),
             frame_allocator().free_frames() * FrameAllocator::kFrameSize / MiB);
    return ok_status();
}

Status setup_acpi() {
    EarlyPhysicalMemory memory;
    u8 rsdp[36];
    usize rsdp_length = 0;
    HostPhysAddr rsdp_address;
    RELAY_TRY(acpi::find_rsdp(memory, boot_info, rsdp, &rsdp_length, &rsdp_address));
    RELAY_TRY(acpi::parse_acpi(memory, rsdp, rsdp_length, &acpi_info));
    std::memcpy(state.rsdp, rsdp, rsdp_length);  // passed on to the next build
    state.rsdp_length = rsdp_length;
    log_info("ACPI: revision {} OEM '{}' via {}, {} tables, {} CPUs, local APIC at {}",
             acpi_info.revision, acpi_info.oem_id, acpi_info.uses_xsdt ? "XSDT" : "RSDT",
             acpi_info.table_count, acpi_info.cpu_count, acpi_info.local_apic_address);
    if (const acpi::TableLocation* ivrs = acpi_info.find("IVRS")) {
        log_info("ACPI: IVRS (AMD-Vi) at {} ({} bytes)", ivrs->address, ivrs->length);
        // One Relay cannot read leaves it without an IOMMU (no device can be assigned); it
        // does not stop the boot, which may be a live update's target.
        const u8* table = memory.map(ivrs->address, ivrs->length);
        Status saved = iommu_host::save_ivrs(table, ivrs->length);
        if (table == nullptr) {
            log_error("ACPI: IVRS at {} lies above 4 GiB: no IOMMU", ivrs->address);
        } else if (!saved.ok()) {
            log_error("ACPI: {}: no IOMMU", saved.error().message());
        }
    }
    if (const acpi::TableLocation* dmar = acpi_info.find("DMAR")) {
        log_info("ACPI: DMAR (VT-d) at {} ({} bytes)", dmar->address, dmar->length);
    }
    return ok_status();
}

// SVM, extended state and the scheduler on the calling CPU.
Status prepare_cpu_for_guests() {
    RELAY_TRY(svm::enable_on_this_cpu());
    extended_state_init_this_cpu();
    RELAY_TRY(scheduler_init_this_cpu(apic_ticks_per_ms));
    cpus_ready_for_guests.fetch_add(1, std::memory_order_acq_rel);
    return ok_status();
}

[[noreturn]] void call_on_stack(u64 stack_top, void (*function)()) {
    asm volatile(
        "mov %0, %%rsp\n"
        "xor %%ebp, %%ebp\n"
        "call *%1\n"
        "ud2\n" ::"r"(stack_top),
        "r"(function)
        : "memory");
    __builtin_unreachable();
}

// Recurses until the stack runs into its guard page (test_fault=stack-overflow). The
// volatile limit hides the unbounded recursion from the compiler, which refuses it.
volatile u64 recursion_limit = ~0ull;
[[gnu::noinline]] u64 recurse_deeply(u64 depth) {
    volatile u8 buffer[512];
    buffer[0] = static_cast<u8>(depth);
    if (depth >= recursion_limit) {
        return buffer[0];
    }
    return recurse_deeply(depth + 1) + buffer[0];
}

// Test-only deliberate faults (command line test_fault=...). Not inlined: the exception
// report's stack trace names it (tests/integration/exception_test.py).
[[gnu::noinline]] void trigger_test_fault(TestFault fault) {
    if (fault == TestFault::kNone || fault == TestFault::kApPageFault) {
        return;
    }
    log_warning("test_fault={}: triggering it now", test_fault_name(fault));
    switch (fault) {
        case TestFault::kPageFault:
            (void)*reinterpret_cast<volatile u64*>(0xdead0000ull);
            break;
        case TestFault::kGeneralProtection:
            (void)*reinterpret_cast<volatile u64*>(0x8000000000000000ull);
            break;
        case TestFault::kInvalidOpcode:
            asm volatile("ud2");
            break;
        case TestFault::kDivideError: {
            u64 zero = 0;
            asm volatile("xor %%edx, %%edx; mov $1, %%eax; divq %0" ::"r"(zero) : "rax", "rdx");
            break;
        }
        case TestFault::kBreakpoint:
            asm volatile("int3");
            break;
        case TestFault::kPanic:
            panic("test_fault=panic requested");
        case TestFault::kStackOverflow:
            (void)recurse_deeply(0);
            break;
        default:
            break;
    }
    log_error("test_fault={} did not fault", test_fault_name(fault));
}

// Second half of the boot, on the boot CPU's own guarded stack.
[[noreturn]] void boot_continue() {
    Status apic = x86::local_apic_map(acpi_info.local_apic_address);
    if (!apic.ok()) {
        boot_failed("local APIC", apic.error());
    }
    x86::local_apic_enable();
    u32 bsp_apic_id = x86::local_apic_id();
    cpu_data(0).apic_id = bsp_apic_id;
    mark("local APIC");
    u64 hz = restoring ? liveupdate::incoming_tsc_hz() : 0;
    if (hz != 0) {
        x86::set_tsc_hz(hz);
        log_info("TSC: {} MHz (the previous build's calibration)", hz / 1'000'000);
    } else {
        hz = x86::calibrate_tsc();
        log_info("TSC: {} MHz (calibrated against the PIT)", hz / 1'000'000);
    }
    state.tsc_hz = hz;
    if (restoring) {
        liveupdate::incoming_adopt_iommu();  // or roll back
    } else if (Status io = iommu_host::init(); !io.ok()) {
        log_error("iommu: {}: no PCI function can be assigned", io.error().message());
    }
    mark("IOMMU");
    state.rtc_tsc = x86::rdtsc();
    state.rtc_unix_ns = x86::read_rtc_unix_seconds() * 1'000'000'000ull;
    mark("TSC and RTC");

    cpu_data(0).online.store(true, std::memory_order_release);
    u32 online = x86::start_application_processors(acpi_info, options.max_cpus);
    set_cpus_online(online);
    log_info("cpus online: {}", online);
    mark("application processors");

    trigger_test_fault(options.test_fault);
    if (options.test_fault == TestFault::kApPageFault) {
        // The AP faults on its own; give it time to report before we go on.
        x86::udelay(2'000'000);
        log_error("test_fault=ap-page-fault: no AP faulted");
    }

    auto svm_features = svm::detect();
    if (!svm_features.ok()) {
        boot_failed("SVM", svm_features.error());
    }
    const svm::Features& f = svm_features.value();
    log_info(
        "SVM: revision {}, {} ASIDs, nested paging, NRIP save {}, decode assists {}, "
        "flush by ASID {}",
        f.revision, f.asid_count, f.nrip_save ? "yes" : "no", f.decode_assists ? "yes" : "no",
        f.flush_by_asid ? "yes" : "no");
    apic_ticks_per_ms = restoring ? liveupdate::incoming_apic_ticks_per_ms() : 0;
    if (apic_ticks_per_ms == 0) {
        apic_ticks_per_ms = x86::calibrate_apic_timer();
    }
    liveupdate::set_apic_ticks_per_ms(apic_ticks_per_ms);
    Status prepared = prepare_cpu_for_guests();
    if (!prepared.ok()) {
        boot_failed("SVM on the boot CPU", prepared.error());
    }
    mark("SVM on the boot CPU");
    cpus_may_enable_svm.store(true, std::memory_order_release);
    u64 deadline = x86::rdtsc() + x86::microseconds_to_tsc(2'000'000);
    while (cpus_ready_for_guests.load(std::memory_order_acquire) < online &&
           x86::rdtsc() < deadline) {
        x86::cpu_relax();
    }
    if (cpus_ready_for_guests.load(std::memory_order_acquire) < online) {
        log_error("only {} of {} CPUs set up SVM", cpus_ready_for_guests.load(), online);
    }

    mark("SVM on every CPU");
    if (restoring) {
        u32 restored = liveupdate::incoming_restore();
        mark("domains restored");
        log_info("live-update: {} domains restored", restored);
        print_boot_timeline();
        cpus_may_run.store(true, std::memory_order_release);
        scheduler_run();
    }
    HyperlaunchBootInputs inputs;
    inputs.boot = &boot_info;
    inputs.handover = handover_region;
    inputs.tsc_khz = hz / 1000;
    inputs.physical_cpus = online;
    auto started = boot_domains(inputs);
    if (!started.ok()) {
        log_error("boot failed: {}", started.error().message());
        system_shutdown(ShutdownStatus::kFailure);
    }
    if (started.value() == 0) {
        bool configured = boot_info.module_count > 0;
        log_info("no domains to run; shutting down");
        // A configuration whose domains all failed to build is a failed boot.
        system_shutdown(configured ? ShutdownStatus::kFailure : ShutdownStatus::kSuccess);
    }
    mark("domains built");
    log_info("{} domains running", started.value());
    print_boot_timeline();
    if (options.test_corrupt_domid != 0) {
        test_hooks_arm_corruption(options.test_corrupt_domid, 2'000'000);
    }
    cpus_may_run.store(true, std::memory_order_release);
    scheduler_run();
}

}  // namespace

HostPhysAddr image_phys_base() {
    return image_base;
}

[[noreturn]] void ap_started(PerCpu& cpu) {
    cpu.online.store(true, std::memory_order_release);
    if (options.test_fault == TestFault::kApPageFault && cpu.index == 1) {
        (void)*reinterpret_cast<volatile u64*>(0xdead1000ull);
    }
    while (!cpus_may_enable_svm.load(std::memory_order_acquire)) {
        x86::cpu_relax();
    }
    Status prepared = prepare_cpu_for_guests();
    if (!prepared.ok()) {
        log_error("cpu {}: cannot run guests: {}", cpu.index, prepared.error().message());
        x86::halt_forever();
    }
    while (!cpus_may_run.load(std::memory_order_acquire)) {
        if (liveupdate::ParkFunction park = liveupdate::incoming_park_request()) {
            park();  // a rollback is leaving this build
        }
        x86::cpu_relax();
    }
    scheduler_run();
}

const BootState& boot_state() {
    return state;
}

u64 unix_time_ns() {
    if (state.rtc_unix_ns == 0 || state.tsc_hz == 0) {
        return 0;
    }
    u64 ticks = x86::rdtsc() - state.rtc_tsc;
    return state.rtc_unix_ns + ticks / state.tsc_hz * 1'000'000'000ull +
           (ticks % state.tsc_hz) * 1'000'000'000ull / state.tsc_hz;
}

}  // namespace relay

namespace relay {
// .data as the loader left it, captured before anything writes it: a live update
// restores it in place so this image can boot again for a rollback (liveupdate/).
alignas(4096) u8 pristine_data[0x10000];
usize pristine_data_length = 0;
}  // namespace relay

extern "C" [[noreturn]] void relay_boot_main() {
    using namespace relay;
    u64 entry_tsc = x86::rdtsc();
    pristine_data_length = static_cast<usize>(__image_data_end - __data_start);
    std::memcpy(pristine_data, __data_start, pristine_data_length);
    // Global constructors first: they (re)initialise static objects such as the PerCpu
    // array, so nothing may be stored into those before.
    for (auto** constructor = __init_array_start; constructor < __init_array_end; ++constructor) {
        (*constructor)();
    }
    boot_info_storage.construct();
    state.boot_tsc = entry_tsc;
    image_base = HostPhysAddr(relay_boot_handoff.load_base);
    // The direct map's first 4 GiB reuse the early identity tables (hv/memory/layout.hpp).
    early_pml4[256] = early_pml4[0];

    PerCpu& bsp = cpu_data(0);
    bsp.index = 0;
    bsp.stack_low = reinterpret_cast<u64>(relay_boot_stack);
    bsp.stack_high = reinterpret_cast<u64>(relay_boot_stack_top);
    for (int i = 0; i < 3; ++i) {
        bsp.tss.ist[i] = reinterpret_cast<u64>(boot_ist_stacks[i] + sizeof(boot_ist_stacks[i]));
    }
    install_percpu(bsp);
    x86::load_gdt_and_tss(bsp.gdt, bsp.tss);
    x86::build_idt();
    x86::load_idt();
    x86::setup_cpu_features();
    console::init(0x3F8);

    EarlyPhysicalMemory early_memory;
    u64 image_size = static_cast<u64>(__image_end - __image_start);
    Status parsed = parse_boot_information(
        early_memory, relay_boot_handoff.magic, HostPhysAddr(relay_boot_handoff.info),
        HostPhysRange::unchecked(image_base, image_size), &boot_info);
    if (!parsed.ok()) {
        // The console still runs with defaults: say what the loader got wrong.
        boot_failed("boot information", parsed.error());
    }
    CommandLineDiagnostics diagnostics;
    options = parse_command_line(boot_info.command_line(), &diagnostics);
    apply_options();

    char id[24];
    build_id_hex(id, sizeof(id), 8);
    log_info("Relay hypervisor {} (build {}), {} symbols", kBuildVariant.version, id,
             symbol_count());
    for (usize i = 0; i < diagnostics.count; ++i) {
        log_warning("command line: {}", diagnostics.messages[i]);
    }
    if (diagnostics.dropped > 0) {
        log_warning("command line: {} more problems not shown", diagnostics.dropped);
    }
    print_boot_information(liveupdate::is_handover_boot(boot_info));
    if (probe_debug_exit(options.debug_exit_port)) {
        log_info("isa-debug-exit device at port {:#x}: shutdown ends the emulator",
                 options.debug_exit_port);
    }
    state.boot = &boot_info;
    state.options = &options;
    state.image = boot_info.image;
    state.pristine_data = pristine_data;
    state.pristine_data_length = pristine_data_length;
    // A stream from a previous build is verified before memory is set up (a stream that
    // cannot be used goes back to the previous build from here).
    auto incoming = liveupdate::incoming_verify(boot_info, options, boot_info.image);
    if (!incoming.ok()) {
        boot_failed("state stream", incoming.error());
    }
    restoring = incoming.value();
    state.incoming_stream_module = liveupdate::incoming_module();
    mark(restoring ? "boot information, stream verified" : "boot information");

    Status memory = setup_memory();
    if (!memory.ok()) {
        boot_failed("physical memory", memory.error());
    }
    mark("physical memory");
    Status acpi = setup_acpi();
    if (!acpi.ok()) {
        boot_failed("ACPI", acpi.error());
    }
    mark("ACPI");
    Status space = hypervisor_address_space().build(boot_info);
    if (!space.ok()) {
        boot_failed("address space", space.error());
    }
    hypervisor_address_space().activate();
    mark("address space");

    Status stacks = x86::prepare_cpu(0, 0);
    if (!stacks.ok()) {
        boot_failed("boot CPU stacks", stacks.error());
    }
    // The TSS now names the new IST stacks; reload it (busy bit: rebuild the descriptor).
    x86::load_gdt_and_tss(bsp.gdt, bsp.tss);
    call_on_stack(bsp.stack_high, boot_continue);
}
