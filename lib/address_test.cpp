#include "lib/address.hpp"

#include <gtest/gtest.h>

#include <type_traits>

namespace relay {
namespace {

static_assert(!std::is_convertible_v<HostPhysAddr, GuestPhysAddr>,
              "host- and guest-physical addresses must not mix");
static_assert(!std::is_convertible_v<u64, HostPhysAddr>, "raw integers need an explicit cast");

TEST(Range, MakeRefusesWrap) {
    HostPhysRange range;
    EXPECT_FALSE(HostPhysRange::make(HostPhysAddr(~0ull - 10), 12, &range));
    EXPECT_TRUE(HostPhysRange::make(HostPhysAddr(~0ull - 10), 11, &range));
    EXPECT_EQ(range.last(), HostPhysAddr(~0ull));
}

TEST(Range, ContainsAndOverlaps) {
    auto a = HostPhysRange::unchecked(HostPhysAddr(0x1000), 0x1000);
    auto b = HostPhysRange::unchecked(HostPhysAddr(0x1fff), 1);
    auto c = HostPhysRange::unchecked(HostPhysAddr(0x2000), 0x1000);
    auto empty = HostPhysRange::unchecked(HostPhysAddr(0x1800), 0);
    EXPECT_TRUE(a.contains(HostPhysAddr(0x1fff)));
    EXPECT_FALSE(a.contains(HostPhysAddr(0x2000)));
    EXPECT_TRUE(a.overlaps(b));
    EXPECT_FALSE(a.overlaps(c));
    EXPECT_FALSE(a.overlaps(empty));
    EXPECT_TRUE(a.contains(b));
    EXPECT_FALSE(a.contains(c));
}

TEST(Align, UpDetectsOverflow) {
    u64 out = 0;
    EXPECT_TRUE(align_up(0x1001, 0x1000, &out));
    EXPECT_EQ(out, 0x2000u);
    EXPECT_FALSE(align_up(~0ull - 5, 0x1000, &out));
}

}  // namespace
}  // namespace relay
