#include "tests/guests/dma/page_walk.hpp"

#include <gtest/gtest.h>

#include <set>

namespace relay::guest::dma {
namespace {

TEST(PageWalk, TakesTheWholePagesBelowTheLimit) {
    MemoryRegion free[] = {{0x15'3000, 0x2D000}, {0x20'0000, 0x100'0000}};
    PageWalk walk = PageWalk::plan(free, 0x40'0000);
    ASSERT_EQ(walk.regions().size(), 2u);
    EXPECT_EQ(walk.regions()[1].base, 0x20'0000u);
    EXPECT_EQ(walk.regions()[1].end(), 0x40'0000u);
    EXPECT_EQ(walk.page_count(), 0x2Du + 0x200u);
    EXPECT_EQ(walk.page(0), 0x15'3000u);
    EXPECT_EQ(walk.page(0x2C), 0x17'F000u);
    EXPECT_EQ(walk.page(0x2D), 0x20'0000u);
    EXPECT_EQ(walk.page(walk.page_count() - 1), 0x3F'F000u);
    // A limit inside a page drops it; regions above the limit drop out.
    EXPECT_EQ(PageWalk::plan(free, 0x15'4FFF).page_count(), 1u);
    EXPECT_EQ(PageWalk::plan(free, 0x15'3000).page_count(), 0u);
    EXPECT_EQ(PageWalk::plan(free, ~0ull).page_count(), 0x2Du + 0x1000u);
}

TEST(PageWalk, EveryPageIsASourceAndADestinationOnceInPTransfers) {
    for (u64 pages : {2u, 3u, 4u, 10u, 64u, 97u, 1000u, 3348u}) {
        MemoryRegion free[] = {{0x10'0000, pages * kPageSize4K}};
        PageWalk walk = PageWalk::plan(free, ~0ull);
        ASSERT_EQ(walk.page_count(), pages);
        std::set<u64> sources;
        std::set<u64> destinations;
        for (u64 transfer = 1; transfer <= pages; ++transfer) {
            u64 source = walk.source(transfer);
            u64 destination = walk.destination(transfer);
            EXPECT_NE(source, destination) << pages << " pages, transfer " << transfer;
            EXPECT_GE(source, 0x10'0000u);
            EXPECT_LT(source, 0x10'0000u + pages * kPageSize4K);
            sources.insert(source);
            destinations.insert(destination);
        }
        EXPECT_EQ(sources.size(), pages) << pages;
        EXPECT_EQ(destinations.size(), pages) << pages;
        // The walk repeats with period P.
        EXPECT_EQ(walk.source(1), walk.source(1 + pages));
    }
}

TEST(PageWalk, ConsecutiveTransfersLandFarApart) {
    MemoryRegion free[] = {{0x15'3000, 0x1000'0000 - 0x15'3000}};  // up to 256 MiB
    PageWalk walk = PageWalk::plan(free, 0x1000'0000);
    u64 span = walk.page_count() * kPageSize4K;
    for (u64 transfer = 1; transfer < 100; ++transfer) {
        u64 a = walk.source(transfer);
        u64 b = walk.source(transfer + 1);
        u64 distance = a > b ? a - b : b - a;
        EXPECT_GT(distance, span / 5) << transfer;
    }
    EXPECT_GT(walk.stride(), walk.page_count() / 2);
}

TEST(PageWalk, HugeTransferNumbersStayInRange) {
    MemoryRegion free[] = {{0x10'0000, 1000 * kPageSize4K}};
    PageWalk walk = PageWalk::plan(free, ~0ull);
    EXPECT_EQ(walk.source(~0ull), walk.page((~0ull % 1000) * walk.stride() % 1000));
    EXPECT_LT(walk.destination(~0ull), 0x10'0000u + 1000 * kPageSize4K);
}

TEST(PageWalk, FewPages) {
    MemoryRegion one[] = {{0x10'0000, kPageSize4K}};
    EXPECT_EQ(PageWalk::plan(one, ~0ull).page_count(), 1u);
    EXPECT_EQ(PageWalk::plan({}, ~0ull).page_count(), 0u);
    EXPECT_EQ(PageWalk::plan({}, ~0ull).source(5), 0u);
}

}  // namespace
}  // namespace relay::guest::dma
