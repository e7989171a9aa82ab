#include "tests/guests/lib/start_info.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace relay::guest {
namespace {

// Guest RAM in a buffer, with a start-info block laid out as the domain builder does:
// the block at 0x1000, then its strings and arrays.
class FakeGuestRam {
public:
    static constexpr u64 kSize = 64 * KiB;
    static constexpr u64 kBlock = RELAY_GUEST_START_INFO;
    static constexpr u64 kCommandLine = kBlock + 0x200;
    static constexpr u64 kRanges = kBlock + 0x400;
    static constexpr u64 kModules = kBlock + 0x500;

    FakeGuestRam() : words_(kSize / 8, 0) {
        relay_start_info& info = block();
        info.magic = RELAY_START_INFO_MAGIC;
        info.version = RELAY_START_INFO_VERSION;
        info.size = sizeof(relay_start_info);
        info.domid = 3;
        info.vcpus = 2;
        info.console_port = 0x3F8;
        info.memory_size = kSize;
        info.tsc_frequency_khz = 2'000'000;
        set_command_line("seed=42");
        std::strcpy(info.name, "memtest2");
        info.uuid[15] = 3;
        relay_memory_range* ranges = at<relay_memory_range>(kRanges);
        ranges[0] = {0, 0x9F000, RELAY_MEMORY_RAM, 0};
        ranges[1] = {0x100000, kSize, RELAY_MEMORY_RAM, 0};
        info.memory_ranges = kRanges;
        info.memory_range_count = 2;
        at<relay_start_module>(kModules)[0] = {0x200000, 0x3000, RELAY_MODULE_KERNEL, 0};
        info.modules = kModules;
        info.module_count = 1;
    }

    template <typename T>
    T* at(u64 address) {
        return reinterpret_cast<T*>(reinterpret_cast<u8*>(words_.data()) + address);
    }
    relay_start_info& block() { return *at<relay_start_info>(kBlock); }

    void set_command_line(const std::string& text) {
        std::memcpy(at<char>(kCommandLine), text.c_str(), text.size() + 1);
        block().command_line = kCommandLine;
        block().command_line_length = static_cast<u32>(text.size());
    }

    Result<StartInfo> validate(u64 address = kBlock) {
        return StartInfo::validate(address, reinterpret_cast<uptr>(words_.data()), kSize);
    }

    std::string error(u64 address = kBlock) {
        Result<StartInfo> info = validate(address);
        EXPECT_FALSE(info.ok());
        return info.ok() ? "" : info.error().message();
    }

private:
    std::vector<u64> words_;  // 8-byte aligned, like guest RAM
};

TEST(StartInfo, ValidBlockReadsBack) {
    FakeGuestRam ram;
    Result<StartInfo> info = ram.validate();
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info->domid(), 3);
    EXPECT_EQ(info->vcpus(), 2);
    EXPECT_EQ(info->console_port(), 0x3F8);
    EXPECT_EQ(info->memory_size(), FakeGuestRam::kSize);
    EXPECT_EQ(info->tsc_frequency_khz(), 2'000'000u);
    EXPECT_EQ(info->command_line(), "seed=42");
    EXPECT_EQ(info->name(), "memtest2");
    EXPECT_EQ(info->uuid()[15], 3);
    ASSERT_EQ(info->memory_ranges().size(), 2u);
    EXPECT_EQ(info->memory_ranges()[1].base, 0x100000u);
    ASSERT_EQ(info->modules().size(), 1u);
    EXPECT_EQ(info->modules()[0].kind, static_cast<u32>(RELAY_MODULE_KERNEL));
    ASSERT_EQ(info->extents().size(), 4u);
    EXPECT_EQ(info->extents()[0].base, FakeGuestRam::kBlock);
    EXPECT_EQ(info->extents()[1].base, FakeGuestRam::kCommandLine);
    EXPECT_EQ(info->extents()[1].size, 8u);
}

TEST(StartInfo, LaterVersionsAndLargerBlocksAreAccepted) {
    FakeGuestRam ram;
    ram.block().version = 2;
    ram.block().size = sizeof(relay_start_info) + 64;
    EXPECT_TRUE(ram.validate().ok());
}

TEST(StartInfo, CommandLineLengthMayOrMayNotCountTheNul) {
    FakeGuestRam ram;
    ram.block().command_line_length = 8;  // "seed=42" plus its NUL
    Result<StartInfo> info = ram.validate();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->command_line(), "seed=42");
}

TEST(StartInfo, NoCommandLineNoArrays) {
    FakeGuestRam ram;
    ram.block().command_line = 0;
    ram.block().command_line_length = 0;
    ram.block().memory_range_count = 0;
    ram.block().module_count = 0;
    Result<StartInfo> info = ram.validate();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->command_line(), "");
    EXPECT_TRUE(info->memory_ranges().empty());
    EXPECT_TRUE(info->modules().empty());
    EXPECT_EQ(info->extents().size(), 1u);
}

TEST(StartInfo, FullLengthNameIsNotReadPastItsField) {
    FakeGuestRam ram;
    std::memset(ram.block().name, 'n', sizeof(ram.block().name));
    Result<StartInfo> info = ram.validate();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->name(), std::string(32, 'n'));
}

TEST(StartInfo, RefusesBadHeaders) {
    FakeGuestRam ram;
    EXPECT_EQ(ram.error(FakeGuestRam::kBlock + 4),
              "start info: address 0x1004 is not an aligned block in guest RAM");
    EXPECT_EQ(ram.error(FakeGuestRam::kSize - 8),
              "start info: address 0xfff8 is not an aligned block in guest RAM");
    ram.block().magic = 0x1234;
    EXPECT_EQ(ram.error(),
              "start info at 0x1000: magic is 0x1234, expected 0x4f464e4959414c52 "
              "(\"RLAYINFO\")");
    ram.block().magic = RELAY_START_INFO_MAGIC;
    ram.block().version = 0;
    EXPECT_EQ(ram.error(), "start info at 0x1000: version 0, this guest needs 1 or later");
    ram.block().version = 1;
    ram.block().size = 64;
    EXPECT_EQ(ram.error(), "start info at 0x1000: size 64 bytes, this guest reads 200");
    ram.block().size = 0xFFFFFFFF;
    EXPECT_EQ(ram.error(),
              "start info at 0x1000: its 4294967295 bytes do not fit in 65536 bytes of guest "
              "RAM");
    ram.block().size = sizeof(relay_start_info);
    ram.block().vcpus = 0;
    EXPECT_EQ(ram.error(), "start info: the domain has 0 vCPUs");
}

TEST(StartInfo, RefusesACommandLineOutsideRamOrUnterminated) {
    FakeGuestRam ram;
    ram.block().command_line = FakeGuestRam::kSize - 4;
    ram.block().command_line_length = 4;
    EXPECT_EQ(ram.error(), "start info: command line at 0xfffc (4 bytes) is not inside guest RAM");
    ram.block().command_line = ~0ull;
    EXPECT_EQ(ram.error(),
              "start info: command line at 0xffffffffffffffff (4 bytes) is not inside guest "
              "RAM");
    ram.set_command_line("abcdef");
    ram.block().command_line_length = 3;
    EXPECT_EQ(ram.error(),
              "start info: command line at 0x1200 is not NUL-terminated within 4 bytes");
}

TEST(StartInfo, RefusesArraysOutsideRamMisalignedOrTooLong) {
    FakeGuestRam ram;
    ram.block().memory_ranges = FakeGuestRam::kSize - 24;
    EXPECT_EQ(ram.error(),
              "start info: memory ranges array at 0xffe8 (2 entries) is not 8-byte aligned "
              "inside guest RAM");
    ram.block().memory_ranges = FakeGuestRam::kRanges + 4;
    EXPECT_EQ(ram.error(),
              "start info: memory ranges array at 0x1404 (2 entries) is not 8-byte aligned "
              "inside guest RAM");
    ram.block().memory_ranges = FakeGuestRam::kRanges;
    ram.block().memory_range_count = 100000;
    EXPECT_EQ(ram.error(), "start info: 100000 memory ranges, more than the 128 allowed");
    ram.block().memory_range_count = 2;
    ram.block().modules = ~0ull - 8;
    EXPECT_EQ(ram.error(),
              "start info: modules array at 0xfffffffffffffff7 (1 entries) is not 8-byte "
              "aligned inside guest RAM");
}

TEST(StartInfo, ArraysAreCheckedAgainstTheDomainsMemoryNotTheBuffer) {
    FakeGuestRam ram;
    ram.block().memory_size = 0x1300;  // RAM ends before the memory-range array
    EXPECT_EQ(ram.error(),
              "start info: memory ranges array at 0x1400 (2 entries) is not 8-byte aligned "
              "inside guest RAM");
}

}  // namespace
}  // namespace relay::guest
