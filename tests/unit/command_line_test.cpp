#include "hv/boot/command_line.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay {
namespace {

TEST(CommandLine, Defaults) {
    CommandLineDiagnostics diagnostics;
    CommandLineOptions options = parse_command_line("", &diagnostics);
    EXPECT_EQ(diagnostics.count, 0u);
    EXPECT_EQ(options.log_level, CommandLineLogLevel::kInfo);
    EXPECT_EQ(options.console_port, 0x3F8);
    EXPECT_EQ(options.handover_size, 64 * MiB);
    EXPECT_FALSE(options.handover_fixed);
    EXPECT_EQ(options.test_fault, TestFault::kNone);
}

TEST(CommandLine, TypedOptions) {
    CommandLineDiagnostics diagnostics;
    CommandLineOptions options = parse_command_line(
        "  loglevel=debug console=com2 handover=32M@0x10000000 max_cpus=3 debug_exit=none "
        "test_fault=page-fault ",
        &diagnostics);
    EXPECT_EQ(diagnostics.count, 0u) << diagnostics.messages[0];
    EXPECT_EQ(options.log_level, CommandLineLogLevel::kDebug);
    EXPECT_EQ(options.console_port, 0x2F8);
    EXPECT_EQ(options.handover_size, 32 * MiB);
    EXPECT_TRUE(options.handover_fixed);
    EXPECT_EQ(options.handover_base, HostPhysAddr(0x10000000));
    EXPECT_EQ(options.max_cpus, 3u);
    EXPECT_EQ(options.debug_exit_port, 0);
    EXPECT_EQ(options.test_fault, TestFault::kPageFault);
}

TEST(CommandLine, BadValuesKeepDefaultsAndAreReported) {
    CommandLineDiagnostics diagnostics;
    CommandLineOptions options = parse_command_line(
        "loglevel=loud handover=5M handover=64M@0x1234 console=com9 max_cpus=0 frobnicate=1 bare",
        &diagnostics);
    EXPECT_EQ(options.log_level, CommandLineLogLevel::kInfo);
    EXPECT_EQ(options.handover_size, 64 * MiB);
    EXPECT_FALSE(options.handover_fixed);
    EXPECT_EQ(options.console_port, 0x3F8);
    EXPECT_EQ(options.max_cpus, 0u);
    ASSERT_EQ(diagnostics.count, 7u);
    EXPECT_NE(std::string(diagnostics.messages[0]).find("loglevel: 'loud'"), std::string::npos);
    EXPECT_NE(std::string(diagnostics.messages[1]).find("multiple of 4 MiB"), std::string::npos);
    EXPECT_NE(std::string(diagnostics.messages[2]).find("2 MiB aligned"), std::string::npos);
    EXPECT_NE(std::string(diagnostics.messages[3]).find("com9"), std::string::npos);
    EXPECT_NE(std::string(diagnostics.messages[4]).find("max_cpus"), std::string::npos);
    EXPECT_NE(std::string(diagnostics.messages[5]).find("unknown option 'frobnicate'"),
              std::string::npos);
    EXPECT_NE(std::string(diagnostics.messages[6]).find("'bare'"), std::string::npos);
}

TEST(CommandLine, DiagnosticsAreBounded) {
    CommandLineDiagnostics diagnostics;
    std::string line;
    for (int i = 0; i < 20; ++i) {
        line += "x" + std::to_string(i) + "=1 ";
    }
    parse_command_line(line, &diagnostics);
    EXPECT_EQ(diagnostics.count, CommandLineDiagnostics::kMaxMessages);
    EXPECT_EQ(diagnostics.dropped, 20 - CommandLineDiagnostics::kMaxMessages);
}

TEST(CommandLine, EveryTestFaultNameRoundTrips) {
    for (u8 raw = 0; raw <= static_cast<u8>(TestFault::kStackOverflow); ++raw) {
        auto fault = static_cast<TestFault>(raw);
        CommandLineDiagnostics diagnostics;
        std::string line = std::string("test_fault=") + test_fault_name(fault);
        EXPECT_EQ(parse_command_line(line, &diagnostics).test_fault, fault);
        EXPECT_EQ(diagnostics.count, 0u);
    }
}

}  // namespace
TEST(CommandLine, EveryUpdateFaultNameRoundTrips) {
    for (u8 raw = 1; raw <= static_cast<u8>(UpdateFault::kResume); ++raw) {
        auto fault = static_cast<UpdateFault>(raw);
        CommandLineDiagnostics diagnostics;
        std::string line = std::string("test_fail_update=") + update_fault_name(fault);
        CommandLineOptions options = parse_command_line(line, &diagnostics);
        EXPECT_EQ(options.test_update_fault, fault) << line;
        EXPECT_EQ(diagnostics.count, 0u);
    }
    CommandLineDiagnostics diagnostics;
    EXPECT_EQ(parse_command_line("test_fail_update=later", &diagnostics).test_update_fault,
              UpdateFault::kNone);
    ASSERT_EQ(diagnostics.count, 1u);
    EXPECT_STREQ(diagnostics.messages[0], "test_fail_update: 'later' is not a live-update phase");
}

}  // namespace relay
