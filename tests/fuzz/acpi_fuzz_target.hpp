// The body of the ACPI fuzzer (RSDP, RSDT/XSDT, MADT), shared by the libFuzzer target
// (acpi_fuzzer.cpp, built by run_fuzzers.sh with clang) and the GoogleTest that replays
// the committed corpus (acpi_corpus_replay_test.cpp).
//
// Input layout:
//   byte 0     bit 0: hand the RSDP at the start of the memory to the parser as the boot
//              loader's copy (multiboot2) instead of letting it search the BIOS area;
//              bit 1: leave checksums as they are (otherwise the harness fixes the
//              checksum of the RSDP and of every table reachable from it, so that
//              mutations reach the structure checks behind the checksums)
//   bytes 1..  physical memory at kAcpiFuzzMemoryBase (the BIOS area 0xE0000, where
//              find_rsdp searches); nothing else is accessible
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace relay::tests {

inline constexpr std::uint64_t kAcpiFuzzMemoryBase = 0xE0000;

struct AcpiFuzzOutcome {
    bool accepted = false;
    std::string message;
    std::size_t cpus = 0;
    std::size_t tables = 0;
};

// Runs find_rsdp and parse_acpi over the memory and checks the contract: a refusal says
// why in printable text; an accepted result lists at most kMaxTables tables, each inside
// the memory with the signature and length found there, at most kMaxCpus CPUs with
// distinct APIC IDs, and found a MADT. A violation aborts.
AcpiFuzzOutcome fuzz_acpi_once(const uint8_t* data, std::size_t size);

}  // namespace relay::tests
