// What this build is: version string and the linker's build id (.note.gnu.build-id,
// a SHA-1 over the image), which names the build in banners and live-update records.
#pragma once

#include "lib/types.hpp"

namespace relay {

// Which build this is. Images differ only in their variant (hv/variants/*.cpp): the
// production image, a second build for update tests and the demo, and test builds that
// must be refused (hv/BUILD.bazel, relay_image).
struct BuildVariant {
    const char* name;
    const char* version;
    // Test builds: the schema majors this build's stream reader accepts, overriding the
    // real ones (the compatibility note is generated separately).
    bool override_reader;
    u16 reader_schema_major_min;
    u16 reader_schema_major_max;
};
extern const BuildVariant kBuildVariant;

// The GNU build id bytes of this image (20 for SHA-1); length 0 if absent.
struct BuildId {
    u8 bytes[32] = {};
    usize length = 0;
};
const BuildId& build_id();

// Lowercase hex of the first `bytes` bytes of the build id into `out` (NUL-terminated).
void build_id_hex(char* out, usize capacity, usize bytes);

}  // namespace relay
