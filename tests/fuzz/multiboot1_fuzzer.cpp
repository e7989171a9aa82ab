// libFuzzer entry point for the multiboot1 boot-information parser (hv/boot) (built by
// run_fuzzers.sh).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/multiboot_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    relay::tests::fuzz_multiboot_once(relay::tests::MultibootFuzzProtocol::kMultiboot1, data, size);
    return 0;
}
