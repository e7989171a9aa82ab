#include "liveupdate/state_writer.hpp"

#include <cstring>

#include "hv/build_info.hpp"
#include "hv/domain.hpp"
#include "hv/iommu_host.hpp"
#include "hv/vcpu.hpp"
#include "hv/virtual_lapic.hpp"
#include "liveupdate/update_history.hpp"
#include "migration_stream/features.hpp"
#include "migration_stream/stream_writer.hpp"
#include "schema/relay_generated.h"

namespace relay::liveupdate {

namespace {

namespace fbs = relay::schema;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

constexpr u64 kEferSvme = 1ull << 12;

usize xsave_bytes(const Vcpu& vcpu) {
    // Standard format: legacy area and header (576 bytes), then AVX (256) when enabled.
    return (vcpu.xcr0 & 0x4) != 0 ? 832 : 576;
}

fbs::Segment segment(const svm::VmcbSegment& s) {
    return fbs::Segment(s.selector, s.attributes, s.limit, s.base);
}

Offset<fbs::LocalApic> write_lapic(FlatBufferBuilder& b, const Vcpu& vcpu) {
    VirtualLocalApic::State state = vcpu.lapic.save(guest_tsc(vcpu));
    fbs::ApicVectorBitmap irr{flatbuffers::span<const u32, 8>(state.irr, 8)};
    fbs::ApicVectorBitmap isr{flatbuffers::span<const u32, 8>(state.isr, 8)};
    fbs::ApicVectorBitmap tmr{flatbuffers::span<const u32, 8>(state.tmr, 8)};
    fbs::LocalApicBuilder lapic(b);
    lapic.add_apic_id(state.apic_id);
    lapic.add_version(0x0006'0014);
    lapic.add_tpr(static_cast<u32>(vcpu.vmcb->virtual_interrupt & 0xF) << 4);
    lapic.add_ldr(((state.apic_id >> 4) << 16) | (1u << (state.apic_id & 0xF)));
    lapic.add_svr(state.svr);
    lapic.add_irr(&irr);
    lapic.add_isr(&isr);
    lapic.add_tmr(&tmr);
    lapic.add_esr(state.esr);
    lapic.add_icr(state.icr);
    lapic.add_lvt_timer(state.lvt_timer);
    lapic.add_lvt_thermal(state.lvt_thermal);
    lapic.add_lvt_performance(state.lvt_performance);
    lapic.add_lvt_lint0(state.lvt_lint0);
    lapic.add_lvt_lint1(state.lvt_lint1);
    lapic.add_lvt_error(state.lvt_error);
    lapic.add_lvt_cmci(state.lvt_cmci);
    u32 mode = (state.lvt_timer >> 17) & 3;
    lapic.add_timer_mode(mode == 2   ? fbs::ApicTimerMode::TscDeadline
                         : mode == 1 ? fbs::ApicTimerMode::Periodic
                                     : fbs::ApicTimerMode::OneShot);
    lapic.add_timer_divide(state.timer_divide);
    lapic.add_timer_initial_count(state.timer_initial_count);
    lapic.add_timer_current_count(state.timer_current_count);
    lapic.add_timer_count_sampled_at_tsc(state.sampled_at);
    lapic.add_tsc_deadline(state.tsc_deadline);
    lapic.add_software_enabled((state.svr & (1u << 8)) != 0);
    return lapic.Finish();
}

Offset<fbs::Vcpu> write_vcpu(FlatBufferBuilder& b, const Vcpu& vcpu) {
    const svm::Vmcb& v = *vcpu.vmcb;
    auto xsave = b.CreateVector(vcpu.xsave_area, xsave_bytes(vcpu));
    auto lapic = write_lapic(b, vcpu);
    fbs::ModelSpecificRegistersBuilder msrs(b);
    msrs.add_star(v.star);
    msrs.add_lstar(v.lstar);
    msrs.add_cstar(v.cstar);
    msrs.add_sfmask(v.sfmask);
    msrs.add_kernel_gs_base(v.kernel_gs_base);
    msrs.add_sysenter_cs(v.sysenter_cs);
    msrs.add_sysenter_esp(v.sysenter_esp);
    msrs.add_sysenter_eip(v.sysenter_eip);
    msrs.add_pat(v.guest_pat);
    msrs.add_tsc_aux(vcpu.tsc_aux);
    msrs.add_apic_base(vcpu.apic_base);
    msrs.add_spec_ctrl(v.spec_ctrl);
    msrs.add_mtrr_def_type(vcpu.mtrr_def_type);
    auto msrs_offset = msrs.Finish();

    const GuestRegisters& r = vcpu.regs;
    fbs::GeneralPurposeRegisters gprs(v.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, v.rsp, r.r8,
                                      r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15);
    fbs::Segment cs = segment(v.cs), ds = segment(v.ds), es = segment(v.es), fs = segment(v.fs),
                 gs = segment(v.gs), ss = segment(v.ss), ldtr = segment(v.ldtr), tr = segment(v.tr);
    fbs::DescriptorTable gdtr(v.gdtr.base, static_cast<u16>(v.gdtr.limit));
    fbs::DescriptorTable idtr(v.idtr.base, static_cast<u16>(v.idtr.limit));
    u64 event = v.event_injection;
    fbs::EventInjection pending((event & svm::event::kValid) != 0,
                                static_cast<fbs::EventType>((event >> 8) & 7),
                                static_cast<u8>(event), (event & svm::event::kErrorCodeValid) != 0,
                                static_cast<u32>(event >> 32));
    u64 vintr = v.virtual_interrupt;
    fbs::VirtualInterrupt virtual_interrupt(
        static_cast<u8>(vintr & 0xF), (vintr & svm::vintr::kIrq) != 0,
        static_cast<u8>((vintr >> svm::vintr::kPriorityShift) & 0xF),
        (vintr & svm::vintr::kIgnoreTpr) != 0, static_cast<u8>(vintr >> svm::vintr::kVectorShift));
    fbs::VcpuBuilder out(b);
    out.add_id(vcpu.id);
    out.add_run_state(static_cast<fbs::VcpuRunState>(vcpu.state()));
    out.add_gprs(&gprs);
    out.add_rip(v.rip);
    out.add_rflags(v.rflags);
    out.add_cs(&cs);
    out.add_ds(&ds);
    out.add_es(&es);
    out.add_fs(&fs);
    out.add_gs(&gs);
    out.add_ss(&ss);
    out.add_ldtr(&ldtr);
    out.add_tr(&tr);
    out.add_gdtr(&gdtr);
    out.add_idtr(&idtr);
    out.add_cpl(v.cpl);
    out.add_cr0(v.cr0);
    out.add_cr2(v.cr2);
    out.add_cr3(v.cr3);
    out.add_cr4(v.cr4);
    out.add_cr8(vintr & 0xF);
    out.add_efer(v.efer & ~kEferSvme);
    out.add_xcr0(vcpu.xcr0);
    out.add_dr0(vcpu.debug_address[0]);
    out.add_dr1(vcpu.debug_address[1]);
    out.add_dr2(vcpu.debug_address[2]);
    out.add_dr3(vcpu.debug_address[3]);
    out.add_dr6(v.dr6);
    out.add_dr7(v.dr7);
    out.add_msrs(msrs_offset);
    out.add_xsave(xsave);
    out.add_pending_event(&pending);
    out.add_interrupt_shadow((v.interrupt_shadow & 1) != 0);
    out.add_nmi_masked(vcpu.nmi_masked);
    out.add_nmi_pending(vcpu.nmi_pending.load(std::memory_order_acquire));
    out.add_virtual_interrupt(&virtual_interrupt);
    out.add_tsc_offset(static_cast<i64>(v.tsc_offset));
    out.add_lapic(lapic);
    return out.Finish();
}

Offset<fbs::ModuleReference> module_reference(FlatBufferBuilder& b, const ModuleReference& module,
                                              const BootInfo& boot) {
    if (!module.present) {
        return 0;
    }
    fbs::ModuleReferenceBuilder reference(b);
    reference.add_mb_index(module.multiboot_index);
    if (module.multiboot_index < boot.module_count) {
        reference.add_size(boot.modules[module.multiboot_index].range.size());
    }
    return reference.Finish();
}

Offset<fbs::Domain> write_domain(FlatBufferBuilder& b, const Domain& domain, const BootInfo& boot) {
    Offset<fbs::Vcpu> vcpus[kMaxVcpusPerDomain];
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        vcpus[i] = write_vcpu(b, *domain.vcpus[i]);
    }
    auto vcpu_vector = b.CreateVector(vcpus, domain.vcpu_count);
    fbs::MemoryExtent* extents = nullptr;
    auto extent_vector =
        b.CreateUninitializedVectorOfStructs<fbs::MemoryExtent>(domain.extent_count, &extents);
    for (usize i = 0; i < domain.extent_count; ++i) {
        const GuestMemoryExtent& e = domain.extents[i];
        extents[i] =
            fbs::MemoryExtent(e.guest.raw(), e.host.raw(), e.size,
                              static_cast<fbs::ExtentAttributes>(e.attributes), e.page_size_log2);
    }
    auto pending = domain.uart.pending_output();
    auto unsent = b.CreateVector(reinterpret_cast<const u8*>(pending.data()), pending.size());
    const Uart16550::Registers& registers = domain.uart.registers();
    fbs::Uart16550Builder uart(b);
    uart.add_io_port_base(domain.uart.base());
    uart.add_divisor_latch(registers.divisor_latch);
    uart.add_interrupt_enable(registers.interrupt_enable);
    uart.add_fifo_control(registers.fifo_control);
    uart.add_line_control(registers.line_control);
    uart.add_modem_control(registers.modem_control);
    uart.add_scratch(registers.scratch);
    auto uart_offset = uart.Finish();
    fbs::ConsoleStateBuilder console(b);
    console.add_uart(uart_offset);
    console.add_unsent_output(unsent);
    auto console_offset = console.Finish();

    auto kernel = module_reference(b, domain.kernel, boot);
    auto ramdisk = module_reference(b, domain.ramdisk, boot);
    auto config = module_reference(b, domain.config_module, boot);
    auto bootargs =
        b.CreateString(domain.bootargs, strnlen(domain.bootargs, sizeof(domain.bootargs)));
    Offset<flatbuffers::Vector<const fbs::PciFunction*>> passthrough;
    if (domain.assigned_count > 0) {
        fbs::PciFunction* functions = nullptr;
        passthrough = b.CreateUninitializedVectorOfStructs<fbs::PciFunction>(domain.assigned_count,
                                                                             &functions);
        for (usize i = 0; i < domain.assigned_count; ++i) {
            const PciFunction& f = domain.assigned[i].function;
            functions[i] = fbs::PciFunction(f.segment, f.bdf());
        }
    }
    fbs::BootConfigBuilder boot_config(b);
    boot_config.add_memory_kib(domain.memory_kib);
    boot_config.add_cpus(domain.configured_cpus);
    if (!kernel.IsNull()) {
        boot_config.add_kernel(kernel);
    }
    if (!ramdisk.IsNull()) {
        boot_config.add_ramdisk(ramdisk);
    }
    if (!config.IsNull()) {
        boot_config.add_config(config);
    }
    boot_config.add_bootargs(bootargs);
    if (!passthrough.IsNull()) {
        boot_config.add_passthrough(passthrough);
    }
    auto boot_offset = boot_config.Finish();
    auto name = b.CreateString(domain.name, strnlen(domain.name, sizeof(domain.name)));
    usize security_length = strnlen(domain.security_id, sizeof(domain.security_id));
    auto security_id = security_length > 0 ? b.CreateString(domain.security_id, security_length)
                                           : Offset<flatbuffers::String>();
    fbs::Uuid uuid{flatbuffers::span<const u8, 16>(domain.uuid, 16)};
    fbs::DomainBuilder out(b);
    out.add_domid(domain.domid);
    out.add_uuid(&uuid);
    out.add_name(name);
    out.add_permissions(static_cast<fbs::DomainPermissions>(domain.permissions));
    out.add_functions(static_cast<fbs::DomainFunctions>(domain.functions));
    out.add_mode(static_cast<fbs::DomainMode>(domain.mode));
    if (!security_id.IsNull()) {
        out.add_security_id(security_id);
    }
    out.add_lifecycle(
        static_cast<fbs::DomainLifecycle>(domain.lifecycle.load(std::memory_order_acquire)));
    out.add_shutdown_reason(static_cast<fbs::ShutdownReason>(domain.shutdown_reason));
    out.add_boot(boot_offset);
    out.add_vcpus(vcpu_vector);
    out.add_memory(extent_vector);
    out.add_console(console_offset);
    out.add_start_info_guest_phys(domain.start_info.raw());
    out.add_tsc_frequency_khz(domain.tsc_khz);
    return out.Finish();
}

// The IOMMU's table frames of one unit at a time (iommu_host::table_frames). Static, as
// the arrays of write_iommu() (22 KiB together, most of a 32 KiB hypervisor stack): one
// stream is written at a time (the update lock serializes live update and export).
constexpr usize kMaxIommuFrameRanges = 512;
HostPhysRange iommu_frames[kMaxIommuFrameRanges];
fbs::HostRange iommu_frame_ranges[kMaxIommuFrameRanges];

// One unit's assignments, in BDF order.
struct IommuAssignment {
    u16 bdf;
    u16 domid;
    u64 root;
    u8 levels;
};
constexpr usize kMaxIommuAssignments = kMaxDomains * kMaxAssignedFunctions;
IommuAssignment iommu_assignments[kMaxIommuAssignments];
flatbuffers::Offset<fbs::IommuDeviceAssignment> iommu_assignment_offsets[kMaxIommuAssignments];

// Preserved ranges: every domain's RAM (merged where contiguous), the boot modules
// (whole pages), the stream buffer and the previous image. Called twice: to count
// (out == nullptr), then to fill exactly that many.
usize collect_preserved(const StateWriterInputs& inputs, fbs::PreservedRange* out) {
    usize count = 0;
    bool have_pending = false;
    fbs::PreservedRange pending;
    auto flush = [&]() {
        if (have_pending) {
            if (out != nullptr) {
                out[count] = pending;
            }
            ++count;
            have_pending = false;
        }
    };
    auto add = [&](u64 base, u64 size, fbs::PreservedRangeKind kind, u16 owner) {
        if (size == 0) {
            return;
        }
        if (have_pending && pending.kind() == kind && pending.owner_domid() == owner &&
            pending.base() + pending.size() == base) {
            pending = fbs::PreservedRange(pending.base(), pending.size() + size, kind, owner);
            return;
        }
        flush();
        pending = fbs::PreservedRange(base, size, kind, owner);
        have_pending = true;
    };
    domain_for_each([&](const Domain& domain) {
        for (usize i = 0; i < domain.extent_count; ++i) {
            if (!domain.extents[i].is_mmio()) {  // an assigned device's BAR is not memory
                add(domain.extents[i].host.raw(), domain.extents[i].size,
                    fbs::PreservedRangeKind::GuestRam, domain.domid);
            }
        }
    });
    const BootInfo& boot = *inputs.boot;
    for (usize i = 0; i < boot.module_count; ++i) {
        if ((inputs.skip_module_mask & (1ull << i)) != 0) {
            continue;
        }
        u64 base = boot.modules[i].range.base().raw() & ~(kPageSize4K - 1);
        u64 end = align_up_unchecked(
            boot.modules[i].range.base().raw() + boot.modules[i].range.size(), kPageSize4K);
        add(base, end - base, fbs::PreservedRangeKind::BootModule, 0xFFFF);
    }
    for (usize u = 0; u < iommu_host::unit_count(); ++u) {
        usize frames = iommu_host::table_frames(u, iommu_frames, kMaxIommuFrameRanges);
        for (usize f = 0; f < frames && f < kMaxIommuFrameRanges; ++f) {
            add(iommu_frames[f].base().raw(), iommu_frames[f].size(),
                fbs::PreservedRangeKind::IommuTables, 0xFFFF);
        }
    }
    add(inputs.stream_buffer.base().raw(), inputs.stream_buffer.size(),
        fbs::PreservedRangeKind::Stream, 0xFFFF);
    add(inputs.previous_image.base().raw(), inputs.previous_image.size(),
        fbs::PreservedRangeKind::PreviousImage, 0xFFFF);
    flush();
    return count;
}

fbs::HostRange host_range(const HostPhysRange& range) {
    return fbs::HostRange(range.base().raw(), range.size());
}

// Each IOMMU unit as the target adopts it: registers, device table and rings, the
// assignments (sorted by BDF) and every frame of its tables.
Result<flatbuffers::Offset<fbs::IommuState>> write_iommu(flatbuffers::FlatBufferBuilder& b) {
    using flatbuffers::Offset;
    if (iommu_host::unit_count() == 0) {
        return Offset<fbs::IommuState>();
    }
    Offset<fbs::IommuUnit> units[iommu_host::kMaxUnits];
    for (usize u = 0; u < iommu_host::unit_count(); ++u) {
        iommu_host::UnitSnapshot unit;
        RELAY_TRY(iommu_host::describe_unit(u, &unit));
        // Assignments of this unit in BDF order (insertion sort: a handful at most).
        IommuAssignment* assignments = iommu_assignments;
        constexpr usize kCapacity = kMaxIommuAssignments;
        usize count = 0;
        domain_for_each([&](const Domain& domain) {
            for (usize i = 0; i < domain.assigned_count; ++i) {
                const AssignedFunction& assigned = domain.assigned[i];
                if (!assigned.translated ||
                    iommu_host::unit_of(assigned.function) != static_cast<int>(u) ||
                    count == kCapacity) {
                    continue;
                }
                IommuAssignment entry{assigned.function.bdf(), domain.domid, domain.io_root.raw(),
                                      domain.io_levels};
                usize at = count++;
                while (at > 0 && assignments[at - 1].bdf > entry.bdf) {
                    assignments[at] = assignments[at - 1];
                    --at;
                }
                assignments[at] = entry;
            }
        });
        Offset<fbs::IommuDeviceAssignment>* assignment_offsets = iommu_assignment_offsets;
        for (usize a = 0; a < count; ++a) {
            // The hardware tag is the domid (hv/iommu_host.cpp).
            assignment_offsets[a] = fbs::CreateIommuDeviceAssignment(
                b, assignments[a].bdf, assignments[a].domid, assignments[a].domid,
                assignments[a].root, assignments[a].levels, 0);
        }
        auto assignment_vector = b.CreateVector(assignment_offsets, count);
        usize frames = iommu_host::table_frames(u, iommu_frames, kMaxIommuFrameRanges);
        if (frames > kMaxIommuFrameRanges) {
            return make_error(ErrorCode::kOutOfRange,
                              "IOMMU unit {}: {} table frame ranges, the stream writer takes {}", u,
                              frames, kMaxIommuFrameRanges);
        }
        fbs::HostRange* frame_ranges = iommu_frame_ranges;
        for (usize f = 0; f < frames; ++f) {
            frame_ranges[f] = host_range(iommu_frames[f]);
        }
        auto frame_vector = b.CreateVectorOfStructs(frame_ranges, frames);
        fbs::HostRange root = host_range(unit.state.root_table);
        fbs::HostRange commands = host_range(unit.state.command_queue);
        fbs::HostRange events = host_range(unit.state.event_log);
        fbs::IommuUnitBuilder out(b);
        out.add_kind(fbs::IommuKind::AmdVi);
        out.add_segment(unit.state.unit.segment);
        out.add_bdf(unit.state.unit.id.raw);
        out.add_register_base(unit.state.register_base.raw());
        out.add_root_table(&root);
        out.add_command_buffer(&commands);
        out.add_event_log(&events);
        out.add_control(unit.control);
        out.add_translation_enabled(unit.translation_enabled);
        out.add_assignments(assignment_vector);
        out.add_table_frames(frame_vector);
        units[u] = out.Finish();
    }
    auto unit_vector = b.CreateVector(units, iommu_host::unit_count());
    return fbs::CreateIommuState(b, unit_vector);
}

usize preserved_bound(const StateWriterInputs& inputs) {
    usize extents = 0;
    domain_for_each([&](const Domain& domain) { extents += domain.extent_count; });
    return extents + inputs.boot->module_count + 2 + iommu_host::table_frame_bound();
}

stream::StreamShape current_shape(const StateWriterInputs& inputs) {
    stream::StreamShape shape;
    domain_for_each([&](const Domain& domain) {
        ++shape.domains;
        shape.vcpus += domain.vcpu_count;
        shape.extents += domain.extent_count;
        shape.string_bytes +=
            sizeof(domain.name) + sizeof(domain.security_id) + sizeof(domain.bootargs);
        shape.byte_vector_bytes +=
            domain.vcpu_count * 832 + Uart16550::kLineCapacity + domain.assigned_count * 4 + 8;
    });
    shape.preserved_ranges = preserved_bound(inputs);
    shape.iommu_units = iommu_host::unit_count();
    domain_for_each(
        [&](const Domain& domain) { shape.iommu_assignments += domain.assigned_count; });
    shape.iommu_table_frames = iommu_host::table_frame_bound();
    shape.boot_modules = inputs.boot->module_count;
    shape.string_bytes += inputs.boot->module_count * BootInfo::kMaxStringLength / 4 + 1024;
    shape.update_records = update_history().size() + 1;
    shape.update_phases = shape.update_records * UpdateRecordEntry::kMaxPhases;
    shape.string_bytes += shape.update_records * 160 + shape.update_phases * 16;
    return shape;
}

}  // namespace

usize state_stream_bound(const StateWriterInputs& inputs) {
    return stream::stream_size_bound(current_shape(inputs)) + stream::kStreamHeaderSize;
}

Result<usize> write_state(const StateWriterInputs& inputs, void* scratch, usize scratch_size,
                          void* output, usize output_capacity) {
    stream::StreamWriterOptions options;
    if (inputs.schema_minor != 0) {
        options.schema_minor = inputs.schema_minor;
    }
    stream::StreamWriter writer(scratch, scratch_size, options);
    RELAY_TRY(writer.reserve(stream::stream_size_bound(current_shape(inputs))));
    FlatBufferBuilder& b = writer.builder();

    Offset<fbs::Domain> domains[kMaxDomains];
    usize domain_count = 0;
    domain_for_each([&](const Domain& domain) {
        domains[domain_count++] = write_domain(b, domain, *inputs.boot);
    });
    auto domain_vector = b.CreateVector(domains, domain_count);

    const BootInfo& boot = *inputs.boot;
    static_assert(BootInfo::kMaxModules <= 64, "skip_module_mask has a bit per module");
    Offset<fbs::BootModule> modules[BootInfo::kMaxModules];
    usize module_count = 0;
    for (usize i = 0; i < boot.module_count; ++i) {
        if ((inputs.skip_module_mask & (1ull << i)) != 0) {
            continue;
        }
        std::string_view text = boot.module_command_line(i);
        auto command_line = b.CreateString(text.data(), text.size());
        fbs::HostRange range(boot.modules[i].range.base().raw(), boot.modules[i].range.size());
        fbs::BootModuleBuilder module(b);
        module.add_index(static_cast<u32>(i));
        module.add_range(&range);
        module.add_command_line(command_line);
        modules[module_count++] = module.Finish();
    }
    auto module_vector = b.CreateVector(modules, module_count);

    fbs::PreservedRange* preserved = nullptr;
    usize preserved_count = collect_preserved(inputs, nullptr);
    auto preserved_vector =
        b.CreateUninitializedVectorOfStructs<fbs::PreservedRange>(preserved_count, &preserved);
    collect_preserved(inputs, preserved);

    RELAY_TRY_ASSIGN(iommu, write_iommu(b));

    // Update history.
    UpdateHistory& history = update_history();
    Offset<fbs::UpdateRecord> records[UpdateHistory::kMaxRecords];
    for (usize i = 0; i < history.size(); ++i) {
        const UpdateRecordEntry& entry = history[i];
        Offset<flatbuffers::Vector<Offset<fbs::UpdatePhase>>> phases;
        if (writer.writes(stream::Feature::kUpdatePhases)) {
            Offset<fbs::UpdatePhase> phase_offsets[UpdateRecordEntry::kMaxPhases];
            for (usize p = 0; p < entry.phase_count; ++p) {
                auto phase_name = b.CreateString(entry.phases[p].name);
                phase_offsets[p] =
                    fbs::CreateUpdatePhase(b, phase_name, entry.phases[p].nanoseconds);
            }
            phases = b.CreateVector(phase_offsets, entry.phase_count);
        }
        auto source_version =
            b.CreateString(entry.source_version, strnlen(entry.source_version, 40));
        auto target_version =
            b.CreateString(entry.target_version, strnlen(entry.target_version, 40));
        fbs::BuildId source{flatbuffers::span<const u8, 32>(entry.source_build.bytes, 32)};
        fbs::BuildId target{flatbuffers::span<const u8, 32>(entry.target_build.bytes, 32)};
        fbs::UpdateRecordBuilder record(b);
        record.add_sequence(entry.sequence);
        record.add_source_build(&source);
        record.add_target_build(&target);
        record.add_source_version(source_version);
        record.add_target_version(target_version);
        record.add_started_at_unix_ns(entry.started_at_unix_ns);
        record.add_blackout_ns(entry.blackout_ns);
        record.add_outcome(entry.rolled_back ? fbs::UpdateOutcome::RolledBack
                                             : fbs::UpdateOutcome::Completed);
        if (!phases.IsNull()) {
            record.add_phases(phases);
        }
        records[i] = record.Finish();
    }
    auto history_vector = b.CreateVector(records, history.size());

    auto version = b.CreateString(kBuildVariant.version);
    const BuildId& own_id = build_id();
    u8 id_bytes[32] = {};
    std::memcpy(id_bytes, own_id.bytes, own_id.length);
    fbs::BuildId build{flatbuffers::span<const u8, 32>(id_bytes, 32)};
    fbs::BuildInfoBuilder producer(b);
    producer.add_build_id(&build);
    producer.add_version(version);
    auto producer_offset = producer.Finish();

    fbs::HandoverRegionBuilder handover(b);
    handover.add_base(inputs.handover.base().raw());
    handover.add_size(inputs.handover.size());
    handover.add_producer_half(inputs.producer_half);
    auto handover_offset = handover.Finish();

    fbs::HostStateBuilder host(b);
    host.add_producer(producer_offset);
    host.add_handover(handover_offset);
    host.add_preserved_ranges(preserved_vector);
    host.add_boot_modules(module_vector);
    host.add_domains(domain_vector);
    if (!iommu.IsNull()) {
        host.add_iommu(iommu);
    }
    host.add_update_history(history_vector);
    host.add_host_tsc_frequency_khz(inputs.tsc_khz);
    auto root = host.Finish();

    stream::StreamFields fields;
    fields.kind = inputs.kind;
    std::memcpy(fields.producer_build.bytes, id_bytes, sizeof(id_bytes));
    return writer.finish(root, fields, output, output_capacity);
}

}  // namespace relay::liveupdate
