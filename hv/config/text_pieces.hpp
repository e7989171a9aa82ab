// Splitting text and matching prefixes without std::string_view::substr and friends, which can
// throw (the hypervisor has no exceptions and no libstdc++). Compiles freestanding and hosted.
#pragma once

#include <string_view>

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

// Calls visit(std::string_view piece) -> Status for each piece of `text` between
// `separator`s (empty pieces included), in order; stops at the first error.
template <typename Visitor>
Status for_each_piece(std::string_view text, char separator, Visitor&& visit) {
    usize start = 0;
    for (usize i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == separator) {
            RELAY_TRY(visit(std::string_view(text.data() + start, i - start)));
            start = i + 1;
        }
    }
    return ok_status();
}

// True when `text` begins with `prefix` (std::string_view::starts_with may throw).
constexpr bool has_prefix(std::string_view text, std::string_view prefix) {
    if (prefix.size() > text.size()) {
        return false;
    }
    return std::string_view(text.data(), prefix.size()) == prefix;
}

// `text` without its first `count` characters (empty when it is shorter).
constexpr std::string_view drop_prefix(std::string_view text, usize count) {
    return count >= text.size() ? std::string_view()
                                : std::string_view(text.data() + count, text.size() - count);
}

}  // namespace relay::hyperlaunch
