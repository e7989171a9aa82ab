// Replays the ACPI fuzzer's corpus (tests/fuzz/corpus/acpi/) through the fuzz body and its
// contract, so a bug the fuzzer found stays fixed. Runs under ASan/UBSan with
// `bazel test --config=sanitize`.
#include <gtest/gtest.h>

#include "tests/fuzz/acpi_fuzz_target.hpp"
#include "tests/fuzz/corpus_files.hpp"

namespace relay::tests {
namespace {

TEST(AcpiCorpusReplay, EveryInputKeepsTheContract) {
    std::vector<CorpusFile> files = corpus_files("tests/fuzz/corpus/acpi");
    ASSERT_GE(files.size(), 2u);
    for (const CorpusFile& file : files) {
        SCOPED_TRACE(file.name);
        AcpiFuzzOutcome outcome = fuzz_acpi_once(file.bytes.data(), file.bytes.size());
        if (file.name == "seed-acpi-xsdt") {
            EXPECT_TRUE(outcome.accepted) << outcome.message;
            EXPECT_EQ(outcome.cpus, 3u);  // APIC IDs 0 and 1, x2APIC ID 0x100
            EXPECT_EQ(outcome.tables, 2u);
        } else if (file.name == "seed-acpi-rsdt-from-loader") {
            EXPECT_TRUE(outcome.accepted) << outcome.message;
            EXPECT_EQ(outcome.cpus, 4u);
            EXPECT_EQ(outcome.tables, 1u);
        }
    }
}

}  // namespace
}  // namespace relay::tests
