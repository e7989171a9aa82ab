// The body of the Hyperlaunch configuration fuzzer, shared by the libFuzzer target
// (hyperlaunch_fuzzer.cpp, built by run_fuzzers.sh with clang) and the GoogleTest that
// replays the committed corpus (hyperlaunch_corpus_replay_test.cpp).
//
// An input is a device-tree blob, optionally followed (after the header's totalsize) by
// parameter bytes that choose the multiboot modules and the host's limits, so that the
// fuzzer also explores module counts, sizes and command lines. A plain .dtb gets the
// defaults: 8 modules of 64 KiB without command lines, 1 GiB, 4 pCPUs, 16 vCPUs per
// domain, 64 domains (every example configuration fits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace relay::tests {

struct HyperlaunchFuzzOutcome {
    bool accepted = false;
    std::string message;  // the parser's error when refused
    std::size_t domains = 0;
};

// Parses the input with parse_hyperlaunch_config and checks the parser's contract: a
// refusal leaves the configuration empty and says why in printable text; an accepted
// configuration satisfies every rule of docs/hyperlaunch.md, its strings lie inside the
// blob, and it becomes a boot stream that the stream verifier accepts and that says the
// same. A violation aborts (fuzz_contract.hpp).
HyperlaunchFuzzOutcome fuzz_hyperlaunch_once(const uint8_t* data, std::size_t size);

}  // namespace relay::tests
