#include "tests/guests/control/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::guest::control {
namespace {

std::string encode(const std::string& text) {
    std::string out(base64_length(text.size()), '?');
    usize written =
        base64_encode(std::span<const u8>(reinterpret_cast<const u8*>(text.data()), text.size()),
                      out.data(), out.size());
    EXPECT_EQ(written, out.size());
    return out;
}

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
    EXPECT_EQ(encode(""), "");
    EXPECT_EQ(encode("f"), "Zg==");
    EXPECT_EQ(encode("fo"), "Zm8=");
    EXPECT_EQ(encode("foo"), "Zm9v");
    EXPECT_EQ(encode("foob"), "Zm9vYg==");
    EXPECT_EQ(encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Base64, TooSmallAnOutputWritesNothing) {
    char out[3] = {'x', 'x', 'x'};
    const u8 data[] = {1, 2, 3};
    EXPECT_EQ(base64_encode(data, out, sizeof(out)), 0u);
    EXPECT_EQ(out[0], 'x');
}

}  // namespace
}  // namespace relay::guest::control
