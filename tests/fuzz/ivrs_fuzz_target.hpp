// The body of the IVRS fuzzer (the ACPI table that describes AMD-Vi units, iommu/ivrs),
// shared by the libFuzzer target (ivrs_fuzzer.cpp, built by run_fuzzers.sh with clang) and
// the GoogleTest that replays the committed corpus (ivrs_corpus_replay_test.cpp).
//
// An input is the table's bytes as the ACPI code hands them over (parse_ivrs does not
// check the checksum: find_rsdp/parse_acpi did).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace relay::tests {

struct IvrsFuzzOutcome {
    bool accepted = false;
    std::string message;  // the parser's error when refused
    std::size_t units = 0;
    std::size_t ranges = 0;
    std::size_t memory_definitions = 0;
};

// Parses the input with parse_ivrs and checks the contract: a refusal says why in
// printable text; an accepted table has every count within its capacity, one unit per
// (segment, device id), each unit's device ranges a slice of its own, ranges with
// first <= last that unit_for() finds, aliases only from alias entries, terminated ACPI
// ids, and memory definitions that do not wrap. A violation aborts.
IvrsFuzzOutcome fuzz_ivrs_once(const uint8_t* data, std::size_t size);

}  // namespace relay::tests
