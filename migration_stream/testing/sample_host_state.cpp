#include "migration_stream/testing/sample_host_state.hpp"

#include <cstring>
#include <string>

namespace relay::stream::testing {
namespace {

namespace fbs = relay::schema;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

constexpr u64 kIommuTablesBase = 64 * MiB;
constexpr u64 kIommuTablesSize = 4 * MiB;
constexpr u64 kHandoverBase = 128 * MiB;
constexpr u64 kHandoverSize = 64 * MiB;
constexpr u64 kBootModuleBase = 16 * MiB;
constexpr u64 kBootModuleSize = 8 * MiB;

u64 extent_size(const SampleOptions& options) {
    return options.large_pages ? 2 * MiB : 1 * MiB;
}

u16 domid_of(u32 domain) {
    return static_cast<u16>(domain + 1);
}

u64 domain_host_base(const SampleOptions& options, u32 domain) {
    return options.guest_ram_host_base +
           u64{domain} * options.extents_per_domain * extent_size(options);
}

fbs::Segment code_segment() {
    return fbs::Segment(0x10, 0xA9B, 0xFFFFFFFF, 0);
}
fbs::Segment data_segment() {
    return fbs::Segment(0x18, 0xC93, 0xFFFFFFFF, 0);
}

std::string domain_name(u32 domain) {
    return "guest-" + std::to_string(domain + 1);
}

Offset<fbs::LocalApic> build_lapic(FlatBufferBuilder& b, u32 vcpu) {
    std::array<u32, 8> irr{};
    irr[1] = 1u << 3;  // vector 35 pending
    std::array<u32, 8> isr{};
    fbs::ApicVectorBitmap irr_bitmap{flatbuffers::make_span(irr)};
    fbs::ApicVectorBitmap isr_bitmap{flatbuffers::make_span(isr)};
    fbs::ApicVectorBitmap tmr_bitmap{flatbuffers::make_span(isr)};
    fbs::LocalApicBuilder lapic(b);
    lapic.add_apic_id(vcpu);
    lapic.add_version(0x80050010);
    lapic.add_ldr(1u << (24 + vcpu % 8));
    lapic.add_svr(0x1FF);
    lapic.add_irr(&irr_bitmap);
    lapic.add_isr(&isr_bitmap);
    lapic.add_tmr(&tmr_bitmap);
    lapic.add_lvt_timer(0x400EC);  // TSC-deadline mode (bits 18:17 = 2), vector 0xEC
    lapic.add_timer_mode(fbs::ApicTimerMode::TscDeadline);
    lapic.add_timer_divide(0x3);
    lapic.add_tsc_deadline(0x123456789ABCull + vcpu);
    lapic.add_software_enabled(true);
    return lapic.Finish();
}

Offset<fbs::ModelSpecificRegisters> build_msrs(FlatBufferBuilder& b, u32 vcpu) {
    std::vector<u64> fixed(11, 0x0606060606060606ull);
    auto fixed_offset = b.CreateVector(fixed);
    std::vector<fbs::MtrrVariableRange> variable = {
        fbs::MtrrVariableRange(0x0000000006, 0xFFFF80000800ull),
    };
    auto variable_offset = b.CreateVectorOfStructs(variable);
    fbs::ModelSpecificRegistersBuilder msrs(b);
    msrs.add_star(0x0023001000000000ull);
    msrs.add_lstar(0xFFFFFFFF81A00080ull);
    msrs.add_cstar(0xFFFFFFFF81A01A40ull);
    msrs.add_sfmask(0x47700);
    msrs.add_kernel_gs_base(0xFFFF888100000000ull + vcpu * 0x40000ull);
    msrs.add_sysenter_cs(0x10);
    msrs.add_tsc_aux(vcpu);
    msrs.add_apic_base(0xFEE00000ull | (1u << 11) | (vcpu == 0 ? (1u << 8) : 0));
    msrs.add_mtrr_def_type(0xC06);
    msrs.add_mtrr_fixed(fixed_offset);
    msrs.add_mtrr_variable(variable_offset);
    return msrs.Finish();
}

Offset<fbs::Vcpu> build_vcpu(StreamWriter& writer, const SampleOptions& options, u32 domain,
                             u32 vcpu) {
    FlatBufferBuilder& b = writer.builder();
    bool configured = options.lifecycle == fbs::DomainLifecycle::Configured;
    Offset<flatbuffers::Vector<u8>> xsave;
    if (options.xsave && !configured) {
        std::vector<u8> area(832, 0);
        area[0] = 0x7F;  // FCW
        area[1] = 0x03;
        area[24] = 0x80;  // MXCSR 0x1F80
        area[25] = 0x1F;
        area[512] = 0x07;  // XSTATE_BV: x87, SSE, AVX
        xsave = b.CreateVector(area);
    }
    Offset<fbs::CetState> cet;
    if (options.cet && vcpu == 0 && !configured && writer.writes(Feature::kCetState)) {
        cet = fbs::CreateCetState(b, 0x1, 0, 0xFFFFC90000004FF8ull);
    }
    auto msrs = build_msrs(b, vcpu);
    auto lapic = build_lapic(b, vcpu);
    fbs::GeneralPurposeRegisters gprs(domain, vcpu, 0x3, 0x4, 0x5, 0x6, 0xFFFFC90000003E80ull,
                                      0xFFFFC90000003E00ull, 8, 9, 10, 11, 12, 13, 14, 15);
    fbs::Segment cs = code_segment();
    fbs::Segment ds = data_segment();
    fbs::Segment null_segment(0, 0, 0, 0);
    fbs::Segment tr(0x40, 0x8B, 0x67, 0xFFFFFE0000003000ull);
    fbs::DescriptorTable gdtr(0xFFFFFE0000001000ull, 0x7F);
    fbs::DescriptorTable idtr(0xFFFFFE0000000000ull, 0xFFF);
    fbs::EventInjection event(vcpu == 1, fbs::EventType::Exception, 14, true, 0x2);
    fbs::VirtualInterrupt virtual_interrupt(0, false, 0, false, 0);
    fbs::VcpuBuilder builder(b);
    builder.add_id(vcpu);
    if (configured) {
        builder.add_run_state(fbs::VcpuRunState::Reset);
    } else {
        builder.add_run_state(vcpu == 0 ? fbs::VcpuRunState::Running : fbs::VcpuRunState::Halted);
        builder.add_gprs(&gprs);
        builder.add_rip(0xFFFFFFFF81000000ull + 0x1000 * vcpu);
        builder.add_rflags(0x246);
        builder.add_cs(&cs);
        builder.add_ds(&ds);
        builder.add_es(&ds);
        builder.add_fs(&null_segment);
        builder.add_gs(&null_segment);
        builder.add_ss(&ds);
        builder.add_ldtr(&null_segment);
        builder.add_tr(&tr);
        builder.add_gdtr(&gdtr);
        builder.add_idtr(&idtr);
        builder.add_cr0(0x80050033);
        builder.add_cr2(0x7F0000001000ull);
        builder.add_cr3(0x100000 + 0x1000 * vcpu);
        builder.add_cr4(0x3506F0);
        builder.add_efer(0xD01);
        builder.add_xcr0(0x7);
        builder.add_msrs(msrs);
        builder.add_xsave(xsave);
        builder.add_pending_event(&event);
        builder.add_virtual_interrupt(&virtual_interrupt);
        builder.add_tsc_offset(-static_cast<i64>(1000000 * (domain + 1)));
        builder.add_lapic(lapic);
        builder.add_cet(cet);
    }
    return builder.Finish();
}

Offset<fbs::Domain> build_domain(StreamWriter& writer, const SampleOptions& options, u32 domain) {
    FlatBufferBuilder& b = writer.builder();
    bool configured = options.lifecycle == fbs::DomainLifecycle::Configured;
    std::vector<Offset<fbs::Vcpu>> vcpus;
    for (u32 v = 0; v < options.vcpus_per_domain; ++v) {
        vcpus.push_back(build_vcpu(writer, options, domain, v));
    }
    auto vcpu_vector = b.CreateVector(vcpus);

    std::vector<fbs::MemoryExtent> extents;
    if (!configured) {
        u64 size = extent_size(options);
        for (u32 e = 0; e < options.extents_per_domain; ++e) {
            extents.emplace_back(u64{e} * size, domain_host_base(options, domain) + u64{e} * size,
                                 size,
                                 fbs::ExtentAttributes::Read | fbs::ExtentAttributes::Write |
                                     fbs::ExtentAttributes::Execute,
                                 options.large_pages ? 21 : 12);
        }
    }
    auto memory = b.CreateVectorOfStructs(extents);

    std::array<u8, 32> digest{};
    digest[0] = static_cast<u8>(domain);
    fbs::Sha256Digest kernel_digest{flatbuffers::make_span(digest)};
    auto kernel = fbs::CreateModuleReference(b, 1 + 2 * domain, 4 * MiB, &kernel_digest);
    auto ramdisk = fbs::CreateModuleReference(b, 2 + 2 * domain, 2 * MiB);
    auto bootargs = b.CreateString("console=ttyS0 root=/dev/ram0 quiet");
    u64 memory_kib = u64{options.extents_per_domain} * extent_size(options) / KiB;
    auto boot = fbs::CreateBootConfig(b, memory_kib, options.vcpus_per_domain, kernel, ramdisk, 0,
                                      bootargs);

    Offset<flatbuffers::Vector<u8>> unsent;
    Offset<flatbuffers::Vector<u8>> received;
    if (options.console_output && !configured) {
        std::string text = "[    1.234] " + domain_name(domain) + " login: ";
        unsent = b.CreateVector(reinterpret_cast<const u8*>(text.data()), text.size());
        const u8 input[] = {'r', 'o', 'o', 't', '\r'};
        received = b.CreateVector(input, sizeof(input));
    }
    auto uart = fbs::CreateUart16550(b, 0x3F8, 1, 0x01, 0xC7, 0x03, 0x0B, 0x60, 0xB0, 0, received);
    auto console = fbs::CreateConsoleState(b, uart, unsent);

    std::array<u8, 16> uuid_bytes{};
    for (usize i = 0; i < uuid_bytes.size(); ++i) {
        uuid_bytes[i] = static_cast<u8>(0xA0 + i + domain);
    }
    fbs::Uuid uuid{flatbuffers::make_span(uuid_bytes)};
    auto name = b.CreateString(domain_name(domain));
    auto security_id =
        b.CreateString(domain == 0 ? "system_u:system_r:dom0_t" : "system_u:system_r:domU_t");
    fbs::DomainBuilder builder(b);
    builder.add_domid(domid_of(domain));
    builder.add_uuid(&uuid);
    builder.add_name(name);
    builder.add_permissions(domain == 0
                                ? fbs::DomainPermissions::Control | fbs::DomainPermissions::Hardware
                                : fbs::DomainPermissions::NONE);
    builder.add_functions(domain == 0
                              ? fbs::DomainFunctions::Console | fbs::DomainFunctions::Xenstore
                              : fbs::DomainFunctions::NONE);
    builder.add_mode(fbs::DomainMode::EnableDeviceModel | fbs::DomainMode::Long);
    builder.add_security_id(security_id);
    builder.add_lifecycle(options.lifecycle);
    builder.add_boot(boot);
    builder.add_vcpus(vcpu_vector);
    builder.add_memory(memory);
    builder.add_console(console);
    builder.add_start_info_guest_phys(configured ? 0 : 0x9000);
    builder.add_tsc_frequency_khz(2'400'000);
    return builder.Finish();
}

Offset<fbs::IommuState> build_iommu(FlatBufferBuilder& b, const SampleOptions& options) {
    std::vector<Offset<fbs::IommuDeviceAssignment>> assignments;
    for (u32 d = 0; d < options.domains; ++d) {
        u16 bdf = static_cast<u16>(0x100 + d * 8);  // 01:dd.0 upwards
        assignments.push_back(
            fbs::CreateIommuDeviceAssignment(b, bdf, domid_of(d), static_cast<u16>(d + 1),
                                             kIommuTablesBase + 0x10000 + d * 0x1000, 4, 0));
    }
    auto assignment_vector = b.CreateVector(assignments);
    std::vector<fbs::HostRange> frames = {fbs::HostRange(kIommuTablesBase, 0x10000),
                                          fbs::HostRange(kIommuTablesBase + 0x10000, 0x10000)};
    auto frame_vector = b.CreateVectorOfStructs(frames);
    fbs::HostRange root(kIommuTablesBase, 0x4000);
    fbs::HostRange command(kIommuTablesBase + 0x4000, 0x1000);
    fbs::HostRange events(kIommuTablesBase + 0x5000, 0x1000);
    auto unit =
        fbs::CreateIommuUnit(b, fbs::IommuKind::AmdVi, 0, 0x0002, 0xFEB80000, &root, &command,
                             &events, 0x1C05, true, assignment_vector, frame_vector);
    std::vector<Offset<fbs::IommuUnit>> units = {unit};
    return fbs::CreateIommuState(b, b.CreateVector(units));
}

Offset<flatbuffers::Vector<Offset<fbs::UpdateRecord>>> build_history(StreamWriter& writer,
                                                                     const SampleOptions& options) {
    FlatBufferBuilder& b = writer.builder();
    std::vector<Offset<fbs::UpdateRecord>> records;
    for (u32 r = 0; r < options.update_records; ++r) {
        Offset<flatbuffers::Vector<Offset<fbs::UpdatePhase>>> phases;
        if (options.update_phases && writer.writes(Feature::kUpdatePhases)) {
            std::vector<Offset<fbs::UpdatePhase>> list = {
                fbs::CreateUpdatePhase(b, b.CreateString("quiesce"), 120'000 + r),
                fbs::CreateUpdatePhase(b, b.CreateString("serialize"), 310'000 + r),
                fbs::CreateUpdatePhase(b, b.CreateString("kexec"), 9'800'000 + r),
                fbs::CreateUpdatePhase(b, b.CreateString("restore"), 450'000 + r),
            };
            phases = b.CreateVector(list);
        }
        BuildId source = sample_build_id(static_cast<u8>(0x10 + r));
        BuildId target = sample_build_id(static_cast<u8>(0x11 + r));
        fbs::BuildId source_id{flatbuffers::make_span(source.bytes)};
        fbs::BuildId target_id{flatbuffers::make_span(target.bytes)};
        auto source_version = b.CreateString("relay 0." + std::to_string(r + 1) + ".0");
        auto target_version = b.CreateString("relay 0." + std::to_string(r + 2) + ".0");
        records.push_back(fbs::CreateUpdateRecord(
            b, r + 1, &source_id, &target_id, source_version, target_version,
            1'760'000'000'000'000'000ull + r * 3'600'000'000'000ull, 10'680'000 + r * 1000,
            fbs::UpdateOutcome::Completed, phases));
    }
    return b.CreateVector(records);
}

}  // namespace

BuildId sample_build_id(u8 seed) {
    BuildId id;
    for (usize i = 0; i < kBuildIdBytes; ++i) {
        id.bytes[i] = static_cast<u8>(seed * 31 + i);
    }
    return id;
}

StreamShape sample_shape(const SampleOptions& options) {
    StreamShape shape;
    shape.domains = options.domains;
    shape.vcpus = usize{options.domains} * options.vcpus_per_domain;
    shape.extents = usize{options.domains} * options.extents_per_domain;
    shape.preserved_ranges = options.domains + 4;
    shape.boot_modules = usize{options.domains} * 2 + 1;
    shape.iommu_units = options.iommu ? 1 : 0;
    shape.iommu_assignments = options.iommu ? options.domains : 0;
    shape.iommu_table_frames = options.iommu ? 2 : 0;
    shape.update_records = options.update_records;
    shape.update_phases = usize{options.update_records} * 4;
    shape.mtrr_variable_ranges = shape.vcpus;
    // Names, security ids, bootargs, versions, command lines, phase names: generous.
    shape.string_bytes = shape.domains * 128 + shape.boot_modules * 64 + shape.update_records * 64 +
                         shape.update_phases * 16 + 64;
    shape.byte_vector_bytes = shape.vcpus * 832 + shape.domains * 64;
    return shape;
}

flatbuffers::Offset<schema::HostState> build_sample_host_state(StreamWriter& writer,
                                                               const SampleOptions& options) {
    FlatBufferBuilder& b = writer.builder();
    bool configured = options.lifecycle == fbs::DomainLifecycle::Configured;
    std::vector<Offset<fbs::Domain>> domains;
    for (u32 d = 0; d < options.domains; ++d) {
        domains.push_back(build_domain(writer, options, d));
    }
    auto domain_vector = b.CreateVector(domains);

    std::vector<fbs::PreservedRange> preserved;
    preserved.emplace_back(kBootModuleBase, kBootModuleSize, fbs::PreservedRangeKind::BootModule,
                           0xFFFF);
    if (!configured) {
        for (u32 d = 0; d < options.domains; ++d) {
            preserved.emplace_back(domain_host_base(options, d),
                                   u64{options.extents_per_domain} * extent_size(options),
                                   fbs::PreservedRangeKind::GuestRam, domid_of(d));
        }
    }
    if (options.iommu) {
        preserved.emplace_back(kIommuTablesBase, kIommuTablesSize,
                               fbs::PreservedRangeKind::IommuTables, 0xFFFF);
    }
    preserved.emplace_back(kHandoverBase, kHandoverSize / 2, fbs::PreservedRangeKind::PreviousImage,
                           0xFFFF);
    auto preserved_vector = b.CreateVectorOfStructs(preserved);

    std::vector<Offset<fbs::BootModule>> modules;
    u32 module_count = options.domains * 2 + 1;
    for (u32 m = 0; m < module_count; ++m) {
        fbs::HostRange range(kBootModuleBase + m * 0x1000, 0x1000);
        std::string line = m == 0 ? "hyperlaunch.dtb" : "module-" + std::to_string(m);
        modules.push_back(fbs::CreateBootModule(b, m, &range, b.CreateString(line)));
    }
    auto module_vector = b.CreateVector(modules);

    Offset<fbs::IommuState> iommu;
    if (options.iommu) {
        iommu = build_iommu(b, options);
    }
    auto history = build_history(writer, options);

    BuildId producer = sample_build_id(0x42);
    fbs::BuildId producer_id{flatbuffers::make_span(producer.bytes)};
    auto producer_info =
        fbs::CreateBuildInfo(b, &producer_id, b.CreateString("relay 0.3.0 (sample)"));
    auto handover = fbs::CreateHandoverRegion(b, kHandoverBase, kHandoverSize, 0);
    return fbs::CreateHostState(b, producer_info, handover, preserved_vector, module_vector,
                                domain_vector, iommu, history, 2'400'000);
}

std::vector<u8> make_sample_stream(const SampleOptions& options, StreamWriterOptions writer_options,
                                   StreamKind kind, Error* error) {
    usize bound = stream_size_bound(sample_shape(options));
    std::vector<u64> scratch(bound / 8 + 1);
    StreamWriter writer(scratch.data(), scratch.size() * 8, writer_options);
    Status reserved = writer.reserve(bound - kFinishReserveBytes);
    if (!reserved.ok()) {
        if (error != nullptr) {
            *error = reserved.error();
        }
        return {};
    }
    auto root = build_sample_host_state(writer, options);
    StreamFields fields;
    fields.kind = kind;
    fields.producer_build = sample_build_id(0x42);
    std::vector<u8> output(kStreamHeaderSize + writer.bytes_used() + 64);
    auto written = writer.finish(root, fields, output.data(), output.size());
    if (!written.ok()) {
        if (error != nullptr) {
            *error = written.error();
        }
        return {};
    }
    output.resize(written.value());
    return output;
}

AlignedBytes::AlignedBytes(const std::vector<u8>& bytes)
    : storage(bytes.size() / 8 + 1), size(bytes.size()) {
    if (!bytes.empty()) {
        std::memcpy(storage.data(), bytes.data(), bytes.size());
    }
}

std::vector<u8> edit_header(const std::vector<u8>& stream,
                            const std::function<void(StreamHeader&)>& edit) {
    auto header = decode_stream_header(stream.data(), stream.size());
    if (!header.ok()) {
        return {};
    }
    StreamHeader edited = header.value();
    edit(edited);
    AlignedBytes payload(std::vector<u8>(stream.begin() + kStreamHeaderSize, stream.end()));
    std::vector<u8> output(stream.size());
    auto written = write_stream(payload.data(), payload.size, edited, output.data(), output.size());
    if (!written.ok()) {
        return {};
    }
    output.resize(written.value());
    return output;
}

std::vector<u8> mutate_payload(const std::vector<u8>& stream,
                               const std::function<bool(schema::HostState&)>& mutate) {
    auto header = decode_stream_header(stream.data(), stream.size());
    if (!header.ok()) {
        return {};
    }
    AlignedBytes payload(std::vector<u8>(
        stream.begin() + kStreamHeaderSize,
        stream.begin() + kStreamHeaderSize + static_cast<long>(header.value().payload_size)));
    if (!mutate(*flatbuffers::GetMutableRoot<schema::HostState>(payload.data()))) {
        return {};  // the field to change is not stored (equal to its default)
    }
    std::vector<u8> output(stream.size());
    auto written =
        write_stream(payload.data(), payload.size, header.value(), output.data(), output.size());
    if (!written.ok()) {
        return {};
    }
    output.resize(written.value());
    return output;
}

}  // namespace relay::stream::testing
