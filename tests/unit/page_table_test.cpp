// PageTable against fake memory that checks, after every single entry write, that the
// tree is well formed and that every watched address translates either as before the
// operation or as after it: never to anything else (no half-done update is visible).
#include "hv/memory/page_table.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

namespace relay {
namespace {

class FakeTableMemory {
public:
    Result<HostPhysAddr> allocate_table() {
        if (fail_after_ >= 0 && allocations_ >= fail_after_) {
            return make_error(ErrorCode::kOutOfMemory, "fake memory exhausted");
        }
        ++allocations_;
        HostPhysAddr address(next_);
        next_ += kPageSize4K;
        tables_[address.raw()].fill(0);
        return address;
    }
    void free_table(HostPhysAddr table) {
        ASSERT_EQ(tables_.count(table.raw()), 1u) << "free of unknown table";
        tables_.erase(table.raw());
        freed_.insert(table.raw());
    }
    u64 read_entry(HostPhysAddr table, usize index) {
        auto it = tables_.find(table.raw());
        EXPECT_NE(it, tables_.end()) << "read of freed/unknown table " << table.raw();
        return it == tables_.end() ? 0 : it->second[index];
    }
    void write_entry(HostPhysAddr table, usize index, u64 value) {
        auto it = tables_.find(table.raw());
        ASSERT_NE(it, tables_.end()) << "write to freed/unknown table";
        it->second[index] = value;
        ++writes_;
        if (on_write) {
            on_write();
        }
    }
    usize live_tables() const { return tables_.size(); }
    bool exists(u64 table) const { return tables_.count(table) != 0; }
    void fail_allocations_after(int count) {
        fail_after_ = count;
        allocations_ = 0;
    }
    u64 writes() const { return writes_; }

    std::function<void()> on_write;

private:
    u64 next_ = 0x100000000ull;
    std::map<u64, std::array<u64, 512>> tables_;
    std::set<u64> freed_;
    int fail_after_ = -1;
    int allocations_ = 0;
    u64 writes_ = 0;
};

using Table = PageTable<HvVirtAddr, FakeTableMemory>;

PageAttributes rw() {
    PageAttributes a;
    a.write = true;
    return a;
}

std::optional<u64> translate(const Table& table, u64 address) {
    auto result = table.translate(HvVirtAddr(address));
    if (!result.ok()) {
        return std::nullopt;
    }
    return result.value().address.raw();
}

// Checks every linked table exists (well-formed tree).
void check_tree(FakeTableMemory& memory, HostPhysAddr table, int level) {
    for (usize i = 0; i < 512; ++i) {
        u64 entry = memory.read_entry(table, i);
        if ((entry & pte::kPresent) == 0 || level == 0 || (entry & pte::kLarge) != 0) {
            continue;
        }
        u64 child = entry & pte::kAddressMask;
        ASSERT_TRUE(memory.exists(child)) << "entry links a freed table";
        check_tree(memory, HostPhysAddr(child), level - 1);
    }
}

// Runs `operation` while checking that each watched address translates to its value
// before or after the operation at every intermediate write.
void expect_atomic(FakeTableMemory& memory, Table& table, const std::vector<u64>& watched,
                   const std::function<void()>& operation,
                   const std::function<std::optional<u64>(u64)>& after) {
    std::vector<std::optional<u64>> before;
    for (u64 a : watched) {
        before.push_back(translate(table, a));
    }
    u64 checks = 0;
    memory.on_write = [&] {
        check_tree(memory, table.root(), 3);
        for (usize i = 0; i < watched.size(); ++i) {
            auto now = translate(table, watched[i]);
            bool ok = now == before[i] || now == after(watched[i]);
            EXPECT_TRUE(ok) << "address " << std::hex << watched[i] << " translated to "
                            << (now ? *now : 0) << " mid-update";
        }
        ++checks;
    };
    operation();
    memory.on_write = nullptr;
    for (usize i = 0; i < watched.size(); ++i) {
        EXPECT_EQ(translate(table, watched[i]), after(watched[i])) << std::hex << watched[i];
    }
    EXPECT_GT(checks, 0u);
}

constexpr u64 kBase = 0xFFFF800000000000ull;

TEST(PageTable, MapsWithLargestPagesAndTranslates) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    ASSERT_TRUE(table.ok());
    // 1 GiB + 2 MiB + 4 KiB, all aligned: one page of each size.
    u64 size = kPageSize1G + kPageSize2M + kPageSize4K;
    ASSERT_TRUE(table->map(HvVirtAddr(kBase), HostPhysAddr(0x40000000), size, rw()).ok());
    auto t = table->translate(HvVirtAddr(kBase + 0x12345));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->address, HostPhysAddr(0x40012345));
    EXPECT_EQ(t->page_size, kPageSize1G);
    EXPECT_EQ(table->translate(HvVirtAddr(kBase + kPageSize1G + 5))->page_size, kPageSize2M);
    EXPECT_EQ(table->translate(HvVirtAddr(kBase + kPageSize1G + kPageSize2M))->page_size,
              kPageSize4K);
    EXPECT_FALSE(table->translate(HvVirtAddr(kBase + size)).ok());
    EXPECT_TRUE(t->attributes.write);
    EXPECT_FALSE(t->attributes.execute);
}

TEST(PageTable, MaxPageSizeIsHonoured) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    ASSERT_TRUE(
        table->map(HvVirtAddr(kBase), HostPhysAddr(0), kPageSize2M, rw(), kPageSize4K).ok());
    EXPECT_EQ(table->translate(HvVirtAddr(kBase + 0x1000))->page_size, kPageSize4K);
}

TEST(PageTable, RefusesOverlapAndMisalignment) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    ASSERT_TRUE(table->map(HvVirtAddr(kBase + 0x5000), HostPhysAddr(0x5000), 0x1000, rw()).ok());
    Status overlap = table->map(HvVirtAddr(kBase), HostPhysAddr(0), 0x10000, rw());
    ASSERT_FALSE(overlap.ok());
    EXPECT_EQ(overlap.error().code(), ErrorCode::kAlreadyExists);
    EXPECT_FALSE(translate(*table, kBase).has_value()) << "refused map left a mapping";
    EXPECT_FALSE(table->map(HvVirtAddr(kBase + 0x100), HostPhysAddr(0), 0x1000, rw()).ok());
    EXPECT_FALSE(table->map(HvVirtAddr(0x0000800000000000ull), HostPhysAddr(0), 0x1000, rw()).ok())
        << "non-canonical";
    EXPECT_FALSE(table->map(HvVirtAddr(0x00007FFFFFFFF000ull), HostPhysAddr(0), 0x2000, rw()).ok())
        << "crosses the canonical hole";
}

TEST(PageTable, FailedAllocationLeavesNothingMapped) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    usize tables_before = memory.live_tables();
    memory.fail_allocations_after(3);  // enough for the first page's tables only... then fail
    Status status =
        table->map(HvVirtAddr(kBase), HostPhysAddr(0), kPageSize1G * 2 + 0x1000, rw(), kPageSize4K);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfMemory);
    EXPECT_FALSE(translate(*table, kBase).has_value());
    EXPECT_EQ(memory.live_tables(), tables_before) << "tables leaked by the rollback";
}

TEST(PageTable, SplittingALargePageIsAtomic) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    ASSERT_TRUE(table->map(HvVirtAddr(kBase), HostPhysAddr(0x200000), kPageSize2M, rw()).ok());
    std::vector<u64> watched;
    for (u64 off = 0; off < kPageSize2M; off += 0x1000 * 37) {
        watched.push_back(kBase + off);
    }
    watched.push_back(kBase + 0x3000);
    u64 hole = kBase + 0x3000;
    expect_atomic(
        memory, *table, watched, [&] { ASSERT_TRUE(table->unmap(HvVirtAddr(hole), 0x1000).ok()); },
        [&](u64 a) -> std::optional<u64> {
            if (a >= hole && a < hole + 0x1000) {
                return std::nullopt;
            }
            return 0x200000 + (a - kBase);
        });
    EXPECT_EQ(table->translate(HvVirtAddr(kBase + 0x4000))->page_size, kPageSize4K);
}

TEST(PageTable, MappingIsAtomicForOtherAddresses) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    ASSERT_TRUE(table->map(HvVirtAddr(kBase), HostPhysAddr(0x100000), 0x10000, rw()).ok());
    std::vector<u64> watched = {kBase, kBase + 0xf000, kBase + 0x10000, kBase + 0x20000};
    expect_atomic(
        memory, *table, watched,
        [&] {
            ASSERT_TRUE(
                table->map(HvVirtAddr(kBase + 0x10000), HostPhysAddr(0x900000), 0x20000, rw())
                    .ok());
        },
        [&](u64 a) -> std::optional<u64> {
            if (a < kBase + 0x10000) {
                return 0x100000 + (a - kBase);
            }
            return 0x900000 + (a - kBase - 0x10000);
        });
}

TEST(PageTable, UnmapFreesEmptyTables) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    usize initial = memory.live_tables();
    ASSERT_TRUE(
        table->map(HvVirtAddr(kBase + kPageSize1G * 3), HostPhysAddr(0), 0x5000, rw()).ok());
    EXPECT_EQ(memory.live_tables(), initial + 3);
    ASSERT_TRUE(table->unmap(HvVirtAddr(kBase + kPageSize1G * 3), 0x5000).ok());
    EXPECT_EQ(memory.live_tables(), initial);
}

TEST(PageTable, UserBitForNestedTables) {
    FakeTableMemory memory;
    auto table = Table::create(memory);
    PageAttributes nested = rw();
    nested.user = true;
    nested.execute = true;
    ASSERT_TRUE(table->map(HvVirtAddr(0), HostPhysAddr(0x40000000), kPageSize2M, nested).ok());
    auto t = table->translate(HvVirtAddr(0x1234));
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->attributes.user);
    EXPECT_TRUE(t->attributes.execute);
    // Every table entry on the path carries U (APM §15.25.5).
    u64 pml4e = memory.read_entry(table->root(), 0);
    EXPECT_NE(pml4e & pte::kUser, 0u);
}

// Random maps and unmaps against a model, with the tree checked after each operation.
TEST(PageTable, RandomizedAgainstModel) {
    std::mt19937_64 random(7);
    FakeTableMemory memory;
    auto table = Table::create(memory);
    std::map<u64, u64> model;  // virtual page -> physical page
    const u64 span = 64 * kPageSize2M;
    for (int step = 0; step < 400; ++step) {
        u64 page = (random() % (span / 0x1000)) * 0x1000;
        u64 pages = 1 + random() % 1024;
        if (random() % 8 == 0) {
            page &= ~(kPageSize2M - 1);
            pages = 512 * (1 + random() % 3);
        }
        u64 size = pages * 0x1000;
        if (page + size > span) {
            continue;
        }
        if (random() % 2 == 0) {
            u64 target = (random() % 0x1000) * kPageSize2M + (page & (kPageSize2M - 1));
            bool free = true;
            for (u64 p = page; p < page + size; p += 0x1000) {
                free = free && model.count(p) == 0;
            }
            Status status = table->map(HvVirtAddr(kBase + page), HostPhysAddr(target), size, rw());
            ASSERT_EQ(status.ok(), free) << step;
            if (free) {
                for (u64 p = 0; p < size; p += 0x1000) {
                    model[page + p] = target + p;
                }
            }
        } else {
            ASSERT_TRUE(table->unmap(HvVirtAddr(kBase + page), size).ok());
            for (u64 p = page; p < page + size; p += 0x1000) {
                model.erase(p);
            }
        }
        check_tree(memory, table->root(), 3);
        for (int probe = 0; probe < 32; ++probe) {
            u64 p = (random() % (span / 0x1000)) * 0x1000;
            auto it = model.find(p);
            auto got = translate(*table, kBase + p);
            if (it == model.end()) {
                ASSERT_FALSE(got.has_value()) << std::hex << p;
            } else {
                ASSERT_EQ(got, it->second) << std::hex << p;
            }
        }
    }
    ASSERT_TRUE(table->unmap(HvVirtAddr(kBase), span).ok());
    EXPECT_EQ(memory.live_tables(), 1u) << "only the root remains";
}

}  // namespace
}  // namespace relay
