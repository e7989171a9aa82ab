// Parsers for the two multiboot boot-information formats into BootInfo.
//   Multiboot 0.6.96 §3.3 (boot information format), Multiboot2 1.0 §3.6.
// Both treat the information as hostile: every pointer, length and count is checked,
// and malformed input is an error naming the offending field.
#pragma once

#include "hv/boot/boot_info.hpp"
#include "hv/boot/physical_memory_reader.hpp"
#include "lib/result.hpp"

namespace relay {

inline constexpr u32 kMultiboot1BootloaderMagic = 0x2BADB002;
inline constexpr u32 kMultiboot2BootloaderMagic = 0x36D76289;

// Limits that turn absurd sizes into errors before anything is walked.
inline constexpr u32 kMultiboot1MaxMemoryMapBytes = 64 * 1024;
inline constexpr u32 kMultiboot2MaxInfoBytes = 1024 * 1024;

// Parses the multiboot1 information at `info_address`. `image` is where this hypervisor
// was loaded (modules must not overlap it).
Status parse_multiboot1(const PhysicalMemoryReader& memory, HostPhysAddr info_address,
                        HostPhysRange image, BootInfo* out);

// Parses the multiboot2 information at `info_address`.
Status parse_multiboot2(const PhysicalMemoryReader& memory, HostPhysAddr info_address,
                        HostPhysRange image, BootInfo* out);

// Dispatches on the magic a loader left in EAX.
Status parse_boot_information(const PhysicalMemoryReader& memory, u32 magic,
                              HostPhysAddr info_address, HostPhysRange image, BootInfo* out);

// Loaders put the image path first on the command line; options are all key=value, so
// a first word without '=' is the image path and is dropped (docs/boot.md).
std::string_view strip_image_path(std::string_view command_line);

}  // namespace relay
