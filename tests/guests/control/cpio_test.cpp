#include "tests/guests/control/cpio.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace relay::guest::control {
namespace {

// What tools/build/make_cpio.py writes.
void add_entry(std::string* archive, const std::string& name, const std::string& data,
               unsigned mode = 0100644) {
    char header[111];
    std::snprintf(header, sizeof(header),
                  "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1u, mode, 0u, 0u,
                  1u, 0u, static_cast<unsigned>(data.size()), 0u, 0u, 0u, 0u,
                  static_cast<unsigned>(name.size() + 1), 0u);
    *archive += header;
    *archive += name;
    *archive += '\0';
    while (archive->size() % 4 != 0) {
        *archive += '\0';
    }
    *archive += data;
    while (archive->size() % 4 != 0) {
        *archive += '\0';
    }
}

std::string sample() {
    std::string archive;
    add_entry(&archive, "images", "", 040755);
    add_entry(&archive, "relay.elf",
              "\x7f"
              "ELF first image");
    add_entry(&archive, "relay_b.elf", "second");
    add_entry(&archive, "TRAILER!!!", "");
    return archive;
}

std::span<const u8> bytes(const std::string& text) {
    return {reinterpret_cast<const u8*>(text.data()), text.size()};
}

TEST(Cpio, FindsEachFile) {
    std::string archive = sample();
    auto first = cpio_find(bytes(archive), "relay.elf");
    ASSERT_TRUE(first.ok()) << first.error().message();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(first->data()), first->size()),
              "\x7f"
              "ELF first image");
    auto second = cpio_find(bytes(archive), "relay_b.elf");
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second->size(), 6u);
}

TEST(Cpio, MissingFilesAndDirectoriesAreNotFound) {
    std::string archive = sample();
    EXPECT_EQ(cpio_find(bytes(archive), "nothing.elf").error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(cpio_find(bytes(archive), "images").error().code(), ErrorCode::kNotFound);
}

TEST(Cpio, MalformedArchivesAreErrorsAtEveryTruncation) {
    std::string archive = sample();
    // Every prefix that cuts before the wanted file's data ends is an error, never a read
    // past the end (ASan checks the latter).
    auto whole = cpio_find(bytes(archive), "relay_b.elf");
    ASSERT_TRUE(whole.ok());
    usize needed = static_cast<usize>(whole->data() + whole->size() -
                                      reinterpret_cast<const u8*>(archive.data()));
    for (usize length = 0; length < needed; ++length) {
        std::vector<u8> copy(archive.begin(), archive.begin() + length);
        auto found = cpio_find(std::span<const u8>(copy.data(), copy.size()), "relay_b.elf");
        EXPECT_FALSE(found.ok()) << length;
    }
    std::string bad_magic = archive;
    bad_magic[5] = '2';  // 070702: the "crc" variant is not read
    EXPECT_EQ(cpio_find(bytes(bad_magic), "relay.elf").error().code(), ErrorCode::kCorrupt);
    std::string bad_hex = archive;
    bad_hex[6 + 6 * 8] = 'x';  // c_filesize
    EXPECT_EQ(cpio_find(bytes(bad_hex), "relay.elf").error().code(), ErrorCode::kCorrupt);
    std::string huge = archive;
    huge.replace(6 + 6 * 8, 8, "FFFFFFFF");
    EXPECT_EQ(cpio_find(bytes(huge), "relay.elf").error().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace relay::guest::control
