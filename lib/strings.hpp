// String helpers that never throw (std::string_view::substr does, which a freestanding
// image cannot link) and number parsing with overflow checks. Freestanding and hosted.
#pragma once

#include <string_view>

#include "lib/types.hpp"

namespace relay {

// text[position..], empty when position is past the end.
constexpr std::string_view suffix_from(std::string_view text, usize position) {
    return position >= text.size()
               ? std::string_view()
               : std::string_view(text.data() + position, text.size() - position);
}

// text[0..min(length, size)).
constexpr std::string_view prefix_of(std::string_view text, usize length) {
    return std::string_view(text.data(), length < text.size() ? length : text.size());
}

// text[begin..end), clamped.
constexpr std::string_view slice(std::string_view text, usize begin, usize end) {
    if (end > text.size()) {
        end = text.size();
    }
    if (begin >= end) {
        return std::string_view();
    }
    return std::string_view(text.data() + begin, end - begin);
}

constexpr std::string_view trim_spaces(std::string_view text) {
    usize begin = 0;
    usize end = text.size();
    while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) {
        ++begin;
    }
    while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) {
        --end;
    }
    return slice(text, begin, end);
}

// The next space-separated word of `text` at or after *position (which moves past it);
// false when only spaces are left. For command lines:
//   usize position = 0; std::string_view word;
//   while (next_word(line, &position, &word)) { ... }
constexpr bool next_word(std::string_view text, usize* position, std::string_view* word) {
    usize begin = *position;
    while (begin < text.size() && text[begin] == ' ') {
        ++begin;
    }
    usize end = begin;
    while (end < text.size() && text[end] != ' ') {
        ++end;
    }
    *position = end;
    *word = slice(text, begin, end);
    return begin < end;
}

// Parses an unsigned integer: decimal, or hexadecimal with 0x. Rejects empty input,
// stray characters and overflow.
bool parse_u64(std::string_view text, u64* out);

// Parses a size with an optional K/M/G suffix (binary units): "64M", "0x100000", "2G".
bool parse_size(std::string_view text, u64* out);

// Copies a string into a fixed buffer with a terminating NUL; returns false (and copies a
// truncated prefix) when it does not fit.
bool copy_string(std::string_view text, char* buffer, usize capacity);

}  // namespace relay
