#include "hv/config/boot_stream.hpp"

#include "hv/config/hyperlaunch_binding.hpp"
#include "migration_stream/stream_limits.hpp"
#include "migration_stream/stream_size_bound.hpp"
#include "migration_stream/stream_writer.hpp"
#include "schema/relay_generated.h"

namespace relay::hyperlaunch {

// A domain the parser accepts is one the stream verifier accepts (docs/hyperlaunch.md).
static_assert(kMaxDomainMemoryKib * KiB == stream::kPhysicalAddressLimit);

namespace {

namespace fbs = relay::schema;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

stream::StreamShape shape_of(const HyperlaunchConfig& config, usize module_count) {
    stream::StreamShape shape;
    shape.domains = config.domain_count;
    shape.boot_modules = module_count;
    for (const DomainConfig& domain : config.domain_list()) {
        shape.vcpus += domain.cpus;
        shape.string_bytes +=
            domain.name.size() + domain.security_id.size() + domain.kernel.bootargs.size() + 64;
        shape.byte_vector_bytes += domain.passthrough_count * 4 + 8;
    }
    shape.string_bytes += 256 + module_count * 512;  // version, module command lines
    return shape;
}

Offset<fbs::ModuleReference> module_reference(FlatBufferBuilder& b, const DomainModule& module,
                                              std::span<const BootStreamModule> modules) {
    if (!module.present) {
        return 0;
    }
    u64 size = 0;
    for (const BootStreamModule& m : modules) {
        if (m.index == module.multiboot_index) {
            size = m.size;
        }
    }
    fbs::ModuleReferenceBuilder reference(b);
    reference.add_mb_index(module.multiboot_index);
    reference.add_size(size);
    return reference.Finish();
}

// A vCPU of a configured domain: reset state (the schema's defaults), its id and APIC ID.
Offset<fbs::Vcpu> configured_vcpu(FlatBufferBuilder& b, u32 id) {
    fbs::LocalApicBuilder lapic(b);
    lapic.add_apic_id(id);
    auto lapic_offset = lapic.Finish();
    fbs::VcpuBuilder vcpu(b);
    vcpu.add_id(id);
    vcpu.add_run_state(fbs::VcpuRunState::Reset);
    vcpu.add_lapic(lapic_offset);
    return vcpu.Finish();
}

Offset<fbs::Domain> configured_domain(FlatBufferBuilder& b, const DomainConfig& domain,
                                      const BootStreamInputs& inputs) {
    Offset<fbs::Vcpu> vcpus[kMaxVcpusPerDomainInStream];
    u32 count = domain.cpus < kMaxVcpusPerDomainInStream ? domain.cpus : kMaxVcpusPerDomainInStream;
    for (u32 i = 0; i < count; ++i) {
        vcpus[i] = configured_vcpu(b, i);
    }
    auto vcpu_vector = b.CreateVector(vcpus, count);
    auto kernel = module_reference(b, domain.kernel, inputs.modules);
    auto ramdisk = module_reference(b, domain.ramdisk, inputs.modules);
    auto config_module = module_reference(b, domain.config, inputs.modules);
    auto bootargs = b.CreateString(domain.kernel.bootargs.data(), domain.kernel.bootargs.size());
    Offset<flatbuffers::Vector<const fbs::PciFunction*>> passthrough;
    if (domain.passthrough_count > 0) {
        fbs::PciFunction* functions = nullptr;
        passthrough = b.CreateUninitializedVectorOfStructs<fbs::PciFunction>(
            domain.passthrough_count, &functions);
        for (usize i = 0; i < domain.passthrough_count; ++i) {
            functions[i] =
                fbs::PciFunction(domain.passthrough[i].segment, domain.passthrough[i].bdf());
        }
    }
    fbs::BootConfigBuilder boot(b);
    boot.add_memory_kib(domain.memory_kib);
    boot.add_cpus(domain.cpus);
    boot.add_kernel(kernel);
    if (!ramdisk.IsNull()) {
        boot.add_ramdisk(ramdisk);
    }
    if (!config_module.IsNull()) {
        boot.add_config(config_module);
    }
    boot.add_bootargs(bootargs);
    if (!passthrough.IsNull()) {
        boot.add_passthrough(passthrough);
    }
    auto boot_offset = boot.Finish();
    auto name = b.CreateString(domain.name.data(), domain.name.size());
    auto security_id = domain.security_id.empty()
                           ? Offset<flatbuffers::String>()
                           : b.CreateString(domain.security_id.data(), domain.security_id.size());
    fbs::Uuid uuid{flatbuffers::span<const u8, 16>(domain.uuid.bytes, 16)};
    fbs::DomainBuilder d(b);
    d.add_domid(domain.domid);
    d.add_uuid(&uuid);
    d.add_name(name);
    d.add_permissions(static_cast<fbs::DomainPermissions>(domain.permissions));
    d.add_functions(static_cast<fbs::DomainFunctions>(domain.functions));
    d.add_mode(static_cast<fbs::DomainMode>(domain.mode));
    if (!security_id.IsNull()) {
        d.add_security_id(security_id);
    }
    d.add_lifecycle(fbs::DomainLifecycle::Configured);
    d.add_boot(boot_offset);
    d.add_vcpus(vcpu_vector);
    d.add_tsc_frequency_khz(inputs.tsc_khz);
    return d.Finish();
}

}  // namespace

usize boot_stream_bound(const HyperlaunchConfig& config, usize module_count) {
    return stream::stream_size_bound(shape_of(config, module_count)) + stream::kStreamHeaderSize;
}

Result<usize> write_boot_stream(const BootStreamInputs& inputs, void* scratch, usize scratch_size,
                                void* output, usize output_capacity) {
    const HyperlaunchConfig& config = *inputs.config;
    stream::StreamWriter writer(scratch, scratch_size);
    RELAY_TRY(writer.reserve(stream::stream_size_bound(shape_of(config, inputs.modules.size()))));
    FlatBufferBuilder& b = writer.builder();

    // Domains sorted by domid (the verifier requires it; the tree may list them in any
    // order).
    const DomainConfig* sorted[kMaxDomains];
    usize count = 0;
    for (const DomainConfig& domain : config.domain_list()) {
        usize position = count++;
        while (position > 0 && sorted[position - 1]->domid > domain.domid) {
            sorted[position] = sorted[position - 1];
            --position;
        }
        sorted[position] = &domain;
    }
    Offset<fbs::Domain> domains[kMaxDomains];
    for (usize i = 0; i < count; ++i) {
        domains[i] = configured_domain(b, *sorted[i], inputs);
    }
    auto domain_vector = b.CreateVector(domains, count);

    Offset<fbs::BootModule> modules[kMaxBootModules];
    usize module_count =
        inputs.modules.size() < kMaxBootModules ? inputs.modules.size() : kMaxBootModules;
    for (usize i = 0; i < module_count; ++i) {
        const BootStreamModule& m = inputs.modules[i];
        auto command_line = b.CreateString(m.command_line.data(), m.command_line.size());
        fbs::HostRange range(m.base, m.size);
        fbs::BootModuleBuilder module(b);
        module.add_index(m.index);
        module.add_range(&range);
        module.add_command_line(command_line);
        modules[i] = module.Finish();
    }
    auto module_vector = b.CreateVector(modules, module_count);

    auto version = b.CreateString(inputs.producer_version.data(), inputs.producer_version.size());
    fbs::BuildId build_id{flatbuffers::span<const u8, 32>(inputs.producer_build.bytes, 32)};
    fbs::BuildInfoBuilder producer(b);
    producer.add_build_id(&build_id);
    producer.add_version(version);
    auto producer_offset = producer.Finish();

    fbs::HandoverRegionBuilder handover(b);
    handover.add_base(inputs.handover_base);
    handover.add_size(inputs.handover_size);
    handover.add_producer_half(0);
    auto handover_offset = handover.Finish();

    fbs::HostStateBuilder host(b);
    host.add_producer(producer_offset);
    host.add_handover(handover_offset);
    host.add_boot_modules(module_vector);
    host.add_domains(domain_vector);
    host.add_host_tsc_frequency_khz(inputs.tsc_khz);
    auto root = host.Finish();

    stream::StreamFields fields;
    fields.kind = stream::StreamKind::kBoot;
    fields.producer_build = inputs.producer_build;
    return writer.finish(root, fields, output, output_capacity);
}

}  // namespace relay::hyperlaunch
