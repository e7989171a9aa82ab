// The body of the stream fuzzer, shared by the libFuzzer target (stream_fuzzer.cpp,
// built by run_fuzzers.sh with clang) and the GoogleTest that replays the committed
// corpus and crash regressions (fuzz_corpus_replay_test.cpp), so found bugs stay fixed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace relay::tests {

// Runs the input through the verifier three ways and, whenever it verifies, through
// every reader of the stream (StreamReader, relay-dump show/json/diff):
//   1. as is (header checks, digest);
//   2. with the digest recomputed, so mutations reach the FlatBuffers verifier and the
//      semantic checks instead of stopping at the digest;
//   3. as a bare payload wrapped in a valid header with every known required bit.
// Returns how many of the three verified.
int fuzz_stream_once(const uint8_t* data, size_t size);

}  // namespace relay::tests
