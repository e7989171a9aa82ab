#include "tests/guests/lib/command_line.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::guest {
namespace {

constexpr std::string_view kScript[] = {"script"};

CommandLine parse_ok(std::string_view text, std::span<const std::string_view> rest = {}) {
    Result<CommandLine> line = CommandLine::parse(text, rest);
    EXPECT_TRUE(line.ok()) << (line.ok() ? "" : line.error().message());
    return line.ok() ? line.value() : CommandLine();
}

std::string parse_error(std::string_view text, std::span<const std::string_view> rest = {}) {
    Result<CommandLine> line = CommandLine::parse(text, rest);
    EXPECT_FALSE(line.ok()) << text;
    return line.ok() ? "" : line.error().message();
}

TEST(CommandLine, EmptyAndBlankLinesHaveNoArguments) {
    EXPECT_EQ(parse_ok("").arguments().size(), 0u);
    EXPECT_EQ(parse_ok("   ").arguments().size(), 0u);
}

TEST(CommandLine, KeysValuesAndBareKeys) {
    CommandLine line = parse_ok("  seed=17 verbose  vcpus=0x2 empty= ");
    ASSERT_EQ(line.arguments().size(), 4u);
    EXPECT_EQ(line.value_or("seed", "x"), "17");
    EXPECT_TRUE(line.has("verbose"));
    EXPECT_FALSE(line.find("verbose")->has_value);
    EXPECT_TRUE(line.find("empty")->has_value);
    EXPECT_EQ(line.value_or("empty", "x"), "");
    EXPECT_EQ(line.value_or("missing", "fallback"), "fallback");
    EXPECT_FALSE(line.has("seed=17"));
}

TEST(CommandLine, ValueKeepsLaterEqualsSigns) {
    EXPECT_EQ(parse_ok("expr=a=b").value_or("expr", ""), "a=b");
}

TEST(CommandLine, LastOccurrenceWins) {
    EXPECT_EQ(parse_ok("seed=1 seed=2").value_or("seed", ""), "2");
}

TEST(CommandLine, QuotedValuesHoldSpaces) {
    CommandLine line = parse_ok("a=\"x y\" b='p \"q\"' c=it's");
    EXPECT_EQ(line.value_or("a", ""), "x y");
    EXPECT_EQ(line.value_or("b", ""), "p \"q\"");
    EXPECT_EQ(line.value_or("c", ""), "it's");
}

TEST(CommandLine, RestOfLineKeyTakesEverythingAfterIt) {
    CommandLine line = parse_ok("seed=1 script=list;sleep 2;pause 3 x=\"y", kScript);
    ASSERT_EQ(line.arguments().size(), 2u);
    EXPECT_EQ(line.value_or("script", ""), "list;sleep 2;pause 3 x=\"y");
    // Without the declaration the script would be cut at its first space.
    EXPECT_EQ(parse_ok("script=list;sleep 2").value_or("script", ""), "list;sleep");
}

TEST(CommandLine, DefaultExampleScriptParses) {
    CommandLine line = parse_ok("script=list;sleep 2;pause 3;sleep 1;unpause 3;list", kScript);
    EXPECT_EQ(line.value_or("script", ""), "list;sleep 2;pause 3;sleep 1;unpause 3;list");
}

TEST(CommandLine, RefusesMalformedLines) {
    EXPECT_EQ(parse_error("a=1 =5"), "command line: argument at column 5 has no key before '='");
    EXPECT_EQ(parse_error("a=\"open"), "command line: value of \"a\" has no closing \"");
    EXPECT_EQ(parse_error("a='x'y"),
              "command line: value of \"a\" continues after its closing quote");
    std::string many;
    for (int i = 0; i <= static_cast<int>(CommandLine::kMaxArguments); ++i) {
        many += "k" + std::to_string(i) + " ";
    }
    EXPECT_EQ(parse_error(many), "command line: more than 32 arguments (at \"k32\")");
}

TEST(CommandLine, Numbers) {
    CommandLine line = parse_ok("seed=42 hex=0x10 bad=4x2 bare big=99");
    EXPECT_EQ(line.number_or("seed", 0, 0, 100).value(), 42u);
    EXPECT_EQ(line.number_or("hex", 0, 0, 100).value(), 16u);
    EXPECT_EQ(line.number_or("absent", 7, 0, 100).value(), 7u);
    Result<u64> bad = line.number_or("bad", 0, 0, 100);
    ASSERT_FALSE(bad.ok());
    EXPECT_STREQ(bad.error().message(),
                 "bad=\"4x2\": not a number (decimal, or hexadecimal with 0x)");
    EXPECT_FALSE(line.number_or("bare", 0, 0, 100).ok());
    Result<u64> big = line.number_or("big", 0, 1, 50);
    ASSERT_FALSE(big.ok());
    EXPECT_STREQ(big.error().message(), "big=99: out of range (1 to 50)");
}

TEST(CommandLine, FirstUnknownKey) {
    constexpr std::string_view kKnown[] = {"seed", "vcpus"};
    constexpr std::string_view kLibrary[] = {"console"};
    EXPECT_EQ(parse_ok("seed=1 console=uart vcpus=2").first_unknown(kKnown, kLibrary), nullptr);
    const CommandLine line = parse_ok("seed=1 sed=2 other");
    const CommandLine::Argument* unknown = line.first_unknown(kKnown, kLibrary);
    ASSERT_NE(unknown, nullptr);
    EXPECT_EQ(unknown->key, "sed");
}

}  // namespace
}  // namespace relay::guest
