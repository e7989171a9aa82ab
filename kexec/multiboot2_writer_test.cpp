// What Relay writes for the next build, Relay's own multiboot2 parser reads back.
#include "kexec/multiboot2_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hv/boot/multiboot.hpp"
#include "tests/unit/fake_physical_memory.hpp"

namespace relay::kexec {
namespace {

using relay::testing::FakePhysicalMemory;

constexpr u64 kInfo = 0x9000;
const HostPhysRange kImage = HostPhysRange::unchecked(HostPhysAddr(0x1be00000), 0x200000);

TEST(Multiboot2Writer, RoundTripsThroughTheParser) {
    std::vector<u64> buffer(512);
    Multiboot2Writer writer(buffer.data(), buffer.size() * 8);
    ASSERT_TRUE(writer.add_command_line("loglevel=debug handover=64M@0x1be00000").ok());
    ASSERT_TRUE(writer.add_bootloader_name("Relay live update").ok());
    Multiboot2MemoryEntry map[] = {{0, 0x9fc00, kMemoryUsable},
                                   {0x100000, 0x1ff00000, kMemoryUsable},
                                   {0x20000000, 0x100000, kMemoryRelayPreserved},
                                   {0xfffc0000, 0x40000, kMemoryReserved}};
    ASSERT_TRUE(writer.add_memory_map(map, 4).ok());
    ASSERT_TRUE(writer.add_module(HostPhysAddr(0x400000), 0x1000, "config.dtb").ok());
    ASSERT_TRUE(
        writer.add_module(HostPhysAddr(0x500000), 0x2345, "relay.stream kind=live-update").ok());
    u8 rsdp[36] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
    ASSERT_TRUE(writer.add_acpi_rsdp(rsdp, 36).ok());
    ASSERT_TRUE(writer.add_load_base(HostPhysAddr(0x1be00000)).ok());
    auto size = writer.finish();
    ASSERT_TRUE(size.ok());

    FakePhysicalMemory memory(kInfo, 0x10000);
    memory.write(kInfo, buffer.data(), size.value());
    auto info = std::make_unique<BootInfo>();
    Status parsed = parse_multiboot2(memory, HostPhysAddr(kInfo), kImage, info.get());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    EXPECT_EQ(info->command_line(), "loglevel=debug handover=64M@0x1be00000");
    EXPECT_EQ(info->bootloader_name(), "Relay live update");
    ASSERT_EQ(info->memory_region_count, 4u);
    EXPECT_EQ(info->memory_map[2].type, MemoryType::kPreserved);
    EXPECT_EQ(info->memory_map[3].type, MemoryType::kReserved);
    ASSERT_EQ(info->module_count, 2u);
    EXPECT_EQ(info->module_command_line(1), "relay.stream kind=live-update");
    EXPECT_EQ(info->modules[1].range.size(), 0x2345u);
    EXPECT_EQ(info->rsdp_length, 36u);
    EXPECT_TRUE(info->has_load_base);
    EXPECT_EQ(info->load_base, HostPhysAddr(0x1be00000));
}

TEST(Multiboot2Writer, RefusesWhatDoesNotFit) {
    std::vector<u64> buffer(8);
    Multiboot2Writer writer(buffer.data(), buffer.size() * 8);
    Status status = writer.add_command_line(std::string(100, 'x'));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfMemory);
    EXPECT_TRUE(writer.finish().ok()) << "still room for the end tag";
}

TEST(Multiboot2Writer, RefusesModulesAbove4GiB) {
    std::vector<u64> buffer(64);
    Multiboot2Writer writer(buffer.data(), buffer.size() * 8);
    EXPECT_FALSE(writer.add_module(HostPhysAddr(0x100000000ull), 0x1000, "x").ok());
    EXPECT_FALSE(writer.add_module(HostPhysAddr(0xfffff000ull), 0x2000, "x").ok());
}

TEST(MarkPreserved, CutsPreservedRangesOutOfUsableMemory) {
    Multiboot2MemoryEntry map[] = {{0, 0xa0000, kMemoryUsable},
                                   {0xf0000, 0x10000, kMemoryReserved},
                                   {0x100000, 0x7f00000, kMemoryUsable}};
    HostPhysRange preserved[] = {
        HostPhysRange::unchecked(HostPhysAddr(0x400000), 0x200000),
        HostPhysRange::unchecked(HostPhysAddr(0x600000), 0x100000),  // touches the first
        HostPhysRange::unchecked(HostPhysAddr(0x2000000), 0x1000),
        HostPhysRange::unchecked(HostPhysAddr(0x7fff000), 0x10000),  // runs past the end
    };
    Multiboot2MemoryEntry out[16];
    auto count = mark_preserved(map, 3, preserved, 4, out, 16);
    ASSERT_TRUE(count.ok());
    std::vector<std::tuple<u64, u64, u32>> got;
    for (usize i = 0; i < count.value(); ++i) {
        got.emplace_back(out[i].base, out[i].size, out[i].type);
    }
    std::vector<std::tuple<u64, u64, u32>> expected = {
        {0, 0xa0000, kMemoryUsable},
        {0xf0000, 0x10000, kMemoryReserved},
        {0x100000, 0x300000, kMemoryUsable},
        {0x400000, 0x300000, kMemoryRelayPreserved},
        {0x700000, 0x2000000 - 0x700000, kMemoryUsable},
        {0x2000000, 0x1000, kMemoryRelayPreserved},
        {0x2001000, 0x7fff000 - 0x2001000, kMemoryUsable},
        {0x7fff000, 0x1000, kMemoryRelayPreserved},
    };
    EXPECT_EQ(got, expected);
}

TEST(MarkPreserved, CapacityIsAnError) {
    Multiboot2MemoryEntry map[] = {{0, 0x1000000, kMemoryUsable}};
    HostPhysRange preserved[] = {HostPhysRange::unchecked(HostPhysAddr(0x100000), 0x1000),
                                 HostPhysRange::unchecked(HostPhysAddr(0x300000), 0x1000)};
    Multiboot2MemoryEntry out[3];
    auto count = mark_preserved(map, 1, preserved, 2, out, 3);
    ASSERT_FALSE(count.ok());
    EXPECT_EQ(count.error().code(), ErrorCode::kOutOfMemory);
}

}  // namespace
}  // namespace relay::kexec
