// Today's reader reads every golden stream (tests/data/streams/README.md), and each one
// still holds what it held when it was made.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "migration_stream/features.hpp"
#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "tools/relay_dump/stream_file.hpp"
#include "tools/relay_dump/stream_json.hpp"

namespace relay::tests {
namespace {

namespace fbs = relay::schema;
using stream::Feature;
using stream::feature_mask;

constexpr const char* kDirectory = "tests/data/streams";

std::string path_of(const std::string& name) {
    return std::string(kDirectory) + "/" + name;
}

// Every golden stream and the checks of its content.
const std::set<std::string> kGoldens = {"v1.0-live-update", "v1.0-boot", "v1.1-live-update",
                                        "v1.2-live-update"};

TEST(GoldenStreams, EveryGoldenHasExpectations) {
    for (const auto& entry : std::filesystem::directory_iterator(kDirectory)) {
        if (entry.path().extension() == ".stream") {
            EXPECT_EQ(kGoldens.count(entry.path().stem().string()), 1u)
                << entry.path() << " has no expectations in golden_streams_test.cpp";
        }
    }
}

class GoldenStream : public ::testing::TestWithParam<std::string> {};

// The stream and the JSON it was made from still describe the same state.
TEST_P(GoldenStream, VerifiesAndMatchesItsJson) {
    auto bytes = tools::read_file(path_of(GetParam() + ".stream"));
    ASSERT_TRUE(bytes.ok()) << bytes.error().message();
    auto verified = stream::verify_stream(bytes->data(), bytes->size());
    ASSERT_TRUE(verified.ok()) << GetParam() << ": " << verified.error().message();

    auto json_text = tools::read_file(path_of(GetParam() + ".json"));
    ASSERT_TRUE(json_text.ok()) << json_text.error().message();
    const tools::StreamSchema& schema = tools::StreamSchema::embedded();
    auto rebuilt = schema.from_json(
        std::string(reinterpret_cast<const char*>(json_text->data()), json_text->size()));
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().message();
    tools::FileBytes rebuilt_payload = tools::copy_bytes(rebuilt->data(), rebuilt->size());
    auto from_stream = schema.to_json(verified->payload(), false);
    auto from_json = schema.to_json(rebuilt_payload.data(), false);
    ASSERT_TRUE(from_stream.ok() && from_json.ok());
    EXPECT_EQ(from_stream.value(), from_json.value());
}

INSTANTIATE_TEST_SUITE_P(All, GoldenStream, ::testing::ValuesIn(kGoldens),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string name = info.param;
                             for (char& c : name) {
                                 c = (c == '.' || c == '-') ? '_' : c;
                             }
                             return name;
                         });

struct Loaded {
    tools::FileBytes bytes;
};

stream::VerifiedStream load(Loaded& loaded, const std::string& name) {
    auto bytes = tools::read_file(path_of(name + ".stream"));
    EXPECT_TRUE(bytes.ok());
    loaded.bytes = std::move(bytes.value());
    auto verified = stream::verify_stream(loaded.bytes.data(), loaded.bytes.size());
    EXPECT_TRUE(verified.ok()) << verified.error().message();
    return verified.value();
}

TEST(GoldenStreams, V1_0LiveUpdateContent) {
    Loaded loaded;
    stream::VerifiedStream verified = load(loaded, "v1.0-live-update");
    stream::StreamReader reader(verified);
    EXPECT_EQ(reader.header().kind, stream::StreamKind::kLiveUpdate);
    EXPECT_EQ(reader.header().schema_major, 1);
    EXPECT_EQ(reader.header().schema_minor, 0);
    EXPECT_EQ(reader.header().required_features,
              feature_mask(Feature::kIommuState) | feature_mask(Feature::kXsaveState));
    EXPECT_EQ(reader.header().optional_features,
              feature_mask(Feature::kUpdateHistory) | feature_mask(Feature::kConsoleOutput));
    EXPECT_EQ(reader.producer().version()->str(), "relay 0.3.0 (sample)");
    ASSERT_EQ(reader.domains().size(), 2u);
    const fbs::Domain* dom1 = reader.find_domain(1);
    ASSERT_NE(dom1, nullptr);
    EXPECT_EQ(dom1->name()->str(), "guest-1");
    EXPECT_EQ(dom1->permissions(),
              fbs::DomainPermissions::Control | fbs::DomainPermissions::Hardware);
    EXPECT_EQ(dom1->lifecycle(), fbs::DomainLifecycle::Running);
    EXPECT_EQ(dom1->boot()->memory_kib(), 4096u);
    ASSERT_EQ(dom1->vcpus()->size(), 2u);
    const fbs::Vcpu* vcpu = dom1->vcpus()->Get(1);
    EXPECT_EQ(vcpu->rip(), 0xFFFFFFFF81001000ull);
    EXPECT_EQ(vcpu->cr3(), 0x101000u);
    EXPECT_EQ(vcpu->msrs()->lstar(), 0xFFFFFFFF81A00080ull);
    EXPECT_EQ(vcpu->lapic()->tsc_deadline(), 0x123456789ABDull);
    EXPECT_TRUE(vcpu->pending_event()->valid());
    EXPECT_EQ(vcpu->xsave()->size(), 832u);
    ASSERT_EQ(dom1->memory()->size(), 4u);
    EXPECT_EQ(dom1->memory()->Get(2)->host_phys(), 0x100200000u);
    EXPECT_EQ(dom1->console()->unsent_output()->size(), 27u);
    ASSERT_EQ(reader.iommu_units().size(), 1u);
    EXPECT_EQ(reader.iommu_units()[0]->assignments()->size(), 2u);
    ASSERT_EQ(reader.update_history().size(), 2u);
    EXPECT_EQ(reader.update_history()[1]->blackout_ns(), 10'681'000u);
    EXPECT_EQ(reader.update_history()[1]->phases(), nullptr);
}

TEST(GoldenStreams, V1_0BootContent) {
    Loaded loaded;
    stream::VerifiedStream verified = load(loaded, "v1.0-boot");
    stream::StreamReader reader(verified);
    EXPECT_EQ(reader.header().kind, stream::StreamKind::kBoot);
    EXPECT_EQ(reader.header().required_features, 0u);
    ASSERT_EQ(reader.domains().size(), 2u);
    for (const fbs::Domain* domain : reader.domains()) {
        EXPECT_EQ(domain->lifecycle(), fbs::DomainLifecycle::Configured);
        ASSERT_EQ(domain->vcpus()->size(), 1u);
        EXPECT_EQ(domain->vcpus()->Get(0)->run_state(), fbs::VcpuRunState::Reset);
        EXPECT_EQ(domain->vcpus()->Get(0)->rip(), 0xFFF0u);  // reset vector (default)
        EXPECT_EQ(domain->memory()->size(), 0u);
        EXPECT_EQ(domain->boot()->bootargs()->str(), "console=ttyS0 root=/dev/ram0 quiet");
    }
    EXPECT_EQ(reader.find_domain(2)->boot()->kernel()->mb_index(), 3u);
    EXPECT_EQ(reader.boot_modules().size(), 5u);
}

TEST(GoldenStreams, V1_1LiveUpdateContent) {
    Loaded loaded;
    stream::VerifiedStream verified = load(loaded, "v1.1-live-update");
    stream::StreamReader reader(verified);
    EXPECT_EQ(reader.header().schema_minor, 1);
    EXPECT_TRUE(reader.has_feature(Feature::kCetState));
    EXPECT_TRUE(reader.has_feature(Feature::kLargePages));
    EXPECT_TRUE(reader.has_feature(Feature::kUpdatePhases));
    ASSERT_EQ(reader.domains().size(), 3u);
    const fbs::Domain* dom3 = reader.find_domain(3);
    ASSERT_NE(dom3, nullptr);
    EXPECT_NE(dom3->vcpus()->Get(0)->cet(), nullptr);
    EXPECT_EQ(dom3->vcpus()->Get(0)->cet()->ssp(), 0xFFFFC90000004FF8ull);
    EXPECT_EQ(dom3->vcpus()->Get(1)->cet(), nullptr);
    EXPECT_EQ(dom3->memory()->Get(0)->page_size_log2(), 21);
    EXPECT_EQ(dom3->memory()->Get(2)->size(), 2 * MiB);
    ASSERT_EQ(reader.update_history()[0]->phases()->size(), 4u);
    EXPECT_EQ(reader.update_history()[0]->phases()->Get(2)->name()->str(), "kexec");
}

TEST(GoldenStreams, V1_2LiveUpdateContent) {
    Loaded loaded;
    stream::VerifiedStream verified = load(loaded, "v1.2-live-update");
    stream::StreamReader reader(verified);
    EXPECT_EQ(reader.header().schema_minor, 2);
    EXPECT_TRUE(reader.has_feature(Feature::kDeviceAssignment));
    EXPECT_TRUE(reader.has_feature(Feature::kIommuState));
    ASSERT_EQ(reader.domains().size(), 3u);
    const fbs::Domain* dom1 = reader.find_domain(1);
    ASSERT_NE(dom1, nullptr);
    ASSERT_NE(dom1->boot()->passthrough(), nullptr);
    ASSERT_EQ(dom1->boot()->passthrough()->size(), 1u);
    EXPECT_EQ(dom1->boot()->passthrough()->Get(0)->bdf(), 0x100u);  // 01:00.0
    const fbs::MemoryExtent* bar = dom1->memory()->Get(dom1->memory()->size() - 1);
    EXPECT_EQ(bar->guest_phys(), 0xFE000000u);
    EXPECT_EQ(bar->attributes() & fbs::ExtentAttributes::Mmio, fbs::ExtentAttributes::Mmio);
    EXPECT_EQ(reader.iommu_units()[0]->assignments()->Get(0)->bdf(), 0x100u);
}

}  // namespace
}  // namespace relay::tests
