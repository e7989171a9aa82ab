// Adding identity mappings to a guest's own 4-level page tables. Relay's domain builder
// maps only RAM (hv/abi/start_info.h), so a guest that touches anything else (rogue's
// stores outside RAM, a device's memory BAR) maps it itself first. The editing is shared
// code: host tests run it on page tables in host memory, where an entry's address field
// holds a host pointer just as it holds a guest-physical address (= pointer) in a guest.
#pragma once

#include <span>

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest {

// Long-mode page-table entry bits (AMD APM vol. 2 §5.3.3, §7.8.2 for PWT/PCD).
inline constexpr u64 kPagePresent = 1ull << 0;
inline constexpr u64 kPageWritable = 1ull << 1;
inline constexpr u64 kPageWriteThrough = 1ull << 3;  // PWT
inline constexpr u64 kPageCacheDisable = 1ull << 4;  // PCD
inline constexpr u64 kPageAccessed = 1ull << 5;      // set by the processor
inline constexpr u64 kPageDirty = 1ull << 6;         // set by the processor (leaf entries)
inline constexpr u64 kPageLarge = 1ull << 7;         // PS: 2 MiB (directory) or 1 GiB (PDPT)
inline constexpr u64 kPageAddressMask = 0x000F'FFFF'FFFF'F000ull;
inline constexpr usize kPageTableEntries = 512;

// Identity mappings cover the lower half of the canonical address space only (a guest
// runs with virtual = physical, so the address must also be a canonical virtual one).
inline constexpr u64 kIdentityMappingLimit = 1ull << 47;

enum class Caching : u8 {
    kWriteBack,  // RAM
    // Memory-mapped I/O: PCD and PWT select PAT entry 3, which is UC in the power-on PAT
    // (AMD APM vol. 2 §7.8.2) that Relay leaves alone; uncached in the nested page tables
    // too, so the effective type is UC.
    kUncached,
};

using PageTable = u64[kPageTableEntries];

// Where new page-table pages come from: a fixed array the caller owns (a guest has no
// heap). Pages handed out are zeroed first.
class PageTablePool {
public:
    constexpr explicit PageTablePool(std::span<PageTable> tables) : tables_(tables) {}
    // A zeroed table, or nullptr when the pool is used up.
    u64* take();
    usize used() const { return used_; }

private:
    std::span<PageTable> tables_;
    usize used_ = 0;
};

// Adds identity mappings with 2 MiB pages that cover [address, address + size) to the
// page tables rooted at `pml4` (the table CR3 points to), taking new tables from `pool`.
// A 2 MiB page already mapped exactly so (identity, present, writable, same caching) is
// left as it is; any other existing mapping of those 2 MiB (RAM, a 4 KiB page table, a
// 1 GiB page) is refused rather than replaced, so that the helper can never unmap RAM.
// The caller invalidates the TLB for the range (map_identity does). Fails for an empty or
// wrapping range, one beyond kIdentityMappingLimit, or an exhausted pool (then the
// mappings made so far stay; they map nothing but the requested range).
Status add_identity_mapping(u64* pml4, u64 address, u64 size, Caching caching, PageTablePool& pool);

}  // namespace relay::guest
