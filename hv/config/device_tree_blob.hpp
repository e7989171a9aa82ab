// Structural verification of a flattened device tree before libfdt touches it.
//
// The Linux copy of libfdt that Relay builds has no fdt_check_full(), and libfdt's
// lookup functions trust the structure block once the header looks sane. This is the
// equivalent check, written for a hostile blob: every offset, length and string is
// bounded by the blob, tokens nest properly, and every loop is bounded by the blob's
// size. After it succeeds, libfdt's read-only functions stay inside the blob.
// Compiles freestanding and hosted.
#pragma once

#include <span>

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

// Nodes nest at most this deep; a Hyperlaunch tree needs 4 (/chosen/hypervisor/domain/
// module), other nodes of a combined hardware tree rarely go beyond 8.
inline constexpr u32 kMaxDeviceTreeDepth = 32;

// Checks header, blocks and the whole structure block of `blob` (Devicetree
// Specification v0.4 §5): 8-byte aligned, magic, version 17 layout, totalsize within
// `blob`, blocks within totalsize, tokens well formed and nested, node names and
// property names terminated inside their blocks, property values inside the structure
// block, properties before subnodes, exactly one root node, FDT_END at depth 0.
Status verify_device_tree_blob(std::span<const u8> blob);

}  // namespace relay::hyperlaunch
