#include "tests/guests/memtest/pattern.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace relay::guest::memtest {
namespace {

constexpr u64 kBase = 0x200000;  // the guest-physical address the buffer stands for

TEST(Pattern, DependsOnDomidSeedGenerationAndAddressOnly) {
    u64 key = generation_key(2, 17, 5);
    EXPECT_EQ(key, generation_key(2, 17, 5));
    EXPECT_NE(key, generation_key(3, 17, 5));
    EXPECT_NE(key, generation_key(2, 18, 5));
    EXPECT_NE(key, generation_key(2, 17, 6));
    EXPECT_EQ(pattern_word(key, kBase), pattern_word(key, kBase));
    EXPECT_NE(pattern_word(key, kBase), pattern_word(key, kBase + 8));
}

TEST(Pattern, GenerationsChangeMostBitsOfEveryWord) {
    // Stale memory is caught only if the next generation differs in the word; with a
    // mixed key about half of the bits flip.
    for (u64 generation = 0; generation < 64; ++generation) {
        u64 flipped = generation_key(1, 1, generation) ^ generation_key(1, 1, generation + 1);
        EXPECT_GT(__builtin_popcountll(flipped), 12) << generation;
    }
}

TEST(Pattern, AddressesNeverShareAValueWithinAGeneration) {
    u64 key = generation_key(4, 99, 0);
    std::set<u64> seen;
    for (u64 word = 0; word < 100000; ++word) {
        EXPECT_TRUE(seen.insert(pattern_word(key, kBase + word * 8)).second);
    }
}

TEST(Pattern, FillThenVerifyFindsNothingAndAdvances) {
    std::vector<u64> words(4096);
    u64 key0 = generation_key(2, 17, 0);
    u64 key1 = generation_key(2, 17, 1);
    fill_words(words.data(), words.size(), kBase, key0);
    EXPECT_EQ(words[10], pattern_word(key0, kBase + 80));
    VerifyResult result = verify_and_advance(words.data(), words.size(), kBase, key0, key1);
    EXPECT_EQ(result.bad_words, 0u);
    EXPECT_EQ(words[10], pattern_word(key1, kBase + 80));
    EXPECT_EQ(verify_and_advance(words.data(), words.size(), kBase, key1, key0).bad_words, 0u);
}

TEST(Pattern, VerifyReportsTheFirstBadWordAndCountsAll) {
    std::vector<u64> words(1024);
    u64 key0 = generation_key(3, 42, 7);
    u64 key1 = generation_key(3, 42, 8);
    fill_words(words.data(), words.size(), kBase, key0);
    words[100] ^= 1;
    words[500] = 0;
    VerifyResult result = verify_and_advance(words.data(), words.size(), kBase, key0, key1);
    EXPECT_EQ(result.bad_words, 2u);
    EXPECT_EQ(result.first_bad_address, kBase + 800);
    EXPECT_EQ(result.expected, pattern_word(key0, kBase + 800));
    EXPECT_EQ(result.found, pattern_word(key0, kBase + 800) ^ 1);
    // Bad words were rewritten: the next pass is clean.
    EXPECT_EQ(verify_and_advance(words.data(), words.size(), kBase, key1, key0).bad_words, 0u);
}

TEST(Pattern, StaleMemoryIsCaught) {
    // A page that was not written in the last pass (a restore from an old copy) holds the
    // previous generation: every word of it fails.
    std::vector<u64> words(512);
    std::vector<u64> old_copy(512);
    u64 key0 = generation_key(2, 1, 0);
    u64 key1 = generation_key(2, 1, 1);
    u64 key2 = generation_key(2, 1, 2);
    fill_words(words.data(), words.size(), kBase, key0);
    old_copy = words;
    verify_and_advance(words.data(), words.size(), kBase, key0, key1);
    words = old_copy;
    EXPECT_EQ(verify_and_advance(words.data(), words.size(), kBase, key1, key2).bad_words, 512u);
}

TEST(Pattern, MovedOrAnotherDomainsMemoryIsCaught) {
    std::vector<u64> words(512);
    u64 key = generation_key(2, 1, 0);
    // The right generation, but written for other addresses (a page mapped at the wrong
    // place).
    fill_words(words.data(), words.size(), kBase + 4096, key);
    EXPECT_EQ(verify_and_advance(words.data(), words.size(), kBase, key, key).bad_words, 512u);
    // Another domain's memory with the same seed.
    fill_words(words.data(), words.size(), kBase, generation_key(3, 1, 0));
    EXPECT_EQ(verify_and_advance(words.data(), words.size(), kBase, key, key).bad_words, 512u);
}

}  // namespace
}  // namespace relay::guest::memtest
