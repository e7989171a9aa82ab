// The body of the multiboot fuzzers (multiboot1 and multiboot2 boot information), shared
// by the libFuzzer targets (multiboot1_fuzzer.cpp, multiboot2_fuzzer.cpp, built by
// run_fuzzers.sh with clang) and the GoogleTest that replays the committed corpora
// (multiboot_corpus_replay_test.cpp).
//
// Input layout (little-endian):
//   byte 0      bits 0-1 == 3: the "loader" left an unknown magic in EAX (must be refused);
//               otherwise the magic of the fuzzer's protocol
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

// Which parser a fuzzer drives: each has its own fuzzer and corpus (the formats share
// nothing but BootInfo, so mutations of one rarely make sense to the other).
enum class MultibootFuzzProtocol { kMultiboot1, kMultiboot2 };

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
MultibootFuzzOutcome fuzz_multiboot_once(MultibootFuzzProtocol protocol, const uint8_t* data,
                                         std::size_t size);

}  // namespace relay::tests
