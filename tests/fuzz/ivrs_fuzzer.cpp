// libFuzzer entry point for the IVRS parser (iommu/ivrs) (built by run_fuzzers.sh).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/ivrs_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    relay::tests::fuzz_ivrs_once(data, size);
    return 0;
}
