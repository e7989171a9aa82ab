#include "hv/hyperlaunch_boot.hpp"

#include <cstring>

#include "hv/build_info.hpp"
#include "hv/config/boot_stream.hpp"
#include "hv/config/hyperlaunch_parser.hpp"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/domain_builder.hpp"
#include "hv/domain_control.hpp"
#include "hv/iommu_host.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/memory/temporary_frames.hpp"
#include "hv/passthrough.hpp"
#include "lib/static_storage.hpp"
#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_verifier.hpp"

namespace relay {

namespace {

// ~19 KiB: static, not on a stack; .bss storage (lib/static_storage.hpp).
StaticStorage<hyperlaunch::HyperlaunchConfig> config_storage;

constexpr u32 kFdtMagic = 0xD00DFEED;

u32 read_be32(const u8* p) {
    return (static_cast<u32>(p[0]) << 24) | (static_cast<u32>(p[1]) << 16) |
           (static_cast<u32>(p[2]) << 8) | p[3];
}

}  // namespace

// Two functions of different domains must not reach the IOMMU with one requester id (an
// IVRS alias): one device table entry cannot point at two domains' tables.
Status check_shared_requesters(const hyperlaunch::HyperlaunchConfig& config) {
    std::span<const hyperlaunch::DomainConfig> domains = config.domain_list();
    for (usize d = 0; d < domains.size(); ++d) {
        for (usize e = 0; e < d; ++e) {
            for (usize i = 0; i < domains[d].passthrough_count; ++i) {
                for (usize j = 0; j < domains[e].passthrough_count; ++j) {
                    iommu::DeviceId requester;
                    const PciFunction& mine = domains[d].passthrough[i];
                    const PciFunction& theirs = domains[e].passthrough[j];
                    if (iommu_host::share_requester(mine, theirs, &requester)) {
                        return make_error(ErrorCode::kAlreadyExists,
                                          "configuration: /chosen/hypervisor/{}: property "
                                          "\"relay,passthrough\": {} and {} (of {}) must be in "
                                          "one domain: they share requester id {} (IVRS alias)",
                                          domains[d].name, pci_function_text(mine).view(),
                                          pci_function_text(theirs).view(), domains[e].name,
                                          requester.text().view());
                    }
                }
            }
        }
    }
    return ok_status();
}

Result<u32> boot_domains(const HyperlaunchBootInputs& inputs) {
    const BootInfo& boot = *inputs.boot;
    if (boot.module_count == 0) {
        return 0u;
    }
    const BootModule& tree_module = boot.modules[0];
    const u8* tree = phys_to_virt<const u8>(tree_module.range.base());
    if (tree_module.range.size() < 40 || read_be32(tree) != kFdtMagic) {
        return make_error(ErrorCode::kBadMagic,
                          "multiboot module 0 ('{}') is not a flattened device tree (the "
                          "Hyperlaunch configuration must be module 0)",
                          boot.module_command_line(0));
    }
    if (!tree_module.range.base().is_aligned(8)) {
        return make_error(ErrorCode::kInvalidArgument, "multiboot module 0 is not 8-byte aligned");
    }

    hyperlaunch::ModuleInfo modules[BootInfo::kMaxModules];
    for (usize i = 0; i < boot.module_count; ++i) {
        modules[i].size = boot.modules[i].range.size();
        modules[i].command_line = boot.module_command_line(i);
    }
    hyperlaunch::HyperlaunchConfig& config = config_storage.construct();
    hyperlaunch::HostLimits limits;
    // Keep an eighth of free memory (at least 16 MiB) for page tables, VMCBs and streams.
    u64 free_bytes = frame_allocator().free_frames() * FrameAllocator::kFrameSize;
    u64 reserve = free_bytes / 8 > 16 * MiB ? free_bytes / 8 : 16 * MiB;
    limits.guest_memory_bytes = free_bytes > reserve ? free_bytes - reserve : 0;
    limits.physical_cpus = inputs.physical_cpus;
    limits.max_vcpus_per_domain = static_cast<u32>(kMaxVcpusPerDomain);
    limits.max_domains = static_cast<u32>(kMaxDomains);
    Status parsed = hyperlaunch::parse_hyperlaunch_config(
        std::span<const u8>(tree, tree_module.range.size()),
        hyperlaunch::ModuleList(modules, boot.module_count), limits, &config);
    if (!parsed.ok()) {
        return parsed.error().prefix("configuration: ");
    }
    log_info("configuration: {} domains, {} MiB of guest memory", config.domain_count,
             config.total_memory_kib / 1024);
    // What the parser cannot know: that each assigned PCI function exists on this host.
    for (const hyperlaunch::DomainConfig& domain : config.domain_list()) {
        for (usize i = 0; i < domain.passthrough_count; ++i) {
            Status usable = passthrough_check(domain.passthrough[i]);
            if (usable.ok()) {
                usable = iommu_host::check_function(domain.passthrough[i]);
            }
            if (!usable.ok()) {
                return usable.error().prefix(
                    "configuration: /chosen/hypervisor/{}: property \"relay,passthrough\": ",
                    domain.name);
            }
        }
    }
    // Functions that reach the IOMMU with one requester id share a device table entry.
    RELAY_TRY(check_shared_requesters(config));

    // The configuration as a boot stream (the same format a live update carries).
    hyperlaunch::BootStreamModule stream_modules[BootInfo::kMaxModules];
    for (usize i = 0; i < boot.module_count; ++i) {
        stream_modules[i] = hyperlaunch::BootStreamModule{
            static_cast<u32>(i), boot.modules[i].range.base().raw(), boot.modules[i].range.size(),
            boot.module_command_line(i)};
    }
    hyperlaunch::BootStreamInputs stream_inputs;
    stream_inputs.config = &config;
    stream_inputs.modules =
        std::span<const hyperlaunch::BootStreamModule>(stream_modules, boot.module_count);
    stream_inputs.handover_base = inputs.handover.base().raw();
    stream_inputs.handover_size = inputs.handover.size();
    const BuildId& id = build_id();
    std::memcpy(stream_inputs.producer_build.bytes, id.bytes, id.length);
    stream_inputs.producer_version = kBuildVariant.version;
    stream_inputs.tsc_khz = inputs.tsc_khz;
    usize bound = hyperlaunch::boot_stream_bound(config, boot.module_count);
    TemporaryFrames scratch;
    TemporaryFrames output;
    RELAY_TRY(scratch.allocate(bound));
    RELAY_TRY(output.allocate(bound));
    RELAY_TRY_ASSIGN(size,
                     hyperlaunch::write_boot_stream(stream_inputs, scratch.data(), scratch.size(),
                                                    output.data(), output.size()));
    TemporaryFrames work;
    RELAY_TRY(work.allocate(stream::verify_work_bytes(0, 0) + kPageSize4K));
    stream::VerifyOptions options;
    options.work_memory = work.data();
    options.work_memory_size = work.size();
    auto verified = stream::verify_stream(output.data(), size, options);
    if (!verified.ok()) {
        return verified.error().prefix("boot stream: ");
    }
    log_info("boot stream: {} bytes, verified", size);

    stream::StreamReader reader(verified.value());
    BuildReport report = build_domains(reader);
    u32 started = 0;
    domain_for_each([&](Domain& domain) {
        Status status = domain_start(domain);
        if (status.ok()) {
            ++started;
        } else {
            log_error("domain {}: {}", domain.domid, status.error().message());
        }
    });
    if (report.failed > 0) {
        log_warning("{} of {} domains could not be built", report.failed,
                    report.failed + report.built);
    }
    return started;
}

}  // namespace relay
