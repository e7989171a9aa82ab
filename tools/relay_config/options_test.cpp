#include "tools/relay_config/options.hpp"

#include <gtest/gtest.h>

namespace relay::config_tool {
namespace {

TEST(ParseSize, UnitsAreBinary) {
    EXPECT_EQ(parse_size("0"), 0u);
    EXPECT_EQ(parse_size("4096"), 4096u);
    EXPECT_EQ(parse_size("4096B"), 4096u);
    EXPECT_EQ(parse_size("64K"), 64 * KiB);
    EXPECT_EQ(parse_size("64KiB"), 64 * KiB);
    EXPECT_EQ(parse_size("512M"), 512 * MiB);
    EXPECT_EQ(parse_size("3G"), 3 * GiB);
    EXPECT_EQ(parse_size("3GiB"), 3 * GiB);
    EXPECT_EQ(parse_size("2T"), 2048 * GiB);
}

TEST(ParseSize, RefusesMalformedAndOverflowingSizes) {
    for (const char* text :
         {"", "G", "12Q", "1.5G", "-1", "1 G", "1g", "99999999999999999999", "17179869184G"}) {
        EXPECT_FALSE(parse_size(text).has_value()) << text;
    }
}

TEST(ParseCount, Bounds) {
    EXPECT_EQ(parse_count("1", 1, 64), 1u);
    EXPECT_EQ(parse_count("64", 1, 64), 64u);
    EXPECT_FALSE(parse_count("0", 1, 64).has_value());
    EXPECT_FALSE(parse_count("65", 1, 64).has_value());
    EXPECT_FALSE(parse_count("+3", 1, 64).has_value());
}

TEST(CheckArguments, AllOptions) {
    ParsedArguments<CheckOptions> parsed = parse_check_arguments(
        {"--cpus", "2", "a.dts", "--modules", "4", "--host-memory", "1G", "--root", "/r"});
    ASSERT_EQ(parsed.error, "");
    EXPECT_EQ(parsed.options.file, "a.dts");
    EXPECT_EQ(parsed.options.physical_cpus, 2u);
    EXPECT_EQ(parsed.options.module_count, 4u);
    EXPECT_EQ(parsed.options.host_memory_bytes, GiB);
    EXPECT_EQ(parsed.options.root, "/r");
}

TEST(CheckArguments, Errors) {
    EXPECT_EQ(parse_check_arguments({}).error, "FILE.dts or FILE.dtb is missing");
    EXPECT_EQ(parse_check_arguments({"a.dts", "--cpus"}).error, "--cpus needs a value");
    EXPECT_EQ(parse_check_arguments({"a.dts", "b.dts"}).error,
              "one FILE only; \"b.dts\" is a second");
    EXPECT_EQ(parse_check_arguments({"a.dts", "--what"}).error, "unknown option --what");
    EXPECT_TRUE(parse_check_arguments({"a.dts", "--help"}).help);
}

TEST(ModulesArguments, Dtb) {
    ParsedArguments<ModulesOptions> parsed = parse_modules_arguments({"a.dts", "--dtb", "o.dtb"});
    ASSERT_EQ(parsed.error, "");
    EXPECT_EQ(parsed.options.dtb_output, "o.dtb");
    EXPECT_EQ(parse_modules_arguments({"--dtb"}).error, "--dtb needs a value");
}

}  // namespace
}  // namespace relay::config_tool
