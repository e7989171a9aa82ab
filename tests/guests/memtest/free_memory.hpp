// Which guest RAM memtest may overwrite, and how it is split between vCPUs. Free is: the
// start info's RAM ranges (all of [0, memory_size) when it lists none), clipped to
// [floor, memory_size) where floor is the end of the guest's image, minus the reserved
// ranges and the given exclusions (the start-info block and what it points to, modules),
// each piece shrunk to whole 4 KiB pages. Shared: unit-tested on the host.
#pragma once

#include <span>

#include "hv/abi/start_info.h"
#include "lib/types.hpp"

namespace relay::guest::memtest {

struct MemoryRegion {
    u64 base = 0;
    u64 size = 0;
    u64 end() const { return base + size; }
};

class FreeMemory {
public:
    static constexpr usize kMaxRegions = 32;

    static FreeMemory plan(std::span<const relay_memory_range> ranges, u64 memory_size, u64 floor,
                           std::span<const MemoryRegion> exclusions);

    // The part vCPU `index` of `count` tests: the regions' pages cut into `count`
    // contiguous runs of nearly equal size, in address order.
    FreeMemory share(u32 index, u32 count) const;

    std::span<const MemoryRegion> regions() const { return {regions_, count_}; }
    u64 total_bytes() const { return total_bytes_; }
    // More pieces than kMaxRegions: the smallest were left out.
    bool truncated() const { return truncated_; }

private:
    void add(MemoryRegion region);
    void subtract(MemoryRegion hole);

    MemoryRegion regions_[kMaxRegions];
    usize count_ = 0;
    u64 total_bytes_ = 0;
    bool truncated_ = false;
};

}  // namespace relay::guest::memtest
