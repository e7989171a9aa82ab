#include "hv/memory/frame_allocator.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

namespace relay {
namespace {

constexpr u64 kFrame = FrameAllocator::kFrameSize;

struct Fixture {
    explicit Fixture(u64 limit) : bitmap(FrameAllocator::bitmap_bytes_for(limit) / 8) {
        EXPECT_TRUE(allocator.init(bitmap.data(), bitmap.size(), HostPhysAddr(limit)).ok());
    }
    std::vector<u64> bitmap;
    FrameAllocator allocator;
};

HostPhysRange range(u64 base, u64 size) {
    return HostPhysRange::unchecked(HostPhysAddr(base), size);
}

TEST(FrameAllocator, StartsEmptyAndCountsUsableFrames) {
    Fixture f(64 * MiB);
    EXPECT_EQ(f.allocator.free_frames(), 0u);
    ASSERT_TRUE(f.allocator.add_usable(range(0x1000, 0x9e000)).ok());
    ASSERT_TRUE(f.allocator.add_usable(range(0x100000, 63 * MiB)).ok());
    EXPECT_EQ(f.allocator.free_frames(), 0x9eu + (63 * MiB) / kFrame);
}

TEST(FrameAllocator, UsableRangesRoundInward) {
    Fixture f(16 * MiB);
    ASSERT_TRUE(f.allocator.add_usable(range(0x100800, 0x2000)).ok());  // covers 0x101000 only
    EXPECT_EQ(f.allocator.free_frames(), 1u);
    EXPECT_TRUE(f.allocator.is_free(HostPhysAddr(0x101000)));
    EXPECT_FALSE(f.allocator.is_free(HostPhysAddr(0x100000)));
    EXPECT_FALSE(f.allocator.is_free(HostPhysAddr(0x102000)));
}

TEST(FrameAllocator, ReservationsRoundOutwardAndWin) {
    Fixture f(16 * MiB);
    ASSERT_TRUE(f.allocator.reserve(range(0x200800, 0x1000), "image").ok());
    ASSERT_TRUE(f.allocator.add_usable(range(1 * MiB, 15 * MiB)).ok());
    EXPECT_FALSE(f.allocator.is_free(HostPhysAddr(0x200000)));
    EXPECT_FALSE(f.allocator.is_free(HostPhysAddr(0x201000)));
    EXPECT_TRUE(f.allocator.is_free(HostPhysAddr(0x202000)));
    EXPECT_TRUE(f.allocator.is_reserved(HostPhysAddr(0x201000)));
    EXPECT_EQ(f.allocator.free_frames(), (15 * MiB) / kFrame - 2);
}

TEST(FrameAllocator, AllocatesAlignedBlocksInsideWindow) {
    Fixture f(64 * MiB);
    ASSERT_TRUE(f.allocator.add_usable(range(0x1000, 64 * MiB - 0x1000)).ok());
    auto big = f.allocator.allocate(9);
    ASSERT_TRUE(big.ok());
    EXPECT_TRUE(big.value().is_aligned(2 * MiB));
    EXPECT_GE(big.value(), HostPhysAddr(1 * MiB));
    auto low = f.allocator.allocate(0, {HostPhysAddr(0x1000), HostPhysAddr(1 * MiB)});
    ASSERT_TRUE(low.ok());
    EXPECT_LT(low.value(), HostPhysAddr(1 * MiB));
    auto none = f.allocator.allocate(9, {HostPhysAddr(0), HostPhysAddr(1 * MiB)});
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code(), ErrorCode::kOutOfMemory);
}

TEST(FrameAllocator, RefusesDoubleFreeReservedAndMisaligned) {
    Fixture f(16 * MiB);
    ASSERT_TRUE(f.allocator.reserve(range(0x300000, 0x1000), "module").ok());
    ASSERT_TRUE(f.allocator.add_usable(range(1 * MiB, 15 * MiB)).ok());
    auto frame = f.allocator.allocate(0);
    ASSERT_TRUE(frame.ok());
    ASSERT_TRUE(f.allocator.free(frame.value(), 0).ok());
    Status again = f.allocator.free(frame.value(), 0);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(std::string(again.error().message()).find("double free"), std::string::npos);
    Status reserved = f.allocator.free(HostPhysAddr(0x300000), 0);
    ASSERT_FALSE(reserved.ok());
    EXPECT_EQ(reserved.error().code(), ErrorCode::kPermissionDenied);
    EXPECT_FALSE(f.allocator.free(HostPhysAddr(0x400000), 9).ok());    // never allocated
    EXPECT_FALSE(f.allocator.free(HostPhysAddr(0x401000), 1).ok());    // misaligned
    EXPECT_FALSE(f.allocator.free(HostPhysAddr(1ull << 40), 0).ok());  // beyond memory
}

TEST(FrameAllocator, BootTimeOperationsRefusedAfterAllocation) {
    Fixture f(16 * MiB);
    ASSERT_TRUE(f.allocator.add_usable(range(1 * MiB, 15 * MiB)).ok());
    ASSERT_TRUE(f.allocator.allocate(0).ok());
    EXPECT_FALSE(f.allocator.reserve(range(0x500000, 0x1000), "late").ok());
    EXPECT_FALSE(f.allocator.add_usable(range(0, 0x1000)).ok());
}

TEST(FrameAllocator, ClaimTakesOnlyFreeFrames) {
    Fixture f(16 * MiB);
    ASSERT_TRUE(f.allocator.add_usable(range(1 * MiB, 15 * MiB)).ok());
    ASSERT_TRUE(f.allocator.claim(range(0x400000, 0x3000)).ok());
    EXPECT_FALSE(f.allocator.is_free(HostPhysAddr(0x402000)));
    EXPECT_EQ(f.allocator.claim(range(0x402000, 0x2000)).error().code(), ErrorCode::kBusy);
    EXPECT_TRUE(f.allocator.is_free(HostPhysAddr(0x403000)));  // refused claim changed nothing
}

TEST(FrameAllocator, ReleaseReturnsAClaimedRangeOfAnySize) {
    Fixture f(16 * MiB);
    ASSERT_TRUE(f.allocator.reserve(range(0x800000, 0x1000), "test").ok());
    ASSERT_TRUE(f.allocator.add_usable(range(1 * MiB, 15 * MiB)).ok());
    u64 free_before = f.allocator.free_frames();
    ASSERT_TRUE(f.allocator.claim(range(0x401000, 0x5000)).ok());
    EXPECT_EQ(f.allocator.free_frames(), free_before - 5);
    // Partly free, unaligned, reserved: refused, nothing changes.
    EXPECT_FALSE(f.allocator.release(range(0x400000, 0x6000)).ok());
    EXPECT_FALSE(f.allocator.release(range(0x401800, 0x1000)).ok());
    EXPECT_FALSE(f.allocator.release(range(0x800000, 0x1000)).ok());
    EXPECT_FALSE(f.allocator.is_free(HostPhysAddr(0x401000)));
    ASSERT_TRUE(f.allocator.release(range(0x401000, 0x5000)).ok());
    EXPECT_EQ(f.allocator.free_frames(), free_before);
    EXPECT_TRUE(f.allocator.is_free(HostPhysAddr(0x405000)));
    // Released frames are allocatable again.
    ASSERT_TRUE(f.allocator.claim(range(0x401000, 0x5000)).ok());
}

TEST(FrameAllocator, ExhaustionIsAnError) {
    Fixture f(4 * MiB);
    ASSERT_TRUE(f.allocator.add_usable(range(1 * MiB, 16 * kFrame)).ok());
    for (int i = 0; i < 16; ++i) {
        ASSERT_TRUE(f.allocator.allocate(0).ok());
    }
    auto none = f.allocator.allocate(0);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code(), ErrorCode::kOutOfMemory);
}

// Property: under random allocate/free sequences with random reservations and holes, the
// allocator never returns a reserved or unusable frame, never the same frame twice, only
// aligned blocks inside the requested window, and its free count matches a model.
TEST(FrameAllocator, PropertyNeverReservedNeverTwice) {
    for (u32 seed = 1; seed <= 40; ++seed) {
        std::mt19937_64 random(seed);
        const u64 limit = 128 * MiB;
        Fixture f(limit);
        std::vector<HostPhysRange> reserved;
        for (int i = 0; i < 12; ++i) {
            u64 base = random() % limit;
            u64 size = 1 + random() % (3 * MiB);
            reserved.push_back(range(base, size));
            ASSERT_TRUE(f.allocator.reserve(reserved.back(), "random").ok());
        }
        std::vector<HostPhysRange> usable;
        for (u64 base = 0; base < limit; base += 16 * MiB) {
            u64 start = base + (random() % 64) * kFrame + random() % kFrame;
            u64 size = 8 * MiB + random() % (8 * MiB - 0x100000);
            usable.push_back(range(start, size));
            ASSERT_TRUE(f.allocator.add_usable(usable.back()).ok());
        }
        auto frame_ok = [&](u64 frame) {
            HostPhysRange r = range(frame, kFrame);
            for (const auto& u : usable) {
                if (u.contains(r)) {
                    for (const auto& res : reserved) {
                        if (res.overlaps(r)) {
                            return false;
                        }
                    }
                    return true;
                }
            }
            return false;
        };
        u64 model_free = 0;
        for (u64 frame = 0; frame < limit; frame += kFrame) {
            model_free += frame_ok(frame) ? 1 : 0;
        }
        ASSERT_EQ(f.allocator.free_frames(), model_free) << "seed " << seed;

        std::map<u64, u32> blocks;  // base -> order
        std::set<u64> owned;
        for (int step = 0; step < 3000; ++step) {
            bool do_free = !blocks.empty() && random() % 3 == 0;
            if (do_free) {
                auto it = blocks.begin();
                std::advance(it, static_cast<long>(random() % blocks.size()));
                ASSERT_TRUE(f.allocator.free(HostPhysAddr(it->first), it->second).ok());
                for (u64 i = 0; i < (1ull << it->second); ++i) {
                    owned.erase(it->first + i * kFrame);
                }
                model_free += 1ull << it->second;
                blocks.erase(it);
            } else {
                u32 order = static_cast<u32>(random() % 10);
                FrameAllocator::Window window;
                if (random() % 4 == 0) {
                    window.minimum = HostPhysAddr((random() % limit) & ~(kFrame - 1));
                    window.limit = HostPhysAddr(window.minimum.raw() + (random() % (32 * MiB)));
                }
                auto block = f.allocator.allocate(order, window);
                if (!block.ok()) {
                    continue;
                }
                u64 base = block.value().raw();
                u64 size = (1ull << order) * kFrame;
                ASSERT_EQ(base % size, 0u);
                ASSERT_GE(base, window.minimum.raw());
                ASSERT_LE(base + size, window.limit.raw());
                for (u64 i = 0; i < (1ull << order); ++i) {
                    u64 frame = base + i * kFrame;
                    ASSERT_TRUE(frame_ok(frame)) << "seed " << seed << " frame " << frame;
                    ASSERT_TRUE(owned.insert(frame).second) << "frame handed out twice";
                }
                blocks[base] = order;
                model_free -= 1ull << order;
            }
            // Frees of reserved frames are refused and change nothing.
            if (step % 100 == 0) {
                HostPhysAddr inside =
                    reserved[random() % reserved.size()].base().align_down(kFrame);
                if (inside.raw() < limit && !owned.count(inside.raw())) {
                    ASSERT_FALSE(f.allocator.free(inside, 0).ok());
                }
            }
            ASSERT_EQ(f.allocator.free_frames(), model_free) << "seed " << seed << " step " << step;
        }
    }
}

}  // namespace
}  // namespace relay
