#include "migration_stream/stream_verifier.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "migration_stream/features.hpp"
#include "migration_stream/testing/sample_host_state.hpp"

namespace relay::stream {
namespace {

using testing::AlignedBytes;
using testing::SampleOptions;
namespace fbs = relay::schema;

const std::vector<u8>& sample() {
    static const std::vector<u8> bytes = testing::make_sample_stream(SampleOptions{});
    return bytes;
}

Result<VerifiedStream> verify_bytes(const std::vector<u8>& bytes, AlignedBytes& storage) {
    storage = AlignedBytes(bytes);
    return verify_stream(storage.data(), storage.size);
}

void expect_refused(const std::vector<u8>& bytes, ErrorCode code, const std::string& part) {
    ASSERT_FALSE(bytes.empty()) << "the mutation did not apply";
    AlignedBytes storage;
    auto verified = verify_bytes(bytes, storage);
    ASSERT_FALSE(verified.ok()) << "accepted; expected: " << part;
    EXPECT_EQ(verified.error().code(), code) << verified.error().message();
    EXPECT_NE(std::string(verified.error().message()).find(part), std::string::npos)
        << "message: " << verified.error().message() << "\nexpected part: " << part;
}

TEST(StreamVerifier, AcceptsAWellFormedStream) {
    AlignedBytes storage;
    auto verified = verify_bytes(sample(), storage);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    EXPECT_EQ(verified->stream_size(), sample().size());
    EXPECT_EQ(verified->host_state().domains()->size(), 2u);
}

TEST(StreamVerifier, AcceptsABootStreamOfConfiguredDomains) {
    SampleOptions options;
    options.lifecycle = fbs::DomainLifecycle::Configured;
    options.iommu = false;
    AlignedBytes storage;
    auto verified =
        verify_bytes(testing::make_sample_stream(options, {}, StreamKind::kBoot), storage);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    EXPECT_EQ(verified->header().kind, StreamKind::kBoot);
}

TEST(StreamVerifier, RefusesMisalignedInput) {
    std::vector<u64> storage(sample().size() / 8 + 2);
    u8* misaligned = reinterpret_cast<u8*>(storage.data()) + 4;
    std::copy(sample().begin(), sample().end(), misaligned);
    auto verified = verify_stream(misaligned, sample().size());
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().code(), ErrorCode::kInvalidArgument);
}

TEST(StreamVerifier, RefusesTruncatedStreams) {
    std::vector<u8> cut(sample().begin(), sample().end() - 1);
    expect_refused(cut, ErrorCode::kTruncated, "follow the header");
}

TEST(StreamVerifier, RefusesDigestMismatch) {
    std::vector<u8> flipped = sample();
    flipped[kStreamHeaderSize + 100] ^= 0x40;
    expect_refused(flipped, ErrorCode::kDigestMismatch, "digest mismatch");
    std::vector<u8> header_flipped = sample();
    header_flipped[header_offset::kOptionalFeatures] ^= 0x80;  // still compatible, not hashed
    expect_refused(header_flipped, ErrorCode::kDigestMismatch, "digest mismatch");
}

TEST(StreamVerifier, RefusesUnknownMajorAndUnknownRequiredFeatures) {
    expect_refused(testing::edit_header(sample(), [](StreamHeader& h) { h.schema_major = 2; }),
                   ErrorCode::kVersionMismatch, "unknown schema major: stream schema 2.2");
    expect_refused(testing::edit_header(
                       sample(), [](StreamHeader& h) { h.required_features |= u64{1} << 37; }),
                   ErrorCode::kUnsupported, "unknown required feature bit 37");
}

TEST(StreamVerifier, IgnoresUnknownOptionalFeatures) {
    AlignedBytes storage;
    auto verified =
        verify_bytes(testing::edit_header(
                         sample(), [](StreamHeader& h) { h.optional_features |= u64{1} << 50; }),
                     storage);
    EXPECT_TRUE(verified.ok()) << verified.error().message();
}

TEST(StreamVerifier, RefusesAPayloadOfAnotherKind) {
    std::vector<u8> other = testing::edit_header(sample(), [](StreamHeader&) {});
    // Change the FlatBuffers file identifier (payload bytes 4..7) and re-digest.
    auto header = decode_stream_header(other.data(), other.size());
    other[kStreamHeaderSize + 4] = 'X';
    AlignedBytes payload(std::vector<u8>(other.begin() + kStreamHeaderSize, other.end()));
    std::vector<u8> rewrapped(other.size());
    ASSERT_TRUE(write_stream(payload.data(), payload.size, header.value(), rewrapped.data(),
                             rewrapped.size())
                    .ok());
    expect_refused(rewrapped, ErrorCode::kCorrupt, "file identifier is not \"RLYS\"");
}

TEST(StreamVerifier, RefusesPayloadsTheFlatBuffersVerifierRejects) {
    std::vector<u8> broken = sample();
    // The root offset (payload bytes 0..3) pointing past the end.
    broken[kStreamHeaderSize + 2] = 0x7F;
    auto header = decode_stream_header(broken.data(), broken.size());
    AlignedBytes payload(std::vector<u8>(broken.begin() + kStreamHeaderSize, broken.end()));
    std::vector<u8> rewrapped(broken.size());
    ASSERT_TRUE(write_stream(payload.data(), payload.size, header.value(), rewrapped.data(),
                             rewrapped.size())
                    .ok());
    expect_refused(rewrapped, ErrorCode::kCorrupt, "failed FlatBuffers verification");
}

TEST(StreamVerifier, EnforcesDepthTableAndSizeLimits) {
    AlignedBytes storage(sample());
    VerifyOptions options;
    std::vector<u64> work(1 << 12);
    options.work_memory = work.data();
    options.work_memory_size = work.size() * 8;
    options.limits.max_depth = 3;
    auto shallow = verify_stream(storage.data(), storage.size, options);
    ASSERT_FALSE(shallow.ok());
    EXPECT_EQ(shallow.error().code(), ErrorCode::kOutOfRange);
    EXPECT_NE(std::string(shallow.error().message()).find("depth 3"), std::string::npos);

    options.limits = kDefaultStreamLimits;
    options.limits.max_tables = 10;
    auto few_tables = verify_stream(storage.data(), storage.size, options);
    ASSERT_FALSE(few_tables.ok());
    EXPECT_NE(std::string(few_tables.error().message()).find("10 tables"), std::string::npos);

    options.limits = kDefaultStreamLimits;
    options.limits.max_payload_bytes = 1024;
    auto big = verify_stream(storage.data(), storage.size, options);
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().code(), ErrorCode::kOutOfRange);

    options.limits = kDefaultStreamLimits;
    options.limits.max_vcpus_per_domain = 1;
    auto vcpus = verify_stream(storage.data(), storage.size, options);
    ASSERT_FALSE(vcpus.ok());
    EXPECT_NE(std::string(vcpus.error().message()).find("declares 2 vCPUs; must be 1 to 1"),
              std::string::npos)
        << vcpus.error().message();
}

TEST(StreamVerifier, SaysHowMuchWorkMemoryItNeeds) {
    AlignedBytes storage(sample());
    VerifyOptions options;
    auto verified = verify_stream(storage.data(), storage.size, options);
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().code(), ErrorCode::kOutOfMemory);
    // 8 extents + 5 preserved ranges.
    EXPECT_NE(std::string(verified.error().message())
                  .find("8 extents and 5 preserved ranges need " +
                        std::to_string(verify_work_bytes(8, 5)) + " bytes"),
              std::string::npos)
        << verified.error().message();
    std::vector<u64> work(verify_work_bytes(8, 5) / 8);
    options.work_memory = work.data();
    options.work_memory_size = work.size() * 8;
    EXPECT_TRUE(verify_stream(storage.data(), storage.size, options).ok());
}

TEST(StreamVerifier, RefusesContentThatNeedsAnUnsetRequiredBit) {
    expect_refused(
        testing::edit_header(
            sample(),
            [](StreamHeader& h) { h.required_features = feature_mask(Feature::kIommuState); }),
        ErrorCode::kCorrupt,
        "domain 1 (\"guest-1\"): vCPU 0: carries an XSAVE area but required feature "
        "bit 1 (\"xsave-state\") is not set");
    expect_refused(
        testing::edit_header(
            sample(),
            [](StreamHeader& h) { h.required_features = feature_mask(Feature::kXsaveState); }),
        ErrorCode::kCorrupt, "IOMMU units but required feature bit 0");
    SampleOptions large;
    large.large_pages = true;
    expect_refused(
        testing::edit_header(
            testing::make_sample_stream(large),
            [](StreamHeader& h) { h.required_features &= ~feature_mask(Feature::kLargePages); }),
        ErrorCode::kCorrupt, "extent 0 uses 2^21-byte pages but required feature bit 2");
    SampleOptions cet;
    cet.cet = true;
    expect_refused(
        testing::edit_header(
            testing::make_sample_stream(cet),
            [](StreamHeader& h) { h.required_features &= ~feature_mask(Feature::kCetState); }),
        ErrorCode::kCorrupt,
        "domain 1 (\"guest-1\"): vCPU 0: carries CET state but required feature bit 3 "
        "(\"cet-state\") is not set");
}

TEST(StreamVerifier, RefusesAProducerBuildThatDiffersFromTheHeader) {
    expect_refused(
        testing::edit_header(sample(), [](StreamHeader& h) { h.producer_build.bytes[5] ^= 1; }),
        ErrorCode::kCorrupt, "producer build id differs from the header's at byte 5");
}

fbs::Domain& domain(fbs::HostState& state, u32 index) {
    return *state.mutable_domains()->GetMutableObject(index);
}

fbs::Vcpu& vcpu(fbs::HostState& state, u32 domain_index, u32 vcpu_index) {
    return *domain(state, domain_index).mutable_vcpus()->GetMutableObject(vcpu_index);
}

fbs::MemoryExtent& extent(fbs::HostState& state, u32 domain_index, u32 extent_index) {
    return *const_cast<fbs::MemoryExtent*>(
        domain(state, domain_index).mutable_memory()->Get(extent_index));
}

TEST(StreamVerifier, AcceptsTscFrequenciesAtTheLimitsAndUnrecorded) {
    for (u64 khz : {u64{0}, kMinTscKhz, kMaxTscKhz}) {
        std::vector<u8> bytes = testing::mutate_payload(sample(), [&](fbs::HostState& s) {
            return s.mutate_host_tsc_frequency_khz(khz) &&
                   domain(s, 0).mutate_tsc_frequency_khz(khz);
        });
        ASSERT_FALSE(bytes.empty());
        AlignedBytes storage;
        auto verified = verify_bytes(bytes, storage);
        EXPECT_TRUE(verified.ok()) << khz << ": " << verified.error().message();
    }
}

struct SemanticCase {
    const char* name;
    std::function<bool(fbs::HostState&)> mutate;
    const char* message_part;
};

class SemanticRefusal : public ::testing::TestWithParam<SemanticCase> {};

TEST_P(SemanticRefusal, NamesWhatIsWrong) {
    const SemanticCase& c = GetParam();
    expect_refused(testing::mutate_payload(sample(), c.mutate), ErrorCode::kCorrupt,
                   c.message_part);
}

// Each case changes exactly one stored field of the sample (domids 1 and 2, 2 vCPUs and
// 4 one-MiB extents each, one IOMMU unit).
INSTANTIATE_TEST_SUITE_P(
    Cases, SemanticRefusal,
    ::testing::Values(
        SemanticCase{"duplicate_domid",
                     [](fbs::HostState& s) { return domain(s, 1).mutate_domid(1); },
                     "domid 1 is not unique: domains 0 and 1 both use it"},
        SemanticCase{"unsorted_domids",
                     [](fbs::HostState& s) { return domain(s, 0).mutate_domid(5); },
                     "domains are not sorted by domid: domid 2 (domain 1) follows domid 5"},
        SemanticCase{"reserved_domid",
                     [](fbs::HostState& s) { return domain(s, 1).mutate_domid(0x7FF1); },
                     "domid 0x7ff1 is reserved"},
        SemanticCase{"vcpu_count",
                     [](fbs::HostState& s) { return domain(s, 1).mutable_boot()->mutate_cpus(3); },
                     "domain 2 (\"guest-2\"): has 2 vCPUs but its boot config declares 3"},
        SemanticCase{"vcpu_id", [](fbs::HostState& s) { return vcpu(s, 0, 1).mutate_id(5); },
                     "domain 1 (\"guest-1\"): vCPU 1: id is 5, must equal its position 1"},
        SemanticCase{"run_state",
                     [](fbs::HostState& s) {
                         return vcpu(s, 0, 0).mutate_run_state(static_cast<fbs::VcpuRunState>(9));
                     },
                     "vCPU 0: unknown run state 9"},
        SemanticCase{"configured_but_running",
                     [](fbs::HostState& s) {
                         return domain(s, 0).mutate_lifecycle(fbs::DomainLifecycle::Configured);
                     },
                     "vCPU 0: run state is Running but the domain is configured"},
        SemanticCase{"xcr0", [](fbs::HostState& s) { return vcpu(s, 1, 0).mutate_xcr0(0x5); },
                     "XCR0 0x5 is not a value XSETBV accepts"},
        SemanticCase{"exception_vector",
                     [](fbs::HostState& s) {
                         return const_cast<fbs::EventInjection*>(vcpu(s, 0, 1).pending_event())
                                    ->mutate_vector(40),
                                true;
                     },
                     "pending exception has vector 40"},
        SemanticCase{"lapic_timer_mode",
                     [](fbs::HostState& s) {
                         return vcpu(s, 0, 0).mutable_lapic()->mutate_timer_mode(
                             fbs::ApicTimerMode::Periodic);
                     },
                     "local APIC timer mode is Periodic but LVT timer 0x400ec selects mode 2"},
        SemanticCase{"permission_bits",
                     [](fbs::HostState& s) {
                         return domain(s, 0).mutate_permissions(
                             static_cast<fbs::DomainPermissions>(0x23));
                     },
                     "domain 1 (\"guest-1\"): unknown permission bits 0x20"},
        SemanticCase{
            "guest_overlap",
            [](fbs::HostState& s) { return extent(s, 0, 2).mutate_guest_phys(0x100000), true; },
            "extent 2 at guest 0x100000 overlaps or precedes extent 1"},
        SemanticCase{
            "misaligned_extent",
            [](fbs::HostState& s) {
                return extent(s, 1, 1).mutate_host_phys(extent(s, 1, 1).host_phys() + 0x800), true;
            },
            "extent 1: guest 0x100000, host 0x100500800, size 0x100000 are not all aligned"},
        SemanticCase{
            "bad_page_size",
            [](fbs::HostState& s) { return extent(s, 1, 0).mutate_page_size_log2(13), true; },
            "extent 0: page size 2^13 is not 4 KiB, 2 MiB or 1 GiB"},
        SemanticCase{
            "outside_preserved",
            [](fbs::HostState& s) { return extent(s, 1, 3).mutate_host_phys(0x7000000000), true; },
            "domain 2 (\"guest-2\"): extent 3 host [0x7000000000, 0x70000fffff] is not inside "
            "a guest-RAM preserved range of domid 2"},
        SemanticCase{"other_domains_ram",
                     [](fbs::HostState& s) {
                         return extent(s, 1, 0).mutate_host_phys(extent(s, 0, 0).host_phys()), true;
                     },
                     "extent 0 host [0x100000000, 0x1000fffff] is not inside a guest-RAM preserved "
                     "range of domid 2"},
        SemanticCase{"host_mapped_twice",
                     [](fbs::HostState& s) {
                         return extent(s, 0, 3).mutate_host_phys(extent(s, 0, 1).host_phys()), true;
                     },
                     "host memory mapped twice: domain 1 (\"guest-1\") extent 1 [0x100100000, "
                     "0x1001fffff] overlaps domain 1 extent 3"},
        SemanticCase{
            "more_than_declared",
            [](fbs::HostState& s) { return domain(s, 0).mutable_boot()->mutate_memory_kib(2048); },
            "RAM extents up to extent 2 add up to 0x300000 bytes, more than the declared "
            "2048 KiB"},
        SemanticCase{"preserved_overlap",
                     [](fbs::HostState& s) {
                         auto* ranges = s.mutable_preserved_ranges();
                         const_cast<fbs::PreservedRange*>(ranges->Get(4))
                             ->mutate_base(ranges->Get(1)->base() + 0x1000);
                         return true;
                     },
                     "preserved ranges 1 [0x100000000, 0x1003fffff] and 4 [0x100001000, "},
        SemanticCase{"preserved_in_target_half",
                     [](fbs::HostState& s) {
                         // The target's (upper) half moves onto the producer's image.
                         return s.mutable_handover()->mutate_base(96 * MiB);
                     },
                     "preserved range 4 [0x8000000, 0x9ffffff] lies in the target's half of the "
                     "handover region"},
        SemanticCase{"boot_module_not_preserved",
                     [](fbs::HostState& s) {
                         auto* ranges = s.mutable_preserved_ranges();
                         const_cast<fbs::PreservedRange*>(ranges->Get(0))
                             ->mutate_kind(fbs::PreservedRangeKind::Stream);
                         return true;
                     },
                     "boot module 0 [0x1000000, 0x1000fff] is not inside a boot-module preserved "
                     "range"},
        SemanticCase{"assignment_to_missing_domain",
                     [](fbs::HostState& s) {
                         auto* unit = s.mutable_iommu()->mutable_units()->GetMutableObject(0);
                         return unit->mutable_assignments()->GetMutableObject(1)->mutate_domid(99);
                     },
                     "IOMMU unit 0: device 01:01.0 is assigned to domid 99, which is not in the "
                     "stream"},
        SemanticCase{
            "iommu_root_outside",
            [](fbs::HostState& s) {
                auto* unit = s.mutable_iommu()->mutable_units()->GetMutableObject(0);
                return unit->mutable_assignments()->GetMutableObject(0)->mutate_page_table_root(
                    0x1000);
            },
            "device 01:00.0: page table root 0x1000 is not a page inside an IOMMU-tables "
            "preserved range"},
        SemanticCase{"non_utf8_name",
                     [](fbs::HostState& s) {
                         // An overlong encoding of '/' (RFC 3629 forbids it).
                         char* name = const_cast<char*>(domain(s, 1).name()->data());
                         name[0] = '\xC0';
                         name[1] = '\xAF';
                         return true;
                     },
                     "domain 2: name is not valid UTF-8"},
        SemanticCase{"host_tsc_too_slow",
                     [](fbs::HostState& s) { return s.mutate_host_tsc_frequency_khz(999); },
                     "host TSC frequency 999 kHz is outside 1000 kHz to 8388607 kHz (0: not "
                     "recorded)"},
        SemanticCase{
            "guest_tsc_too_fast",
            [](fbs::HostState& s) { return domain(s, 1).mutate_tsc_frequency_khz(8'388'608); },
            "domain 2 (\"guest-2\"): guest TSC frequency 8388608 kHz is outside"},
        SemanticCase{
            "history_order",
            [](fbs::HostState&
                   s) { return s.mutable_update_history()->GetMutableObject(1)->mutate_sequence(1); },
            "update history: record 1 has sequence 1, not after 1"}),
    [](const ::testing::TestParamInfo<SemanticCase>& info) {
        return std::string(info.param.name);
    });

// Issue 7: a stream must not give a domain the reading hypervisor's own memory (its image,
// the handover region, the stream). The sample's domain 1 has 4 MiB at 4 GiB, domain 2 the
// next 4 MiB; host tools pass no hypervisor ranges and accept the same stream.
Result<VerifiedStream> verify_with_hypervisor(const std::vector<u8>& bytes, AlignedBytes& storage,
                                              u64 base, u64 size, const char* what) {
    VerifyOptions options;
    EXPECT_TRUE(options.add_hypervisor_range(0x200000, 0x200000, "this build's image"));
    EXPECT_TRUE(options.add_hypervisor_range(base, size, what));
    storage = AlignedBytes(bytes);
    return StreamVerifier(options).verify_allocating(storage.data(), storage.size);
}

void expect_hypervisor_refusal(const std::vector<u8>& bytes, u64 base, u64 size, const char* what,
                               const std::string& part) {
    ASSERT_FALSE(bytes.empty()) << "the mutation did not apply";
    AlignedBytes storage;
    auto verified = verify_with_hypervisor(bytes, storage, base, size, what);
    ASSERT_FALSE(verified.ok()) << "accepted; expected: " << part;
    EXPECT_EQ(verified.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(std::string(verified.error().message()).find(part), std::string::npos)
        << "message: " << verified.error().message() << "\nexpected part: " << part;
}

TEST(StreamVerifier, AcceptsGuestMemoryClearOfTheHypervisor) {
    AlignedBytes storage;
    auto verified =
        verify_with_hypervisor(sample(), storage, 0x8000000, 0x4000000, "the handover region");
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    // Right next to domain 2's last byte is still clear.
    auto adjacent = verify_with_hypervisor(sample(), storage, 0x100800000, 0x1000, "the stream");
    ASSERT_TRUE(adjacent.ok()) << adjacent.error().message();
}

TEST(StreamVerifier, RefusesAnExtentInTheHypervisorsImage) {
    // Domain 2's last extent moved onto the image (outside every preserved range too: the
    // hypervisor's memory is what the message names).
    expect_hypervisor_refusal(
        testing::mutate_payload(
            sample(),
            [](fbs::HostState& s) { return extent(s, 1, 3).mutate_host_phys(0x300000), true; }),
        0x8000000, 0x4000000, "the handover region",
        "domain 2 (\"guest-2\"): extent 3 host [0x300000, 0x3fffff] overlaps hypervisor memory: "
        "this build's image [0x200000, +0x200000)");
}

TEST(StreamVerifier, RefusesDeviceMemoryInTheHypervisorsImage) {
    // A device-memory (MMIO) extent is mapped into the guest as well: it must not give it
    // the hypervisor's memory either.
    expect_hypervisor_refusal(
        testing::mutate_payload(sample(),
                                [](fbs::HostState& s) {
                                    fbs::MemoryExtent& e = extent(s, 1, 3);
                                    e.mutate_attributes(fbs::ExtentAttributes::Mmio);
                                    return e.mutate_host_phys(0x300000), true;
                                }),
        0x8000000, 0x4000000, "the handover region",
        "domain 2 (\"guest-2\"): MMIO extent 3 host [0x300000, 0x3fffff] overlaps hypervisor "
        "memory: this build's image [0x200000, +0x200000)");
}

TEST(StreamVerifier, RefusesGuestMemoryInTheHandoverRegionOrTheStream) {
    // A stream whose preserved guest RAM (and so its extents) is where this hypervisor put
    // its handover region, or the stream itself: refused at the preserved range.
    expect_hypervisor_refusal(sample(), 0x100100000, 0x100000, "the handover region",
                              "preserved range 1 (GuestRam of domid 1) [0x100000000, 0x1003fffff] "
                              "overlaps hypervisor memory: the handover region [0x100100000, "
                              "+0x100000)");
    expect_hypervisor_refusal(
        sample(), 0x1007ff000, 0x2000, "the state stream",
        "(GuestRam of domid 2) [0x100400000, 0x1007fffff] overlaps hypervisor "
        "memory: the state stream [0x1007ff000, +0x2000)");
}

TEST(StreamVerifier, RefusesAnExtentInAnotherDomainsMemory) {
    // Domain 2's extent 0 onto domain 1's first MiB: not domain 2's preserved RAM.
    expect_refused(testing::mutate_payload(sample(),
                                           [](fbs::HostState& s) {
                                               return extent(s, 1, 0).mutate_host_phys(
                                                          extent(s, 0, 0).host_phys()),
                                                      true;
                                           }),
                   ErrorCode::kCorrupt,
                   "domain 2 (\"guest-2\"): extent 0 host [0x100000000, 0x1000fffff] is not inside "
                   "a guest-RAM preserved range of domid 2");
}

TEST(StreamVerifier, HypervisorRangesAreBounded) {
    VerifyOptions options;
    for (usize i = 0; i < VerifyOptions::kMaxHypervisorRanges; ++i) {
        EXPECT_TRUE(options.add_hypervisor_range(i * 0x1000, 0x1000, "range"));
    }
    EXPECT_FALSE(options.add_hypervisor_range(0x10000, 0x1000, "one too many"));
}

}  // namespace
}  // namespace relay::stream
