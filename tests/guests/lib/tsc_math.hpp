// Conversions between TSC ticks and microseconds at a TSC rate in kHz, without 128-bit
// division (a freestanding guest has no libgcc for __udivti3) and saturating instead of
// wrapping: a sleep of "forever" must not turn into a sleep of nothing. Shared.
#pragma once

#include "lib/types.hpp"

namespace relay::guest {

inline constexpr u64 kSaturated = ~0ull;

// ticks = microseconds * khz / 1000, saturating at kSaturated.
constexpr u64 tsc_ticks_for_microseconds(u64 microseconds, u64 khz) {
    // microseconds * (khz / 1000) + microseconds * (khz % 1000) / 1000
    u64 whole = 0;
    if (__builtin_mul_overflow(microseconds, khz / 1000, &whole)) {
        return kSaturated;
    }
    u64 fraction = 0;
    if (__builtin_mul_overflow(microseconds, khz % 1000, &fraction)) {
        // microseconds >= 2^64 / 1000: split once more, exactly.
        fraction =
            (microseconds / 1000) * (khz % 1000) + (microseconds % 1000) * (khz % 1000) / 1000;
    } else {
        fraction /= 1000;
    }
    u64 ticks = 0;
    if (__builtin_add_overflow(whole, fraction, &ticks)) {
        return kSaturated;
    }
    return ticks;
}

// microseconds = ticks * 1000 / khz (khz > 0), exact for any 64-bit tick count.
constexpr u64 microseconds_for_tsc_ticks(u64 ticks, u64 khz) {
    u64 whole = ticks / khz;
    u64 rest = ticks % khz;  // < khz, so rest * 1000 overflows only for khz > 2^54
    u64 microseconds = 0;
    if (__builtin_mul_overflow(whole, 1000, &microseconds)) {
        return kSaturated;
    }
    u64 rest_scaled = 0;
    u64 rest_microseconds =
        __builtin_mul_overflow(rest, 1000, &rest_scaled) ? rest / (khz / 1000) : rest_scaled / khz;
    if (__builtin_add_overflow(microseconds, rest_microseconds, &microseconds)) {
        return kSaturated;
    }
    return microseconds;
}

}  // namespace relay::guest
