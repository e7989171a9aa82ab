// The Hyperlaunch configuration as a boot stream: the first half of "the one path"
// (DESIGN.md). A validated HyperlaunchConfig becomes a HostState whose domains are
// Configured (vCPUs in reset, no memory yet), written with the same StreamWriter and
// checked by the same StreamVerifier as a live-update stream; the domain builder then
// consumes it exactly like a restore. Shared: the hypervisor writes it at boot and
// `relay-config stream` writes it on the host for relay-dump.
#pragma once

#include <span>
#include <string_view>

#include "hv/config/hyperlaunch_config.hpp"
#include "lib/result.hpp"
#include "migration_stream/stream_header.hpp"

namespace relay::hyperlaunch {

// vCPUs a configured domain may declare (the stream's limit is higher; Relay's is this).
inline constexpr u32 kMaxVcpusPerDomainInStream = 16;

// A multiboot module as the stream records it.
struct BootStreamModule {
    u32 index = 0;
    u64 base = 0;
    u64 size = 0;
    std::string_view command_line;
};

struct BootStreamInputs {
    const HyperlaunchConfig* config = nullptr;
    std::span<const BootStreamModule> modules;
    u64 handover_base = 0;
    u64 handover_size = 0;
    stream::BuildId producer_build;
    std::string_view producer_version;
    u64 tsc_khz = 0;
};

// Bytes of scratch and output memory a boot stream of `config` needs at most.
usize boot_stream_bound(const HyperlaunchConfig& config, usize module_count);

// Writes the boot stream into `output`; returns its size.
Result<usize> write_boot_stream(const BootStreamInputs& inputs, void* scratch, usize scratch_size,
                                void* output, usize output_capacity);

}  // namespace relay::hyperlaunch
