// Contract checks for the fuzz bodies (tests/fuzz/*_fuzz_target.cpp). A parser's contract
// is more than "does not crash": every input ends in an error or in a result whose
// invariants hold. A violated invariant aborts with the file, line, condition and a
// formatted explanation, which libFuzzer records as a crash (an artifact to reproduce)
// and which fails the corpus replay tests under Bazel.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "lib/format.hpp"

namespace relay::tests {

template <typename... Args>
[[noreturn, gnu::cold]] void contract_violated(const char* file, int line, const char* condition,
                                               const char* fmt, const Args&... args) {
    char message[512];
    format_to_buffer(message, sizeof(message), fmt, args...);
    std::fprintf(stderr, "%s:%d: contract violated: %s: %s\n", file, line, condition, message);
    std::abort();
}

// True when every byte is printable ASCII: what Relay may print on its console.
constexpr bool is_printable_text(std::string_view text) {
    for (char c : text) {
        if (c < 0x20 || c > 0x7E) {
            return false;
        }
    }
    return true;
}

// True when `inner` lies wholly inside [base, base + size).
inline bool view_inside(std::string_view inner, const void* base, std::size_t size) {
    auto begin = reinterpret_cast<std::uintptr_t>(base);
    auto start = reinterpret_cast<std::uintptr_t>(inner.data());
    return inner.empty() ||
           (start >= begin && start - begin <= size && inner.size() <= size - (start - begin));
}

}  // namespace relay::tests

#define FUZZ_CHECK(condition, ...)      \
    ((condition) ? static_cast<void>(0) \
                 : ::relay::tests::contract_violated(__FILE__, __LINE__, #condition, __VA_ARGS__))
