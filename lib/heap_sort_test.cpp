#include "lib/heap_sort.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace relay {
namespace {

std::vector<u64> sorted(std::vector<u64> items) {
    heap_sort(items.data(), items.size(), [](u64 a, u64 b) { return a < b; });
    return items;
}

TEST(HeapSort, SortsEveryShape) {
    EXPECT_EQ(sorted({}), std::vector<u64>{});
    EXPECT_EQ(sorted({7}), std::vector<u64>{7});
    EXPECT_EQ(sorted({2, 1}), (std::vector<u64>{1, 2}));
    EXPECT_EQ(sorted({3, 3, 1, 3}), (std::vector<u64>{1, 3, 3, 3}));
    std::mt19937_64 random(42);
    for (usize size : {5u, 64u, 1000u, 4097u}) {
        std::vector<u64> items(size);
        for (u64& item : items) {
            item = random() % (size / 2 + 1);  // with duplicates
        }
        std::vector<u64> expected = items;
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(sorted(items), expected) << size;
        std::vector<u64> descending(expected.rbegin(), expected.rend());
        EXPECT_EQ(sorted(descending), expected) << size;
    }
}

TEST(HeapSort, UsesTheGivenOrder) {
    std::vector<u64> items = {1, 5, 3};
    heap_sort(items.data(), items.size(), [](u64 a, u64 b) { return a > b; });
    EXPECT_EQ(items, (std::vector<u64>{5, 3, 1}));
}

}  // namespace
}  // namespace relay
