// Replays the Hyperlaunch fuzzer's corpus (tests/fuzz/corpus/hyperlaunch/) through the fuzz
// body and its contract, so a bug the fuzzer found stays fixed. Runs under ASan/UBSan with
// `bazel test --config=sanitize`.
#include <gtest/gtest.h>

#include "tests/fuzz/corpus_files.hpp"
#include "tests/fuzz/hyperlaunch_fuzz_target.hpp"

namespace relay::tests {
namespace {

TEST(HyperlaunchCorpusReplay, EveryInputKeepsTheContract) {
    std::vector<CorpusFile> files = corpus_files("tests/fuzz/corpus/hyperlaunch");
    ASSERT_GE(files.size(), 5u);
    for (const CorpusFile& file : files) {
        SCOPED_TRACE(file.name);
        HyperlaunchFuzzOutcome outcome =
            fuzz_hyperlaunch_once(file.bytes.data(), file.bytes.size());
        // The shipped examples fit the fuzz body's default host (docs/hyperlaunch.md).
        if (file.name == "seed-examples-default.dtb" || file.name == "seed-examples-rogue.dtb") {
            EXPECT_TRUE(outcome.accepted) << outcome.message;
            EXPECT_GE(outcome.domains, 1u);
        }
    }
}

}  // namespace
}  // namespace relay::tests
