#include "liveupdate/target_boot.hpp"

#include <atomic>
#include <cstring>

#include "hv/abi/hypercall.h"
#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/boot_state.hpp"
#include "hv/build_info.hpp"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/domain_builder.hpp"
#include "hv/domain_control.hpp"
#include "hv/iommu_host.hpp"
#include "hv/memory/address_space.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/percpu.hpp"
#include "hv/scheduler.hpp"
#include "hv/shutdown.hpp"
#include "hv/vcpu.hpp"
#include "kexec/multiboot2_writer.hpp"
#include "kexec/purgatory.hpp"
#include "lib/format.hpp"
#include "lib/static_storage.hpp"
#include "lib/strings.hpp"
#include "liveupdate/cpu_parking.hpp"
#include "liveupdate/update_history.hpp"
#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_verifier.hpp"

namespace relay::liveupdate {

namespace {

namespace fbs = relay::schema;

struct Incoming {
    const BootInfo* boot = nullptr;
    // Test only (docs/reliability.md): the target phase that fails, for a live-update
    // stream (a stream handed back is restored normally).
    UpdateFault fault = UpdateFault::kNone;
    HostPhysRange image;
    HostPhysRange handover;
    int module = -1;
    StreamModuleLine line;
    bool verified = false;
    // Where the boot is, for a rollback: whether the final address space is active and
    // whether the other CPUs run.
    bool others_started = false;
    // Our timeline (TSC).
    u64 verify_start = 0;
    u64 verify_end = 0;
    u64 restore_start = 0;
    u64 restore_end = 0;
    // The previous image's frames, held until the first vCPU runs.
    HostPhysRange previous_image_claim;
};

Incoming incoming;
StaticStorage<stream::VerifiedStream> verified_stream;
std::atomic<ParkFunction> park_request{nullptr};
CpuParking parking;
HostPhysAddr park_page;
u64 park_cr3 = 0;
u32 own_apic_ticks_per_ms = 0;

std::string_view view(const flatbuffers::String* text) {
    return text != nullptr ? std::string_view(text->c_str(), text->size()) : std::string_view();
}

const char* kind_name() {
    return stream::stream_kind_name(incoming.line.kind);
}

bool can_roll_back() {
    return incoming.line.kind == stream::StreamKind::kLiveUpdate &&
           incoming.line.previous_size != 0;
}

// ---- Rollback ----

void park_this_cpu() {
    x86::interrupts_disable();
    x86::local_apic_timer_stop();
    parking.enter_or_halt();
    kexec::purgatory_park(park_page, park_cr3);
}

// Multiboot2 information for the previous image: our own information, with the stream
// module now saying kind=restore and why.
Result<usize> write_rollback_info(HostPhysRange area, const char* reason) {
    const BootInfo& boot = *incoming.boot;
    kexec::Multiboot2Writer writer(phys_to_virt<void>(area.base()), area.size());
    RELAY_TRY(writer.add_command_line(boot.command_line()));
    RELAY_TRY(writer.add_bootloader_name("Relay rollback"));
    kexec::Multiboot2MemoryEntry map[BootInfo::kMaxMemoryRegions];
    for (usize i = 0; i < boot.memory_region_count; ++i) {
        const MemoryRegion& region = boot.memory_map[i];
        u32 type = region.type == MemoryType::kPreserved ? kexec::kMemoryRelayPreserved
                                                         : static_cast<u32>(region.type);
        map[i] = kexec::Multiboot2MemoryEntry{region.base.raw(), region.size, type};
    }
    RELAY_TRY(writer.add_memory_map(map, boot.memory_region_count));
    for (usize i = 0; i < boot.module_count; ++i) {
        if (static_cast<int>(i) != incoming.module) {
            RELAY_TRY(writer.add_module(boot.modules[i].range.base(), boot.modules[i].range.size(),
                                        boot.module_command_line(i)));
            continue;
        }
        StreamModuleLine line = incoming.line;
        line.kind = stream::StreamKind::kRestore;
        line.previous_size = 0;  // the previous image cannot roll back any further
        format_to_buffer(line.reason, sizeof(line.reason), "{} refused the stream: {}",
                         kBuildVariant.version, reason);
        char text[kStreamModuleLineCapacity];
        usize length = format_stream_module_line(line, text, sizeof(text));
        RELAY_TRY(writer.add_module(boot.modules[i].range.base(), boot.modules[i].range.size(),
                                    std::string_view(text, length)));
    }
    if (boot.rsdp_length == 20 || boot.rsdp_length == 36) {
        RELAY_TRY(writer.add_acpi_rsdp(boot.rsdp, boot.rsdp_length));
    }
    RELAY_TRY(writer.add_load_base(incoming.line.previous_base));
    return writer.finish();
}

[[noreturn]] void cannot_continue(const char* reason) {
    log_error("live-update: this build cannot use the {} stream and cannot hand it back: {}",
              kind_name(), reason);
    log_error("live-update: the domains are lost; the machine stops");
    system_shutdown(ShutdownStatus::kPanic);
}

// Hands the stream back to the previous image, which is intact where it was (its .data
// restored to pristine by the producer's purgatory) and restores the same stream. Only
// before any vCPU has run here: nothing preserved has been written.
[[noreturn]] void roll_back(const char* reason) {
    x86::interrupts_disable();
    if (!can_roll_back()) {
        cannot_continue(reason);
    }
    log_error("live-update: {} refuses the stream: {}", kBuildVariant.version, reason);
    HandoverLayout layout(incoming.handover, incoming.image);
    int half = layout.own_half();
    if (half < 0) {
        cannot_continue(
            "this image is not in the handover region, so it has no tail to roll back from");
    }
    HostPhysAddr page = layout.purgatory_page(half);
    HostPhysRange area = layout.info_area(half);
    auto size = write_rollback_info(area, reason);
    if (!size.ok()) {
        cannot_continue(size.error().message());
    }
    u64 cr3 = 0;
    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    // The hypervisor's own tables map no low memory, so purgatory needs a trampoline
    // space from the moment they are active (main activates them before the IOMMU is
    // adopted, which can roll back); the early tables identity-map 4 GiB.
    if ((cr3 & ~0xFFFull) == hypervisor_address_space().root().raw()) {
        auto space = hypervisor_address_space().create_trampoline_space(page);
        if (!space.ok()) {
            cannot_continue(space.error().message());
        }
        cr3 = space.value().raw();
    }
    kexec::PurgatoryJump jump;
    jump.entry = incoming.line.previous_base + incoming.line.previous_entry_offset;
    jump.info = area.base();
    jump.copy_length = 0;
    kexec::install_purgatory(page, phys_to_virt<void>(page), jump);
    if (incoming.others_started) {
        park_page = page;
        park_cr3 = cr3;
        u32 others = cpus_online() - 1;
        parking.open();
        park_request.store(park_this_cpu, std::memory_order_release);
        if (u32 parked = parking.wait_and_close(others, 1'000'000); parked < others) {
            log_error("live-update: {} of {} other CPUs parked within 1 s; rolling back anyway",
                      parked, others);
        }
    }
    x86::local_apic_timer_stop();
    log_info("live-update: rolling back to the previous build at {} ({} bytes of boot information)",
             incoming.line.previous_base, size.value());
    kexec::purgatory_jump(page, cr3);
}

template <typename... Args>
[[noreturn]] void roll_back_with(const char* fmt, const Args&... args) {
    char reason[sizeof(StreamModuleLine::reason)];
    format_to_buffer(reason, sizeof(reason), fmt, args...);
    roll_back(reason);
}

// ---- Early verification ----

stream::VerifyOptions verify_options(void* work, usize work_size) {
    stream::VerifyOptions options;
    if (kBuildVariant.override_reader) {
        options.reader.schema_major_min = kBuildVariant.reader_schema_major_min;
        options.reader.schema_major_max = kBuildVariant.reader_schema_major_max;
    }
    // What this build can hold, so a stream it could not restore is refused up front.
    options.limits.max_domains = static_cast<u32>(kMaxDomains);
    options.limits.max_vcpus_per_domain = static_cast<u32>(kMaxVcpusPerDomain);
    options.limits.max_boot_modules = static_cast<u32>(BootInfo::kMaxModules);
    options.limits.max_update_records = static_cast<u32>(UpdateHistory::kMaxRecords);
    options.limits.max_update_phases = static_cast<u32>(UpdateRecordEntry::kMaxPhases);
    options.limits.max_xsave_bytes = static_cast<u32>(kPageSize4K);
    options.work_memory = work;
    options.work_memory_size = work_size;
    return options;
}

// Every guest-RAM extent must lie in memory the memory map calls preserved: the producer
// marked exactly those, so anything else is a stream that does not belong to this boot.
// A device-memory extent (an assigned function's BAR) must lie in none of the memory map's
// RAM: the guest gets it mapped, and RAM there is this build's to allocate.
Status check_extents_preserved(const stream::StreamReader& reader) {
    const BootInfo& boot = *incoming.boot;
    for (const fbs::Domain* domain : reader.domains()) {
        if (domain->lifecycle() == fbs::DomainLifecycle::Configured ||
            domain->memory() == nullptr) {
            continue;
        }
        for (const fbs::MemoryExtent* extent : *domain->memory()) {
            u64 begin = extent->host_phys();
            u64 end = begin + extent->size();
            if ((extent->attributes() & fbs::ExtentAttributes::Mmio) ==
                fbs::ExtentAttributes::Mmio) {
                for (usize i = 0; i < boot.memory_region_count; ++i) {
                    const MemoryRegion& region = boot.memory_map[i];
                    bool ram =
                        region.type == MemoryType::kUsable || region.type == MemoryType::kPreserved;
                    if (ram && begin < region.base.raw() + region.size && region.base.raw() < end) {
                        return make_error(ErrorCode::kCorrupt,
                                          "domain {}: device memory {:#x}..{:#x} lies in RAM",
                                          domain->domid(), begin, end);
                    }
                }
                continue;
            }
            bool covered = false;
            for (usize i = 0; i < boot.memory_region_count && !covered; ++i) {
                const MemoryRegion& region = boot.memory_map[i];
                covered = region.type == MemoryType::kPreserved && region.base.raw() <= begin &&
                          end <= region.base.raw() + region.size;
            }
            if (!covered) {
                return make_error(
                    ErrorCode::kCorrupt,
                    "domain {}: guest memory {:#x}..{:#x} is not memory the previous build "
                    "preserved",
                    domain->domid(), begin, end);
            }
        }
    }
    return ok_status();
}

}  // namespace

bool is_handover_boot(const BootInfo& boot) {
    for (usize i = 0; i < boot.module_count; ++i) {
        StreamModuleLine line;
        auto tagged = parse_stream_module_line(boot.module_command_line(i), &line);
        if (!tagged.ok() || tagged.value()) {
            return true;
        }
    }
    return false;
}

Result<bool> incoming_verify(const BootInfo& boot, const CommandLineOptions& options,
                             HostPhysRange image) {
    incoming.boot = &boot;
    incoming.image = image;
    for (usize i = 0; i < boot.module_count; ++i) {
        StreamModuleLine line;
        auto tagged = parse_stream_module_line(boot.module_command_line(i), &line);
        if (!tagged.ok()) {
            return tagged.error().prefix("module {}: ", i);
        }
        if (!tagged.value()) {
            continue;
        }
        if (incoming.module >= 0) {
            return make_error(ErrorCode::kInvalidArgument,
                              "modules {} and {} are both state streams", incoming.module, i);
        }
        incoming.module = static_cast<int>(i);
        incoming.line = line;
    }
    if (incoming.module < 0) {
        return false;
    }
    incoming.verify_start = x86::rdtsc();
    const BootModule& module = boot.modules[incoming.module];
    log_info("live-update: {} stream of {} bytes at {} from the previous build", kind_name(),
             module.range.size(), module.range.base());
    if (incoming.line.kind == stream::StreamKind::kRestore && incoming.line.reason[0] != '\0') {
        log_error("live-update: ROLLED BACK: {}", static_cast<const char*>(incoming.line.reason));
    }
    if (!options.handover_fixed) {
        // Only the producer knows where the handover region is; without it a rollback
        // or the next update could overwrite what this one preserves.
        roll_back("the command line does not fix the handover region (handover=SIZE@ADDRESS)");
    }
    incoming.handover = HostPhysRange::unchecked(options.handover_base, options.handover_size);
    if (incoming.line.kind == stream::StreamKind::kLiveUpdate) {
        incoming.fault = options.test_update_fault;
    }

    // Scratch for the verifier's overlap checks: usable memory that is neither preserved
    // (the memory map says which) nor the image, the modules or the handover region.
    // Each extent or preserved range takes at least 24 bytes of payload.
    usize entries = static_cast<usize>(module.range.size() / 24) + 16;
    u64 work_bytes = align_up_unchecked(stream::verify_work_bytes(entries, 0), kPageSize4K);
    HostPhysRange avoid[2] = {incoming.handover, image};
    auto scratch = find_early_scratch(boot, work_bytes, avoid, 2);
    if (!scratch.ok()) {
        roll_back_with("no scratch memory to verify the stream in: {}", scratch.error().message());
    }
    if (!module.range.base().is_aligned(8)) {
        roll_back("the stream module is not 8-byte aligned");
    }
    stream::VerifyOptions verify =
        verify_options(phys_to_virt<void>(scratch->base()), scratch->size());
    // No domain may be given this hypervisor's own memory (issue 7): the verifier refuses
    // guest RAM in the image, the handover region (both halves: the previous image and
    // this build's workspace) or the stream, and names which.
    verify.add_hypervisor_range(image.base().raw(), image.size(), "this build's image");
    verify.add_hypervisor_range(incoming.handover.base().raw(), incoming.handover.size(),
                                "the handover region");
    verify.add_hypervisor_range(module.range.base().raw(), module.range.size(), "the state stream");
    if (incoming.fault == UpdateFault::kTargetHeader) {
        // The header as this build would see it with its magic damaged: the real check
        // refuses it (the stream itself stays intact for the rollback).
        u8 header[stream::kStreamHeaderSize];
        std::memcpy(header, phys_to_virt<const void>(module.range.base()), sizeof(header));
        header[0] ^= 0xFF;
        auto decoded = stream::decode_stream_header(header, sizeof(header));
        roll_back_with("injected failure (test_fail_update=target-header): {}",
                       decoded.ok() ? "the damaged header decoded" : decoded.error().message());
    }
    if (incoming.fault == UpdateFault::kTargetVerify) {
        log_warning(
            "live-update: injected failure (test_fail_update=target-verify): the "
            "verifier allows no domain");
        verify.limits.max_domains = 0;  // the real verifier refuses every domain
    }
    auto verified = stream::verify_stream(phys_to_virt<const void>(module.range.base()),
                                          module.range.size(), verify);
    if (!verified.ok()) {
        roll_back(verified.error().message());
    }
    verified_stream.construct(verified.value());
    stream::StreamReader reader(verified_stream.get());
    if (reader.header().kind != incoming.line.kind &&
        !(incoming.line.kind == stream::StreamKind::kRestore &&
          reader.header().kind == stream::StreamKind::kLiveUpdate)) {
        roll_back_with("the module says kind={} but the stream is {}", kind_name(),
                       stream::stream_kind_name(reader.header().kind));
    }
    const fbs::HandoverRegion* region = reader.host_state().handover();
    if (region == nullptr || region->base() != incoming.handover.base().raw() ||
        region->size() != incoming.handover.size()) {
        roll_back_with("the stream's handover region differs from the command line's {:#x}@{}",
                       incoming.handover.size(), incoming.handover.base());
    }
    Status preserved = check_extents_preserved(reader);
    if (!preserved.ok()) {
        roll_back(preserved.error().message());
    }
    incoming.verified = true;
    incoming.verify_end = x86::rdtsc();
    char id[20];
    format_to_buffer(
        id, sizeof(id), "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        reader.header().producer_build.bytes[0], reader.header().producer_build.bytes[1],
        reader.header().producer_build.bytes[2], reader.header().producer_build.bytes[3],
        reader.header().producer_build.bytes[4], reader.header().producer_build.bytes[5],
        reader.header().producer_build.bytes[6], reader.header().producer_build.bytes[7]);
    log_info("live-update: stream verified: schema {}.{}, producer {} ({}), {} domains",
             reader.header().schema_major, reader.header().schema_minor,
             view(reader.producer().version()), id, reader.domains().size());
    return true;
}

int incoming_module() {
    return incoming.module;
}

void incoming_claim_memory() {
    stream::StreamReader reader(verified_stream.get());
    for (const fbs::Domain* domain : reader.domains()) {
        if (domain->lifecycle() == fbs::DomainLifecycle::Configured ||
            domain->memory() == nullptr) {
            continue;
        }
        for (const fbs::MemoryExtent* extent : *domain->memory()) {
            if ((extent->attributes() & fbs::ExtentAttributes::Mmio) ==
                fbs::ExtentAttributes::Mmio) {
                continue;  // an assigned device's BAR, not memory
            }
            auto range =
                HostPhysRange::unchecked(HostPhysAddr(extent->host_phys()), extent->size());
            Status claimed = claim_frames(range);
            if (!claimed.ok()) {
                roll_back_with("domain {}: guest memory {}: {}", domain->domid(), range.base(),
                               claimed.error().message());
            }
        }
    }
    Status tables = iommu_host::claim_table_frames(reader.host_state().iommu());
    if (!tables.ok()) {
        roll_back_with("{}", tables.error().message());
    }
    // The previous image stays intact until a vCPU has run here (a rollback needs it).
    if (incoming.line.previous_size != 0) {
        u64 base = align_down(incoming.line.previous_base.raw(), kPageSize4K);
        u64 end = align_up_unchecked(
            incoming.line.previous_base.raw() + incoming.line.previous_size, kPageSize4K);
        auto range = HostPhysRange::unchecked(HostPhysAddr(base), end - base);
        if (!range.overlaps(incoming.handover) && !range.overlaps(incoming.image)) {
            Status claimed = claim_frames(range);
            if (!claimed.ok()) {
                roll_back_with("the previous image at {}: {}", range.base(),
                               claimed.error().message());
            }
            incoming.previous_image_claim = range;
        }
    }
}

void incoming_adopt_iommu() {
    stream::StreamReader reader(verified_stream.get());
    Status adopted = iommu_host::adopt(reader.host_state().iommu());
    if (!adopted.ok()) {
        roll_back_with("{}", adopted.error().message());
    }
}

u64 incoming_tsc_hz() {
    stream::StreamReader reader(verified_stream.get());
    return reader.host_state().host_tsc_frequency_khz() * 1000;
}

u32 incoming_apic_ticks_per_ms() {
    return incoming.line.apic_ticks_per_ms;
}

void set_apic_ticks_per_ms(u32 ticks) {
    own_apic_ticks_per_ms = ticks;
}
u32 apic_ticks_per_ms() {
    return own_apic_ticks_per_ms;
}

ParkFunction incoming_park_request() {
    return park_request.load(std::memory_order_acquire);
}

u32 incoming_restore() {
    incoming.others_started = true;
    incoming.restore_start = x86::rdtsc();
    stream::StreamReader reader(verified_stream.get());
    u32 count = 0;
    for (const fbs::Domain* state : reader.domains()) {
        if (count == 1 && incoming.fault == UpdateFault::kTargetRestore) {
            roll_back_with(
                "injected failure (test_fail_update=target-restore): domain {} ({}) not restored",
                state->domid(), view(state->name()));
        }
        auto domain = build_domain(reader, *state);
        if (!domain.ok()) {
            roll_back_with("domain {} ({}): {}", state->domid(), view(state->name()),
                           domain.error().message());
        }
        ++count;
    }
    const char* injected = "";
    if (incoming.fault == UpdateFault::kTargetAdopt) {
        iommu_host::test_forget_adoptions();
        injected = "injected failure (test_fail_update=target-adopt): ";
    }
    if (Status adopted = iommu_host::finish_adoption(); !adopted.ok()) {
        roll_back_with("{}{}", injected, adopted.error().message());
    }
    // The initiator's live_update hypercall returns 0 here, or RELAY_EROLLEDBACK in the
    // build that took the stream back.
    if (incoming.line.has_initiator) {
        Domain* initiator = domain_find(incoming.line.initiator_domid);
        Vcpu* vcpu = nullptr;
        for (u32 i = 0; initiator != nullptr && i < initiator->vcpu_count; ++i) {
            if (initiator->vcpus[i]->id == incoming.line.initiator_vcpu) {
                vcpu = initiator->vcpus[i];
            }
        }
        if (vcpu == nullptr) {
            roll_back_with("the initiator, domain {} vCPU {}, is not in the stream",
                           incoming.line.initiator_domid, incoming.line.initiator_vcpu);
        }
        vcpu->vmcb->rax = incoming.line.kind == stream::StreamKind::kRestore
                              ? static_cast<u64>(RELAY_EROLLEDBACK)
                              : 0;
    }
    // The history so far; this update's record is added when the first vCPU runs.
    UpdateHistory& history = update_history();
    history.clear();
    for (const fbs::UpdateRecord* record : reader.update_history()) {
        UpdateRecordEntry& entry = history.append();
        entry.sequence = record->sequence();
        if (record->source_build() != nullptr) {
            std::memcpy(entry.source_build.bytes, record->source_build()->bytes()->data(), 32);
        }
        if (record->target_build() != nullptr) {
            std::memcpy(entry.target_build.bytes, record->target_build()->bytes()->data(), 32);
        }
        copy_string(view(record->source_version()), entry.source_version,
                    sizeof(entry.source_version));
        copy_string(view(record->target_version()), entry.target_version,
                    sizeof(entry.target_version));
        entry.started_at_unix_ns = record->started_at_unix_ns();
        entry.blackout_ns = record->blackout_ns();
        entry.rolled_back = record->outcome() == fbs::UpdateOutcome::RolledBack;
        if (record->phases() != nullptr) {
            for (const fbs::UpdatePhase* phase : *record->phases()) {
                if (entry.phase_count == UpdateRecordEntry::kMaxPhases ||
                    phase->name() == nullptr) {
                    break;
                }
                // The names live in the stream module, which this build keeps.
                entry.phases[entry.phase_count++] =
                    UpdatePhaseTime{phase->name()->c_str(), phase->duration_ns()};
            }
        }
    }
    // Resume as they were: lifecycles as recorded (a paused domain keeps its pause).
    for (const fbs::Domain* state : reader.domains()) {
        Domain* domain = domain_find(state->domid());
        if (state->lifecycle() == fbs::DomainLifecycle::Configured) {
            Status started = domain_start(*domain);
            if (!started.ok()) {
                log_error("domain {}: {}", domain->domid, started.error().message());
            }
            continue;
        }
        domain_resume_restored(*domain, static_cast<DomainLifecycle>(state->lifecycle()));
    }
    if (incoming.fault == UpdateFault::kResume) {
        roll_back(
            "injected failure (test_fail_update=resume): every domain restored, none resumed");
    }
    // No rollback from here on: the IOMMU units can follow this build's rules.
    iommu_host::commit_adoption();
    incoming.restore_end = x86::rdtsc();
    scheduler_set_first_entry_hook(incoming_first_entry);
    return count;
}

void incoming_first_entry(u64 tsc) {
    const StreamModuleLine& line = incoming.line;
    stream::StreamReader reader(verified_stream.get());
    if (!incoming.previous_image_claim.empty()) {
        Status released = release_frames(incoming.previous_image_claim);
        if (!released.ok()) {
            log_warning("live-update: the previous image's memory: {}", released.error().message());
        }
    }
    u64 hz = x86::tsc_hz();
    auto ns = [hz](u64 from, u64 to) -> u64 {
        if (hz == 0 || to < from) {
            return 0;
        }
        u64 ticks = to - from;
        return ticks / hz * 1'000'000'000 + (ticks % hz) * 1'000'000'000 / hz;
    };
    const BootState& state = boot_state();
    u64 blackout = ns(line.paused_tsc, tsc);
    UpdateRecordEntry& entry = update_history().append();
    entry.sequence = update_history().size() > 1
                         ? update_history()[update_history().size() - 2].sequence + 1
                         : 1;
    std::memcpy(entry.source_build.bytes, reader.header().producer_build.bytes,
                sizeof(entry.source_build.bytes));
    const BuildId& own = build_id();
    std::memcpy(entry.target_build.bytes, own.bytes, own.length);
    copy_string(view(reader.producer().version()), entry.source_version,
                sizeof(entry.source_version));
    copy_string(std::string_view(kBuildVariant.version), entry.target_version,
                sizeof(entry.target_version));
    u64 now = unix_time_ns();
    u64 since_quiesce = ns(line.quiesce_tsc != 0 ? line.quiesce_tsc : line.paused_tsc, tsc);
    entry.started_at_unix_ns = now > since_quiesce ? now - since_quiesce : 0;
    entry.blackout_ns = blackout;
    entry.rolled_back = line.kind == stream::StreamKind::kRestore;
    // Where the blackout went (docs/live-update.md, "Blackout"). The producer's phases
    // come from the module line; ours from this boot.
    u64 boot_before_verify = ns(state.boot_tsc, incoming.verify_start);
    u64 boot_after_verify = ns(incoming.verify_end, incoming.restore_start);
    const UpdatePhaseTime phases[] = {
        {"quiesce", ns(line.quiesce_tsc, line.paused_tsc)},
        {"serialize", ns(line.paused_tsc, line.serialized_tsc)},
        {"handover", ns(line.serialized_tsc, line.handover_tsc)},
        {"kexec", ns(line.handover_tsc, state.boot_tsc)},
        {"target boot", boot_before_verify + boot_after_verify},
        {"verify", ns(incoming.verify_start, incoming.verify_end)},
        {"restore", ns(incoming.restore_start, incoming.restore_end)},
        {"resume", ns(incoming.restore_end, tsc)},
    };
    static_assert(sizeof(phases) / sizeof(phases[0]) <= UpdateRecordEntry::kMaxPhases);
    for (const UpdatePhaseTime& phase : phases) {
        entry.phases[entry.phase_count++] = phase;
    }
    if (entry.rolled_back) {
        log_warning("live-update: rolled back; blackout {} us; every domain resumed in {}",
                    blackout / 1000, kBuildVariant.version);
    } else {
        log_info(
            "live-update: blackout {} us (quiesce {}, serialize {}, handover {}, kexec {}, target "
            "boot {}, "
            "verify {}, restore {}, resume {} us)",
            blackout / 1000, phases[0].nanoseconds / 1000, phases[1].nanoseconds / 1000,
            phases[2].nanoseconds / 1000, phases[3].nanoseconds / 1000,
            phases[4].nanoseconds / 1000, phases[5].nanoseconds / 1000,
            phases[6].nanoseconds / 1000, phases[7].nanoseconds / 1000);
        log_info("live-update: update {} from {} to {} complete", entry.sequence,
                 entry.source_version, entry.target_version);
    }
}

}  // namespace relay::liveupdate
