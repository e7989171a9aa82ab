// libFuzzer entry point for the Hyperlaunch configuration parser (hv/config) (built by
// run_fuzzers.sh).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/hyperlaunch_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    relay::tests::fuzz_hyperlaunch_once(data, size);
    return 0;
}
