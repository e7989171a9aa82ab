#include "lib/strings.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

TEST(Strings, SlicesNeverThrow) {
    EXPECT_EQ(suffix_from("abc", 1), "bc");
    EXPECT_EQ(suffix_from("abc", 5), "");
    EXPECT_EQ(prefix_of("abc", 9), "abc");
    EXPECT_EQ(slice("abcdef", 2, 4), "cd");
    EXPECT_EQ(slice("abcdef", 4, 2), "");
    EXPECT_EQ(trim_spaces("  a b \t"), "a b");
}

TEST(Strings, ParseU64) {
    u64 v = 0;
    EXPECT_TRUE(parse_u64("0", &v));
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(parse_u64("18446744073709551615", &v));
    EXPECT_EQ(v, ~0ull);
    EXPECT_FALSE(parse_u64("18446744073709551616", &v));
    EXPECT_TRUE(parse_u64("0xFfee", &v));
    EXPECT_EQ(v, 0xffeeu);
    EXPECT_FALSE(parse_u64("", &v));
    EXPECT_FALSE(parse_u64("0x", &v));
    EXPECT_FALSE(parse_u64("12a", &v));
    EXPECT_FALSE(parse_u64("-1", &v));
}

TEST(Strings, ParseSize) {
    u64 v = 0;
    EXPECT_TRUE(parse_size("64M", &v));
    EXPECT_EQ(v, 64 * MiB);
    EXPECT_TRUE(parse_size("2g", &v));
    EXPECT_EQ(v, 2 * GiB);
    EXPECT_TRUE(parse_size("4096", &v));
    EXPECT_EQ(v, 4096u);
    EXPECT_TRUE(parse_size("0x1000", &v));
    EXPECT_EQ(v, 0x1000u);
    EXPECT_FALSE(parse_size("M", &v));
    EXPECT_FALSE(parse_size("17179869184G", &v));
}

TEST(Strings, CopyString) {
    char buffer[4];
    EXPECT_TRUE(copy_string("abc", buffer, sizeof(buffer)));
    EXPECT_STREQ(buffer, "abc");
    EXPECT_FALSE(copy_string("abcd", buffer, sizeof(buffer)));
    EXPECT_STREQ(buffer, "abc");
}

}  // namespace
}  // namespace relay
