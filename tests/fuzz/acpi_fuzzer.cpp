// libFuzzer entry point for the ACPI table parser (hv/arch/x86/acpi) (built by run_fuzzers.sh).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/acpi_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    relay::tests::fuzz_acpi_once(data, size);
    return 0;
}
