#include "lib/format.hpp"

#include <gtest/gtest.h>

#include <string>

#include "lib/address.hpp"

namespace relay {
namespace {

template <typename... Args>
std::string fmt(const char* f, const Args&... args) {
    char buffer[256];
    format_to_buffer(buffer, sizeof(buffer), f, args...);
    return buffer;
}

TEST(Format, Integers) {
    EXPECT_EQ(fmt("{} {} {}", 0, -42, 18446744073709551615ull), "0 -42 18446744073709551615");
    EXPECT_EQ(fmt("{}", static_cast<i64>(-9223372036854775807ll - 1)), "-9223372036854775808");
    EXPECT_EQ(fmt("{:x} {:#x} {:X}", 255u, 255u, 255u), "ff 0xff FF");
    EXPECT_EQ(fmt("{:08x}", 0xbeefu), "0000beef");
    EXPECT_EQ(fmt("{:#010x}", 0xbeefu), "0x0000beef");
    EXPECT_EQ(fmt("[{:5}]", 42), "[   42]");
    EXPECT_EQ(fmt("{:05}", -42), "-0042");
}

TEST(Format, StringsCharsBools) {
    EXPECT_EQ(fmt("{} {} {}", "abc", 'x', true), "abc x true");
    EXPECT_EQ(fmt("{}", std::string_view("hello", 3)), "hel");
    EXPECT_EQ(fmt("{}", static_cast<const char*>(nullptr)), "(null)");
    EXPECT_EQ(fmt("[{:6}]", "ab"), "[    ab]");
}

TEST(Format, AddressesPrintAsHex) {
    EXPECT_EQ(fmt("{}", HostPhysAddr(0x1000)), "0x1000");
    EXPECT_EQ(fmt("{:x}", GuestPhysAddr(0x2000)), "2000");
}

TEST(Format, BracesAndMalformedPlaceholders) {
    EXPECT_EQ(fmt("{{}} {}", 1), "{} 1");
    EXPECT_EQ(fmt("{} {}", 1), "1 {?}");
    EXPECT_EQ(fmt("{:q} after", 1), "{:q} after");
    EXPECT_EQ(fmt("unterminated {", 1), "unterminated {");
}

TEST(Format, TruncatesAndTerminates) {
    char buffer[8];
    FormatBuffer output(buffer, sizeof(buffer));
    format(output, "{} and more", 123456);
    EXPECT_TRUE(output.truncated());
    EXPECT_EQ(output.length(), 7u);
    EXPECT_EQ(std::string(buffer), "123456 ");
}

TEST(Format, FixedString) {
    auto s = FixedString<16>::formatted("d{} v{}", 3, 1);
    EXPECT_EQ(s.view(), "d3 v1");
}

}  // namespace
}  // namespace relay
