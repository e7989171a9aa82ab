// Little-endian fields in byte buffers: firmware tables (ACPI, IVRS), boot information
// (multiboot), ELF images and the stream header. Assembled byte by byte, so they need no
// alignment and mean the same on any host; compilers emit a single load or store on
// x86. Freestanding and hosted.
#pragma once

#include "lib/types.hpp"

namespace relay {

// The `bytes` (at most 8) bytes at `in`, least significant first.
constexpr u64 load_le(const u8* in, usize bytes) {
    u64 value = 0;
    for (usize i = 0; i < bytes; ++i) {
        value |= u64{in[i]} << (8 * i);
    }
    return value;
}
constexpr u16 load_le16(const u8* in) {
    return static_cast<u16>(load_le(in, 2));
}
constexpr u32 load_le32(const u8* in) {
    return static_cast<u32>(load_le(in, 4));
}
constexpr u64 load_le64(const u8* in) {
    return load_le(in, 8);
}

// Stores the low `bytes` (at most 8) bytes of `value` at `out`, least significant first.
constexpr void store_le(u8* out, u64 value, usize bytes) {
    for (usize i = 0; i < bytes; ++i) {
        out[i] = static_cast<u8>(value >> (8 * i));
    }
}
constexpr void store_le16(u8* out, u16 value) {
    store_le(out, value, 2);
}
constexpr void store_le32(u8* out, u32 value) {
    store_le(out, value, 4);
}
constexpr void store_le64(u8* out, u64 value) {
    store_le(out, value, 8);
}

}  // namespace relay
