// Replays the stream fuzzer's seeds (the golden streams and make_seeds.py's bare payloads)
// and every committed crash regression (tests/fuzz/corpus/stream/) through the fuzz body,
// so a bug the fuzzer found stays fixed. Runs under ASan/UBSan with
// `bazel test --config=sanitize`.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "migration_stream/stream_verifier.hpp"
#include "migration_stream/testing/sample_host_state.hpp"
#include "tests/fuzz/stream_fuzz_target.hpp"
#include "tools/relay_dump/stream_file.hpp"

namespace relay::tests {
namespace {

std::vector<std::string> inputs() {
    std::vector<std::string> paths;
    for (const char* directory : {"tests/fuzz/corpus/stream", "tests/data/streams"}) {
        for (const auto& entry : std::filesystem::directory_iterator(directory)) {
            std::string name = entry.path().filename().string();
            if (entry.is_regular_file() && name != "README.md" &&
                entry.path().extension() != ".json" && entry.path().extension() != ".sh") {
                paths.push_back(entry.path().string());
            }
        }
    }
    return paths;
}

TEST(FuzzCorpusReplay, EveryInputRunsCleanAndGoldensVerify) {
    std::vector<std::string> paths = inputs();
    ASSERT_GE(paths.size(), 3u);
    for (const std::string& path : paths) {
        auto bytes = tools::read_file(path);
        ASSERT_TRUE(bytes.ok()) << bytes.error().message();
        int verified = fuzz_stream_once(bytes->data(), bytes->size());
        if (path.find("tests/data/streams/") == 0) {
            EXPECT_EQ(verified, 2) << path << " (as is and with its digest recomputed)";
        }
    }
}

// Regressions that would pass silently without sanitizers: each crash input, with its
// digest recomputed as the fuzzer does, is refused for the reason that was fixed.
TEST(FuzzCorpusReplay, CrashInputsAreRefusedForTheFixedReason) {
    struct Expectation {
        const char* file;
        const char* message_part;
    };
    for (Expectation expectation : {
             Expectation{"crash-non-utf8-string", "is not valid UTF-8"},
             Expectation{"crash-misaligned-struct-vector", "vector is not 8-byte aligned"},
         }) {
        auto bytes = tools::read_file(std::string("tests/fuzz/corpus/stream/") + expectation.file);
        ASSERT_TRUE(bytes.ok()) << bytes.error().message();
        std::vector<u8> input(bytes->data(), bytes->data() + bytes->size());
        std::vector<u8> rewrapped =
            stream::testing::edit_header(input, [](stream::StreamHeader&) {});
        ASSERT_FALSE(rewrapped.empty()) << expectation.file;
        stream::testing::AlignedBytes aligned(rewrapped);
        auto verified = stream::verify_stream(aligned.data(), aligned.size);
        ASSERT_FALSE(verified.ok()) << expectation.file;
        EXPECT_NE(std::string(verified.error().message()).find(expectation.message_part),
                  std::string::npos)
            << expectation.file << ": " << verified.error().message();
    }
}

}  // namespace
}  // namespace relay::tests
