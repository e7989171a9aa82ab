#include "tests/guests/memtest/free_memory.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace relay::guest::memtest {
namespace {

constexpr u64 kMemory = 32 * MiB;
constexpr u64 kImageEnd = 0x150000;

relay_memory_range ram(u64 base, u64 size) {
    return {base, size, RELAY_MEMORY_RAM, 0};
}
relay_memory_range reserved(u64 base, u64 size) {
    return {base, size, RELAY_MEMORY_RESERVED, 0};
}

std::vector<std::pair<u64, u64>> regions_of(const FreeMemory& free) {
    std::vector<std::pair<u64, u64>> out;
    for (const MemoryRegion& region : free.regions()) {
        out.emplace_back(region.base, region.end());
    }
    return out;
}

using Regions = std::vector<std::pair<u64, u64>>;

TEST(FreeMemory, EverythingAboveTheImageWhenNoRangesAreListed) {
    FreeMemory free = FreeMemory::plan({}, kMemory, kImageEnd, {});
    EXPECT_EQ(regions_of(free), (Regions{{kImageEnd, kMemory}}));
    EXPECT_EQ(free.total_bytes(), kMemory - kImageEnd);
}

TEST(FreeMemory, RamRangesClippedToImageEndAndMemorySize) {
    relay_memory_range ranges[] = {ram(0, 0x9F000), ram(0x100000, kMemory)};
    FreeMemory free = FreeMemory::plan(ranges, kMemory, kImageEnd, {});
    EXPECT_EQ(regions_of(free), (Regions{{kImageEnd, kMemory}}));
    // A range past the end of the identity map is not touched.
    relay_memory_range beyond[] = {ram(0x100000, 2 * kMemory)};
    EXPECT_EQ(regions_of(FreeMemory::plan(beyond, kMemory, kImageEnd, {})),
              (Regions{{kImageEnd, kMemory}}));
}

TEST(FreeMemory, ReservedRangesAndExclusionsAreHoles) {
    relay_memory_range ranges[] = {ram(0x100000, kMemory - 0x100000), reserved(0x400000, 0x1800)};
    MemoryRegion exclusions[] = {{0x800000, 0x3000}, {0x1000, 0x2000}};
    FreeMemory free = FreeMemory::plan(ranges, kMemory, kImageEnd, exclusions);
    EXPECT_EQ(regions_of(free),
              (Regions{{kImageEnd, 0x400000}, {0x402000, 0x800000}, {0x803000, kMemory}}));
    EXPECT_EQ(free.total_bytes(), kMemory - kImageEnd - 0x2000 - 0x3000);
}

TEST(FreeMemory, PiecesShrinkToWholePages) {
    relay_memory_range ranges[] = {ram(0x200010, 0x3000)};
    EXPECT_EQ(regions_of(FreeMemory::plan(ranges, kMemory, kImageEnd, {})),
              (Regions{{0x201000, 0x203000}}));
    MemoryRegion exclusion[] = {{0x300800, 0x10}};
    EXPECT_EQ(regions_of(FreeMemory::plan({}, 0x400000, 0x300000, exclusion)),
              (Regions{{0x301000, 0x400000}}));
}

TEST(FreeMemory, OverlappingRamRangesCountOnce) {
    relay_memory_range ranges[] = {ram(0x200000, 0x200000), ram(0x300000, 0x200000)};
    FreeMemory free = FreeMemory::plan(ranges, kMemory, kImageEnd, {});
    EXPECT_EQ(regions_of(free), (Regions{{0x200000, 0x500000}}));
    EXPECT_EQ(free.total_bytes(), 0x300000u);
}

TEST(FreeMemory, HostileRangesDoNotOverflow) {
    relay_memory_range ranges[] = {ram(~0ull - 0x1000, 0x10000), ram(0x100000, ~0ull),
                                   reserved(~0ull - 5, 100)};
    MemoryRegion exclusions[] = {{~0ull, ~0ull}};
    FreeMemory free = FreeMemory::plan(ranges, kMemory, kImageEnd, exclusions);
    EXPECT_EQ(regions_of(free), (Regions{{kImageEnd, kMemory}}));
}

TEST(FreeMemory, NothingFreeWhenTheImageFillsRam) {
    FreeMemory free = FreeMemory::plan({}, 0x140000, kImageEnd, {});
    EXPECT_TRUE(free.regions().empty());
    EXPECT_EQ(free.total_bytes(), 0u);
    EXPECT_EQ(free.share(0, 2).total_bytes(), 0u);
}

TEST(FreeMemory, TooManyPiecesKeepTheLargest) {
    std::vector<MemoryRegion> holes;
    for (u64 i = 1; i <= FreeMemory::kMaxRegions + 4; ++i) {
        holes.push_back({0x200000 + i * 0x10000, 0x1000});
    }
    FreeMemory free = FreeMemory::plan({}, kMemory, 0x200000, holes);
    EXPECT_TRUE(free.truncated());
    EXPECT_EQ(free.regions().size(), FreeMemory::kMaxRegions);
    // The large tail region survives.
    EXPECT_EQ(free.regions().back().end(), kMemory);
}

TEST(FreeMemory, SharesCoverEverythingOnceInOrder) {
    relay_memory_range ranges[] = {ram(0x100000, kMemory - 0x100000), reserved(0x900000, 0x5000)};
    FreeMemory free = FreeMemory::plan(ranges, kMemory, kImageEnd, {});
    for (u32 count : {1u, 2u, 3u, 7u}) {
        u64 total = 0;
        u64 previous_end = 0;
        for (u32 index = 0; index < count; ++index) {
            FreeMemory share = free.share(index, count);
            EXPECT_LE(share.total_bytes(), free.total_bytes() / count + kPageSize4K);
            EXPECT_GE(share.total_bytes() + kPageSize4K, free.total_bytes() / count);
            for (const MemoryRegion& piece : share.regions()) {
                EXPECT_GE(piece.base, previous_end);
                EXPECT_EQ(piece.base % kPageSize4K, 0u);
                previous_end = piece.end();
                total += piece.size;
            }
        }
        EXPECT_EQ(total, free.total_bytes()) << count << " shares";
    }
    EXPECT_EQ(free.share(2, 2).total_bytes(), 0u);
    EXPECT_EQ(free.share(0, 0).total_bytes(), 0u);
}

TEST(FreeMemory, ShareSplitsAcrossAHole) {
    relay_memory_range ranges[] = {ram(0x100000, 0x400000), reserved(0x200000, 0x100000)};
    FreeMemory free = FreeMemory::plan(ranges, 0x500000, 0x100000, {});
    EXPECT_EQ(regions_of(free), (Regions{{0x100000, 0x200000}, {0x300000, 0x500000}}));
    EXPECT_EQ(regions_of(free.share(0, 2)), (Regions{{0x100000, 0x200000}, {0x300000, 0x380000}}));
    EXPECT_EQ(regions_of(free.share(1, 2)), (Regions{{0x380000, 0x500000}}));
}

}  // namespace
}  // namespace relay::guest::memtest
