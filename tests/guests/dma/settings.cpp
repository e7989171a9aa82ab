#include "tests/guests/dma/settings.hpp"

#include "tests/guests/dma/edu.hpp"
#include "tests/guests/dma/exerciser.hpp"

namespace relay::guest::dma {

Result<DmaSettings> parse_settings(const CommandLine& line, u64 memory_size) {
    DmaSettings settings;
    RELAY_TRY_ASSIGN(seed, line.number_or("seed", 1, 0, ~0ull));
    RELAY_TRY_ASSIGN(heartbeat, line.number_or("heartbeat_ms", 500, 10, 60'000));
    RELAY_TRY_ASSIGN(timeout, line.number_or("timeout_ms", 1000, 1, 600'000));
    RELAY_TRY_ASSIGN(mask_bits, line.number_or("dma_mask_bits", kEduDefaultDmaMaskBits, 20, 64));
    settings.seed = seed;
    settings.heartbeat_ms = heartbeat;
    settings.timeout_ms = timeout;
    settings.dma_mask_bits = static_cast<u32>(mask_bits);

    if (const CommandLine::Argument* bdf = line.find("bdf")) {
        RELAY_TRY_ASSIGN(parsed, pci::parse_bdf(bdf->value));
        settings.bdf_given = true;
        settings.bdf = parsed;
    }

    if (line.has("outside")) {
        RELAY_TRY_ASSIGN(outside, line.number_or("outside", 0, 0, ~0ull));
        u64 mask = dma_mask(settings.dma_mask_bits);
        u64 highest = mask - (kTransferBytes - 1);  // the last start that stays within it
        if (outside < memory_size) {
            return make_error(ErrorCode::kInvalidArgument,
                              "outside={:#x} is inside this domain's RAM (which ends at {:#x})",
                              outside, memory_size);
        }
        if (outside > mask) {
            return make_error(ErrorCode::kInvalidArgument,
                              "outside={:#x} is beyond the device's {}-bit DMA mask: edu would use "
                              "{:#x} instead; use at most {:#x}, or more dma_mask_bits with QEMU's "
                              "-device edu,dma_mask=...",
                              outside, settings.dma_mask_bits, outside & mask, highest);
        }
        if (outside > highest) {
            return make_error(ErrorCode::kInvalidArgument,
                              "outside={:#x}: its {} bytes would run past the device's {}-bit DMA "
                              "addresses; use at most {:#x}",
                              outside, kTransferBytes, settings.dma_mask_bits, highest);
        }
        settings.outside_given = true;
        settings.outside = outside;
    }

    if (line.has("msi")) {
        RELAY_TRY_ASSIGN(data, line.number_or("msi", 0, 0, 0xFFFF'FFFF));
        if (kMsiAddress + 4 - 1 > dma_mask(settings.dma_mask_bits)) {
            return make_error(ErrorCode::kInvalidArgument,
                              "msi= writes to {:#x}, beyond the device's {}-bit DMA mask: use "
                              "dma_mask_bits=32 or more, with QEMU's -device edu,dma_mask=...",
                              kMsiAddress, settings.dma_mask_bits);
        }
        settings.msi_given = true;
        settings.msi_data = static_cast<u32>(data);
    }
    return settings;
}

}  // namespace relay::guest::dma
