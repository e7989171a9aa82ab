// SHA-256 (FIPS 180-4) for the stream digest. Freestanding: no heap, no libc beyond what
// the compiler emits for struct copies. Incremental so a header and a payload that live
// in different places can be digested as one message.
#pragma once

#include "lib/types.hpp"

namespace relay::stream {

inline constexpr usize kSha256Bytes = 32;

struct Sha256Digest {
    u8 bytes[kSha256Bytes] = {};

    bool operator==(const Sha256Digest&) const = default;
};

class Sha256 {
public:
    Sha256();

    void update(const void* data, usize size);
    // Pads and returns the digest; the object must not be updated afterwards.
    Sha256Digest finish();

    static Sha256Digest digest(const void* data, usize size);

private:
    void compress(const u8* block);

    u32 state_[8];
    u8 block_[64];
    usize block_used_ = 0;
    u64 total_bytes_ = 0;
};

}  // namespace relay::stream
