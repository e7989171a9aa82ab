// libFuzzer entry point for the stream verifier and readers (built by run_fuzzers.sh).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/stream_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    relay::tests::fuzz_stream_once(data, size);
    return 0;
}
