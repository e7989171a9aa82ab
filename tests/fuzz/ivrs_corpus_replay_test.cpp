// Replays the IVRS fuzzer's corpus (tests/fuzz/corpus/ivrs/) through the fuzz body and its
// contract, so a bug the fuzzer found stays fixed. Runs under ASan/UBSan with
// `bazel test --config=sanitize`.
#include <gtest/gtest.h>

#include "tests/fuzz/corpus_files.hpp"
#include "tests/fuzz/ivrs_fuzz_target.hpp"

namespace relay::tests {
namespace {

TEST(IvrsCorpusReplay, EveryInputKeepsTheContract) {
    std::vector<CorpusFile> files = corpus_files("tests/fuzz/corpus/ivrs");
    ASSERT_GE(files.size(), 2u);
    for (const CorpusFile& file : files) {
        SCOPED_TRACE(file.name);
        IvrsFuzzOutcome outcome = fuzz_ivrs_once(file.bytes.data(), file.bytes.size());
        if (file.name == "seed-ivrs-qemu") {
            EXPECT_TRUE(outcome.accepted) << outcome.message;
            EXPECT_EQ(outcome.units, 1u);
            EXPECT_EQ(outcome.ranges, 1u);
        } else if (file.name == "seed-ivrs-server") {
            // The 11h block is superseded by the 40h block for the same unit.
            EXPECT_TRUE(outcome.accepted) << outcome.message;
            EXPECT_EQ(outcome.units, 2u);
            EXPECT_EQ(outcome.ranges, 11u);
            EXPECT_EQ(outcome.memory_definitions, 3u);
        }
    }
}

}  // namespace
}  // namespace relay::tests
