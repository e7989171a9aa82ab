// What this build is: version string and the linker's build id (.note.gnu.build-id,
// a SHA-1 over the image), which names the build in banners and live-update records.
#pragma once

#include "lib/types.hpp"

namespace relay {

inline constexpr const char* kRelayVersion = "0.1.0";

// The GNU build id bytes of this image (20 for SHA-1); length 0 if absent.
struct BuildId {
    u8 bytes[32] = {};
    usize length = 0;
};
const BuildId& build_id();

// Lowercase hex of the first `bytes` bytes of the build id into `out` (NUL-terminated).
void build_id_hex(char* out, usize capacity, usize bytes);

}  // namespace relay
