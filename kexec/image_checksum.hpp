// The checksum purgatory recomputes over a staged image before entering it
// (kexec/purgatory.S): h = rotl(h, 5) + w over the image's little-endian 32-bit words,
// from h = 0. Not cryptographic: it catches a staged image that changed between staging
// and the jump (a stray write, a corrupted page), which would otherwise boot into
// garbage with no way back. Freestanding and hosted.
#pragma once

#include "lib/types.hpp"

namespace relay::kexec {

// `length` must be a multiple of 4.
u32 image_checksum(const u8* data, u64 length);

}  // namespace relay::kexec
