// The data of each DMA round trip. Word i (offset 8i) of transfer n's data is
//
//     transfer_word(transfer_key(domid, seed, n), 8i) = key(domid, seed, n) ^ (8i * multiplier)
//
// memtest's pattern (tests/guests/memtest/pattern.hpp) with the transfer number as the
// generation and the offset within the page as the address, so it depends on (domid, seed,
// transfer number, offset) only:
//   - every transfer's data differs from the last one's in about half the bits of every
//     word: a DMA that silently did nothing leaves the previous transfer's data (in the
//     device buffer) or the poison (in the destination) behind, and both fail the check;
//   - the offset term is a bijection, so data moved within the page (a shifted buffer
//     offset, a swapped page half) fails too;
//   - the destination is poisoned first with the complement of the expected data, which
//     differs from it in every bit of every word.
// Transfers count from 1; the key of "transfer 0" marks the device buffer for the outside
// test, so that it never equals a transfer's data.
#pragma once

#include "lib/types.hpp"
#include "tests/guests/memtest/pattern.hpp"

namespace relay::guest::dma {

constexpr u64 transfer_key(u16 domid, u64 seed, u64 transfer) {
    return memtest::generation_key(domid, seed, transfer);
}

constexpr u64 transfer_word(u64 key, u64 offset) {
    return memtest::pattern_word(key, offset);
}

constexpr u64 poison_word(u64 key, u64 offset) {
    return ~transfer_word(key, offset);
}

}  // namespace relay::guest::dma
