// Multiboot2 parser against crafted tag lists, well-formed and malformed.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hv/boot/multiboot.hpp"
#include "tests/unit/fake_physical_memory.hpp"

namespace relay {
namespace {

using testing::FakePhysicalMemory;

constexpr u64 kInfo = 0x10000;
const HostPhysRange kImage = HostPhysRange::unchecked(HostPhysAddr(0x200000), 0x100000);

// Builds a tag list; finish() writes it into fake memory at kInfo.
class Multiboot2Builder {
public:
    void tag(u32 type, const std::vector<u8>& payload) {
        u32 size = static_cast<u32>(8 + payload.size());
        append_u32(type);
        append_u32(size);
        bytes_.insert(bytes_.end(), payload.begin(), payload.end());
        while (bytes_.size() % 8 != 0) {
            bytes_.push_back(0);
        }
    }
    void string_tag(u32 type, const std::string& text) {
        std::vector<u8> payload(text.begin(), text.end());
        payload.push_back(0);
        tag(type, payload);
    }
    void module(u32 start, u32 end, const std::string& text) {
        std::vector<u8> payload;
        put_u32(payload, start);
        put_u32(payload, end);
        payload.insert(payload.end(), text.begin(), text.end());
        payload.push_back(0);
        tag(3, payload);
    }
    void memory_map(const std::vector<std::array<u64, 3>>& entries, u32 entry_size = 24) {
        std::vector<u8> payload;
        put_u32(payload, entry_size);
        put_u32(payload, 0);
        for (const auto& e : entries) {
            put_u64(payload, e[0]);
            put_u64(payload, e[1]);
            put_u32(payload, static_cast<u32>(e[2]));
            put_u32(payload, 0);
            for (u32 pad = 24; pad < entry_size; ++pad) {
                payload.push_back(0);
            }
        }
        tag(6, payload);
    }
    void end() { tag(0, {}); }

    std::unique_ptr<FakePhysicalMemory> build(u32 total_override = 0) {
        auto memory = std::make_unique<FakePhysicalMemory>(kInfo, 0x10000);
        u32 total = static_cast<u32>(bytes_.size() + 8);
        memory->write_u32(kInfo, total_override != 0 ? total_override : total);
        memory->write_u32(kInfo + 4, 0);
        memory->write(kInfo + 8, bytes_.data(), bytes_.size());
        return memory;
    }

    static void put_u32(std::vector<u8>& v, u32 x) {
        for (int i = 0; i < 4; ++i) {
            v.push_back(static_cast<u8>(x >> (8 * i)));
        }
    }
    static void put_u64(std::vector<u8>& v, u64 x) {
        for (int i = 0; i < 8; ++i) {
            v.push_back(static_cast<u8>(x >> (8 * i)));
        }
    }
    std::vector<u8>& raw() { return bytes_; }

private:
    void append_u32(u32 x) { put_u32(bytes_, x); }
    std::vector<u8> bytes_;
};

Status parse(const FakePhysicalMemory& memory, BootInfo* info) {
    return parse_multiboot2(memory, HostPhysAddr(kInfo), kImage, info);
}

std::string message(const Status& status) {
    return status.error().message();
}

TEST(Multiboot2, ParsesGrubLikeInformation) {
    Multiboot2Builder b;
    b.string_tag(1, "loglevel=debug");
    b.string_tag(2, "GRUB 2.06");
    b.module(0x400000, 0x401000, "config.dtb");
    b.module(0x402000, 0x40a000, "memtest.elf seed=3");
    b.memory_map({{0, 0x9fc00, 1}, {0x100000, 0x3ff00000, 1}, {0xfffc0000, 0x40000, 2}});
    std::vector<u8> rsdp(36, 0);
    std::memcpy(rsdp.data(), "RSD PTR ", 8);
    rsdp[15] = 2;
    b.tag(15, rsdp);
    std::vector<u8> base;
    Multiboot2Builder::put_u32(base, 0x200000);
    b.tag(21, base);
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_TRUE(status.ok()) << message(status);
    EXPECT_EQ(info->protocol, BootProtocol::kMultiboot2);
    EXPECT_EQ(info->command_line(), "loglevel=debug");
    EXPECT_EQ(info->bootloader_name(), "GRUB 2.06");
    ASSERT_EQ(info->module_count, 2u);
    EXPECT_EQ(info->module_command_line(1), "memtest.elf seed=3");
    EXPECT_EQ(info->modules[1].range.size(), 0x8000u);
    ASSERT_EQ(info->memory_region_count, 3u);
    EXPECT_EQ(info->memory_map[2].type, MemoryType::kReserved);
    EXPECT_EQ(info->rsdp_length, 36u);
    EXPECT_EQ(std::memcmp(info->rsdp, "RSD PTR ", 8), 0);
    EXPECT_TRUE(info->has_load_base);
    EXPECT_EQ(info->load_base, HostPhysAddr(0x200000));
}

TEST(Multiboot2, StopsAtEndTag) {
    Multiboot2Builder b;
    b.memory_map({{0, 0x9fc00, 1}});
    b.end();
    b.string_tag(1, "ignored=1");  // after the end tag
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    ASSERT_TRUE(parse(*memory, info.get()).ok());
    EXPECT_EQ(info->command_line(), "");
}

TEST(Multiboot2, MissingEndTag) {
    Multiboot2Builder b;
    b.memory_map({{0, 0x9fc00, 1}});
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("no end tag"), std::string::npos);
}

TEST(Multiboot2, TagExtendsPastTotalSize) {
    Multiboot2Builder b;
    b.string_tag(1, "loglevel=debug");
    b.end();
    b.raw()[4] = 200;  // command line tag claims 200 bytes
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kTruncated);
    EXPECT_NE(message(status).find("extends past total_size"), std::string::npos);
}

TEST(Multiboot2, TagSizeBelowHeader) {
    Multiboot2Builder b;
    b.string_tag(1, "x=1");
    b.end();
    b.raw()[4] = 4;
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("has size 4"), std::string::npos);
}

TEST(Multiboot2, AbsurdTotalSize) {
    Multiboot2Builder b;
    b.end();
    auto memory = b.build(0xfffffff0);
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfRange);
    EXPECT_NE(message(status).find("exceeds the limit"), std::string::npos);
}

TEST(Multiboot2, TinyTotalSize) {
    Multiboot2Builder b;
    b.end();
    auto memory = b.build(12);
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kTruncated);
}

TEST(Multiboot2, UnterminatedString) {
    Multiboot2Builder b;
    b.tag(1, {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'});
    b.memory_map({{0, 0x9fc00, 1}});
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("not NUL-terminated"), std::string::npos);
}

TEST(Multiboot2, MemoryMapNotMultipleOfEntrySize) {
    Multiboot2Builder b;
    std::vector<u8> payload;
    Multiboot2Builder::put_u32(payload, 24);
    Multiboot2Builder::put_u32(payload, 0);
    payload.resize(payload.size() + 30, 0);  // 1.25 entries
    b.tag(6, payload);
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("not a multiple of entry_size"), std::string::npos);
}

TEST(Multiboot2, MemoryMapEntryWraps) {
    Multiboot2Builder b;
    b.memory_map({{0xfffffffffffff000ull, 0x2000, 1}});
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("wraps"), std::string::npos);
}

TEST(Multiboot2, TooManyMemoryMapEntries) {
    Multiboot2Builder b;
    std::vector<std::array<u64, 3>> entries;
    for (u64 i = 0; i < BootInfo::kMaxMemoryRegions + 1; ++i) {
        entries.push_back({i * 0x1000, 0x1000, 1});
    }
    b.memory_map(entries);
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("more than 128"), std::string::npos);
}

TEST(Multiboot2, ModulesOverlapping) {
    Multiboot2Builder b;
    b.memory_map({{0, 0x9fc00, 1}});
    b.module(0x400000, 0x402000, "a");
    b.module(0x401fff, 0x403000, "b");
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("module 1"), std::string::npos);
    EXPECT_NE(message(status).find("overlaps module 0"), std::string::npos);
}

TEST(Multiboot2, ModuleOverlappingImage) {
    Multiboot2Builder b;
    b.memory_map({{0, 0x9fc00, 1}});
    b.module(0x1ff000, 0x201000, "a");
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("hypervisor image"), std::string::npos);
}

TEST(Multiboot2, ModuleOverlappingBootInformation) {
    Multiboot2Builder b;
    b.memory_map({{0, 0x9fc00, 1}});
    b.module(0x10000, 0x11000, "a");
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("boot information"), std::string::npos);
}

TEST(Multiboot2, TruncatedModuleTag) {
    Multiboot2Builder b;
    b.tag(3, {0, 0, 0x40, 0});
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("module tag"), std::string::npos);
}

TEST(Multiboot2, DuplicateCommandLine) {
    Multiboot2Builder b;
    b.string_tag(1, "a=1");
    b.string_tag(1, "b=2");
    b.end();
    auto memory = b.build();
    auto info = std::make_unique<BootInfo>();
    Status status = parse(*memory, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("second command line"), std::string::npos);
}

TEST(Multiboot2, Misaligned) {
    FakePhysicalMemory memory(kInfo, 0x1000);
    auto info = std::make_unique<BootInfo>();
    Status status = parse_multiboot2(memory, HostPhysAddr(kInfo + 4), kImage, info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("not 8-byte aligned"), std::string::npos);
}

// Every truncated total_size of a valid tag list is refused (the end tag is lost), and the
// parser never reads beyond total_size (memory beyond it is garbage here).
TEST(Multiboot2, EveryTruncationIsRefused) {
    Multiboot2Builder b;
    b.string_tag(1, "loglevel=debug");
    b.module(0x400000, 0x401000, "config.dtb");
    b.memory_map({{0, 0x9fc00, 1}, {0x100000, 0x1000000, 1}});
    b.end();
    auto full = b.build();
    u32 total = 0;
    std::memcpy(&total, full->map(HostPhysAddr(kInfo), 4), 4);
    auto good = std::make_unique<BootInfo>();
    ASSERT_TRUE(parse(*full, good.get()).ok());
    for (u32 size = 0; size < total; ++size) {
        auto memory = b.build(size == 0 ? 0xffffffff : size);
        memory->write_u32(kInfo, size);
        auto info = std::make_unique<BootInfo>();
        Status status = parse(*memory, info.get());
        EXPECT_FALSE(status.ok()) << "total_size " << size;
    }
}

}  // namespace
}  // namespace relay
