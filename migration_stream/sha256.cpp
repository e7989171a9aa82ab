#include "migration_stream/sha256.hpp"

namespace relay::stream {
namespace {

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
constexpr u32 kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4 §5.3.3: initial hash value.
constexpr u32 kInitialState[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

constexpr u32 rotate_right(u32 value, unsigned count) {
    return (value >> count) | (value << (32 - count));
}

}  // namespace

Sha256::Sha256() {
    for (usize i = 0; i < 8; ++i) {
        state_[i] = kInitialState[i];
    }
}

// FIPS 180-4 §6.2.2: one 512-bit block.
void Sha256::compress(const u8* block) {
    u32 schedule[64];
    for (usize t = 0; t < 16; ++t) {
        schedule[t] = (u32{block[4 * t]} << 24) | (u32{block[4 * t + 1]} << 16) |
                      (u32{block[4 * t + 2]} << 8) | u32{block[4 * t + 3]};
    }
    for (usize t = 16; t < 64; ++t) {
        u32 s0 = rotate_right(schedule[t - 15], 7) ^ rotate_right(schedule[t - 15], 18) ^
                 (schedule[t - 15] >> 3);
        u32 s1 = rotate_right(schedule[t - 2], 17) ^ rotate_right(schedule[t - 2], 19) ^
                 (schedule[t - 2] >> 10);
        schedule[t] = schedule[t - 16] + s0 + schedule[t - 7] + s1;
    }
    u32 a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    u32 e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (usize t = 0; t < 64; ++t) {
        u32 sum1 = rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25);
        u32 choose = (e & f) ^ (~e & g);
        u32 temp1 = h + sum1 + choose + kRoundConstants[t] + schedule[t];
        u32 sum0 = rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22);
        u32 majority = (a & b) ^ (a & c) ^ (b & c);
        u32 temp2 = sum0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + temp1;
        d = c;
        c = b;
        b = a;
        a = temp1 + temp2;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;
}

void Sha256::update(const void* data, usize size) {
    const u8* bytes = static_cast<const u8*>(data);
    total_bytes_ += size;
    if (block_used_ > 0) {
        while (size > 0 && block_used_ < sizeof(block_)) {
            block_[block_used_++] = *bytes++;
            --size;
        }
        if (block_used_ < sizeof(block_)) {
            return;
        }
        compress(block_);
        block_used_ = 0;
    }
    while (size >= sizeof(block_)) {
        compress(bytes);
        bytes += sizeof(block_);
        size -= sizeof(block_);
    }
    while (size > 0) {
        block_[block_used_++] = *bytes++;
        --size;
    }
}

// FIPS 180-4 §5.1.1: append 1 bit, zeros, and the 64-bit big-endian message length.
Sha256Digest Sha256::finish() {
    u64 bit_length = total_bytes_ * 8;
    block_[block_used_++] = 0x80;
    if (block_used_ > 56) {
        while (block_used_ < 64) {
            block_[block_used_++] = 0;
        }
        compress(block_);
        block_used_ = 0;
    }
    while (block_used_ < 56) {
        block_[block_used_++] = 0;
    }
    for (usize i = 0; i < 8; ++i) {
        block_[56 + i] = static_cast<u8>(bit_length >> (56 - 8 * i));
    }
    compress(block_);
    block_used_ = 0;
    Sha256Digest digest;
    for (usize i = 0; i < 8; ++i) {
        digest.bytes[4 * i] = static_cast<u8>(state_[i] >> 24);
        digest.bytes[4 * i + 1] = static_cast<u8>(state_[i] >> 16);
        digest.bytes[4 * i + 2] = static_cast<u8>(state_[i] >> 8);
        digest.bytes[4 * i + 3] = static_cast<u8>(state_[i]);
    }
    return digest;
}

Sha256Digest Sha256::digest(const void* data, usize size) {
    Sha256 hasher;
    hasher.update(data, size);
    return hasher.finish();
}

}  // namespace relay::stream
