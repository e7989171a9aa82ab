// Well-formed UTF-8 (RFC 3629 §4): no overlong forms, no surrogates, nothing above
// U+10FFFF. Text that goes into a stream must be UTF-8 (FlatBuffers strings are, by
// definition, and tools print them as JSON). Freestanding and hosted.
#pragma once

#include "lib/types.hpp"

namespace relay {

// The length of the longest well-formed prefix of `bytes`: `size` when all of it is
// UTF-8, else the offset of the first byte of the first ill-formed sequence.
constexpr usize utf8_valid_prefix(const u8* bytes, usize size) {
    usize i = 0;
    while (i < size) {
        u8 lead = bytes[i];
        usize count = 0;
        u32 minimum = 0;
        u32 code = 0;
        if (lead < 0x80) {
            ++i;
            continue;
        } else if ((lead & 0xE0) == 0xC0) {
            count = 1;
            minimum = 0x80;
            code = lead & 0x1F;
        } else if ((lead & 0xF0) == 0xE0) {
            count = 2;
            minimum = 0x800;
            code = lead & 0x0F;
        } else if ((lead & 0xF8) == 0xF0) {
            count = 3;
            minimum = 0x10000;
            code = lead & 0x07;
        } else {
            return i;
        }
        if (size - i <= count) {
            return i;
        }
        for (usize k = 1; k <= count; ++k) {
            if ((bytes[i + k] & 0xC0) != 0x80) {
                return i;
            }
            code = (code << 6) | (bytes[i + k] & 0x3F);
        }
        if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
            return i;
        }
        i += count + 1;
    }
    return size;
}

constexpr bool is_utf8(const u8* bytes, usize size) {
    return utf8_valid_prefix(bytes, size) == size;
}

}  // namespace relay
