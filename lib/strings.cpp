#include "lib/strings.hpp"

namespace relay {

bool parse_u64(std::string_view text, u64* out) {
    u64 base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text = suffix_from(text, 2);
    }
    if (text.empty()) {
        return false;
    }
    u64 value = 0;
    for (char c : text) {
        u64 digit;
        if (c >= '0' && c <= '9') {
            digit = static_cast<u64>(c - '0');
        } else if (base == 16 && c >= 'a' && c <= 'f') {
            digit = static_cast<u64>(c - 'a' + 10);
        } else if (base == 16 && c >= 'A' && c <= 'F') {
            digit = static_cast<u64>(c - 'A' + 10);
        } else {
            return false;
        }
        if (__builtin_mul_overflow(value, base, &value) ||
            __builtin_add_overflow(value, digit, &value)) {
            return false;
        }
    }
    *out = value;
    return true;
}

bool parse_size(std::string_view text, u64* out) {
    if (text.empty()) {
        return false;
    }
    u64 multiplier = 1;
    char last = text[text.size() - 1];
    bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    switch (last) {
        case 'k':
        case 'K':
            multiplier = KiB;
            break;
        case 'm':
        case 'M':
            multiplier = MiB;
            break;
        case 'g':
        case 'G':
            multiplier = GiB;
            break;
        default:
            break;
    }
    if (multiplier != 1) {
        if (hex) {
            return false;  // "0x1G" is ambiguous; take suffixes on decimal numbers only
        }
        text = prefix_of(text, text.size() - 1);
    }
    u64 value = 0;
    if (!parse_u64(text, &value)) {
        return false;
    }
    return !__builtin_mul_overflow(value, multiplier, out);
}

bool copy_string(std::string_view text, char* buffer, usize capacity) {
    if (capacity == 0) {
        return text.empty();
    }
    usize count = text.size() < capacity - 1 ? text.size() : capacity - 1;
    for (usize i = 0; i < count; ++i) {
        buffer[i] = text[i];
    }
    buffer[count] = '\0';
    return count == text.size();
}

}  // namespace relay
