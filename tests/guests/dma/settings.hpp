// The dma guest's command line (docs/testing.md, "dma"). Shared: tested on the host.
#pragma once

#include <string_view>

#include "lib/result.hpp"
#include "lib/types.hpp"
#include "tests/guests/lib/command_line.hpp"
#include "tests/guests/lib/pci.hpp"

namespace relay::guest::dma {

inline constexpr std::string_view kDmaArguments[] = {
    "seed", "heartbeat_ms", "timeout_ms", "dma_mask_bits", "bdf", "outside", "msi"};

// Where msi= writes: the x86 interrupt address range, destination APIC 0 (Intel SDM vol. 3
// §11.11.1; AMD IOMMU spec §2.2.5). An IOMMU must never let it reach the host unremapped.
inline constexpr u64 kMsiAddress = 0xFEE0'0000;

struct DmaSettings {
    u64 seed = 1;
    u64 heartbeat_ms = 500;
    u64 timeout_ms = 1000;
    u32 dma_mask_bits = 28;  // edu's default dma_mask
    bool bdf_given = false;
    pci::Bdf bdf;
    bool outside_given = false;
    u64 outside = 0;
    // msi=DATA: once, DMA the 32-bit DATA to kMsiAddress, a message-signalled interrupt
    // the domain's device forges for the host (docs/testing.md, "dma").
    bool msi_given = false;
    u32 msi_data = 0;
};

// Reads and checks the arguments. `memory_size` is the domain's RAM (the start info's):
// outside= must lie beyond it, and below the DMA limit, since edu would silently clamp a
// higher address into RAM. msi= needs a DMA mask that reaches kMsiAddress.
Result<DmaSettings> parse_settings(const CommandLine& line, u64 memory_size);

}  // namespace relay::guest::dma
