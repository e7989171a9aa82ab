// memtest's memory pattern. The word at guest-physical address A holds, in generation G,
//
//     pattern_word(generation_key(domid, seed, G), A) = key(domid, seed, G) ^ (A *
//     kAddressMultiplier)
//
// so it depends on (domid, seed, generation, address) only:
//   - a new generation changes every word, so memory that silently stops being written
//     (stale pages, a restore from an old copy) fails the next check;
//   - the address term is a bijection (odd multiplier), so two addresses never share a
//     value within a generation: pages mapped twice or swapped fail too;
//   - two domains (or seeds) use unrelated keys, so memory of one domain showing up in
//     another fails.
// The words are accessed through volatile pointers: the compiler must neither keep a
// written value in a register nor drop a check it thinks it can predict. Shared: the
// loops are unit-tested on the host.
#pragma once

#include "lib/types.hpp"

namespace relay::guest::memtest {

inline constexpr u64 kAddressMultiplier = 0x9E37'79B9'7F4A'7C15ull;  // odd: a bijection

// SplitMix64's finalizer (Steele, Lea, Flood: "Fast splittable pseudorandom number
// generators", 2014): every input bit affects every output bit.
constexpr u64 mix64(u64 x) {
    x ^= x >> 30;
    x *= 0xBF58'476D'1CE4'E5B9ull;
    x ^= x >> 27;
    x *= 0x94D0'49BB'1331'11EBull;
    x ^= x >> 31;
    return x;
}

constexpr u64 generation_key(u16 domid, u64 seed, u64 generation) {
    return mix64(mix64(seed ^ (static_cast<u64>(domid) << 48)) + generation * kAddressMultiplier);
}

constexpr u64 pattern_word(u64 key, u64 address) {
    return key ^ (address * kAddressMultiplier);
}

// Writes generation `key`'s pattern to `count` words; `address` is the guest-physical
// address of words[0] (the pointer itself in a guest, anything in a host test).
inline void fill_words(volatile u64* words, u64 count, u64 address, u64 key) {
    u64 term = address * kAddressMultiplier;
    for (u64 i = 0; i < count; ++i) {
        words[i] = key ^ term;
        term += 8 * kAddressMultiplier;
    }
}

struct VerifyResult {
    u64 bad_words = 0;
    // The first bad word (valid when bad_words > 0).
    u64 first_bad_address = 0;
    u64 expected = 0;
    u64 found = 0;
};

// Checks that every word holds generation `key`'s pattern and rewrites it with
// generation `next_key`'s, bad or not (so one bad word is reported once, not each pass).
inline VerifyResult verify_and_advance(volatile u64* words, u64 count, u64 address, u64 key,
                                       u64 next_key) {
    VerifyResult result;
    u64 term = address * kAddressMultiplier;
    for (u64 i = 0; i < count; ++i) {
        u64 expected = key ^ term;
        u64 found = words[i];
        if (found != expected) [[unlikely]] {
            if (result.bad_words == 0) {
                result.first_bad_address = address + i * 8;
                result.expected = expected;
                result.found = found;
            }
            ++result.bad_words;
        }
        words[i] = next_key ^ term;
        term += 8 * kAddressMultiplier;
    }
    return result;
}

}  // namespace relay::guest::memtest
