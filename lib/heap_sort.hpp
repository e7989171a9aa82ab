// In-place heap sort: O(n log n) comparisons in the worst case, no recursion, no memory
// beyond the items, so a hostile input (a stream, an I/O page table) cannot make it slow
// or deep. Not stable. Freestanding and hosted.
#pragma once

#include "lib/types.hpp"

namespace relay {

namespace heap_sort_detail {

template <typename T, typename Less>
constexpr void sift_down(T* items, usize root, usize count, Less& less) {
    while (true) {
        usize child = 2 * root + 1;
        if (child >= count) {
            return;
        }
        if (child + 1 < count && less(items[child], items[child + 1])) {
            ++child;
        }
        if (!less(items[root], items[child])) {
            return;
        }
        T swap = items[root];
        items[root] = items[child];
        items[child] = swap;
        root = child;
    }
}

}  // namespace heap_sort_detail

// Sorts items[0, count) so that less(items[i + 1], items[i]) is false for every i.
template <typename T, typename Less>
constexpr void heap_sort(T* items, usize count, Less less) {
    for (usize start = count / 2; start > 0; --start) {
        heap_sort_detail::sift_down(items, start - 1, count, less);
    }
    for (usize end = count; end > 1; --end) {
        T swap = items[0];
        items[0] = items[end - 1];
        items[end - 1] = swap;
        heap_sort_detail::sift_down(items, usize{0}, end - 1, less);
    }
}

}  // namespace relay
