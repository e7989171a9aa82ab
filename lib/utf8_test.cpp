#include "lib/utf8.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace relay {
namespace {

usize prefix(std::string_view text) {
    return utf8_valid_prefix(reinterpret_cast<const u8*>(text.data()), text.size());
}

TEST(Utf8, WellFormedTextIsWhole) {
    EXPECT_EQ(prefix(""), 0u);
    EXPECT_EQ(prefix("relay.module=kernel"), 19u);
    EXPECT_EQ(prefix("caf\xc3\xa9"), 5u);                                  // U+00E9
    EXPECT_EQ(prefix("\xe2\x82\xac"), 3u);                                 // U+20AC
    EXPECT_EQ(prefix("\xf0\x9f\x98\x80"), 4u);                             // U+1F600
    EXPECT_EQ(prefix("\xf4\x8f\xbf\xbf"), 4u);                             // U+10FFFF, the last
    EXPECT_TRUE(is_utf8(reinterpret_cast<const u8*>("\xed\x9f\xbf"), 3));  // U+D7FF
}

TEST(Utf8, TheFirstIllFormedSequenceIsFound) {
    EXPECT_EQ(prefix("caf\xe9 au lait"), 3u);       // Latin-1
    EXPECT_EQ(prefix("ab\x80"), 2u);                // a continuation byte alone
    EXPECT_EQ(prefix("ab\xc3"), 2u);                // cut short
    EXPECT_EQ(prefix("\xc0\xaf"), 0u);              // overlong '/'
    EXPECT_EQ(prefix("\xe0\x80\xaf"), 0u);          // overlong, three bytes
    EXPECT_EQ(prefix("x\xed\xa0\x80"), 1u);         // a surrogate, U+D800
    EXPECT_EQ(prefix("\xf4\x90\x80\x80"), 0u);      // above U+10FFFF
    EXPECT_EQ(prefix("\xf8\x88\x80\x80\x80"), 0u);  // five-byte form
    EXPECT_EQ(prefix("\xc3\x28"), 0u);              // a lead without its continuation
}

}  // namespace
}  // namespace relay
