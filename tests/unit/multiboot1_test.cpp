// Multiboot1 parser against crafted boot information, well-formed and malformed.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hv/boot/multiboot.hpp"
#include "tests/unit/fake_physical_memory.hpp"

namespace relay {
namespace {

using testing::FakePhysicalMemory;

constexpr u64 kInfo = 0x9000;
constexpr u64 kMmap = 0x9100;
constexpr u64 kMods = 0x9400;
constexpr u64 kStrings = 0x9800;
const HostPhysRange kImage = HostPhysRange::unchecked(HostPhysAddr(0x200000), 0x100000);

// Builds a QEMU-like multiboot1 information structure.
class Multiboot1Builder {
public:
    Multiboot1Builder() : memory(0x8000, 0x10000) {}

    void add_mmap(u64 base, u64 length, u32 type, u32 entry_size = 20) {
        memory.write_u32(kMmap + mmap_bytes, entry_size);
        memory.write_u64(kMmap + mmap_bytes + 4, base);
        memory.write_u64(kMmap + mmap_bytes + 12, length);
        memory.write_u32(kMmap + mmap_bytes + 20, type);
        mmap_bytes += entry_size + 4;
    }
    void add_module(u32 start, u32 end, const std::string& command_line) {
        u64 entry = kMods + module_count * 16;
        memory.write_u32(entry, start);
        memory.write_u32(entry + 4, end);
        u64 string = kStrings + string_bytes;
        memory.write_string(string, command_line);
        string_bytes += command_line.size() + 1;
        memory.write_u32(entry + 8, static_cast<u32>(string));
        ++module_count;
    }
    void set_command_line(const std::string& text) {
        u64 string = kStrings + string_bytes;
        memory.write_string(string, text);
        string_bytes += text.size() + 1;
        command_line = static_cast<u32>(string);
    }
    void finish(u32 extra_flags = 0) {
        u32 flags = extra_flags | (1u << 6) | (1u << 3);
        if (command_line != 0) {
            flags |= 1u << 2;
        }
        memory.write_u32(kInfo, flags);
        memory.write_u32(kInfo + 16, command_line);
        memory.write_u32(kInfo + 20, module_count);
        memory.write_u32(kInfo + 24, static_cast<u32>(kMods));
        memory.write_u32(kInfo + 44, mmap_bytes);
        memory.write_u32(kInfo + 48, static_cast<u32>(kMmap));
    }
    Status parse(BootInfo* info) {
        return parse_multiboot1(memory, HostPhysAddr(kInfo), kImage, info);
    }

    FakePhysicalMemory memory;
    u32 mmap_bytes = 0;
    u32 module_count = 0;
    u64 string_bytes = 0;
    u32 command_line = 0;
};

std::unique_ptr<BootInfo> fresh() {
    return std::make_unique<BootInfo>();
}

TEST(Multiboot1, ParsesQemuLikeInformation) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.add_mmap(0x9fc00, 0x400, 2);
    b.add_mmap(0x100000, 0x7ee0000, 1);
    b.add_module(0x400000, 0x401234, "/tmp/config.dtb");
    b.add_module(0x402000, 0x403000, "/tmp/guest.elf seed=7");
    b.set_command_line("/build/relay.elf loglevel=debug handover=32M");
    b.finish();
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(info->protocol, BootProtocol::kMultiboot1);
    EXPECT_EQ(info->command_line(), "loglevel=debug handover=32M");
    ASSERT_EQ(info->memory_region_count, 3u);
    EXPECT_EQ(info->memory_map[1].type, MemoryType::kReserved);
    EXPECT_EQ(info->memory_map[2].size, 0x7ee0000u);
    ASSERT_EQ(info->module_count, 2u);
    EXPECT_EQ(info->modules[0].range.base(), HostPhysAddr(0x400000));
    EXPECT_EQ(info->modules[0].range.size(), 0x1234u);
    EXPECT_EQ(info->module_command_line(1), "/tmp/guest.elf seed=7");
}

TEST(Multiboot1, WiderMemoryMapEntriesAreSkippedBySize) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1, 24);
    b.add_mmap(0x100000, 0x100000, 1, 20);
    b.finish();
    auto info = fresh();
    ASSERT_TRUE(b.parse(info.get()).ok());
    ASSERT_EQ(info->memory_region_count, 2u);
    EXPECT_EQ(info->memory_map[1].base, HostPhysAddr(0x100000));
}

TEST(Multiboot1, TruncatedMemoryMapEntry) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.finish();
    b.memory.write_u32(kInfo + 44, 24 + 10);  // one whole entry and 10 stray bytes
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kTruncated);
    EXPECT_NE(std::string(status.error().message()).find("entry 1"), std::string::npos);
}

TEST(Multiboot1, AbsurdMemoryMapLength) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.finish();
    b.memory.write_u32(kInfo + 44, 0x7fffffff);
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfRange);
    EXPECT_NE(std::string(status.error().message()).find("mmap_length"), std::string::npos);
}

TEST(Multiboot1, AbsurdModuleCount) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.finish();
    b.memory.write_u32(kInfo + 20, 100000);
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("mods_count 100000"), std::string::npos);
}

TEST(Multiboot1, ModulesOverlappingEachOther) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.add_module(0x400000, 0x402000, "a");
    b.add_module(0x401000, 0x403000, "b");
    b.finish();
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(std::string(status.error().message()).find("module 1"), 0u);
    EXPECT_NE(std::string(status.error().message()).find("overlaps module 0"), std::string::npos);
}

TEST(Multiboot1, ModuleOverlappingTheImage) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.add_module(0x2ff000, 0x301000, "a");
    b.finish();
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("hypervisor image"), std::string::npos);
}

TEST(Multiboot1, ModuleEndBelowStart) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.add_module(0x500000, 0x400000, "a");
    b.finish();
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("below mod_start"), std::string::npos);
}

TEST(Multiboot1, UnterminatedCommandLineRunsIntoInaccessibleMemory) {
    Multiboot1Builder b;
    b.add_mmap(0, 0x9fc00, 1);
    b.finish();
    // A command line pointer to the last bytes of accessible memory, all non-NUL.
    u64 tail = b.memory.end() - 8;
    b.memory.write(tail, "ABCDEFGH", 8);
    b.memory.write_u32(kInfo, (1u << 6) | (1u << 2));
    b.memory.write_u32(kInfo + 16, static_cast<u32>(tail));
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("inaccessible"), std::string::npos);
}

TEST(Multiboot1, InformationOutsideMemory) {
    FakePhysicalMemory memory(0x8000, 0x1000);
    auto info = fresh();
    Status status = parse_multiboot1(memory, HostPhysAddr(0x8ff0), kImage, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfRange);
}

TEST(Multiboot1, SynthesizesMapFromMemorySizes) {
    Multiboot1Builder b;
    b.memory.write_u32(kInfo, 1u << 0);
    b.memory.write_u32(kInfo + 4, 639);
    b.memory.write_u32(kInfo + 8, 130048);
    auto info = fresh();
    ASSERT_TRUE(b.parse(info.get()).ok());
    ASSERT_EQ(info->memory_region_count, 2u);
    EXPECT_EQ(info->memory_map[1].size, 130048u * 1024);
}

TEST(Multiboot1, NoMemoryInformationAtAll) {
    Multiboot1Builder b;
    b.memory.write_u32(kInfo, 0);
    auto info = fresh();
    Status status = b.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("neither a memory map"),
              std::string::npos);
}

TEST(Multiboot, StripImagePath) {
    EXPECT_EQ(strip_image_path("/boot/relay.elf a=1 b=2"), "a=1 b=2");
    EXPECT_EQ(strip_image_path("a=1 b=2"), "a=1 b=2");
    EXPECT_EQ(strip_image_path("relay.elf"), "");
    EXPECT_EQ(strip_image_path("  /x   a=1"), "a=1");
    EXPECT_EQ(strip_image_path(""), "");
}

TEST(Multiboot, DispatchRejectsUnknownMagic) {
    FakePhysicalMemory memory(0x8000, 0x1000);
    auto info = fresh();
    Status status =
        parse_boot_information(memory, 0x12345678, HostPhysAddr(0x8000), kImage, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kBadMagic);
}

}  // namespace
}  // namespace relay
