#include "tests/guests/lib/tsc_math.hpp"

#include <gtest/gtest.h>

namespace relay::guest {
namespace {

TEST(TscMath, TicksForMicroseconds) {
    EXPECT_EQ(tsc_ticks_for_microseconds(0, 2'000'000), 0u);
    EXPECT_EQ(tsc_ticks_for_microseconds(1, 2'000'000), 2000u);
    EXPECT_EQ(tsc_ticks_for_microseconds(500'000, 2'000'000), 1'000'000'000u);
    // Rates that are not whole MHz keep their fraction.
    EXPECT_EQ(tsc_ticks_for_microseconds(1'000'000, 2'399'999), 2'399'999'000u);
    EXPECT_EQ(tsc_ticks_for_microseconds(1, 1'500), 1u);
    EXPECT_EQ(tsc_ticks_for_microseconds(3, 1'500), 4u);
}

TEST(TscMath, TicksSaturateInsteadOfWrapping) {
    EXPECT_EQ(tsc_ticks_for_microseconds(kSaturated, 3'000'000), kSaturated);
    EXPECT_EQ(tsc_ticks_for_microseconds(kSaturated / 1000, 3'000'000), kSaturated);
    // Large microseconds with a small rate: exact, no saturation.
    EXPECT_EQ(tsc_ticks_for_microseconds(kSaturated / 10, 999),
              (kSaturated / 10) / 1000 * 999 + (kSaturated / 10) % 1000 * 999 / 1000);
}

TEST(TscMath, MicrosecondsForTicks) {
    EXPECT_EQ(microseconds_for_tsc_ticks(0, 2'000'000), 0u);
    EXPECT_EQ(microseconds_for_tsc_ticks(2000, 2'000'000), 1u);
    EXPECT_EQ(microseconds_for_tsc_ticks(1999, 2'000'000), 0u);
    EXPECT_EQ(microseconds_for_tsc_ticks(3'000'000'000ull, 3'000'000), 1'000'000u);
    // The full 64-bit range converts without overflow: 2^64 ticks at 1 GHz ~ 584 years.
    EXPECT_EQ(microseconds_for_tsc_ticks(kSaturated, 1'000'000), kSaturated / 1000);
    EXPECT_EQ(microseconds_for_tsc_ticks(kSaturated, 1), kSaturated);
}

TEST(TscMath, RoundTripIsClose) {
    for (u64 khz : {1'000ull, 1'234'567ull, 2'000'000ull, 3'700'000ull}) {
        for (u64 us : {1ull, 999ull, 1'000'000ull, 86'400'000'000ull}) {
            u64 back = microseconds_for_tsc_ticks(tsc_ticks_for_microseconds(us, khz), khz);
            EXPECT_LE(back, us);
            EXPECT_GE(back + 1, us) << khz << " kHz, " << us << " us";
        }
    }
}

}  // namespace
}  // namespace relay::guest
