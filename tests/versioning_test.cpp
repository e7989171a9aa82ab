// Versioning rules (docs/stream-format.md, "Versioning"): a newer minor is read with its
// unknown data ignored, an unknown required feature is refused with a message naming it,
// and writing the previous minor drops only optional data.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "migration_stream/features.hpp"
#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "migration_stream/testing/sample_host_state.hpp"
#include "tests/next_minor_stream.hpp"
#include "tools/relay_dump/stream_diff.hpp"
#include "tools/relay_dump/stream_file.hpp"
#include "tools/relay_dump/stream_json.hpp"

namespace relay::tests {
namespace {

using stream::testing::AlignedBytes;

TEST(Versioning, NewerMinorIsReadWithUnknownDataIgnored) {
    std::vector<uint8_t> bytes = make_next_minor_stream();
    ASSERT_FALSE(bytes.empty());
    AlignedBytes storage(bytes);
    auto verified = stream::verify_stream(storage.data(), storage.size);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    stream::StreamReader reader(verified.value());
    EXPECT_EQ(reader.header().schema_minor, 2);
    EXPECT_NE(reader.header().optional_features & (uint64_t{1} << kNextMinorOptionalBit), 0u);
    const schema::Domain* domain = reader.find_domain(7);
    ASSERT_NE(domain, nullptr);
    EXPECT_EQ(domain->name()->str(), "numa-guest");
    EXPECT_EQ(domain->tsc_frequency_khz(), 2'400'000u);  // the field before the new ones
    EXPECT_EQ(domain->vcpus()->Get(0)->rip(), 0xFFFFFFFF81000000ull);
    // Today's JSON has no trace of the unknown field and table.
    auto json = tools::StreamSchema::embedded().to_json(verified->payload(), false);
    ASSERT_TRUE(json.ok());
    EXPECT_EQ(json->find("numa_node"), std::string::npos);
    EXPECT_EQ(json->find("balloon"), std::string::npos);
    EXPECT_NE(json->find("numa-guest"), std::string::npos);
}

TEST(Versioning, UnknownRequiredFeatureIsRefusedByNumber) {
    std::vector<uint8_t> bytes = stream::testing::edit_header(
        make_next_minor_stream(),
        [](stream::StreamHeader& header) { header.required_features |= uint64_t{1} << 5; });
    AlignedBytes storage(bytes);
    auto verified = stream::verify_stream(storage.data(), storage.size);
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(std::string(verified.error().message()), "unknown required feature bit 5");
}

// A 1.0 reader given today's stream that uses CET: refused, naming the feature (the
// pre-flight runs this check in the newer build, which knows the name).
TEST(Versioning, RequiredFeatureUnknownToAnOlderReaderIsRefusedByName) {
    auto bytes = tools::read_file("tests/data/streams/v1.1-live-update.stream");
    ASSERT_TRUE(bytes.ok()) << bytes.error().message();
    stream::CompatibilityNote reader_1_0 = stream::this_build_compatibility_note();
    reader_1_0.schema_minor = 0;
    reader_1_0.known_required_features =
        stream::known_feature_mask(stream::FeatureClass::kRequired, 0);
    stream::VerifyOptions options;
    options.reader = reader_1_0;
    auto verified = stream::verify_stream(bytes->data(), bytes->size(), options);
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(verified.error().message()).find("bit 3 (\"cet-state\""),
              std::string::npos)
        << verified.error().message();
}

// The same state written as 1.1 and as 1.0 differs only in optional 1.1 data (update
// phase timings) and the header fields that describe it.
TEST(Versioning, WritingThePreviousMinorDropsOnlyOptionalData) {
    stream::testing::SampleOptions options;  // includes phases, no CET
    AlignedBytes current(stream::testing::make_sample_stream(options));
    AlignedBytes previous(stream::testing::make_sample_stream(options, {.schema_minor = 0}));
    auto a = stream::verify_stream(current.data(), current.size);
    auto b = stream::verify_stream(previous.data(), previous.size);
    ASSERT_TRUE(a.ok()) << a.error().message();
    ASSERT_TRUE(b.ok()) << b.error().message();
    EXPECT_EQ(b->header().schema_minor, 0);
    EXPECT_EQ(b->header().required_features, a->header().required_features);
    std::vector<std::string> lines = tools::diff_streams(a.value(), b.value());
    bool dropped_phases = false;
    for (const std::string& line : lines) {
        bool header = line.rfind("header.schema:", 0) == 0 ||
                      line.rfind("header.optional_features:", 0) == 0 ||
                      line.rfind("header.payload_size:", 0) == 0;
        bool phases = line.find(".phases") != std::string::npos;
        dropped_phases = dropped_phases || phases;
        EXPECT_TRUE(header || phases) << "unexpected difference: " << line;
    }
    EXPECT_TRUE(dropped_phases);
    EXPECT_NE(std::find(lines.begin(), lines.end(),
                        "header.optional_features: update-history,console-output,update-phase-"
                        "timings -> update-history,console-output"),
              lines.end());
}

}  // namespace
}  // namespace relay::tests
