// The Hyperlaunch configuration parser: turns the device tree the boot loader passed as
// multiboot module 0 into a validated HyperlaunchConfig, or into the first error found,
// naming the node and property (docs/hyperlaunch.md lists every rule and message).
//
// Shared code: linked into the hypervisor (freestanding: no heap, no exceptions; the
// caller provides the HyperlaunchConfig) and into relay-config and the tests (hosted).
#pragma once

#include <span>

#include "hv/config/boot_environment.hpp"
#include "hv/config/hyperlaunch_config.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch {

// Parses `blob` (8-byte aligned; its bytes must outlive `config`, whose strings point
// into it) against the multiboot modules present and the host's limits.
//
// On success `config` holds every domain in tree order. On failure `config` is left
// empty and the error is the first problem in tree order; the parser never reads outside
// `blob`, and every loop is bounded by the blob's size, whatever the blob holds.
Status parse_hyperlaunch_config(std::span<const u8> blob, ModuleList modules,
                                const HostLimits& limits, HyperlaunchConfig* config);

}  // namespace relay::hyperlaunch
