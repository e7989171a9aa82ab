// dma: DMA through an assigned PCI device, QEMU's edu, for ever, checking every byte
// (docs/testing.md, "dma"). It finds the device in PCI configuration space, maps its BAR0
// uncached, enables memory space and bus mastering, then repeats a round trip RAM ->
// device buffer -> RAM on pages spread over its RAM, and prints a heartbeat at a fixed
// interval of TSC time. With outside=ADDR it also sends one DMA to and one from an
// address outside its RAM once, which the IOMMU must refuse; with msi=DATA it forges one
// message-signalled interrupt for the host, which interrupt remapping must refuse.
// Everything but port I/O and
// MMIO is shared code (exerciser.hpp and friends) tested on the host.
#include "lib/format.hpp"
#include "tests/guests/dma/edu.hpp"
#include "tests/guests/dma/exerciser.hpp"
#include "tests/guests/dma/page_walk.hpp"
#include "tests/guests/dma/progress.hpp"
#include "tests/guests/dma/settings.hpp"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/guest.hpp"
#include "tests/guests/lib/identity_mapping.hpp"
#include "tests/guests/lib/pci.hpp"
#include "tests/guests/lib/pci_ports.hpp"
#include "tests/guests/lib/shutdown.hpp"
#include "tests/guests/lib/time.hpp"
#include "tests/guests/memtest/free_memory.hpp"

extern "C" char __image_end[];

namespace relay::guest {

const GuestProgram kGuestProgram{"dma", dma::kDmaArguments, {}};

namespace dma {

namespace {

// Between two looks at a busy device. edu takes 100 ms per DMA, so a millisecond of
// latency costs nothing, and yielding meanwhile leaves the CPU to other domains.
constexpr u64 kPollMicroseconds = 1000;

// BAR0 through the uncached identity mapping. Each access is one instruction of the
// register's width (edu ignores other widths); the "memory" clobbers keep the compiler
// from moving RAM accesses across them (x86 keeps their order with uncached accesses).
class MmioEduRegisters final : public EduRegisters {
public:
    explicit MmioEduRegisters(uptr base) : base_(base) {}

    u32 read32(u32 offset) override {
        u32 value;
        asm volatile("movl %1, %0" : "=r"(value) : "m"(*at<u32>(offset)) : "memory");
        return value;
    }
    void write32(u32 offset, u32 value) override {
        asm volatile("movl %1, %0" : "=m"(*at<u32>(offset)) : "r"(value) : "memory");
    }
    u64 read64(u32 offset) override {
        u64 value;
        asm volatile("movq %1, %0" : "=r"(value) : "m"(*at<u64>(offset)) : "memory");
        return value;
    }
    void write64(u32 offset, u64 value) override {
        asm volatile("movq %1, %0" : "=m"(*at<u64>(offset)) : "r"(value) : "memory");
    }

private:
    template <typename T>
    volatile T* at(u32 offset) const {
        return reinterpret_cast<volatile T*>(base_ + offset);
    }

    uptr base_;
};

// RAM is identity-mapped (hv/abi/start_info.h).
class IdentityMemory final : public DmaMemory {
public:
    volatile u64* words(u64 address, u64) override {
        return reinterpret_cast<volatile u64*>(address);
    }
};

struct Heartbeat {
    u64 interval_ticks = 0;
    u64 last_tsc = 0;
    pci::Bdf device;
};

DmaProgress g_progress;
Heartbeat g_heartbeat;

void heartbeat_if_due() {
    u64 now = read_tsc();
    if (now - g_heartbeat.last_tsc >= g_heartbeat.interval_ticks) {
        g_heartbeat.last_tsc = now;
        log_line("{}", g_progress.heartbeat(pci::format_bdf(g_heartbeat.device).view()).view());
    }
}

class GuestClock final : public DmaClock {
public:
    u64 now_microseconds() override { return monotonic_microseconds(); }
    void between_polls() override {
        heartbeat_if_due();
        sleep_microseconds(kPollMicroseconds);
    }
};

// The edu to use: the one at bdf= (checked), or the first on bus 0.
pci::Bdf find_edu(pci::ConfigSpace& config, const DmaSettings& settings) {
    pci::DeviceIdentity identity;
    if (settings.bdf_given) {
        auto where = pci::format_bdf(settings.bdf);
        if (!pci::read_identity(config, settings.bdf, &identity)) {
            panic(
                "nothing at {} (its vendor ID reads 0xffff): is the device assigned to this "
                "domain?",
                where.view());
        }
        if (identity.vendor != kEduVendorId || identity.device != kEduDeviceId) {
            panic("{} is {:04x}:{:04x}, not edu ({:04x}:{:04x})", where.view(), identity.vendor,
                  identity.device, kEduVendorId, kEduDeviceId);
        }
        return settings.bdf;
    }
    pci::Bdf found;
    if (!pci::find_device(config, 0, kEduVendorId, kEduDeviceId, &found)) {
        panic("no edu ({:04x}:{:04x}) on bus 0: assign one to this domain, or give bdf=BB:DD.F",
              kEduVendorId, kEduDeviceId);
    }
    return found;
}

// Finds, checks, enables and maps the device; returns BAR0's address.
uptr set_up_device(const DmaSettings& settings, u64 memory_size, pci::Bdf* bdf) {
    pci::PortConfigSpace config;
    *bdf = find_edu(config, settings);
    auto where = pci::format_bdf(*bdf);
    pci::DeviceIdentity identity;
    pci::read_identity(config, *bdf, &identity);
    log_line("found edu {:04x}:{:04x} at {} (revision {:#04x}, class {:06x})", identity.vendor,
             identity.device, where.view(), identity.revision, identity.class_code);

    Result<pci::Bar> bar = pci::read_bar(config, *bdf, 0);
    if (!bar.ok()) {
        panic("{}", bar.error().message());
    }
    if ((bar->kind != pci::BarKind::kMemory32 && bar->kind != pci::BarKind::kMemory64) ||
        bar->size < kEduRegistersEnd || bar->address == 0) {
        panic("{}: BAR0 is {} at {:#x}, {} bytes: not edu's memory BAR", where.view(),
              pci::bar_kind_name(bar->kind), bar->address, bar->size);
    }
    if (bar->address < memory_size) {
        panic("{}: BAR0 at {:#x} lies inside this domain's RAM (which ends at {:#x})", where.view(),
              bar->address, memory_size);
    }

    u16 wanted = pci::kCommandMemorySpace | pci::kCommandBusMaster;
    u16 command = pci::enable_command_bits(config, *bdf, wanted | pci::kCommandInterruptDisable);
    if ((command & wanted) != wanted) {
        panic(
            "{}: the command register reads {:#06x} after enabling memory space and bus "
            "mastering",
            where.view(), command);
    }
    map_identity(bar->address, bar->size, Caching::kUncached);
    log_line(
        "BAR0: {} at {:#x}, {} bytes, mapped uncached; command register {:#06x} (memory "
        "space, bus master{})",
        pci::bar_kind_name(bar->kind), bar->address, bar->size, command,
        (command & pci::kCommandInterruptDisable) != 0 ? ", INTx disabled" : "");
    return static_cast<uptr>(bar->address);
}

void check_device(Edu& edu, u16 domid) {
    u32 value = edu.identification();
    Result<EduIdentification> identification = decode_identification(value);
    if (!identification.ok()) {
        panic("{}", identification.error().message());
    }
    u32 probe = 0xD3A0'0000u | domid;
    u32 liveness = edu.liveness(probe);
    if (liveness != ~probe) {
        panic("edu liveness check: wrote {:#010x}, read back {:#010x} instead of {:#010x}", probe,
              liveness, ~probe);
    }
    log_line("edu identification {:#010x} (version {}.{}), liveness check ok", value,
             identification->major, identification->minor);
}

// Free RAM, as memtest plans it: never the image (code, data, stacks) or anything the
// start info points to.
memtest::FreeMemory free_memory(const StartInfo& info) {
    u64 floor = align_up_unchecked(reinterpret_cast<uptr>(__image_end), kPageSize4K);
    memtest::MemoryRegion exclusions[8 + StartInfo::kMaxModules];
    usize count = 0;
    for (const StartInfo::Extent& extent : info.extents()) {
        exclusions[count++] = {extent.base, extent.size};
    }
    for (const relay_start_module& module : info.modules()) {
        exclusions[count++] = {module.guest_phys, module.size};
    }
    return memtest::FreeMemory::plan(info.memory_ranges(), info.memory_size(), floor,
                                     std::span(exclusions, count));
}

// Once, after the first heartbeat (docs/testing.md, "dma", "Outside RAM").
void outside_test(DmaExerciser& exerciser, u64 address, u64 memory_size) {
    DmaStep marker = exerciser.fill_buffer(BufferMarker::kWrittenOutside);
    if (!marker.done()) {
        log_line(
            "outside test abandoned: loading the device buffer did not finish in {} ms "
            "(command {:#x})",
            marker.wait.waited_microseconds / 1000, marker.wait.command);
        return;
    }
    log_line("{}", outside_issued_line(DmaDirection::kFromDevice, address, memory_size).view());
    console_flush();
    DmaStep write = exerciser.outside(DmaDirection::kFromDevice, address);
    log_line("{}", outside_step_line(DmaDirection::kFromDevice, address, write).view());

    marker = exerciser.fill_buffer(BufferMarker::kBeforeRead);
    if (!marker.done()) {
        log_line(
            "outside test abandoned: loading the device buffer did not finish in {} ms "
            "(command {:#x})",
            marker.wait.waited_microseconds / 1000, marker.wait.command);
        return;
    }
    log_line("{}", outside_issued_line(DmaDirection::kToDevice, address, memory_size).view());
    console_flush();
    DmaStep read = exerciser.outside(DmaDirection::kToDevice, address);
    log_line("{}", outside_step_line(DmaDirection::kToDevice, address, read).view());
    if (read.done()) {
        log_line("{}", outside_buffer_line(address, exerciser.check_buffer()).view());
    }
    log_line("outside test done: normal transfers go on");
}

// Once, after the first heartbeat (docs/testing.md, "dma", "A forged interrupt"): the
// device writes `data` to the interrupt address range, as an MSI would. What the host
// received, if anything, only the host can say; the guest says when it was sent.
void msi_test(DmaExerciser& exerciser, u32 data) {
    DmaStep load = exerciser.fill_buffer_word(data);
    if (!load.done()) {
        log_line("msi test abandoned: loading the device buffer did not finish in {} ms",
                 load.wait.waited_microseconds / 1000);
        return;
    }
    log_line("msi: DMA of {:#010x} to {:#x} issued", data, kMsiAddress);
    console_flush();
    DmaStep write = exerciser.write_word(kMsiAddress);
    if (!write.done()) {
        log_line("msi: DMA to {:#x} {} after {} ms (command {:#x})", kMsiAddress,
                 write.started ? "TIMEOUT" : "not started, the device is busy",
                 write.wait.waited_microseconds / 1000, write.wait.command);
        return;
    }
    log_line("msi: DMA to {:#x} completed after {} ms", kMsiAddress,
             write.wait.waited_microseconds / 1000);
    log_line("msi test done: normal transfers go on");
}

}  // namespace

}  // namespace dma

void guest_main(const StartInfo& info) {
    using namespace dma;
    Result<DmaSettings> parsed = parse_settings(command_line(), info.memory_size());
    if (!parsed.ok()) {
        panic("{}", parsed.error().message());
    }
    const DmaSettings& settings = parsed.value();
    log_line(
        "seed={} domid={} heartbeat_ms={} timeout_ms={} dma_mask_bits={} bdf={} outside={} msi={}",
        settings.seed, info.domid(), settings.heartbeat_ms, settings.timeout_ms,
        settings.dma_mask_bits, settings.bdf_given ? pci::format_bdf(settings.bdf).view() : "scan",
        settings.outside_given ? FixedString<20>::formatted("{:#x}", settings.outside).view()
                               : "none",
        settings.msi_given ? FixedString<20>::formatted("{:#x}", settings.msi_data).view()
                           : "none");

    pci::Bdf bdf;
    uptr bar0 = set_up_device(settings, info.memory_size(), &bdf);
    MmioEduRegisters registers(bar0);
    Edu edu(registers, settings.dma_mask_bits);
    check_device(edu, info.domid());

    memtest::FreeMemory free = free_memory(info);
    PageWalk walk = PageWalk::plan(free.regions(), dma_limit(settings.dma_mask_bits));
    if (walk.page_count() < 2) {
        panic("{} free page(s) below the DMA limit {:#x}: the round trip needs two",
              walk.page_count(), dma_limit(settings.dma_mask_bits));
    }
    log_line("DMA pages: {} ({} bytes) in {} region{} below the DMA limit {:#x}", walk.page_count(),
             walk.page_count() * kPageSize4K, walk.regions().size(),
             walk.regions().size() == 1 ? "" : "s", dma_limit(settings.dma_mask_bits));
    for (const MemoryRegion& region : walk.regions()) {
        log_line("DMA region {:#x}-{:#x} ({} pages)", region.base, region.end(),
                 region.size / kPageSize4K);
    }
    log_line(
        "round trips of {} bytes through the device buffer at {:#x}, timeout {} ms, "
        "heartbeat every {} ms",
        kTransferBytes, kEduBufferAddress, settings.timeout_ms, settings.heartbeat_ms);

    TransferSettings transfer_settings{info.domid(), settings.seed, settings.timeout_ms * 1000};
    GuestClock clock;
    IdentityMemory memory;
    DmaExerciser exerciser(edu, clock, memory, walk, transfer_settings);
    g_heartbeat.device = bdf;
    g_heartbeat.interval_ticks = tsc_ticks_for(settings.heartbeat_ms * 1000);
    g_heartbeat.last_tsc = read_tsc();
    bool outside_pending = settings.outside_given;
    bool msi_pending = settings.msi_given;
    for (u64 transfer = 1;; ++transfer) {
        g_progress.record(exerciser.run(transfer));
        heartbeat_if_due();
        if (outside_pending && g_progress.heartbeats() >= 1) {
            outside_pending = false;
            outside_test(exerciser, settings.outside, info.memory_size());
        }
        if (msi_pending && g_progress.heartbeats() >= 1) {
            msi_pending = false;
            msi_test(exerciser, settings.msi_data);
        }
    }
}

}  // namespace relay::guest
