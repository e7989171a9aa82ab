// Fixed-width integer names and size constants used throughout Relay.
// Compiles freestanding and hosted.
#pragma once

#include <cstddef>
#include <cstdint>

namespace relay {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
using i8 = std::int8_t;
using i16 = std::int16_t;
using i32 = std::int32_t;
using i64 = std::int64_t;
using usize = std::size_t;
using uptr = std::uintptr_t;

inline constexpr u64 KiB = 1024;
inline constexpr u64 MiB = 1024 * KiB;
inline constexpr u64 GiB = 1024 * MiB;

inline constexpr u64 kPageSize4K = 4 * KiB;
inline constexpr u64 kPageSize2M = 2 * MiB;
inline constexpr u64 kPageSize1G = 1 * GiB;

constexpr bool is_power_of_two(u64 value) {
    return value != 0 && (value & (value - 1)) == 0;
}

// Rounds down/up to a power-of-two alignment. align_up reports overflow by returning
// false; callers that cannot overflow by construction use align_up_unchecked.
constexpr u64 align_down(u64 value, u64 alignment) {
    return value & ~(alignment - 1);
}
constexpr u64 align_up_unchecked(u64 value, u64 alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}
constexpr bool align_up(u64 value, u64 alignment, u64* out) {
    u64 sum = 0;
    if (__builtin_add_overflow(value, alignment - 1, &sum)) {
        return false;
    }
    *out = sum & ~(alignment - 1);
    return true;
}
constexpr bool is_aligned(u64 value, u64 alignment) {
    return (value & (alignment - 1)) == 0;
}

template <typename T, usize N>
constexpr usize array_size(const T (&)[N]) {
    return N;
}

}  // namespace relay
