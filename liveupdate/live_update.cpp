#include "liveupdate/live_update.hpp"

#include <cstring>

#include "hv/abi/hypercall.h"
#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/boot_state.hpp"
#include "hv/build_info.hpp"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/domain_control.hpp"
#include "hv/extended_state.hpp"
#include "hv/hypercall.hpp"
#include "hv/iommu_host.hpp"
#include "hv/lib/spinlock.hpp"
#include "hv/memory/address_space.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/memory/temporary_frames.hpp"
#include "hv/percpu.hpp"
#include "hv/scheduler.hpp"
#include "kexec/image_checksum.hpp"
#include "kexec/multiboot2_writer.hpp"
#include "kexec/purgatory.hpp"
#include "kexec/target_image.hpp"
#include "lib/strings.hpp"
#include "liveupdate/cpu_parking.hpp"
#include "liveupdate/handover.hpp"
#include "liveupdate/state_writer.hpp"
#include "liveupdate/target_boot.hpp"
#include "migration_stream/compatibility.hpp"
#include "migration_stream/features.hpp"
#include "migration_stream/stream_verifier.hpp"

extern "C" char __image_start[], __data_start[], relay_entry32[];

namespace relay {
extern u8 pristine_data[];
}

namespace relay::liveupdate {

namespace {

struct StagedImage {
    bool present = false;
    kexec::TargetImage image;
    int half = 0;
    HostPhysAddr base;
    u32 checksum = 0;  // of the laid-out image, rechecked by purgatory (kexec/image_checksum.hpp)
    u64 checked_length = 0;
};

// Test only (docs/reliability.md): the phase of this build's side of an update that fails.
UpdateFault injected() {
    return boot_state().options->test_update_fault;
}

StagedImage staged;
Spinlock update_lock;  // one stage, update or export at a time

// For the CPUs leaving with the handover (park_for_handover).
HostPhysAddr handover_purgatory_page;
u64 handover_cr3 = 0;
CpuParking parking;

HandoverLayout layout() {
    const BootState& state = boot_state();
    return HandoverLayout(state.handover, state.image);
}

// Releases the update lock when a hypercall returns.
class UpdateLockGuard {
public:
    bool acquire() { return held_ = update_lock.try_lock(); }
    ~UpdateLockGuard() {
        if (held_) {
            update_lock.unlock();
        }
    }

private:
    bool held_ = false;
};

u64 image_entry_offset() {
    return static_cast<u64>(relay_entry32 - __image_start);
}

// The features the stream we are about to write will require (the writer derives the
// same from the content; hv/domain_builder.cpp uses 2 MiB pages, every vCPU has an
// XSAVE area).
u64 prospective_required_features() {
    u64 features = stream::feature_mask(stream::Feature::kXsaveState);
    domain_for_each([&](const Domain& domain) {
        for (usize i = 0; i < domain.extent_count; ++i) {
            if (domain.extents[i].page_size_log2 > 12) {
                features |= stream::feature_mask(stream::Feature::kLargePages);
            }
        }
        if (domain.assigned_count > 0) {
            features |= stream::feature_mask(stream::Feature::kDeviceAssignment);
        }
    });
    if (iommu_host::available()) {
        features |= stream::feature_mask(stream::Feature::kIommuState);
    }
    return features;
}

StateWriterInputs writer_inputs(stream::StreamKind kind) {
    const BootState& state = boot_state();
    StateWriterInputs inputs;
    inputs.kind = kind;
    inputs.boot = state.boot;
    inputs.skip_module_mask =
        state.incoming_stream_module >= 0 ? 1ull << state.incoming_stream_module : 0;
    inputs.handover = state.handover;
    HandoverLayout l = layout();
    inputs.producer_half = static_cast<u8>(l.target_half() == 0 ? 1 : 0);
    inputs.tsc_khz = state.tsc_hz / 1000;
    return inputs;
}

// Every domain stops (the hypervisor's own pause; the calling vCPU is inside the
// hypervisor and counts as stopped).
void pause_all(Vcpu& caller) {
    domain_for_each([&](Domain& domain) { domain_system_pause(domain, &caller); });
}

void unpause_all() {
    domain_for_each([&](Domain& domain) { domain_system_unpause(domain); });
}

// The caller's state is complete in memory: its extended state lives in the CPU's
// registers while it runs, DR0-DR3 likewise.
void capture_caller(Vcpu& caller) {
    extended_state_save(caller);
    asm volatile("mov %%dr0, %0; mov %%dr1, %1; mov %%dr2, %2; mov %%dr3, %3"
                 : "=r"(caller.debug_address[0]), "=r"(caller.debug_address[1]),
                   "=r"(caller.debug_address[2]), "=r"(caller.debug_address[3]));
}

// The caller keeps running in this build (export, failed update): put its extended
// state back in the registers.
void release_caller(Vcpu& caller) {
    extended_state_switch_to(caller);
}

// The hypervisor's own command line for the next build: as we got it, with the handover
// region fixed where it is.
usize next_command_line(char* buffer, usize capacity) {
    const BootState& state = boot_state();
    FormatBuffer out(buffer, capacity);
    std::string_view line = state.boot->command_line();
    usize position = 0;
    std::string_view word;
    while (next_word(line, &position, &word)) {
        if (!(word.size() >= 9 && prefix_of(word, 9) == "handover=")) {
            format(out, "{} ", word);
        }
    }
    format(out, "handover={:#x}@{:#x}", state.handover.size(), state.handover.base().raw());
    return out.length();
}

// How many ranges fit from `next` on in the first half of the workspace (the second
// half holds the memory map built from them).
usize workspace_room(HostPhysRange workspace, const HostPhysRange* next) {
    u64 used = reinterpret_cast<const u8*>(next) - phys_to_virt<u8>(workspace.base());
    // Keep half of the workspace for the memory map built after the ranges.
    return used >= workspace.size() / 2 ? 0 : (workspace.size() / 2 - used) / sizeof(HostPhysRange);
}

// Multiboot2 information for the build that boots next, in `area`: the next build
// (`line` kind=live-update, loaded at `load_base` in its half), or, should purgatory find
// the staged image changed, this image again (kind=restore). The memory map arrays are
// built in the target's workspace, which is free until the jump.
Result<usize> write_boot_info(HostPhysRange area, std::string_view loader,
                              const TemporaryFrames& stream, usize stream_size,
                              const StreamModuleLine& line, HostPhysAddr load_base) {
    const BootState& state = boot_state();
    const BootInfo& boot = *state.boot;
    HandoverLayout l = layout();
    kexec::Multiboot2Writer writer(phys_to_virt<void>(area.base()), area.size());

    char command_line[BootInfo::kMaxStringLength];
    usize length = next_command_line(command_line, sizeof(command_line));
    RELAY_TRY(writer.add_command_line(std::string_view(command_line, length)));
    RELAY_TRY(writer.add_bootloader_name(loader));

    // Memory map: the firmware's (preserved entries from an earlier update are usable
    // memory again), with what this update preserves marked.
    HostPhysRange workspace = l.workspace(staged.half, staged.image.load_size);
    auto* firmware = phys_to_virt<kexec::Multiboot2MemoryEntry>(workspace.base());
    usize firmware_count = boot.memory_region_count;
    for (usize i = 0; i < firmware_count; ++i) {
        const MemoryRegion& region = boot.memory_map[i];
        u32 type = region.type == MemoryType::kPreserved ? kexec::kMemoryUsable
                                                         : static_cast<u32>(region.type);
        firmware[i] = kexec::Multiboot2MemoryEntry{region.base.raw(), region.size, type};
    }
    auto* preserved = reinterpret_cast<HostPhysRange*>(firmware + firmware_count);
    usize preserved_count = 0;
    domain_for_each([&](const Domain& domain) {
        for (usize i = 0; i < domain.extent_count; ++i) {
            if (!domain.extents[i].is_mmio()) {  // an assigned device's BAR is not memory
                preserved[preserved_count++] =
                    HostPhysRange::unchecked(domain.extents[i].host, domain.extents[i].size);
            }
        }
    });
    for (usize i = 0; i < boot.module_count; ++i) {
        if (static_cast<int>(i) != state.incoming_stream_module) {
            preserved[preserved_count++] = boot.modules[i].range;
        }
    }
    for (usize u = 0; u < iommu_host::unit_count(); ++u) {
        usize room = workspace_room(workspace, preserved + preserved_count);
        usize frames = iommu_host::table_frames(u, preserved + preserved_count, room);
        if (frames > room) {
            return make_error(ErrorCode::kOutOfRange,
                              "IOMMU unit {}: {} table frame ranges do not fit the boot "
                              "information workspace",
                              u, frames);
        }
        preserved_count += frames;
    }
    preserved[preserved_count++] = HostPhysRange::unchecked(stream.base(), stream.size());
    preserved[preserved_count++] = state.image;
    auto* map = reinterpret_cast<kexec::Multiboot2MemoryEntry*>(preserved + preserved_count);
    u64 used = reinterpret_cast<u8*>(map) - phys_to_virt<u8>(workspace.base());
    usize capacity = (workspace.size() - used) / sizeof(kexec::Multiboot2MemoryEntry);
    if (capacity > BootInfo::kMaxMemoryRegions) {
        capacity = BootInfo::kMaxMemoryRegions;  // what the next build's parser accepts
    }
    RELAY_TRY_ASSIGN(map_count, kexec::mark_preserved(firmware, firmware_count, preserved,
                                                      preserved_count, map, capacity));
    RELAY_TRY(writer.add_memory_map(map, map_count));

    for (usize i = 0; i < boot.module_count; ++i) {
        if (static_cast<int>(i) != state.incoming_stream_module) {
            RELAY_TRY(writer.add_module(boot.modules[i].range.base(), boot.modules[i].range.size(),
                                        boot.module_command_line(i)));
        }
    }
    char stream_line[kStreamModuleLineCapacity];
    usize stream_line_length = format_stream_module_line(line, stream_line, sizeof(stream_line));
    RELAY_TRY(writer.add_module(stream.base(), stream_size,
                                std::string_view(stream_line, stream_line_length)));
    if (state.rsdp_length == 20 || state.rsdp_length == 36) {
        RELAY_TRY(writer.add_acpi_rsdp(state.rsdp, state.rsdp_length));
    }
    RELAY_TRY(writer.add_load_base(load_base));
    return writer.finish();
}

// Every other CPU leaves this way: timer off, then a halt with paging off in the
// purgatory page, where INIT from the next build finds it.
void park_for_handover() {
    x86::interrupts_disable();
    x86::local_apic_timer_stop();
    parking.enter_or_halt();
    kexec::purgatory_park(handover_purgatory_page, handover_cr3);
}

}  // namespace

i64 stage(Vcpu& caller, u64 buffer, u64 size) {
    UpdateLockGuard lock;
    if (!lock.acquire()) {
        return RELAY_EBUSY;
    }
    HandoverLayout l = layout();
    int half = l.target_half();
    HostPhysRange target = l.half(half);
    u64 file_space = l.half_size() - kTailSize;
    if (size == 0 || size > file_space) {
        log_warning("live-update: image of {} bytes does not fit the {} KiB staging area", size,
                    file_space / KiB);
        return RELAY_ERANGE;
    }
    // The file goes to the top of the half (below the tail); the image is laid out from
    // the base. They may not overlap.
    u64 file_offset = align_down(file_space - size, kPageSize4K);
    u8* half_bytes = phys_to_virt<u8>(target.base());
    if (!caller.domain->copy_from_guest(half_bytes + file_offset, GuestPhysAddr(buffer), size)
             .ok()) {
        return RELAY_EFAULT;
    }
    staged.present = false;
    auto image = kexec::inspect_target_image(half_bytes + file_offset, size, l.image_capacity());
    Status usable = image.ok() ? ok_status() : Status(image.error());
    if (usable.ok() && injected() == UpdateFault::kStaging) {
        usable = make_error(ErrorCode::kCorrupt, "injected failure (test_fail_update=staging)");
    }
    if (!usable.ok()) {
        log_warning("live-update: image refused: {}", usable.error().message());
        return usable.error().code() == ErrorCode::kOutOfRange ? RELAY_ERANGE : RELAY_EINVAL;
    }
    if (image->load_size > file_offset) {
        log_warning(
            "live-update: image ({} KiB loaded) and its file ({} KiB) do not both fit the half",
            image->load_size / KiB, size / KiB);
        return RELAY_ERANGE;
    }
    kexec::stage_target_image(image.value(), half_bytes + file_offset, half_bytes);
    staged.checked_length = align_down(image->load_size, 4);
    staged.checksum = kexec::image_checksum(half_bytes, staged.checked_length);
    staged.image = image.value();
    staged.half = half;
    staged.base = target.base();
    staged.present = true;
    char id[20] = {};
    for (u32 i = 0; i < 8 && i < staged.image.build_id_length; ++i) {
        format_to_buffer(id + 2 * i, 3, "{:02x}", staged.image.build_id.bytes[i]);
    }
    const stream::CompatibilityNote& note = staged.image.compatibility;
    log_info(
        "live-update: staged build {} from domain {}: {} KiB at {}, entry {:#x}, reads schema "
        "{}-{}.{}",
        id, caller.domain->domid, staged.image.load_size / KiB, target.base(),
        target.base().raw() + staged.image.entry_offset, note.schema_major_min,
        note.schema_major_max, note.schema_minor);
    return 0;
}

i64 unstage(Vcpu&) {
    UpdateLockGuard lock;
    if (!lock.acquire()) {
        return RELAY_EBUSY;
    }
    if (!staged.present) {
        return RELAY_ESTATE;
    }
    staged.present = false;
    log_info("live-update: staged image unloaded");
    return 0;
}

i64 live_update(Vcpu& caller) {
    UpdateLockGuard lock;
    if (!lock.acquire()) {
        return RELAY_EBUSY;
    }
    if (!staged.present) {
        log_warning("live-update: nothing staged");
        return RELAY_ESTATE;
    }
    const BootState& state = boot_state();

    // Pre-flight (DESIGN.md step 2): everything still runs. The target reads at most its
    // own schema minor: write that one when it is older than ours (a downgrade).
    const stream::CompatibilityNote& note = staged.image.compatibility;
    StateWriterInputs inputs = writer_inputs(stream::StreamKind::kLiveUpdate);
    if (note.schema_major_max == stream::kSchemaMajor && note.schema_minor < stream::kSchemaMinor) {
        inputs.schema_minor = note.schema_minor;
    }
    stream::StreamHeader header;
    header.kind = stream::StreamKind::kLiveUpdate;
    header.schema_minor = inputs.schema_minor != 0 ? inputs.schema_minor : stream::kSchemaMinor;
    header.required_features = prospective_required_features();
    Status compatible = stream::check_compatibility(note, header);
    if (compatible.ok() && injected() == UpdateFault::kPreflight) {
        compatible =
            make_error(ErrorCode::kUnsupported, "injected failure (test_fail_update=pre-flight)");
    }
    if (!compatible.ok()) {
        log_error(
            "live-update: refused before pausing anything: the staged build cannot read this "
            "build's stream: {}",
            compatible.error().message());
        return RELAY_EINCOMPATIBLE;
    }
    // The IOMMU tables as a target will check them: one it would refuse, the rollback
    // would refuse too (docs/iommu.md).
    if (Status tables = iommu_host::check_domains(); !tables.ok()) {
        log_error("live-update: refused before pausing anything: {}", tables.error().message());
        return tables.error().code() == ErrorCode::kOutOfMemory ? RELAY_ENOMEM : RELAY_EINVAL;
    }
    if (usize ranges = iommu_host::table_frame_bound();
        ranges > iommu_host::kMaxPreservedFrameRanges) {
        log_error(
            "live-update: refused before pausing anything: the IOMMU tables lie in {} "
            "frame ranges, a target claims at most {}",
            ranges, iommu_host::kMaxPreservedFrameRanges);
        return RELAY_EINVAL;
    }

    // Buffers come first: nothing may fail for lack of memory once guests are paused.
    TemporaryFrames stream_buffer;
    TemporaryFrames scratch;
    inputs.stream_buffer = HostPhysRange::unchecked(HostPhysAddr(0), 0);
    usize bound = state_stream_bound(inputs);
    // Below 4 GiB: multiboot2 module addresses are 32 bits.
    FrameAllocator::Window below_4g;
    below_4g.limit = HostPhysAddr(4 * GiB);
    Status allocated = stream_buffer.allocate(bound, below_4g);
    if (allocated.ok()) {
        allocated = scratch.allocate(bound);
    }
    if (!allocated.ok()) {
        log_error("live-update: {}", allocated.error().message());
        return RELAY_ENOMEM;
    }
    inputs.stream_buffer = HostPhysRange::unchecked(stream_buffer.base(), stream_buffer.size());
    inputs.previous_image = state.image;
    HandoverLayout l = layout();
    HostPhysAddr purgatory_page = l.purgatory_page(staged.half);
    auto purgatory_space = hypervisor_address_space().create_trampoline_space(purgatory_page);
    if (!purgatory_space.ok()) {
        log_error("live-update: {}", purgatory_space.error().message());
        return RELAY_ENOMEM;
    }
    log_info("live-update: quiescing {} domains on {} CPUs", domain_count(), cpus_online());

    // Quiesce (step 3): every vCPU stops at an instruction boundary; the caller sits in
    // this hypercall, which will have returned 0 when it resumes in the new build.
    u64 quiesce_start = x86::rdtsc();
    pause_all(caller);
    bool held = scheduler_hold_other_cpus(1'000'000);
    if (held && injected() == UpdateFault::kQuiesce) {
        log_error("live-update: injected failure (test_fail_update=quiesce)");
        scheduler_release_other_cpus();
        held = false;
    }
    if (!held) {
        unpause_all();
        hypervisor_address_space().destroy_trampoline_space(purgatory_space.value(),
                                                            purgatory_page);
        log_error("live-update: CPUs did not stop; update abandoned, every domain runs on");
        return RELAY_EBUSY;
    }
    u64 paused = x86::rdtsc();
    capture_caller(caller);
    caller.vmcb->rax = 0;
    // After the quiesce, a failure resumes everything as it was.
    auto resume_all = [&](const char* what, const Error& error) {
        release_caller(caller);
        scheduler_release_other_cpus();
        unpause_all();
        hypervisor_address_space().destroy_trampoline_space(purgatory_space.value(),
                                                            purgatory_page);
        log_error("live-update: {}: {}; every domain runs on", what, error.message());
        return static_cast<i64>(RELAY_EINVAL);
    };

    // Serialize (step 4).
    auto size = write_state(inputs, scratch.data(), scratch.size(), stream_buffer.data(),
                            stream_buffer.size());
    if (!size.ok()) {
        return resume_all("serializing failed", size.error());
    }
    // A stream every reader would refuse cannot be handed back after a rollback either:
    // find out here, while every domain can still run on.
    stream::VerifyOptions self_check;
    self_check.work_memory = scratch.data();
    self_check.work_memory_size = scratch.size();
    auto checked = stream::verify_stream(stream_buffer.data(), size.value(), self_check);
    if (!checked.ok()) {
        return resume_all("the stream fails its own verification", checked.error());
    }
    if (injected() == UpdateFault::kSerialize) {
        return resume_all(
            "serializing failed",
            Error(ErrorCode::kOutOfMemory, "injected failure (test_fail_update=serialize)"));
    }
    u64 serialized = x86::rdtsc();
    StreamModuleLine line;
    line.kind = stream::StreamKind::kLiveUpdate;
    line.quiesce_tsc = quiesce_start;
    line.paused_tsc = paused;
    line.serialized_tsc = serialized;
    line.apic_ticks_per_ms = apic_ticks_per_ms();
    line.has_initiator = true;
    line.initiator_domid = caller.domain->domid;
    line.initiator_vcpu = caller.id;
    line.previous_base = state.image.base();
    line.previous_entry_offset = image_entry_offset();
    line.previous_size = state.image.size();
    line.handover_tsc = x86::rdtsc();
    auto info = write_boot_info(l.info_area(staged.half), "Relay live update", stream_buffer,
                                size.value(), line, staged.base);
    // Should purgatory find the staged image changed, it enters this image again, which
    // takes the stream back as a rollback.
    StreamModuleLine back = line;
    back.kind = stream::StreamKind::kRestore;
    back.previous_size = 0;
    copy_string(
        "purgatory: the staged image changed after it was staged (checksum mismatch); "
        "it was not entered",
        back.reason, sizeof(back.reason));
    auto fallback = info.ok()
                        ? write_boot_info(l.fallback_info_area(staged.half), "Relay rollback",
                                          stream_buffer, size.value(), back, state.image.base())
                        : info;
    if (!info.ok() || !fallback.ok()) {
        return resume_all("handover information", info.ok() ? fallback.error() : info.error());
    }

    // Hand over (step 5). From here on there is no way back into this build: the stream,
    // the guests' memory and this image (restored to pristine by purgatory) stay where
    // they are for the target, or for this image again on a rollback.
    kexec::PurgatoryJump jump;
    jump.entry = staged.base + staged.image.entry_offset;
    jump.info = l.info_area(staged.half).base();
    jump.copy_from = image_virt_to_phys(pristine_data);
    jump.copy_to = image_virt_to_phys(__data_start);
    jump.copy_length = static_cast<u32>(state.pristine_data_length);
    jump.check_base = staged.base;
    jump.check_length = static_cast<u32>(staged.checked_length);
    jump.check_expected = staged.checksum;
    jump.fallback_entry = state.image.base() + image_entry_offset();
    jump.fallback_info = l.fallback_info_area(staged.half).base();
    kexec::install_purgatory(purgatory_page, phys_to_virt<void>(purgatory_page), jump);
    if (injected() == UpdateFault::kHandoff) {
        // A stray write into the staged image after it was checked at staging.
        phys_to_virt<u8>(staged.base + staged.image.entry_offset)[0x40] ^= 0x5A;
        log_error("live-update: injected failure (test_fail_update=handoff): staged image changed");
    }
    handover_purgatory_page = purgatory_page;
    handover_cr3 = purgatory_space.value().raw();
    u32 others = cpus_online() - 1;
    parking.open();
    scheduler_send_held_cpus_to(park_for_handover);
    // Bounded: past this point there is no way back, and waiting for ever would lose every
    // guest. A CPU that parks later halts in this image (intact until the target has
    // started its CPUs); the target starts every CPU with INIT-SIPI-SIPI (Intel SDM vol. 3
    // §9.4.4), which restarts a halted one, and any CPU not held with GIF clear.
    if (u32 parked = parking.wait_and_close(others, 1'000'000); parked < others) {
        log_error(
            "live-update: {} of {} other CPUs parked within 1 s; handing over anyway (the "
            "new build resets every CPU it starts)",
            parked, others);
    }
    x86::local_apic_timer_stop();
    // The buffers belong to the next build now.
    stream_buffer.release();
    kexec::purgatory_jump(purgatory_page, handover_cr3);
}

i64 state_export(Vcpu& caller, u64 buffer, u64 capacity) {
    UpdateLockGuard lock;
    if (!lock.acquire()) {
        return RELAY_EBUSY;
    }
    StateWriterInputs inputs = writer_inputs(stream::StreamKind::kExport);
    usize bound = state_stream_bound(inputs);
    if (capacity == 0 && buffer == 0) {
        return static_cast<i64>(bound);
    }
    if (!caller.domain->range_is_ram(GuestPhysAddr(buffer), capacity)) {
        return RELAY_EFAULT;
    }
    TemporaryFrames output;
    TemporaryFrames scratch;
    Status allocated = output.allocate(bound);
    if (allocated.ok()) {
        allocated = scratch.allocate(bound);
    }
    if (!allocated.ok()) {
        return RELAY_ENOMEM;
    }
    pause_all(caller);
    capture_caller(caller);
    auto size = write_state(inputs, scratch.data(), scratch.size(), output.data(), output.size());
    release_caller(caller);
    unpause_all();
    if (!size.ok()) {
        log_error("state export: {}", size.error().message());
        return RELAY_EINVAL;
    }
    if (size.value() > capacity) {
        return RELAY_ERANGE;
    }
    if (!caller.domain->copy_to_guest(GuestPhysAddr(buffer), output.data(), size.value()).ok()) {
        return RELAY_EFAULT;
    }
    log_info("state export: {} bytes to domain {}", size.value(), caller.domain->domid);
    return static_cast<i64>(size.value());
}

}  // namespace relay::liveupdate
