#include "kexec/image_checksum.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace relay::kexec {
namespace {

TEST(ImageChecksum, MatchesTheDefinition) {
    EXPECT_EQ(image_checksum(nullptr, 0), 0u);
    const u8 one[] = {0x78, 0x56, 0x34, 0x12};  // little-endian 0x12345678
    EXPECT_EQ(image_checksum(one, 4), 0x12345678u);
    const u8 two[] = {1, 0, 0, 0, 2, 0, 0, 0};
    EXPECT_EQ(image_checksum(two, 8), (1u << 5) + 2);
    // The rotation carries the top bits round: 0x80000000 rotated by 5 is 0x10.
    const u8 high[] = {0, 0, 0, 0x80, 0, 0, 0, 0};
    EXPECT_EQ(image_checksum(high, 8), 0x10u);
}

TEST(ImageChecksum, EveryFlippedBitOfAnImageChangesIt) {
    std::vector<u8> image(4096);
    for (usize i = 0; i < image.size(); ++i) {
        image[i] = static_cast<u8>(i * 131 + 7);
    }
    u32 reference = image_checksum(image.data(), image.size());
    for (usize i = 0; i < image.size(); i += 97) {
        for (int bit = 0; bit < 8; bit += 3) {
            image[i] ^= static_cast<u8>(1u << bit);
            EXPECT_NE(image_checksum(image.data(), image.size()), reference) << i << ":" << bit;
            image[i] ^= static_cast<u8>(1u << bit);
        }
    }
    // Two words swapped: caught too (the rotation makes the sum order-dependent).
    std::swap(image[0], image[4]);
    EXPECT_NE(image_checksum(image.data(), image.size()), reference);
}

}  // namespace
}  // namespace relay::kexec
