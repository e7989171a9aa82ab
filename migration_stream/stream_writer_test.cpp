#include "migration_stream/stream_writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_size_bound.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "migration_stream/testing/sample_host_state.hpp"

namespace relay::stream {
namespace {

using testing::AlignedBytes;
using testing::SampleOptions;
namespace fbs = relay::schema;

TEST(StreamWriter, WritesAStreamTheVerifierAcceptsAndTheReaderReads) {
    SampleOptions options;
    std::vector<u8> bytes = testing::make_sample_stream(options);
    ASSERT_FALSE(bytes.empty());
    AlignedBytes stream(bytes);
    auto verified = verify_stream(stream.data(), stream.size);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    StreamReader reader(verified.value());
    EXPECT_EQ(reader.header().kind, StreamKind::kLiveUpdate);
    EXPECT_EQ(reader.header().schema_major, kSchemaMajor);
    EXPECT_EQ(reader.header().schema_minor, kSchemaMinor);
    EXPECT_EQ(reader.header().producer_build, testing::sample_build_id(0x42));
    EXPECT_EQ(reader.header().required_features,
              feature_mask(Feature::kIommuState) | feature_mask(Feature::kXsaveState));
    EXPECT_EQ(reader.header().optional_features, feature_mask(Feature::kUpdateHistory) |
                                                     feature_mask(Feature::kConsoleOutput) |
                                                     feature_mask(Feature::kUpdatePhases));
    ASSERT_EQ(reader.domains().size(), 2u);
    const fbs::Domain* second = reader.find_domain(2);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->name()->str(), "guest-2");
    EXPECT_EQ(reader.find_domain(3), nullptr);
    ASSERT_EQ(second->vcpus()->size(), 2u);
    const fbs::Vcpu* vcpu = second->vcpus()->Get(1);
    EXPECT_EQ(vcpu->rip(), 0xFFFFFFFF81001000ull);
    EXPECT_EQ(vcpu->run_state(), fbs::VcpuRunState::Halted);
    EXPECT_EQ(vcpu->gprs()->rax(), 1u);
    EXPECT_EQ(vcpu->pending_event()->vector(), 14);
    EXPECT_EQ(vcpu->lapic()->timer_mode(), fbs::ApicTimerMode::TscDeadline);
    EXPECT_EQ(vcpu->msrs()->lstar(), 0xFFFFFFFF81A00080ull);
    EXPECT_EQ(vcpu->xsave()->size(), 832u);
    ASSERT_EQ(second->memory()->size(), 4u);
    EXPECT_EQ(second->memory()->Get(3)->guest_phys(), 3 * MiB);
    EXPECT_EQ(reader.iommu_units().size(), 1u);
    EXPECT_EQ(reader.update_history().size(), 2u);
    EXPECT_EQ(reader.update_history()[1]->phases()->size(), 4u);
    EXPECT_TRUE(reader.has_feature(Feature::kIommuState));
    EXPECT_FALSE(reader.has_feature(Feature::kCetState));
}

TEST(StreamWriter, ReserveRefusesWhatDoesNotFitWithAnError) {
    std::vector<u64> scratch(512);  // 4 KiB
    StreamWriter writer(scratch.data(), scratch.size() * 8);
    usize bound = stream_size_bound(testing::sample_shape(SampleOptions{}));
    Status status = writer.reserve(bound);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfMemory);
    EXPECT_NE(std::string(status.error().message()).find("stream scratch memory exhausted"),
              std::string::npos);
    EXPECT_TRUE(writer.reserve(1024).ok());
}

// Writing past the scratch without reserve() is a producer bug: a panic, never a write
// beyond the caller's memory.
TEST(StreamWriterDeathTest, OverrunWithoutReservePanics) {
    EXPECT_DEATH(
        {
            std::vector<u64> scratch(64);  // 512 bytes
            StreamWriter writer(scratch.data(), scratch.size() * 8);
            std::string big(4096, 'x');
            writer.builder().CreateString(big);
        },
        "stream scratch exhausted");
}

TEST(StreamWriter, RefusesATooSmallOutputBuffer) {
    std::vector<u64> scratch(1 << 16);
    StreamWriter writer(scratch.data(), scratch.size() * 8);
    auto root = testing::build_sample_host_state(writer, SampleOptions{});
    std::vector<u8> output(256);
    auto written = writer.finish(root, StreamFields{}, output.data(), output.size());
    ASSERT_FALSE(written.ok());
    EXPECT_EQ(written.error().code(), ErrorCode::kOutOfMemory);
    EXPECT_NE(std::string(written.error().message()).find("256 given"), std::string::npos)
        << written.error().message();
    // The writer is spent; a second finish is refused rather than corrupting the builder.
    auto again = writer.finish(root, StreamFields{}, output.data(), output.size());
    ASSERT_FALSE(again.ok());
    EXPECT_NE(std::string(again.error().message()).find("already finished"), std::string::npos);
}

TEST(StreamWriter, WorksWithUnalignedScratch) {
    std::vector<u8> scratch(1 << 20);
    StreamWriter writer(scratch.data() + 3, scratch.size() - 3);
    auto root = testing::build_sample_host_state(writer, SampleOptions{});
    std::vector<u64> output(1 << 17);
    auto written =
        writer.finish(root, StreamFields{.producer_build = testing::sample_build_id(0x42)},
                      output.data(), output.size() * 8);
    ASSERT_TRUE(written.ok()) << written.error().message();
    EXPECT_TRUE(verify_stream(output.data(), written.value()).ok());
}

TEST(StreamWriter, ExtraFeatureBitsReachTheHeader) {
    std::vector<u64> scratch(1 << 16);
    StreamWriter writer(scratch.data(), scratch.size() * 8);
    auto root = testing::build_sample_host_state(writer, SampleOptions{});
    std::vector<u64> output(1 << 16);
    StreamFields fields;
    fields.kind = StreamKind::kExport;
    fields.extra_optional_features = u64{1} << 40;
    auto written = writer.finish(root, fields, output.data(), output.size() * 8);
    ASSERT_TRUE(written.ok());
    auto header = decode_stream_header(output.data(), written.value());
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->kind, StreamKind::kExport);
    EXPECT_NE(header->optional_features & (u64{1} << 40), 0u);
}

TEST(StreamWriter, PreviousMinorLeavesOutOptionalDataOfNewerMinors) {
    Error error;
    std::vector<u8> bytes = testing::make_sample_stream(SampleOptions{}, {.schema_minor = 0},
                                                        StreamKind::kLiveUpdate, &error);
    ASSERT_FALSE(bytes.empty()) << error.message();
    AlignedBytes stream(bytes);
    auto verified = verify_stream(stream.data(), stream.size);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    StreamReader reader(verified.value());
    EXPECT_EQ(reader.header().schema_minor, 0);
    EXPECT_FALSE(reader.has_feature(Feature::kUpdatePhases));
    EXPECT_TRUE(reader.has_feature(Feature::kUpdateHistory));
    ASSERT_EQ(reader.update_history().size(), 2u);
    EXPECT_EQ(reader.update_history()[0]->phases(), nullptr);
}

TEST(StreamWriter, PreviousMinorRefusesRequiredDataItCannotCarry) {
    SampleOptions options;
    options.cet = true;
    Error error;
    std::vector<u8> bytes =
        testing::make_sample_stream(options, {.schema_minor = 0}, StreamKind::kLiveUpdate, &error);
    // The sample producer honours writes() and leaves CET out; a producer that cannot
    // (the guest uses CET) must get a refusal, which a direct build shows:
    EXPECT_FALSE(bytes.empty());
    std::vector<u64> scratch(1 << 12);
    StreamWriter writer(scratch.data(), scratch.size() * 8, {.schema_minor = 0});
    auto& b = writer.builder();
    auto cet = fbs::CreateCetState(b, 1);
    fbs::VcpuBuilder vcpu(b);
    vcpu.add_cet(cet);
    auto vcpu_offset = vcpu.Finish();
    std::vector<flatbuffers::Offset<fbs::Vcpu>> vcpus = {vcpu_offset};
    auto domain = fbs::CreateDomain(b, 1, nullptr, 0, fbs::DomainPermissions::NONE,
                                    fbs::DomainFunctions::NONE, fbs::DomainMode::NONE, 0,
                                    fbs::DomainLifecycle::Running, fbs::ShutdownReason::None, 0,
                                    b.CreateVector(vcpus));
    std::vector<flatbuffers::Offset<fbs::Domain>> domains = {domain};
    auto root = fbs::CreateHostState(b, 0, 0, 0, 0, b.CreateVector(domains));
    std::vector<u64> output(1 << 12);
    auto written = writer.finish(root, StreamFields{}, output.data(), output.size() * 8);
    ASSERT_FALSE(written.ok());
    EXPECT_EQ(written.error().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(std::string(written.error().message()),
              "cannot write schema 1.0: the state needs required feature bit 3 (\"cet-state\") "
              "from schema 1.1, which 1.0 readers cannot resume");
}

TEST(StreamWriter, PreviousMinorCatchesAProducerThatIgnoresWrites) {
    std::vector<u64> scratch(1 << 12);
    StreamWriter writer(scratch.data(), scratch.size() * 8, {.schema_minor = 0});
    auto& b = writer.builder();
    std::vector<flatbuffers::Offset<fbs::UpdatePhase>> phases = {
        fbs::CreateUpdatePhase(b, b.CreateString("kexec"), 5)};
    std::vector<flatbuffers::Offset<fbs::UpdateRecord>> records = {fbs::CreateUpdateRecord(
        b, 1, nullptr, nullptr, 0, 0, 0, 0, fbs::UpdateOutcome::Completed, b.CreateVector(phases))};
    auto root = fbs::CreateHostState(b, 0, 0, 0, 0, 0, 0, b.CreateVector(records));
    std::vector<u64> output(1 << 12);
    auto written = writer.finish(root, StreamFields{}, output.data(), output.size() * 8);
    ASSERT_FALSE(written.ok());
    EXPECT_NE(std::string(written.error().message()).find("\"update-phase-timings\""),
              std::string::npos)
        << written.error().message();
}

TEST(StreamWriter, RefusesAMinorNewerThanThisBuild) {
    std::vector<u64> scratch(1 << 12);
    StreamWriter writer(scratch.data(), scratch.size() * 8, {.schema_minor = kSchemaMinor + 1});
    auto root = fbs::CreateHostState(writer.builder());
    std::vector<u64> output(1 << 12);
    EXPECT_FALSE(writer.finish(root, StreamFields{}, output.data(), output.size() * 8).ok());
}

TEST(WriteStream, WrapsAPayloadInPlaceOrCopiedButNotOverlapping) {
    std::vector<u8> sample = testing::make_sample_stream(SampleOptions{});
    std::vector<u8> payload(sample.begin() + kStreamHeaderSize, sample.end());
    auto header = decode_stream_header(sample.data(), sample.size());
    ASSERT_TRUE(header.ok());
    // In place: the payload already follows the header slot.
    AlignedBytes in_place(sample);
    auto written = write_stream(in_place.data() + kStreamHeaderSize, payload.size(), header.value(),
                                in_place.data(), in_place.size);
    ASSERT_TRUE(written.ok()) << written.error().message();
    EXPECT_TRUE(verify_stream(in_place.data(), written.value()).ok());
    // Overlapping elsewhere is refused.
    auto overlapping = write_stream(in_place.data() + 64, payload.size(), header.value(),
                                    in_place.data(), in_place.size);
    ASSERT_FALSE(overlapping.ok());
    EXPECT_EQ(overlapping.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace relay::stream
