#include "tests/guests/lib/page_tables.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::guest {
namespace {

constexpr u64 kTableFlags = kPagePresent | kPageWritable;
constexpr u64 kLeafFlags = kPagePresent | kPageWritable | kPageLarge;
constexpr u64 kUncachedBits = kPageCacheDisable | kPageWriteThrough;
constexpr u64 kBar = 0xFEA0'0000;  // 1 MiB, in the fourth GiB: no directory there yet

u64 pointer_bits(const void* table) {
    return static_cast<u64>(reinterpret_cast<uptr>(table));
}

u64* table_of(u64 entry) {
    return reinterpret_cast<u64*>(static_cast<uptr>(entry & kPageAddressMask));
}

// Page tables in host memory, laid out as Relay's domain builder lays out a domain's:
// PML4[0] -> PDPT, PDPT[0] -> a directory of 2 MiB RAM pages for the first `ram` bytes.
class PageTablesTest : public ::testing::Test {
protected:
    void build_ram_map(u64 ram) {
        pml4_[0] = pointer_bits(pdpt_) | kTableFlags;
        pdpt_[0] = pointer_bits(ram_directory_) | kTableFlags;
        for (u64 page = 0; page < ram; page += kPageSize2M) {
            ram_directory_[page / kPageSize2M] = page | kLeafFlags;
        }
    }

    // The 2 MiB leaf entry that maps `address`, or 0 when there is none.
    u64 leaf_entry(u64 address) const {
        u64 entry = pml4_[(address >> 39) & 511];
        if ((entry & kPagePresent) == 0) {
            return 0;
        }
        entry = table_of(entry)[(address >> 30) & 511];
        if ((entry & kPagePresent) == 0 || (entry & kPageLarge) != 0) {
            return 0;
        }
        entry = table_of(entry)[(address >> 21) & 511];
        return (entry & kPageLarge) != 0 ? entry : 0;
    }

    Status map(u64 address, u64 size, Caching caching) {
        return add_identity_mapping(pml4_, address, size, caching, pool_);
    }

    alignas(4096) PageTable pml4_ = {};
    alignas(4096) PageTable pdpt_ = {};
    alignas(4096) PageTable ram_directory_ = {};
    alignas(4096) PageTable pool_tables_[3] = {};
    PageTablePool pool_{pool_tables_};
};

TEST_F(PageTablesTest, MapsAnUncachedBarBeyondRamWithANewDirectory) {
    build_ram_map(16 * MiB);
    ASSERT_TRUE(map(kBar, 1 * MiB, Caching::kUncached).ok());
    EXPECT_EQ(pool_.used(), 1u);  // the directory; the PDPT was there
    EXPECT_EQ(pdpt_[3], pointer_bits(pool_tables_[0]) | kTableFlags);
    EXPECT_EQ(leaf_entry(kBar), kBar | kLeafFlags | kUncachedBits);  // 2 MiB-aligned
    EXPECT_EQ(leaf_entry(kBar + 1 * MiB - 1), leaf_entry(kBar));
    // RAM is untouched.
    EXPECT_EQ(leaf_entry(0x20'0000), 0x20'0000 | kLeafFlags);
    EXPECT_EQ(leaf_entry(16 * MiB), 0u);
}

TEST_F(PageTablesTest, WriteBackMappingsHaveNoCachingBits) {
    build_ram_map(16 * MiB);
    ASSERT_TRUE(map(0x4'0000'0000, 8, Caching::kWriteBack).ok());
    EXPECT_EQ(leaf_entry(0x4'0000'0000), 0x4'0000'0000 | kLeafFlags);
    EXPECT_EQ(pool_.used(), 1u);  // 16 GiB: a directory below PDPT[16]
}

TEST_F(PageTablesTest, CreatesEveryLevelBelowAnAbsentPml4Entry) {
    constexpr u64 kHigh = 0x7F80'0000'0000ull;  // PML4 index 255
    ASSERT_TRUE(map(kHigh + 3 * MiB, 4 * MiB, Caching::kUncached).ok());
    EXPECT_EQ(pool_.used(), 2u);
    EXPECT_EQ(pml4_[255], pointer_bits(pool_tables_[0]) | kTableFlags);
    // 3 MiB + 4 MiB spans the 2 MiB pages at 2, 4 and 6 MiB.
    EXPECT_EQ(leaf_entry(kHigh), 0u);
    for (u64 page : {2 * MiB, 4 * MiB, 6 * MiB}) {
        EXPECT_EQ(leaf_entry(kHigh + page), (kHigh + page) | kLeafFlags | kUncachedBits) << page;
    }
    EXPECT_EQ(leaf_entry(kHigh + 8 * MiB), 0u);
}

TEST_F(PageTablesTest, ARangeAcrossAGibBoundaryGetsTwoDirectories) {
    build_ram_map(16 * MiB);
    ASSERT_TRUE(map(3 * GiB - 1 * MiB, 2 * MiB, Caching::kUncached).ok());
    EXPECT_EQ(pool_.used(), 2u);
    EXPECT_NE(leaf_entry(3 * GiB - 1), 0u);
    EXPECT_NE(leaf_entry(3 * GiB), 0u);
}

TEST_F(PageTablesTest, MappingTheSameRangeAgainChangesNothing) {
    build_ram_map(16 * MiB);
    ASSERT_TRUE(map(kBar, 1 * MiB, Caching::kUncached).ok());
    // The processor has used the entry meanwhile.
    table_of(pdpt_[3])[(kBar >> 21) & 511] |= kPageAccessed | kPageDirty;
    ASSERT_TRUE(map(kBar + 4 * KiB, 4 * KiB, Caching::kUncached).ok());
    EXPECT_EQ(pool_.used(), 1u);
}

TEST_F(PageTablesTest, NeverReplacesRamOrAnotherMapping) {
    build_ram_map(16 * MiB);
    Status ram = map(4 * MiB, 4 * KiB, Caching::kUncached);
    ASSERT_FALSE(ram.ok());
    EXPECT_EQ(ram.error().code(), ErrorCode::kAlreadyExists);
    EXPECT_EQ(std::string(ram.error().message()),
              "identity mapping of 0x400000: 2 MiB page 0x400000 is already mapped (0x400083)");
    EXPECT_EQ(leaf_entry(4 * MiB), 4 * MiB | kLeafFlags);
    // RAM mapped write-back is not a write-back mapping made by this helper either: it is
    // identical, so it is accepted.
    EXPECT_TRUE(map(4 * MiB, 4 * KiB, Caching::kWriteBack).ok());
    // A 4 KiB page table (a RAM tail) is not replaced.
    alignas(4096) static PageTable tail = {};
    ram_directory_[8] = pointer_bits(tail) | kTableFlags;
    EXPECT_EQ(map(16 * MiB, 8, Caching::kWriteBack).error().code(), ErrorCode::kAlreadyExists);
    // The same page with other caching is refused.
    ASSERT_TRUE(map(kBar, 8, Caching::kUncached).ok());
    EXPECT_EQ(map(kBar, 8, Caching::kWriteBack).error().code(), ErrorCode::kAlreadyExists);
}

TEST_F(PageTablesTest, RefusesToDescendThroughA1GibPage) {
    pml4_[0] = pointer_bits(pdpt_) | kTableFlags;
    pdpt_[3] = 3 * GiB | kLeafFlags;
    Status status = map(kBar, 4 * KiB, Caching::kUncached);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(std::string(status.error().message()),
              "identity mapping of 0xfea00000: the PDPT entry is a 1 GiB page (0xc0000083)");
    EXPECT_EQ(pool_.used(), 0u);
}

TEST_F(PageTablesTest, FailsWhenThePoolIsUsedUp) {
    // Three tables: PDPT and directory for the first address, a directory for the second,
    // nothing for a third GiB.
    ASSERT_TRUE(map(0x40'0000'0000ull, 8, Caching::kUncached).ok());
    ASSERT_TRUE(map(0x40'4000'0000ull, 8, Caching::kUncached).ok());
    Status status = map(0x40'8000'0000ull, 8, Caching::kUncached);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfMemory);
    EXPECT_EQ(leaf_entry(0x40'8000'0000ull), 0u);
}

TEST_F(PageTablesTest, RefusesEmptyWrappingAndNonCanonicalRanges) {
    EXPECT_EQ(map(kBar, 0, Caching::kUncached).error().code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(map(~0ull - 8, 16, Caching::kUncached).error().code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(map(kIdentityMappingLimit - 8, 16, Caching::kUncached).error().code(),
              ErrorCode::kOutOfRange);
    EXPECT_EQ(map(0xFFFF'8000'0000'0000ull, 8, Caching::kUncached).error().code(),
              ErrorCode::kOutOfRange);
    EXPECT_EQ(pool_.used(), 0u);
    EXPECT_TRUE(map(kIdentityMappingLimit - 8, 8, Caching::kUncached).ok());
}

TEST(PageTablePool, HandsOutZeroedTablesUntilEmpty) {
    alignas(4096) static PageTable tables[2];
    tables[1][7] = 0x1234;
    PageTablePool pool(tables);
    EXPECT_EQ(pool.take(), tables[0]);
    u64* second = pool.take();
    EXPECT_EQ(second, tables[1]);
    EXPECT_EQ(second[7], 0u);
    EXPECT_EQ(pool.take(), nullptr);
    EXPECT_EQ(pool.used(), 2u);
}

}  // namespace
}  // namespace relay::guest
