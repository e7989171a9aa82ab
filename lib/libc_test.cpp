// The freestanding C library functions (lib/libc.cpp), compiled under other names so that
// they do not replace the host's: every length around the quadword split, overlapping
// moves both ways, fill values with the high bit set, and the string functions.
#define memcpy relay_memcpy
#define memmove relay_memmove
#define memset relay_memset
#define memcmp relay_memcmp
#define memchr relay_memchr
#define strlen relay_strlen
#define strnlen relay_strnlen
#define strncmp relay_strncmp
#define strcmp relay_strcmp
#define strchr relay_strchr
#define strrchr relay_strrchr
#include "lib/libc.cpp"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef memchr
#undef strlen
#undef strnlen
#undef strncmp
#undef strcmp
#undef strchr
#undef strrchr

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

std::vector<unsigned char> numbered(size_t size) {
    std::vector<unsigned char> v(size);
    for (size_t i = 0; i < size; ++i) {
        v[i] = static_cast<unsigned char>(i * 7 + 3);
    }
    return v;
}

TEST(Libc, MemcpyCopiesEveryLengthAndAlignmentExactly) {
    for (size_t length = 0; length <= 40; ++length) {
        for (size_t offset = 0; offset < 8; ++offset) {
            std::vector<unsigned char> source = numbered(64);
            std::vector<unsigned char> destination(64, 0xEE);
            void* returned = relay_memcpy(destination.data() + offset, source.data() + 1, length);
            EXPECT_EQ(returned, destination.data() + offset);
            for (size_t i = 0; i < 64; ++i) {
                unsigned char want = i >= offset && i < offset + length
                                         ? source[1 + i - offset]
                                         : static_cast<unsigned char>(0xEE);
                ASSERT_EQ(destination[i], want)
                    << "length " << length << " offset " << offset << " byte " << i;
            }
        }
    }
}

TEST(Libc, MemsetFillsEveryLengthWithTheLowByte) {
    for (size_t length = 0; length <= 40; ++length) {
        for (size_t offset = 0; offset < 8; ++offset) {
            std::vector<unsigned char> buffer(64, 0x11);
            relay_memset(buffer.data() + offset, 0x1A5, length);  // only 0xA5 counts
            for (size_t i = 0; i < 64; ++i) {
                unsigned char want = i >= offset && i < offset + length ? 0xA5 : 0x11;
                ASSERT_EQ(buffer[i], want) << "length " << length << " offset " << offset;
            }
        }
    }
}

TEST(Libc, MemmoveHandlesOverlapInBothDirections) {
    for (size_t length = 0; length <= 40; ++length) {
        for (int shift = -9; shift <= 9; ++shift) {
            std::vector<unsigned char> buffer = numbered(80);
            std::vector<unsigned char> expected = buffer;
            std::memmove(expected.data() + 20 + shift, expected.data() + 20, length);
            relay_memmove(buffer.data() + 20 + shift, buffer.data() + 20, length);
            ASSERT_EQ(buffer, expected) << "length " << length << " shift " << shift;
        }
    }
}

TEST(Libc, CompareAndSearch) {
    const char text[] = "relay:hv:relay";
    EXPECT_EQ(relay_strlen(text), 14u);
    EXPECT_EQ(relay_strnlen(text, 5), 5u);
    EXPECT_EQ(relay_strnlen(text, 99), 14u);
    EXPECT_EQ(relay_strchr(text, ':'), text + 5);
    EXPECT_EQ(relay_strrchr(text, ':'), text + 8);
    EXPECT_EQ(relay_strchr(text, '\0'), text + 14);
    EXPECT_EQ(relay_strchr(text, 'z'), nullptr);
    EXPECT_EQ(relay_memchr(text, 'h', 14), text + 6);
    EXPECT_EQ(relay_memchr(text, 'h', 6), nullptr);
    EXPECT_LT(relay_memcmp("abc", "abd", 3), 0);
    EXPECT_GT(relay_memcmp("\xff", "\x01", 1), 0) << "bytes compare unsigned";
    EXPECT_EQ(relay_memcmp("abc", "abd", 2), 0);
    EXPECT_EQ(relay_strcmp("relay", "relay"), 0);
    EXPECT_LT(relay_strcmp("rel", "relay"), 0);
    EXPECT_EQ(relay_strncmp("relay-a", "relay-b", 6), 0);
    EXPECT_GT(relay_strncmp("relay-b", "relay-a", 7), 0);
}

}  // namespace
