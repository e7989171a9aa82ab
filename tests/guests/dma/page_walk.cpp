#include "tests/guests/dma/page_walk.hpp"

namespace relay::guest::dma {

namespace {

u64 greatest_common_divisor(u64 a, u64 b) {
    while (b != 0) {
        u64 remainder = a % b;
        a = b;
        b = remainder;
    }
    return a;
}

}  // namespace

PageWalk PageWalk::plan(std::span<const MemoryRegion> free, u64 limit) {
    PageWalk walk;
    for (const MemoryRegion& region : free) {
        if (walk.region_count_ == kMaxRegions || walk.page_count_ == kMaxPages) {
            break;
        }
        u64 base = align_up_unchecked(region.base, kPageSize4K);
        u64 end = align_down(region.end() < limit ? region.end() : limit, kPageSize4K);
        if (end <= base) {
            continue;
        }
        u64 pages = (end - base) / kPageSize4K;
        if (pages > kMaxPages - walk.page_count_) {
            pages = kMaxPages - walk.page_count_;
        }
        walk.regions_[walk.region_count_++] = {base, pages * kPageSize4K};
        walk.page_count_ += pages;
    }
    // About 0.618 P (the golden ratio spreads consecutive multiples evenly), made coprime
    // to P so that the multiples visit every page.
    u64 count = walk.page_count_;
    if (count > 1) {
        u64 stride = count * 618 / 1000;
        stride = stride == 0 ? 1 : stride;
        while (greatest_common_divisor(stride, count) != 1) {
            ++stride;
        }
        walk.stride_ = stride % count;
    }
    return walk;
}

u64 PageWalk::page(u64 index) const {
    for (const MemoryRegion& region : regions()) {
        u64 pages = region.size / kPageSize4K;
        if (index < pages) {
            return region.base + index * kPageSize4K;
        }
        index -= pages;
    }
    return 0;  // not reached for index < page_count()
}

u64 PageWalk::source(u64 transfer) const {
    // (transfer mod P) * stride < 2^64: both factors are below kMaxPages.
    return page_count_ == 0 ? 0 : page((transfer % page_count_) * stride_ % page_count_);
}

u64 PageWalk::destination(u64 transfer) const {
    if (page_count_ == 0) {
        return 0;
    }
    u64 index = (transfer % page_count_) * stride_ % page_count_;
    return page((index + page_count_ / 2) % page_count_);
}

}  // namespace relay::guest::dma
