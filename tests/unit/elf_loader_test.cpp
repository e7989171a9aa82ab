// The ELF loader against well-formed and hostile files.
#include "hv/elf_loader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace relay {
namespace {

struct Segment {
    u32 type = 1;
    u32 flags = 5;  // R X
    u64 paddr = 0x100000;
    u64 vaddr = 0x100000;
    std::vector<u8> bytes;
    u64 memory_size = 0;  // 0: bytes.size()
};

// Builds an ELF64 executable: header, program headers, then each segment's bytes.
std::vector<u8> make_elf(const std::vector<Segment>& segments, u64 entry = 0x100000) {
    std::vector<u8> file(64 + 56 * segments.size(), 0);
    auto put = [&](usize offset, const void* data, usize length) {
        std::memcpy(file.data() + offset, data, length);
    };
    const u8 ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    put(0, ident, 16);
    u16 type = 2, machine = 62, phentsize = 56, phnum = static_cast<u16>(segments.size());
    u32 version = 1;
    u64 phoff = 64;
    put(16, &type, 2);
    put(18, &machine, 2);
    put(20, &version, 4);
    put(24, &entry, 8);
    put(32, &phoff, 8);
    put(54, &phentsize, 2);
    put(56, &phnum, 2);
    for (usize i = 0; i < segments.size(); ++i) {
        const Segment& s = segments[i];
        u64 offset = file.size();
        file.insert(file.end(), s.bytes.begin(), s.bytes.end());
        u64 filesz = s.bytes.size();
        u64 memsz = s.memory_size != 0 ? s.memory_size : filesz;
        usize ph = 64 + 56 * i;
        put(ph + 0, &s.type, 4);
        put(ph + 4, &s.flags, 4);
        put(ph + 8, &offset, 8);
        put(ph + 16, &s.vaddr, 8);
        put(ph + 24, &s.paddr, 8);
        put(ph + 32, &filesz, 8);
        put(ph + 40, &memsz, 8);
    }
    return file;
}

class FakeGuest final : public GuestMemoryWriter {
public:
    FakeGuest() : ram(8 << 20, 0xAA) {}
    Status write(GuestPhysAddr d, const u8* s, u64 n) override {
        std::memcpy(ram.data() + d.raw(), s, n);
        return ok_status();
    }
    Status zero(GuestPhysAddr d, u64 n) override {
        std::memset(ram.data() + d.raw(), 0, n);
        return ok_status();
    }
    std::vector<u8> ram;
};

const ElfLoadLimits kLimits{GuestPhysAddr(0x100000), GuestPhysAddr(8 << 20), 32};

std::string message(const Result<ElfImage>& r) {
    return r.ok() ? "" : r.error().message();
}

TEST(ElfLoader, LoadsSegmentsAndZeroesBss) {
    Segment text{1, 5, 0x100000, 0x100000, {1, 2, 3, 4}, 0};
    Segment data{1, 6, 0x200000, 0x200000, {9, 9}, 0x1000};
    auto file = make_elf({text, data}, 0x100002);
    FakeGuest guest;
    auto image = load_elf(file.data(), file.size(), kLimits, guest);
    ASSERT_TRUE(image.ok()) << message(image);
    EXPECT_EQ(image->entry, GuestPhysAddr(0x100002));
    EXPECT_EQ(image->lowest, GuestPhysAddr(0x100000));
    EXPECT_EQ(image->highest, GuestPhysAddr(0x201000));
    EXPECT_EQ(guest.ram[0x100003], 4);
    EXPECT_EQ(guest.ram[0x200001], 9);
    EXPECT_EQ(guest.ram[0x200002], 0) << "bss zeroed";
    EXPECT_EQ(guest.ram[0x200FFF], 0);
    EXPECT_EQ(guest.ram[0x201000], 0xAA) << "nothing beyond the segment";
}

TEST(ElfLoader, RefusesBadHeaders) {
    auto good = make_elf({Segment{1, 5, 0x100000, 0x100000, {1}, 0}});
    auto check = [&](std::vector<u8> file, const char* expected) {
        auto r = inspect_elf(file.data(), file.size(), kLimits);
        ASSERT_FALSE(r.ok()) << expected;
        EXPECT_NE(message(r).find(expected), std::string::npos) << message(r);
    };
    check(std::vector<u8>(good.begin(), good.begin() + 10), "shorter than the ELF header");
    auto bad_magic = good;
    bad_magic[1] = 'X';
    check(bad_magic, "bad magic");
    auto class32 = good;
    class32[4] = 1;
    check(class32, "64-bit little-endian");
    auto arm = good;
    arm[18] = 183;
    check(arm, "not x86-64");
    auto relocatable = good;
    relocatable[16] = 1;
    check(relocatable, "ET_EXEC");
    auto far_headers = good;
    u64 offset = 1 << 30;
    std::memcpy(far_headers.data() + 32, &offset, 8);
    check(far_headers, "outside the");
    auto many = good;
    u16 count = 60000;
    std::memcpy(many.data() + 56, &count, 2);
    check(many, "program headers");
}

TEST(ElfLoader, RefusesBadSegments) {
    auto check = [&](std::vector<Segment> segments, u64 entry, const char* expected) {
        auto file = make_elf(segments, entry);
        auto r = inspect_elf(file.data(), file.size(), kLimits);
        ASSERT_FALSE(r.ok()) << expected;
        EXPECT_NE(message(r).find(expected), std::string::npos) << message(r);
    };
    check({Segment{1, 5, 0x1000, 0x1000, {1}, 0}}, 0x1000, "outside the allowed guest range");
    check({Segment{1, 5, (8 << 20) - 1, (8 << 20) - 1, {1, 2}, 0}}, (8 << 20) - 1,
          "outside the allowed guest range");
    check({Segment{1, 5, ~0ull - 4, ~0ull - 4, {1}, 0x100}}, ~0ull - 4, "wraps");
    check({Segment{1, 5, 0x100000, 0xFFFFFFFF80000000ull, {1}, 0}}, 0x100000, "identity-mapped");
    check({Segment{1, 5, 0x100000, 0x100000, {1, 2, 3}, 0},
           Segment{1, 6, 0x100002, 0x100002, {1}, 0}},
          0x100000, "overlap");
    check({Segment{1, 6, 0x100000, 0x100000, {1}, 0}}, 0x100000,
          "not inside an executable segment");
    check({Segment{1, 5, 0x100000, 0x100000, {1}, 0}}, 0x300000,
          "not inside an executable segment");
    check({Segment{4, 5, 0x100000, 0x100000, {1}, 0}}, 0x100000, "no loadable segment");
}

TEST(ElfLoader, SegmentDataBeyondFileIsRefused) {
    auto file = make_elf({Segment{1, 5, 0x100000, 0x100000, {1, 2, 3, 4}, 0}});
    u64 huge = 1 << 20;
    std::memcpy(file.data() + 64 + 32, &huge, 8);  // p_filesz
    std::memcpy(file.data() + 64 + 40, &huge, 8);  // p_memsz
    auto r = inspect_elf(file.data(), file.size(), kLimits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kTruncated);
}

TEST(ElfLoader, FileSizeAboveMemorySize) {
    auto file = make_elf({Segment{1, 5, 0x100000, 0x100000, {1, 2, 3, 4}, 0}});
    u64 two = 2;
    std::memcpy(file.data() + 64 + 40, &two, 8);
    auto r = inspect_elf(file.data(), file.size(), kLimits);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(message(r).find("above its memory size"), std::string::npos);
}

// Every truncation of a valid file is refused cleanly (no read past the end: ASan).
TEST(ElfLoader, EveryTruncationIsRefused) {
    auto file = make_elf({Segment{1, 5, 0x100000, 0x100000, std::vector<u8>(100, 7), 0}});
    for (usize size = 0; size < file.size(); ++size) {
        std::vector<u8> cut(file.begin(), file.begin() + static_cast<long>(size));
        auto r = inspect_elf(cut.data(), cut.size(), kLimits);
        EXPECT_FALSE(r.ok()) << size;
    }
}

}  // namespace
}  // namespace relay
