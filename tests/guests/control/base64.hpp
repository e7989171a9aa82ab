// Base64 (RFC 4648, standard alphabet, with padding), for printing binary data such as an
// exported state stream on a text console. Shared: unit-tested on the host.
#pragma once

#include <span>

#include "lib/types.hpp"

namespace relay::guest::control {

// Characters needed for `bytes` bytes.
constexpr usize base64_length(usize bytes) {
    return (bytes + 2) / 3 * 4;
}

// Encodes `data` into `out` (base64_length(data.size()) characters, no NUL); returns the
// number written, or 0 if `out` is too small.
usize base64_encode(std::span<const u8> data, char* out, usize capacity);

}  // namespace relay::guest::control
