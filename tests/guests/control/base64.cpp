#include "tests/guests/control/base64.hpp"

namespace relay::guest::control {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

usize base64_encode(std::span<const u8> data, char* out, usize capacity) {
    usize needed = base64_length(data.size());
    if (capacity < needed) {
        return 0;
    }
    usize o = 0;
    usize i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        u32 group = (u32{data[i]} << 16) | (u32{data[i + 1]} << 8) | data[i + 2];
        out[o++] = kAlphabet[(group >> 18) & 63];
        out[o++] = kAlphabet[(group >> 12) & 63];
        out[o++] = kAlphabet[(group >> 6) & 63];
        out[o++] = kAlphabet[group & 63];
    }
    usize left = data.size() - i;
    if (left > 0) {
        u32 group = u32{data[i]} << 16;
        if (left == 2) {
            group |= u32{data[i + 1]} << 8;
        }
        out[o++] = kAlphabet[(group >> 18) & 63];
        out[o++] = kAlphabet[(group >> 12) & 63];
        out[o++] = left == 2 ? kAlphabet[(group >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

}  // namespace relay::guest::control
