// The body of the multiboot fuzzer (multiboot1 and multiboot2 boot information), shared by
// the libFuzzer target (multiboot_fuzzer.cpp, built by run_fuzzers.sh with clang) and the
// GoogleTest that replays the committed corpus (parser_corpus_replay_test.cpp).
//
// Input layout (little-endian):
//   byte 0      protocol: bits 0-1 select the magic the "loader" left in EAX: 0 or 2
//               multiboot1, 1 multiboot2, 3 an unknown magic (must be refused)
//   bytes 1-2   offset of the boot information from kMultibootFuzzMemoryBase
//   byte 3      where the hypervisor image lies: 0 outside the memory (2 MiB, 1 MiB
//               long), n > 0 at kMultibootFuzzMemoryBase + (n - 1) * 512, 4 KiB long
//   bytes 4..   physical memory at kMultibootFuzzMemoryBase; nothing else is accessible
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace relay::tests {

inline constexpr std::uint64_t kMultibootFuzzMemoryBase = 0x10000;
inline constexpr std::size_t kMultibootFuzzHeaderSize = 4;

struct MultibootFuzzOutcome {
    bool accepted = false;
    std::string message;  // the parser's error when refused
    std::size_t modules = 0;
    std::size_t memory_regions = 0;
};

// Parses the memory with parse_boot_information and checks the contract (docs/boot.md):
// a refusal says why in printable text; accepted information has every count within its
// capacity, memory regions that do not wrap, modules inside the 32-bit address space that
// overlap neither each other, the image nor the boot information, strings copied into
// BootInfo (bounded, terminated, never pointing into loader memory), multiboot2 read only
// within total_size, and the same result when parsed twice. A violation aborts.
MultibootFuzzOutcome fuzz_multiboot_once(const uint8_t* data, std::size_t size);

}  // namespace relay::tests
