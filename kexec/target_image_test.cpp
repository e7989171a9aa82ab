// Target-image validation against Relay's real images and damaged copies of them.
#include "kexec/target_image.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace relay::kexec {
namespace {

std::vector<u8> read_runfile(const std::string& path) {
    const char* root = std::getenv("TEST_SRCDIR");
    std::string full = std::string(root != nullptr ? root : ".") + "/relay/" + path;
    std::ifstream in(full, std::ios::binary);
    EXPECT_TRUE(in.good()) << full;
    return std::vector<u8>(std::istreambuf_iterator<char>(in), {});
}

constexpr u64 kStagingArea = 24 * MiB;

std::string message(const Result<TargetImage>& r) {
    return r.ok() ? "" : r.error().message();
}

TEST(TargetImage, AcceptsRelayAndReadsItsNote) {
    auto file = read_runfile("hv/relay.elf");
    auto image = inspect_target_image(file.data(), file.size(), kStagingArea);
    ASSERT_TRUE(image.ok()) << message(image);
    EXPECT_EQ(image->link_base, 0x200000u);
    EXPECT_EQ(image->alignment, 2 * MiB);
    EXPECT_GT(image->load_size, 256 * KiB);
    EXPECT_LT(image->entry_offset, image->load_size);
    EXPECT_EQ(image->compatibility.stream_format_version, stream::kStreamFormatVersion);
    EXPECT_EQ(image->compatibility.schema_major_max, stream::kSchemaMajor);
    EXPECT_EQ(image->build_id_length, 20u);
}

TEST(TargetImage, TheIncompatibleTestBuildSaysSo) {
    auto file = read_runfile("hv/relay_incompatible.elf");
    auto image = inspect_target_image(file.data(), file.size(), kStagingArea);
    ASSERT_TRUE(image.ok()) << message(image);
    EXPECT_EQ(image->compatibility.schema_major_min, 2u);
    EXPECT_EQ(image->compatibility.schema_major_max, 2u);
    stream::StreamHeader header;  // what this build writes
    Status compatible = stream::check_compatibility(image->compatibility, header);
    ASSERT_FALSE(compatible.ok());
    EXPECT_NE(std::string(compatible.error().message()).find("schema major"), std::string::npos);
}

TEST(TargetImage, TwoBuildsHaveDifferentBuildIds) {
    auto a = read_runfile("hv/relay.elf");
    auto b = read_runfile("hv/relay_b.elf");
    auto image_a = inspect_target_image(a.data(), a.size(), kStagingArea);
    auto image_b = inspect_target_image(b.data(), b.size(), kStagingArea);
    ASSERT_TRUE(image_a.ok() && image_b.ok());
    EXPECT_FALSE(image_a->build_id == image_b->build_id);
}

TEST(TargetImage, StagingLaysSegmentsOutFromTheLinkBase) {
    auto file = read_runfile("hv/relay.elf");
    auto image = inspect_target_image(file.data(), file.size(), kStagingArea);
    ASSERT_TRUE(image.ok());
    std::vector<u8> staged(image->load_size, 0xCC);
    stage_target_image(image.value(), file.data(), staged.data());
    // The multiboot1 header (first thing in the image) is at offset 0..; the entry
    // offset lands on code; .bss at the end is zero.
    u32 magic;
    std::memcpy(&magic, staged.data(), 4);
    EXPECT_EQ(magic, 0x1BADB002u);
    EXPECT_EQ(staged[staged.size() - 1], 0);
    EXPECT_EQ(staged[image->entry_offset], 0xFA) << "cli at relay_entry32";
}

u64 read64(const std::vector<u8>& file, u64 offset) {
    u64 value;
    std::memcpy(&value, file.data() + offset, 8);
    return value;
}

// Every byte: a loadable segment's file byte where there is one, zero everywhere else
// (.bss and the gaps between segments), whatever the destination held before.
TEST(TargetImage, StagingWritesEveryByteOfTheImage) {
    for (const char* path : {"hv/relay.elf", "hv/relay_b.elf"}) {
        auto file = read_runfile(path);
        auto image = inspect_target_image(file.data(), file.size(), kStagingArea);
        ASSERT_TRUE(image.ok()) << path;
        std::vector<u8> expected(image->load_size, 0);
        u64 table = read64(file, 32);
        u16 count;
        std::memcpy(&count, file.data() + 56, 2);
        usize gaps_or_bss = 0;
        for (u16 i = 0; i < count; ++i) {
            u64 header = table + i * 56u;
            u32 type;
            std::memcpy(&type, file.data() + header, 4);
            u64 offset = read64(file, header + 8);
            u64 physical = read64(file, header + 24);
            u64 file_size = read64(file, header + 32);
            if (type == 1) {  // PT_LOAD
                std::memcpy(expected.data() + (physical - image->link_base), file.data() + offset,
                            file_size);
            }
        }
        for (u8 poison : {0x00, 0xCC, 0xFF}) {
            std::vector<u8> staged(image->load_size, poison);
            stage_target_image(image.value(), file.data(), staged.data());
            ASSERT_EQ(staged, expected) << path << " over " << int(poison);
        }
        for (u8 b : expected) {
            gaps_or_bss += b == 0 ? 1 : 0;
        }
        EXPECT_GT(gaps_or_bss, 0u);
    }
}

TEST(TargetImage, RefusesWhatIsNotARelayImage) {
    auto good = read_runfile("hv/relay.elf");
    auto check = [&](std::vector<u8> file, u64 area, const char* expected) {
        auto image = inspect_target_image(file.data(), file.size(), area);
        ASSERT_FALSE(image.ok()) << expected;
        EXPECT_NE(message(image).find(expected), std::string::npos) << message(image);
    };
    check(std::vector<u8>(good.begin(), good.begin() + 40), kStagingArea, "too small");
    auto not_elf = good;
    not_elf[0] = 0;
    check(not_elf, kStagingArea, "not an ELF");
    check(good, 64 * KiB, "does not fit");
    // Break the multiboot2 header's checksum: no header is found any more.
    auto no_mb2 = good;
    for (usize i = 0; i + 16 <= 32768; i += 8) {
        u32 magic;
        std::memcpy(&magic, no_mb2.data() + i, 4);
        if (magic == 0xE85250D6) {
            no_mb2[i + 12] ^= 0xFF;
        }
    }
    check(no_mb2, kStagingArea, "no multiboot2 header");
    // Rename the Relay note: the image no longer says which streams it reads.
    auto no_note = good;
    for (usize i = 0; i + 6 <= no_note.size(); ++i) {
        if (std::memcmp(no_note.data() + i, "Relay\0", 6) == 0 && i % 4 == 0) {
            no_note[i] = 'X';
        }
    }
    check(no_note, kStagingArea, "no Relay compatibility note");
}

TEST(TargetImage, EveryTruncationIsRefused) {
    auto good = read_runfile("hv/relay.elf");
    for (u64 size : {u64{0}, u64{63}, u64{64}, u64{200}, u64{4096}, u64{40000}, good.size() / 2}) {
        auto image = inspect_target_image(good.data(), size, kStagingArea);
        EXPECT_FALSE(image.ok()) << size;
    }
}

}  // namespace
}  // namespace relay::kexec
