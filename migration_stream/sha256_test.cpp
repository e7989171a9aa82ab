#include "migration_stream/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::stream {
namespace {

std::string hex(const Sha256Digest& digest) {
    static const char* kDigits = "0123456789abcdef";
    std::string text;
    for (u8 byte : digest.bytes) {
        text += kDigits[byte >> 4];
        text += kDigits[byte & 15];
    }
    return text;
}

std::string digest_of(const std::string& message) {
    return hex(Sha256::digest(message.data(), message.size()));
}

// NIST FIPS 180-4 examples (SHA256.pdf, "Example Algorithms") and NIST CAVS short/long
// message vectors.
TEST(Sha256, NistOneBlockMessage) {
    EXPECT_EQ(digest_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, NistEmptyMessage) {
    EXPECT_EQ(digest_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, NistTwoBlockMessage) {
    EXPECT_EQ(digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, Nist896BitMessage) {
    EXPECT_EQ(digest_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                        "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, NistMillionA) {
    Sha256 hasher;
    std::string block(1000, 'a');
    for (int i = 0; i < 1000; ++i) {
        hasher.update(block.data(), block.size());
    }
    EXPECT_EQ(hex(hasher.finish()),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Padding boundaries: 55, 56, 63 and 64 bytes exercise one- and two-block padding.
TEST(Sha256, IncrementalEqualsOneShotAtEveryLength) {
    std::string message;
    for (int i = 0; i < 200; ++i) {
        message += static_cast<char>('a' + i % 26);
    }
    for (usize length = 0; length <= message.size(); ++length) {
        Sha256 pieces;
        for (usize i = 0; i < length; i += 7) {
            pieces.update(message.data() + i, std::min<usize>(7, length - i));
        }
        EXPECT_EQ(pieces.finish(), Sha256::digest(message.data(), length)) << length;
    }
    EXPECT_EQ(digest_of(std::string(55, 'a')),
              "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    EXPECT_EQ(digest_of(std::string(56, 'a')),
              "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    EXPECT_EQ(digest_of(std::string(64, 'a')),
              "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

}  // namespace
}  // namespace relay::stream
