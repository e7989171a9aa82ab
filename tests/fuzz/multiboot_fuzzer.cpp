// libFuzzer entry point for the multiboot1/multiboot2 boot-information parsers (hv/boot) (built by
// run_fuzzers.sh).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/multiboot_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    relay::tests::fuzz_multiboot_once(data, size);
    return 0;
}
