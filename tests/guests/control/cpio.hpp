// Reads files out of a cpio archive in the "newc" format (the initramfs format: a 110-byte
// ASCII header "070701" with 13 eight-digit hex fields, the name, the data, each padded to
// 4 bytes; "TRAILER!!!" ends it). The control domain's ramdisk is one: it carries the
// Relay images a script stages (docs/testing.md, "control"). Shared: unit-tested on the
// host, where malformed archives must be errors, never reads past the end.
#pragma once

#include <span>
#include <string_view>

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest::control {

// The contents of the regular file `name` in `archive`; kNotFound when it is not there,
// kCorrupt (naming the offset) when the archive is malformed before it is found.
Result<std::span<const u8>> cpio_find(std::span<const u8> archive, std::string_view name);

}  // namespace relay::guest::control
