#include "kexec/image_checksum.hpp"

namespace relay::kexec {

u32 image_checksum(const u8* data, u64 length) {
    u32 h = 0;
    for (u64 i = 0; i + 4 <= length; i += 4) {
        u32 word = static_cast<u32>(data[i]) | (static_cast<u32>(data[i + 1]) << 8) |
                   (static_cast<u32>(data[i + 2]) << 16) | (static_cast<u32>(data[i + 3]) << 24);
        h = ((h << 5) | (h >> 27)) + word;
    }
    return h;
}

}  // namespace relay::kexec
