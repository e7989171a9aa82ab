// Replays the multiboot1 and multiboot2 fuzzers' corpora (tests/fuzz/corpus/multiboot1/,
// multiboot2/) through the fuzz body and its contract, so a bug the fuzzers found stays
// fixed. Runs under ASan/UBSan with `bazel test --config=sanitize`.
#include <gtest/gtest.h>

#include <string>

#include "tests/fuzz/corpus_files.hpp"
#include "tests/fuzz/multiboot_fuzz_target.hpp"

namespace relay::tests {
namespace {

struct Seed {
    const char* name;
    std::size_t modules;
};

void replay(MultibootFuzzProtocol protocol, const std::string& directory,
            std::initializer_list<Seed> seeds) {
    std::vector<CorpusFile> files = corpus_files(directory);
    ASSERT_GE(files.size(), seeds.size());
    for (const CorpusFile& file : files) {
        SCOPED_TRACE(file.name);
        MultibootFuzzOutcome outcome =
            fuzz_multiboot_once(protocol, file.bytes.data(), file.bytes.size());
        for (const Seed& seed : seeds) {
            if (file.name == seed.name) {
                // Well-formed information from a real loader is accepted as it is.
                EXPECT_TRUE(outcome.accepted) << outcome.message;
                EXPECT_EQ(outcome.modules, seed.modules);
                EXPECT_GT(outcome.memory_regions, 0u);
            }
        }
    }
}

TEST(MultibootCorpusReplay, Multiboot1) {
    replay(MultibootFuzzProtocol::kMultiboot1, "tests/fuzz/corpus/multiboot1",
           {{"seed-multiboot1-qemu", 3}, {"seed-multiboot1-minimal", 0}});
}

TEST(MultibootCorpusReplay, Multiboot2) {
    replay(MultibootFuzzProtocol::kMultiboot2, "tests/fuzz/corpus/multiboot2",
           {{"seed-multiboot2-grub", 2}, {"seed-multiboot2-live-update", 1}});
}

// Byte 0 == 3 makes the "loader" leave an unknown magic: refused as such whatever follows.
TEST(MultibootCorpusReplay, UnknownMagicIsRefused) {
    for (const char* directory : {"tests/fuzz/corpus/multiboot1", "tests/fuzz/corpus/multiboot2"}) {
        for (CorpusFile& file : corpus_files(directory)) {
            file.bytes[0] = 3;
            for (MultibootFuzzProtocol protocol :
                 {MultibootFuzzProtocol::kMultiboot1, MultibootFuzzProtocol::kMultiboot2}) {
                MultibootFuzzOutcome outcome =
                    fuzz_multiboot_once(protocol, file.bytes.data(), file.bytes.size());
                EXPECT_FALSE(outcome.accepted) << file.name;
            }
        }
    }
}

}  // namespace
}  // namespace relay::tests
