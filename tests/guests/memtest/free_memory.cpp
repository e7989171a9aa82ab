#include "tests/guests/memtest/free_memory.hpp"

namespace relay::guest::memtest {

namespace {

constexpr u64 kPage = kPageSize4K;

u64 min_u64(u64 a, u64 b) {
    return a < b ? a : b;
}
u64 max_u64(u64 a, u64 b) {
    return a > b ? a : b;
}

// [base, base + size) clamped so that base + size cannot overflow.
MemoryRegion clamped(u64 base, u64 size) {
    u64 end = 0;
    if (__builtin_add_overflow(base, size, &end)) {
        end = ~0ull;
    }
    return {base, end - base};
}

}  // namespace

void FreeMemory::add(MemoryRegion region) {
    u64 base = 0;
    if (!align_up(region.base, kPage, &base)) {
        return;
    }
    u64 end = align_down(region.end(), kPage);
    if (end <= base) {
        return;
    }
    MemoryRegion aligned{base, end - base};
    if (count_ == kMaxRegions) {
        // Keep the largest pieces: replace the smallest if this one is larger.
        truncated_ = true;
        usize smallest = 0;
        for (usize i = 1; i < count_; ++i) {
            if (regions_[i].size < regions_[smallest].size) {
                smallest = i;
            }
        }
        if (regions_[smallest].size >= aligned.size) {
            return;
        }
        for (usize i = smallest; i + 1 < count_; ++i) {
            regions_[i] = regions_[i + 1];
        }
        --count_;
    }
    // Keep address order.
    usize position = count_;
    while (position > 0 && regions_[position - 1].base > aligned.base) {
        regions_[position] = regions_[position - 1];
        --position;
    }
    regions_[position] = aligned;
    ++count_;
}

void FreeMemory::subtract(MemoryRegion hole) {
    if (hole.size == 0) {
        return;
    }
    MemoryRegion before[kMaxRegions];
    usize before_count = count_;
    for (usize i = 0; i < count_; ++i) {
        before[i] = regions_[i];
    }
    count_ = 0;
    for (usize i = 0; i < before_count; ++i) {
        const MemoryRegion& region = before[i];
        if (hole.end() <= region.base || hole.base >= region.end()) {
            add(region);
            continue;
        }
        if (hole.base > region.base) {
            add({region.base, hole.base - region.base});
        }
        if (hole.end() < region.end()) {
            add({hole.end(), region.end() - hole.end()});
        }
    }
}

FreeMemory FreeMemory::plan(std::span<const relay_memory_range> ranges, u64 memory_size, u64 floor,
                            std::span<const MemoryRegion> exclusions) {
    FreeMemory free;
    if (ranges.empty()) {
        if (memory_size > floor) {
            free.add({floor, memory_size - floor});
        }
    } else {
        for (const relay_memory_range& range : ranges) {
            if (range.type != RELAY_MEMORY_RAM) {
                continue;
            }
            MemoryRegion ram = clamped(range.base, range.size);
            u64 base = max_u64(ram.base, floor);
            u64 end = min_u64(ram.end(), memory_size);
            if (end > base) {
                free.add({base, end - base});
            }
        }
        // Ranges may overlap; a reserved range wins over RAM wherever they meet.
        for (const relay_memory_range& range : ranges) {
            if (range.type != RELAY_MEMORY_RAM) {
                // Whole pages: a page that is partly reserved is not free.
                MemoryRegion reserved = clamped(range.base, range.size);
                u64 base = align_down(reserved.base, kPage);
                u64 end = 0;
                if (!align_up(reserved.end(), kPage, &end)) {
                    end = ~0ull;
                }
                free.subtract({base, end - base});
            }
        }
    }
    for (const MemoryRegion& exclusion : exclusions) {
        MemoryRegion hole = clamped(exclusion.base, exclusion.size);
        free.subtract(hole);
    }
    // Overlapping RAM ranges would count twice: merge neighbours that touch or overlap.
    usize merged = 0;
    for (usize i = 0; i < free.count_; ++i) {
        if (merged > 0 && free.regions_[i].base <= free.regions_[merged - 1].end()) {
            MemoryRegion& last = free.regions_[merged - 1];
            u64 end = max_u64(last.end(), free.regions_[i].end());
            last.size = end - last.base;
        } else {
            free.regions_[merged++] = free.regions_[i];
        }
    }
    free.count_ = merged;
    for (usize i = 0; i < free.count_; ++i) {
        free.total_bytes_ += free.regions_[i].size;
    }
    return free;
}

FreeMemory FreeMemory::share(u32 index, u32 count) const {
    FreeMemory part;
    if (count == 0 || index >= count) {
        return part;
    }
    u64 pages = total_bytes_ / kPage;
    u64 first = pages * index / count;
    u64 last = pages * (static_cast<u64>(index) + 1) / count;  // exclusive
    u64 page = 0;                                              // pages before this region
    for (usize i = 0; i < count_; ++i) {
        const MemoryRegion& region = regions_[i];
        u64 region_pages = region.size / kPage;
        u64 begin = max_u64(first, page);
        u64 end = min_u64(last, page + region_pages);
        if (end > begin) {
            part.regions_[part.count_++] = {region.base + (begin - page) * kPage,
                                            (end - begin) * kPage};
            part.total_bytes_ += (end - begin) * kPage;
        }
        page += region_pages;
    }
    return part;
}

}  // namespace relay::guest::memtest
