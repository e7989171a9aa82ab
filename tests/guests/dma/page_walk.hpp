// Which RAM pages the DMA round trips use. Every free whole 4 KiB page below the device's
// DMA limit takes part: transfer n's source is page (n * stride) mod P of the P pages in
// address order, with a stride about 0.618 P that is coprime to P, so P consecutive
// transfers use every page once as a source, and consecutive transfers land far apart in
// RAM; its destination is the page P/2 further on. A wrong IOMMU mapping anywhere in the
// domain's RAM below the limit is therefore met within P transfers, a wrong mapping of a
// large part of it within a few. Shared: tested on the host.
#pragma once

#include <span>

#include "lib/types.hpp"
#include "tests/guests/memtest/free_memory.hpp"

namespace relay::guest::dma {

using memtest::MemoryRegion;

class PageWalk {
public:
    static constexpr usize kMaxRegions = memtest::FreeMemory::kMaxRegions;
    // The walk's arithmetic stays in 64 bits with fewer pages (16 TiB).
    static constexpr u64 kMaxPages = (1ull << 32) - 1;

    // The whole pages of `free` (page-aligned regions in address order, as FreeMemory
    // makes them) below `limit`, at most kMaxPages of them.
    static PageWalk plan(std::span<const MemoryRegion> free, u64 limit);

    std::span<const MemoryRegion> regions() const { return {regions_, region_count_}; }
    u64 page_count() const { return page_count_; }
    u64 stride() const { return stride_; }

    // The address of page `index` (< page_count()) in address order.
    u64 page(u64 index) const;

    // Transfer `transfer`'s pages; they differ when there are at least two pages.
    u64 source(u64 transfer) const;
    u64 destination(u64 transfer) const;

private:
    MemoryRegion regions_[kMaxRegions];
    usize region_count_ = 0;
    u64 page_count_ = 0;
    u64 stride_ = 1;
};

}  // namespace relay::guest::dma
