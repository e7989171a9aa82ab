// IoPageTable against fake memory that checks, after every single entry write, that the
// tree is well formed, that every watched IOVA translates either as before the operation
// or as after it, and that nothing is mapped outside what the caller asked for. A walker
// written after QEMU 7.2's amdvi_page_walk() semantics checks that the hardware would see
// what translate() reports.
#include "iommu/io_page_table.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace relay::amd_vi {
namespace {

// Table memory that records every write and keeps, for each linked table, the entry that
// links it, so a test can tell which IOVA range a write changes (or that the table is not
// reachable yet, and the write is invisible).
class FakeTableMemory {
public:
    Result<HostPhysAddr> allocate_table() {
        if (fail_after_ >= 0 && allocations_ >= fail_after_) {
            return make_error(ErrorCode::kOutOfMemory, "fake table memory exhausted");
        }
        ++allocations_;
        HostPhysAddr address(next_);
        next_ += kPageSize4K;
        tables_[address.raw()].fill(0);
        return address;
    }
    void free_table(HostPhysAddr table) {
        ASSERT_EQ(tables_.count(table.raw()), 1u) << "free of unknown table";
        if (strict_frees) {
            EXPECT_EQ(parent_.count(table.raw()), 0u) << "freeing a table that is still linked";
            for (u64 entry : tables_[table.raw()]) {
                ASSERT_EQ(entry & io_pte::kPresent, 0u) << "freeing a table that still maps";
            }
        }
        tables_.erase(table.raw());
        parent_.erase(table.raw());
        ++frees_;
    }
    u64 read_entry(HostPhysAddr table, usize index) const {
        auto it = tables_.find(table.raw());
        EXPECT_NE(it, tables_.end()) << "read of freed/unknown table " << std::hex << table.raw();
        EXPECT_LT(index, 512u);
        return it == tables_.end() ? 0 : it->second[index];
    }
    void write_entry(HostPhysAddr table, usize index, u64 value) {
        auto it = tables_.find(table.raw());
        ASSERT_NE(it, tables_.end()) << "write to freed/unknown table";
        u64 old = it->second[index];
        if (links(old)) {
            parent_.erase(old & io_pte::kAddressMask);
        }
        if (links(value)) {
            parent_[value & io_pte::kAddressMask] = {table.raw(), index};
        }
        it->second[index] = value;
        ++writes_;
        if (on_write) {
            on_write(table, index, old, value);
        }
    }
    // Where `table` sits in the tree rooted at `root`: its level and the first IOVA it
    // covers. False when it is not reachable from the root.
    bool locate(HostPhysAddr table, HostPhysAddr root, u8 levels, u8* level, u64* base) const {
        std::vector<usize> path;  // indices from `table` up to the root
        u64 current = table.raw();
        while (current != root.raw()) {
            auto it = parent_.find(current);
            if (it == parent_.end() || path.size() >= levels) {
                return false;
            }
            path.push_back(it->second.second);
            current = it->second.first;
        }
        *level = static_cast<u8>(levels - path.size());
        *base = 0;
        for (usize k = 0; k < path.size(); ++k) {
            u8 parent_level = static_cast<u8>(*level + k + 1);
            *base += static_cast<u64>(path[k]) << (12 + 9 * (parent_level - 1));
        }
        return true;
    }
    // Raw access for tests that corrupt a table behind the object's back.
    void poke(HostPhysAddr table, usize index, u64 value) {
        tables_.at(table.raw())[index] = value;
    }
    bool exists(u64 table) const { return tables_.count(table) != 0; }
    usize live_tables() const { return tables_.size(); }
    void fail_allocations_after(int count) {
        fail_after_ = count;
        allocations_ = 0;
    }
    u64 writes() const { return writes_; }
    u64 frees() const { return frees_; }

    // Called after each write with the table, index, old and new value.
    std::function<void(HostPhysAddr, usize, u64, u64)> on_write;
    // Frees must be of unlinked, empty tables (unmap); destroy() frees everything.
    bool strict_frees = true;

private:
    static bool links(u64 entry) {
        return (entry & io_pte::kPresent) != 0 && io_pte::next_level(entry) != 0;
    }

    u64 next_ = 0x1'0000'0000ull;  // tables live at 4 GiB and up, mapped memory below
    std::map<u64, std::array<u64, 512>> tables_;
    std::map<u64, std::pair<u64, usize>> parent_;  // table -> (parent table, index)
    int fail_after_ = -1;
    int allocations_ = 0;
    u64 writes_ = 0;
    u64 frees_ = 0;
};

using Table = IoPageTable<FakeTableMemory>;

constexpr IoPermissions kReadWrite{true, true};
constexpr IoPermissions kReadOnly{true, false};

std::optional<u64> translate(const Table& table, u64 iova) {
    auto result = table.translate(GuestPhysAddr(iova));
    if (!result.ok()) {
        return std::nullopt;
    }
    return result->address.raw();
}

// The walk of QEMU 7.2's amdvi_page_walk(), restated: start from the DTE (V=1, TV=1,
// Mode = levels, IR=IW=1), check PR and the permission at every non-leaf level, index the
// table of level L with IOVA bits (9L+3)+..., stop when NextLevel is 0 (page size from the
// level the leaf was found in) or 7 (page size from the address bits). A zero entry faults.
struct QemuWalk {
    bool ok = false;
    u64 address = 0;
    u64 page_size = 0;
    IoPermissions permissions;
    bool reported = false;  // QEMU logged an IO_PAGE_FAULT (amdvi_page_fault())
};
QemuWalk qemu_walk(const FakeTableMemory& memory, HostPhysAddr root, u8 levels, u64 iova,
                   bool write) {
    QemuWalk walk;
    u64 pte = root.raw() | (u64{levels} << 9) | 3 | io_pte::kIoRead | io_pte::kIoWrite;
    unsigned level = levels;
    unsigned old_level = level;
    unsigned wanted = write ? 2 : 1;
    do {
        unsigned perms = static_cast<unsigned>((pte >> 61) & 3);
        if ((pte & 1) == 0 || (perms & wanted) != wanted) {
            walk.reported = true;
            return walk;
        }
        u64 pte_address = (pte & io_pte::kAddressMask) + (((iova >> (3 + 9 * level)) & 0x1FF) << 3);
        pte = memory.read_entry(HostPhysAddr(pte_address & ~0xFFFull), (pte_address & 0xFFF) / 8);
        if (pte == 0) {
            return walk;
        }
        old_level = level;
        level = (pte >> 9) & 7;
    } while (level > 0 && level < 7);
    EXPECT_NE(level, 7u) << "Relay never writes NextLevel 7";
    u64 page = 1ull << (old_level * 9 + 3);
    walk.page_size = page;
    walk.address = (pte & io_pte::kAddressMask & ~(page - 1)) | (iova & (page - 1));
    walk.permissions = Table::permissions_of(pte);
    // QEMU hands the permission to the memory core, which refuses a missing one.
    walk.ok = write ? walk.permissions.write : walk.permissions.read;
    return walk;
}

// Every linked table exists, directories name the level below and grant read and write,
// entries that are not present are zero.
void check_tree(const FakeTableMemory& memory, HostPhysAddr table, u8 level) {
    for (usize i = 0; i < 512; ++i) {
        u64 entry = memory.read_entry(table, i);
        if (entry == 0) {
            continue;
        }
        ASSERT_NE(entry & io_pte::kPresent, 0u) << "non-zero entry without PR";
        ASSERT_EQ(entry & ~io_pte::kRelayBits, 0u);
        u8 next = io_pte::next_level(entry);
        if (next == 0) {
            ASSERT_LE(level, 3);
            continue;
        }
        ASSERT_EQ(next, level - 1);
        if (io_pte::is_guard(entry)) {
            continue;  // seal(): grants nothing, links nothing
        }
        ASSERT_EQ(entry & (io_pte::kIoRead | io_pte::kIoWrite), io_pte::kIoRead | io_pte::kIoWrite);
        u64 child = entry & io_pte::kAddressMask;
        ASSERT_TRUE(memory.exists(child)) << "entry links a freed table";
        check_tree(memory, HostPhysAddr(child), next);
    }
}

// page IOVA -> host page, in 4 KiB units.
using Model = std::map<u64, u64>;

Model mappings_of(const Table& table) {
    Model model;
    table.for_each_mapping([&](GuestPhysAddr iova, HostPhysAddr host, u64 size, IoPermissions) {
        for (u64 off = 0; off < size; off += kPageSize4K) {
            model[iova.raw() + off] = host.raw() + off;
        }
    });
    return model;
}

// Runs `operation` and checks every write it makes to a reachable table, over the IOVA
// range of the entry written:
//   - the new value is well formed (a subtree's tables exist and name the right levels);
//   - every page it maps is mapped as before the operation or as after it (so nothing
//     outside the caller's extents appears, and nothing changes to a third value);
//   - every page mapped identically before and after the operation is still mapped so
//     (no transient hole, for example while a large page is split).
// Writes to tables not yet linked are invisible to a walker and need no check; linking
// such a table checks its whole content.
void expect_atomic(FakeTableMemory& memory, Table& table, const std::function<void()>& operation,
                   const Model& after) {
    Model before = mappings_of(table);
    u64 checks = 0;
    auto consistent = [&](u64 iova, u64 host) {
        auto b = before.find(iova);
        auto a = after.find(iova);
        return (b != before.end() && b->second == host) || (a != after.end() && a->second == host);
    };
    std::function<void(u64, u8, u64)> check_entry = [&](u64 entry, u8 level, u64 iova) {
        if (entry == 0) {
            return;
        }
        ASSERT_NE(entry & io_pte::kPresent, 0u) << "non-zero entry without PR";
        ASSERT_EQ(entry & ~io_pte::kRelayBits, 0u);
        u64 span = 1ull << (12 + 9 * (level - 1));
        u8 next = io_pte::next_level(entry);
        if (next == 0) {
            ASSERT_LE(level, 3);
            u64 host = entry & io_pte::kAddressMask;
            u64 step = span <= kPageSize2M ? kPageSize4K : span / 64;
            for (u64 off = 0; off < span; off += step) {
                ASSERT_TRUE(consistent(iova + off, host + off))
                    << std::hex << "IOVA " << iova + off << " -> " << host + off << " mid-update";
            }
            ASSERT_TRUE(consistent(iova + span - kPageSize4K, host + span - kPageSize4K));
            return;
        }
        ASSERT_EQ(next, level - 1);
        HostPhysAddr child(entry & io_pte::kAddressMask);
        ASSERT_TRUE(memory.exists(child.raw())) << "entry links a freed table";
        for (usize i = 0; i < 512; ++i) {
            check_entry(memory.read_entry(child, i), next, iova + i * (span / 512));
        }
    };
    memory.on_write = [&](HostPhysAddr t, usize index, u64, u64 value) {
        u8 level = 0;
        u64 base = 0;
        if (!memory.locate(t, table.root(), table.levels(), &level, &base)) {
            return;
        }
        u64 span = 1ull << (12 + 9 * (level - 1));
        u64 first = base + index * span;
        check_entry(value, level, first);
        for (auto it = before.lower_bound(first); it != before.end() && it->first - first < span;
             ++it) {
            auto a = after.find(it->first);
            if (a != after.end() && a->second == it->second) {
                ASSERT_EQ(translate(table, it->first), it->second)
                    << std::hex << "IOVA " << it->first << " lost its mapping mid-update";
            }
        }
        ++checks;
    };
    operation();
    memory.on_write = nullptr;
    check_tree(memory, table.root(), table.levels());
    EXPECT_EQ(mappings_of(table), after);
    if (before != after) {
        EXPECT_GT(checks, 0u);
    }
}

Model with(Model model, u64 iova, u64 host, u64 size) {
    for (u64 off = 0; off < size; off += kPageSize4K) {
        model[iova + off] = host + off;
    }
    return model;
}
Model without(Model model, u64 iova, u64 size) {
    for (u64 off = 0; off < size; off += kPageSize4K) {
        model.erase(iova + off);
    }
    return model;
}

TEST(IoPageTable, MapsWithLargestPagesAndTranslates) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 4);
    ASSERT_TRUE(table.ok());
    u64 size = kPageSize1G + kPageSize2M + kPageSize4K;
    ASSERT_TRUE(
        table->map(GuestPhysAddr(0x40000000), HostPhysAddr(0x80000000), size, kReadWrite).ok());
    auto t = table->translate(GuestPhysAddr(0x40012345));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->address, HostPhysAddr(0x80012345));
    EXPECT_EQ(t->page_size, kPageSize1G);
    EXPECT_TRUE(t->permissions.read && t->permissions.write);
    EXPECT_EQ(table->translate(GuestPhysAddr(0x80000000 + 5))->page_size, kPageSize2M);
    EXPECT_EQ(table->translate(GuestPhysAddr(0x80000000 + kPageSize2M))->page_size, kPageSize4K);
    EXPECT_FALSE(table->translate(GuestPhysAddr(0x40000000 + size)).ok());
    EXPECT_FALSE(table->translate(GuestPhysAddr(0x3FFFF000)).ok());

    // The root's entry 0 links a level-3 table: PR | NextLevel 3 | IR | IW.
    u64 root_entry = memory.read_entry(table->root(), 0);
    EXPECT_EQ(root_entry & ~io_pte::kAddressMask, 0x6000'0000'0000'0601ull);
    // The 1 GiB leaf: PR | NextLevel 0 | address | IR | IW.
    u64 l3 = memory.read_entry(HostPhysAddr(root_entry & io_pte::kAddressMask), 1);
    EXPECT_EQ(l3, 0x6000'0000'8000'0001ull);
}

TEST(IoPageTable, EntriesWalkTheWayQemuWalksThem) {
    std::mt19937_64 random(11);
    for (u8 levels = 1; levels <= 6; ++levels) {
        FakeTableMemory memory;
        auto table = Table::create(memory, levels);
        ASSERT_TRUE(table.ok());
        u64 limit = table->iova_limit();
        u64 span = limit == 0 || limit > 64 * kPageSize1G ? 64 * kPageSize1G : limit;
        u64 top = limit == 0 ? 0 - span : limit - span;  // exercise the top of the space
        for (int i = 0; i < 60; ++i) {
            u64 page = (random() % 3 == 0) ? kPageSize2M : kPageSize4K;
            if (random() % 11 == 0) {
                page = kPageSize1G;
            }
            u64 pages = 1 + random() % 4;
            u64 iova = top + align_down(random() % span, page);
            u64 host = align_down(random() % (1ull << 40), page);
            IoPermissions perms{(random() & 1) != 0, true};
            if (random() & 1) {
                perms = kReadOnly;
            }
            if (iova - top + pages * page > span) {
                continue;
            }
            (void)table->map(GuestPhysAddr(iova), HostPhysAddr(host), pages * page, perms);
        }
        check_tree(memory, table->root(), levels);
        for (int probe = 0; probe < 3000; ++probe) {
            u64 iova = top + random() % span;
            auto ours = table->translate(GuestPhysAddr(iova));
            for (bool write : {false, true}) {
                QemuWalk qemu = qemu_walk(memory, table->root(), levels, iova, write);
                bool allowed =
                    ours.ok() && (write ? ours->permissions.write : ours->permissions.read);
                ASSERT_EQ(qemu.ok, allowed) << std::hex << iova << " levels " << int(levels);
                if (allowed) {
                    ASSERT_EQ(qemu.address, ours->address.raw());
                    ASSERT_EQ(qemu.page_size, ours->page_size);
                }
            }
        }
    }
}

TEST(IoPageTable, PageSizesFollowMaxAndDepth) {
    FakeTableMemory memory;
    auto four_k = Table::create(memory, 3);
    ASSERT_TRUE(
        four_k->map(GuestPhysAddr(0), HostPhysAddr(0), kPageSize2M, kReadWrite, kPageSize4K).ok());
    EXPECT_EQ(four_k->translate(GuestPhysAddr(0x1000))->page_size, kPageSize4K);

    auto two_level = Table::create(memory, 2);  // 1 GiB of IOVA: 2 MiB pages, never 1 GiB
    ASSERT_TRUE(
        two_level->map(GuestPhysAddr(0), HostPhysAddr(0x40000000), kPageSize1G, kReadWrite).ok());
    EXPECT_EQ(two_level->translate(GuestPhysAddr(0x3FFFFFFF))->page_size, kPageSize2M);
    EXPECT_EQ(two_level->translate(GuestPhysAddr(0x3FFFFFFF))->address, HostPhysAddr(0x7FFFFFFF));

    auto one_level = Table::create(memory, 1);
    ASSERT_TRUE(
        one_level->map(GuestPhysAddr(0), HostPhysAddr(0x200000), kPageSize2M, kReadOnly).ok());
    EXPECT_EQ(one_level->translate(GuestPhysAddr(0x1FF000))->page_size, kPageSize4K);
    EXPECT_FALSE(one_level->translate(GuestPhysAddr(0x1FF000))->permissions.write);

    EXPECT_EQ(Table::levels_for(0), 3);
    EXPECT_EQ(Table::levels_for(1ull << 39), 3);
    EXPECT_EQ(Table::levels_for((1ull << 39) + 1), 4);
    EXPECT_EQ(Table::levels_for(1ull << 48), 4);
    EXPECT_EQ(Table::levels_for(~0ull), 6);
}

TEST(IoPageTable, RefusesBadRequests) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 3);
    ASSERT_TRUE(table->map(GuestPhysAddr(0x5000), HostPhysAddr(0x5000), 0x1000, kReadWrite).ok());
    Status overlap = table->map(GuestPhysAddr(0), HostPhysAddr(0), 0x10000, kReadWrite);
    ASSERT_FALSE(overlap.ok());
    EXPECT_EQ(overlap.error().code(), ErrorCode::kAlreadyExists);
    EXPECT_STREQ(overlap.error().message(),
                 "I/O map of 0x0 size 0x10000: part of the range is already mapped");
    EXPECT_FALSE(translate(*table, 0).has_value()) << "refused map left a mapping";

    Status misaligned = table->map(GuestPhysAddr(0x100), HostPhysAddr(0), 0x1000, kReadWrite);
    EXPECT_STREQ(misaligned.error().message(),
                 "I/O map of 0x100 -> 0x0 size 0x1000 is not 4 KiB aligned");
    Status beyond =
        table->map(GuestPhysAddr((1ull << 39) - 0x1000), HostPhysAddr(0), 0x2000, kReadWrite);
    ASSERT_FALSE(beyond.ok());
    EXPECT_EQ(beyond.error().code(), ErrorCode::kOutOfRange);
    EXPECT_STREQ(beyond.error().message(),
                 "I/O range 0x7ffffff000 size 0x2000 is beyond the 3-level table");
    Status none = table->map(GuestPhysAddr(0x10000), HostPhysAddr(0), 0x1000, IoPermissions{});
    EXPECT_STREQ(none.error().message(),
                 "I/O map of 0x10000 size 0x1000 grants neither read nor write");
    EXPECT_FALSE(
        table->map(GuestPhysAddr(0x10000), HostPhysAddr(0), 0x1000, kReadWrite, 0x4000).ok());
    Status high =
        table->map(GuestPhysAddr(0x10000), HostPhysAddr((1ull << 52) - 0x1000), 0x2000, kReadWrite);
    EXPECT_EQ(high.error().code(), ErrorCode::kOutOfRange);
    EXPECT_FALSE(table->map(GuestPhysAddr(0x10000), HostPhysAddr(0), 0, kReadWrite).ok());
    EXPECT_FALSE(table->unmap(GuestPhysAddr(0x10800), 0x1000).ok());
    EXPECT_FALSE(Table::create(memory, 0).ok());
    auto seven = Table::create(memory, 7);
    ASSERT_FALSE(seven.ok());
    EXPECT_STREQ(seven.error().message(), "I/O page table of 7 levels: AMD-Vi walks 1 to 6");
    EXPECT_FALSE(table->translate(GuestPhysAddr(1ull << 39)).ok());
}

TEST(IoPageTable, FailedAllocationLeavesNothingMapped) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 4);
    usize tables_before = memory.live_tables();
    memory.fail_allocations_after(3);  // the first 1 GiB region's tables, then out of memory
    Status status = table->map(GuestPhysAddr(0), HostPhysAddr(0), kPageSize1G * 2 + 0x1000,
                               kReadWrite, kPageSize4K);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfMemory);
    EXPECT_FALSE(translate(*table, 0).has_value());
    EXPECT_TRUE(mappings_of(*table).empty());
    EXPECT_EQ(memory.live_tables(), tables_before) << "tables leaked by the rollback";
}

TEST(IoPageTable, SplittingLargePagesIsAtomic) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 4);
    ASSERT_TRUE(
        table
            ->map(GuestPhysAddr(kPageSize1G), HostPhysAddr(2 * kPageSize1G), kPageSize1G, kReadOnly)
            .ok());
    Model before = mappings_of(*table);
    ASSERT_EQ(before.size(), kPageSize1G / kPageSize4K);
    u64 hole = kPageSize1G + 5 * kPageSize2M + 0x3000;
    expect_atomic(
        memory, *table, [&] { ASSERT_TRUE(table->unmap(GuestPhysAddr(hole), 0x1000).ok()); },
        without(before, hole, 0x1000));
    EXPECT_EQ(table->translate(GuestPhysAddr(hole + 0x1000))->page_size, kPageSize4K);
    EXPECT_EQ(table->translate(GuestPhysAddr(kPageSize1G))->page_size, kPageSize2M);
    EXPECT_FALSE(table->translate(GuestPhysAddr(hole + 0x1000))->permissions.write)
        << "split pages keep the permissions";
}

TEST(IoPageTable, MappingIsAtomicForOtherAddresses) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 3);
    ASSERT_TRUE(table->map(GuestPhysAddr(0), HostPhysAddr(0x100000), 0x10000, kReadWrite).ok());
    Model before = mappings_of(*table);
    expect_atomic(
        memory, *table,
        [&] {
            ASSERT_TRUE(table
                            ->map(GuestPhysAddr(0x3FE000), HostPhysAddr(0x900000),
                                  0x400000 + 0x4000, kReadWrite)
                            .ok());
        },
        with(before, 0x3FE000, 0x900000, 0x404000));
}

TEST(IoPageTable, UnmapFreesEmptyTables) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 4);
    usize initial = memory.live_tables();
    ASSERT_TRUE(
        table->map(GuestPhysAddr(kPageSize1G * 3), HostPhysAddr(0), 0x5000, kReadWrite).ok());
    EXPECT_EQ(memory.live_tables(), initial + 3);
    ASSERT_TRUE(table->unmap(GuestPhysAddr(kPageSize1G * 3), 0x5000).ok());
    EXPECT_EQ(memory.live_tables(), initial);
    // Unmapping a range that is partly unmapped is fine, and so is an empty one.
    ASSERT_TRUE(table->map(GuestPhysAddr(0), HostPhysAddr(0), kPageSize2M, kReadWrite).ok());
    ASSERT_TRUE(table->unmap(GuestPhysAddr(0), kPageSize1G).ok());
    EXPECT_EQ(memory.live_tables(), initial);
    ASSERT_TRUE(table->unmap(GuestPhysAddr(0), kPageSize1G).ok());
}

TEST(IoPageTable, SixLevelsReachTheTopOfTheSpace) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 6);
    EXPECT_EQ(table->iova_limit(), 0u);
    u64 top = 0 - kPageSize2M;
    ASSERT_TRUE(
        table->map(GuestPhysAddr(top), HostPhysAddr(0x40000000), kPageSize2M, kReadWrite).ok());
    EXPECT_EQ(table->translate(GuestPhysAddr(~0ull))->address, HostPhysAddr(0x401FFFFF));
    EXPECT_EQ(table->translate(GuestPhysAddr(~0ull))->page_size, kPageSize2M);
    EXPECT_FALSE(table->map(GuestPhysAddr(top), HostPhysAddr(0), 0x1000, kReadWrite).ok());
    QemuWalk qemu = qemu_walk(memory, table->root(), 6, top + 0x1234, true);
    EXPECT_TRUE(qemu.ok);
    EXPECT_EQ(qemu.address, 0x40001234u);
    ASSERT_TRUE(table->unmap(GuestPhysAddr(top + 0x1000), kPageSize2M - 0x1000).ok());
    EXPECT_EQ(table->translate(GuestPhysAddr(top))->page_size, kPageSize4K);
    ASSERT_TRUE(table->unmap(GuestPhysAddr(top), 0x1000).ok());
    EXPECT_EQ(memory.live_tables(), 1u);
}

TEST(IoPageTable, TablesAndMappingsAreEnumerated) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 4);
    ASSERT_TRUE(table->map(GuestPhysAddr(0), HostPhysAddr(0x200000), kPageSize2M, kReadWrite).ok());
    ASSERT_TRUE(
        table->map(GuestPhysAddr(kPageSize1G), HostPhysAddr(0x7000), 0x2000, kReadOnly).ok());
    std::set<u64> tables;
    table->for_each_table([&](HostPhysAddr t) { tables.insert(t.raw()); });
    EXPECT_EQ(tables.size(), memory.live_tables());
    EXPECT_EQ(*tables.begin(), table->root().raw());
    std::vector<std::tuple<u64, u64, u64, bool>> pages;
    table->for_each_mapping([&](GuestPhysAddr iova, HostPhysAddr host, u64 size, IoPermissions p) {
        pages.emplace_back(iova.raw(), host.raw(), size, p.write);
    });
    ASSERT_EQ(pages.size(), 3u);
    EXPECT_EQ(pages[0], std::make_tuple(0ull, 0x200000ull, kPageSize2M, true));
    EXPECT_EQ(pages[1], std::make_tuple(kPageSize1G, 0x7000ull, kPageSize4K, false));
    EXPECT_EQ(pages[2], std::make_tuple(kPageSize1G + 0x1000, 0x8000ull, kPageSize4K, false));
    memory.strict_frees = false;  // destroy() tears down a table no device uses any more
    table->destroy();
    EXPECT_EQ(memory.live_tables(), 0u);
}

// Random maps and unmaps against a model, every write checked (tree well formed; every
// page as before or as after), translate() and QEMU's walk compared with the model.
TEST(IoPageTable, RandomizedAgainstModel) {
    for (u64 seed = 1; seed <= 3; ++seed) {
        std::mt19937_64 random(seed);
        FakeTableMemory memory;
        auto table = Table::create(memory, 3);
        Model model;
        const u64 span = 8 * kPageSize2M;
        const u64 base = 37 * kPageSize1G;  // not at IOVA 0
        for (int step = 0; step < 200; ++step) {
            u64 page = (random() % (span / 0x1000)) * 0x1000;
            u64 pages = 1 + random() % 700;
            if (random() % 5 == 0) {
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
                    free = free && model.count(base + p) == 0;
                }
                Model after = free ? with(model, base + page, target, size) : model;
                expect_atomic(
                    memory, *table,
                    [&] {
                        Status status = table->map(GuestPhysAddr(base + page), HostPhysAddr(target),
                                                   size, kReadWrite);
                        ASSERT_EQ(status.ok(), free) << step;
                    },
                    after);
                model = after;
            } else {
                Model after = without(model, base + page, size);
                expect_atomic(
                    memory, *table,
                    [&] { ASSERT_TRUE(table->unmap(GuestPhysAddr(base + page), size).ok()); },
                    after);
                model = after;
            }
            for (int probe = 0; probe < 32; ++probe) {
                u64 iova = base + (random() % (span / 0x1000)) * 0x1000;
                auto it = model.find(iova);
                auto got = translate(*table, iova);
                QemuWalk qemu = qemu_walk(memory, table->root(), 3, iova, true);
                if (it == model.end()) {
                    ASSERT_FALSE(got.has_value()) << std::hex << iova;
                    ASSERT_FALSE(qemu.ok);
                } else {
                    ASSERT_EQ(got, it->second) << std::hex << iova;
                    ASSERT_TRUE(qemu.ok);
                    ASSERT_EQ(qemu.address, it->second);
                }
            }
        }
        ASSERT_TRUE(table->unmap(GuestPhysAddr(base), span).ok());
        EXPECT_EQ(memory.live_tables(), 1u) << "only the root remains";
    }
}

// Longer random runs without per-write checks, on a 4-level table with 1 GiB pages.
TEST(IoPageTable, RandomizedLongRun) {
    std::mt19937_64 random(77);
    FakeTableMemory memory;
    auto table = Table::create(memory, 4);
    std::map<u64, std::pair<u64, bool>> model;  // 4 KiB IOVA page -> host page, writable
    const u64 span = 4 * kPageSize1G;
    for (int step = 0; step < 3000; ++step) {
        u64 unit = random() % 4 == 0 ? kPageSize2M : kPageSize4K;
        if (random() % 40 == 0) {
            unit = kPageSize1G;
        }
        u64 page = align_down(random() % span, unit);
        u64 size = unit * (1 + random() % 3);
        if (page + size > span) {
            continue;
        }
        if (random() % 2 == 0) {
            u64 target = align_down(random() % (1ull << 44), unit);
            bool writable = random() % 2 == 0;
            auto next = model.lower_bound(page);
            bool free = next == model.end() || next->first >= page + size;
            Status status = table->map(GuestPhysAddr(page), HostPhysAddr(target), size,
                                       IoPermissions{true, writable});
            ASSERT_EQ(status.ok(), free) << step;
            if (free) {
                for (u64 p = 0; p < size; p += kPageSize4K) {
                    model[page + p] = {target + p, writable};
                }
            }
        } else {
            ASSERT_TRUE(table->unmap(GuestPhysAddr(page), size).ok());
            model.erase(model.lower_bound(page), model.lower_bound(page + size));
        }
        for (int probe = 0; probe < 16; ++probe) {
            u64 iova = align_down(random() % span, kPageSize4K);
            auto it = model.find(iova);
            auto got = table->translate(GuestPhysAddr(iova));
            if (it == model.end()) {
                ASSERT_FALSE(got.ok());
            } else {
                ASSERT_TRUE(got.ok());
                ASSERT_EQ(got->address.raw(), it->second.first);
                ASSERT_EQ(got->permissions.write, it->second.second);
            }
        }
    }
    check_tree(memory, table->root(), 4);
    EXPECT_EQ(mappings_of(*table).size(), model.size());
    ASSERT_TRUE(table->unmap(GuestPhysAddr(0), span).ok());
    EXPECT_EQ(memory.live_tables(), 1u);
}

// --- Adoption (live update) --------------------------------------------------------------

struct Adopted {
    FakeTableMemory memory;
    HostPhysAddr root;
    std::vector<HostPhysRange> allowed = {
        HostPhysRange::unchecked(HostPhysAddr(0x4000'0000), 0x4000'0000),  // 1 GiB at 1 GiB
        HostPhysRange::unchecked(HostPhysAddr(0x8000'0000), 0x20'0000)};   // adjacent 2 MiB

    Adopted() {
        auto table = Table::create(memory, 4);
        EXPECT_TRUE(table.ok());
        root = table->root();
        EXPECT_TRUE(
            table->map(GuestPhysAddr(0), HostPhysAddr(0x4000'0000), kPageSize1G, kReadWrite).ok());
        // Two 4 KiB pages, the last of the first allowed range and the first of the
        // second; and a read-only page.
        EXPECT_TRUE(
            table->map(GuestPhysAddr(kPageSize1G), HostPhysAddr(0x7FFF'F000), 0x2000, kReadWrite)
                .ok());
        EXPECT_TRUE(
            table->map(GuestPhysAddr(2 * kPageSize1G), HostPhysAddr(0x8010'0000), 0x1000, kReadOnly)
                .ok());
    }

    Status validate(std::set<u64>* claimed = nullptr) {
        auto table = Table::adopt(memory, root, 4);
        EXPECT_TRUE(table.ok());
        std::set<u64> local;
        std::set<u64>& frames = claimed != nullptr ? *claimed : local;
        return table->validate(allowed.data(), allowed.size(), [&](HostPhysAddr t, u8) -> Status {
            if (!frames.insert(t.raw()).second) {
                return make_error(ErrorCode::kAlreadyExists, "table {} claimed twice", t);
            }
            return ok_status();
        });
    }
    // The level-`level` table on the path to `iova`.
    HostPhysAddr table_for(u64 iova, u8 level) {
        HostPhysAddr t = root;
        for (u8 l = 4; l > level; --l) {
            u64 e = memory.read_entry(t, (iova >> (12 + 9 * (l - 1))) & 0x1FF);
            t = HostPhysAddr(e & io_pte::kAddressMask);
        }
        return t;
    }
};

TEST(IoPageTableAdoption, ValidTableIsAdoptedInPlace) {
    Adopted a;
    u64 writes = a.memory.writes();
    std::set<u64> claimed;
    Status status = a.validate(&claimed);
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(a.memory.writes(), writes) << "adoption writes nothing";
    EXPECT_EQ(claimed.size(), a.memory.live_tables());
    auto table = Table::adopt(a.memory, a.root, 4);
    EXPECT_EQ(table->translate(GuestPhysAddr(0x1234))->address, HostPhysAddr(0x4000'1234));
    // An adopted table is a table: it can be changed and freed.
    ASSERT_TRUE(table->unmap(GuestPhysAddr(kPageSize1G), 0x2000).ok());
    ASSERT_TRUE(
        table->map(GuestPhysAddr(kPageSize1G), HostPhysAddr(0x4000'0000), kPageSize2M, kReadWrite)
            .ok());
    a.memory.strict_frees = false;
    table->destroy();
    EXPECT_EQ(a.memory.live_tables(), 0u);
}

TEST(IoPageTableAdoption, RefusesBadRoots) {
    FakeTableMemory memory;
    EXPECT_FALSE(Table::adopt(memory, HostPhysAddr(0), 4).ok());
    auto misaligned = Table::adopt(memory, HostPhysAddr(0x1000'0800), 4);
    ASSERT_FALSE(misaligned.ok());
    EXPECT_STREQ(misaligned.error().message(),
                 "I/O page table root 0x10000800 is not a 4 KiB frame below 2^52");
    EXPECT_FALSE(Table::adopt(memory, HostPhysAddr(1ull << 52), 4).ok());
    EXPECT_FALSE(Table::adopt(memory, HostPhysAddr(0x1000), 7).ok());
}

TEST(IoPageTableAdoption, MappingOutsideTheDomainIsRefused) {
    Adopted a;
    a.allowed.pop_back();  // the page at 0x8010'0000 and half of the straddling pair
    Status status = a.validate();
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kPermissionDenied);
    EXPECT_STREQ(status.error().message(),
                 "I/O page at IOVA 0x40001000 maps 0x80000000 size 0x1000, outside the domain's "
                 "memory");
}

TEST(IoPageTableAdoption, TableInsideDomainMemoryIsRefused) {
    Adopted a;
    a.allowed.push_back(HostPhysRange::unchecked(HostPhysAddr(a.root.raw() + 0x3000), 0x1000));
    Status status = a.validate();
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kPermissionDenied);
    EXPECT_NE(std::string(status.error().message()).find("where devices could rewrite it"),
              std::string::npos)
        << status.error().message();
}

TEST(IoPageTableAdoption, MalformedEntriesAreNamed) {
    struct Case {
        const char* what;
        u8 level;
        u64 iova;
        std::function<u64(u64)> corrupt;  // old entry -> new entry
        const char* message;
    };
    const Case cases[] = {
        {"not present but not zero", 1, kPageSize1G + 0x5000, [](u64) { return 0x1234000ull; },
         "level-1 I/O entry 5 of table {table} (IOVA 0x40005000) is not present but not zero: "
         "0x1234000"},
        {"unknown bits", 1, kPageSize1G, [](u64 e) { return e | (1ull << 60); },
         "level-1 I/O entry 0 of table {table} (IOVA 0x40000000) has bits 0x1000000000000000 "
         "outside Relay's format"},
        {"page size override", 1, kPageSize1G, [](u64 e) { return e | (7ull << 9); },
         "level-1 I/O entry 0 (IOVA 0x40000000) names next level 7, not 0"},
        {"level skip", 3, 2 * kPageSize1G,
         [](u64 e) { return (e & ~io_pte::kNextLevelMask) | (1ull << 9); },
         "level-3 I/O entry 2 (IOVA 0x80000000) names next level 1, not 2"},
        {"misaligned large page", 3, 0, [](u64 e) { return e | 0x200000; },
         "level-3 I/O page at IOVA 0x0 -> 0x40200000 is not aligned to its 0x40000000 bytes"},
        {"no permission", 1, 2 * kPageSize1G,
         [](u64 e) { return e & ~(io_pte::kIoRead | io_pte::kIoWrite); },
         "level-1 I/O page at IOVA 0x80000000 grants neither read nor write"},
        {"read-only directory", 3, kPageSize1G, [](u64 e) { return e & ~io_pte::kIoWrite; },
         "level-3 I/O directory entry 1 (IOVA 0x40000000) does not grant read and write"},
        {"512 GiB leaf", 4, 0,
         [](u64) { return 0x4000'0000ull | io_pte::kPresent | io_pte::kIoRead; },
         "level-4 I/O entry 0 (IOVA 0x0) is a leaf: pages above 1 GiB are not Relay's format"},
    };
    for (const Case& c : cases) {
        Adopted a;
        HostPhysAddr table = a.table_for(c.iova, c.level);
        usize index = (c.iova >> (12 + 9 * (c.level - 1))) & 0x1FF;
        a.memory.poke(table, index, c.corrupt(a.memory.read_entry(table, index)));
        Status status = a.validate();
        ASSERT_FALSE(status.ok()) << c.what;
        std::string expected = c.message;
        auto at = expected.find("{table}");
        if (at != std::string::npos) {
            char hex[32];
            std::snprintf(hex, sizeof(hex), "0x%llx", static_cast<unsigned long long>(table.raw()));
            expected.replace(at, 7, hex);
        }
        EXPECT_EQ(status.error().message(), expected) << c.what;
    }
}

TEST(IoPageTableAdoption, TableLinkedTwiceIsCaughtByTheClaim) {
    Adopted a;
    // Point IOVA 3 GiB's directory at the table that already serves 1 GiB.
    HostPhysAddr level3 = a.table_for(0, 3);
    a.memory.poke(level3, 3, a.memory.read_entry(level3, 1));
    Status status = a.validate();
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kAlreadyExists);
}

TEST(IoPageTableAdoption, SixLevelEntriesBeyondTheSpaceAreRefused) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 6);
    auto extra = memory.allocate_table();
    memory.poke(table->root(), 200, extra->raw() | Table::directory_bits(5));
    Status status = table->validate(nullptr, 0, [](HostPhysAddr, u8) { return ok_status(); });
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("beyond the 64-bit IOVA space"),
              std::string::npos);
}

// seal(): requests for unmapped IOVAs are refused with a fault QEMU reports (an empty
// entry below the root ends QEMU 7.2's walk silently); mappings are unchanged, and the
// table still maps, unmaps, validates and frees as before.
TEST(IoPageTable, SealedTableReportsUnmappedRequests) {
    FakeTableMemory memory;
    auto table = Table::create(memory, 3);
    ASSERT_TRUE(table.ok());
    ASSERT_TRUE(
        table->map(GuestPhysAddr(0), HostPhysAddr(0x4000'0000), 0x100'0000, kReadWrite).ok());
    QemuWalk before = qemu_walk(memory, table->root(), 3, 0x100'0000, true);
    EXPECT_FALSE(before.ok);
    EXPECT_FALSE(before.reported) << "QEMU 7.2 does not report an empty entry below the root";

    auto guard = memory.allocate_table();
    ASSERT_TRUE(guard.ok());
    usize tables = memory.live_tables();
    table->seal(*guard);
    check_tree(memory, table->root(), 3);
    for (u64 iova : {0x100'0000ull, 0x1FF'F000ull, 0x4000'0000ull, 0x7F'C000'0000ull}) {
        QemuWalk walk = qemu_walk(memory, table->root(), 3, iova, false);
        EXPECT_FALSE(walk.ok) << std::hex << iova;
        EXPECT_TRUE(walk.reported) << std::hex << iova;
        EXPECT_FALSE(table->translate(GuestPhysAddr(iova)).ok());
    }
    QemuWalk mapped = qemu_walk(memory, table->root(), 3, 0xFF'F123, true);
    EXPECT_TRUE(mapped.ok);
    EXPECT_EQ(mapped.address, 0x40FF'F123u);
    std::set<u64> seen;
    table->for_each_table([&](HostPhysAddr t) { seen.insert(t.raw()); });
    EXPECT_EQ(seen.count(guard->raw()), 0u);
    EXPECT_EQ(seen.size(), tables - 1);
    usize pages = 0;
    table->for_each_mapping([&](GuestPhysAddr, HostPhysAddr, u64, IoPermissions) { ++pages; });
    EXPECT_EQ(pages, 8u);
    HostPhysRange domain = HostPhysRange::unchecked(HostPhysAddr(0x4000'0000), 0x100'0000);
    Status valid = table->validate(&domain, 1, [](HostPhysAddr, u8) { return ok_status(); });
    EXPECT_TRUE(valid.ok()) << valid.error().message();

    // Mapping over a guard replaces it; unmapping leaves the other guards.
    ASSERT_TRUE(
        table->map(GuestPhysAddr(0x4000'0000), HostPhysAddr(0x8000'0000), 0x2000, kReadWrite).ok());
    EXPECT_EQ(table->translate(GuestPhysAddr(0x4000'1000))->address, HostPhysAddr(0x8000'1000));
    ASSERT_TRUE(table->unmap(GuestPhysAddr(0x4000'0000), 0x2000).ok());
    EXPECT_FALSE(table->translate(GuestPhysAddr(0x4000'1000)).ok());
    EXPECT_TRUE(qemu_walk(memory, table->root(), 3, 0x100'0000, true).reported);
    memory.strict_frees = false;
    table->destroy();
    EXPECT_EQ(memory.live_tables(), 1u) << "only the guard frame is left";
}

}  // namespace
}  // namespace relay::amd_vi
