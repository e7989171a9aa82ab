// Big-endian loads from byte buffers of any alignment: device-tree cells and header
// fields are big-endian (Devicetree Specification v0.4 §5.1). Compiles freestanding and
// hosted.
#pragma once

#include "lib/types.hpp"

namespace relay::hyperlaunch {

inline u32 load_big_endian_u32(const u8* bytes) {
    return (static_cast<u32>(bytes[0]) << 24) | (static_cast<u32>(bytes[1]) << 16) |
           (static_cast<u32>(bytes[2]) << 8) | static_cast<u32>(bytes[3]);
}

}  // namespace relay::hyperlaunch
